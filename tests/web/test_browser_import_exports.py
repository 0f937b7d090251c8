"""A HubSpot export through the import page in a real browser: the preview, a column's field changed
in its menu, old -> new, and the import."""

from __future__ import annotations

from pathlib import Path

from leadline.db import unit_of_work
from leadline.notes import service as notes_service
from tests.factories import make_prospect
from tests.web.conftest import shoot

DATA = Path(__file__).parent.parent / "data" / "exports"


def test_a_hubspot_export_through_the_preview_with_a_column_remapped(admin_page, live):
    make_prospect(live.settings, name="Summit HVAC", email="maria@summithvac.com", city="Boulder", phone=None)
    page = admin_page
    page.goto("/prospects/import")
    page.get_by_label("File").set_input_files(str(DATA / "hubspot-crm-exports-all-contacts-2026-12-01.csv"))
    page.get_by_role("button", name="Preview the import").click()
    page.wait_for_url("**/prospects/import")
    assert "HubSpot contacts" in page.content()
    changes = page.locator("ul.changes").first.inner_text()
    assert "city: Boulder → Denver" in changes
    assert "lack gridHealth" in page.locator("ul.lacking").inner_text()
    page.get_by_label("Field for Job Title").select_option("ignore")
    page.get_by_role("button", name="Preview with these fields").click()
    mapping = page.get_by_role("table", name="Column mapping").inner_text()
    assert "Job Title\t(not imported)" in mapping
    shoot(page, "import-preview-hubspot")
    page.get_by_role("button", name="Import").click()
    assert "Imported: 3 new, 1 updated" in page.get_by_role("status").inner_text()
    with unit_of_work(live.settings, readonly=True) as session:
        notes = "\n".join(notes_service.texts_of(session, ["royal_plumbing_co"])["royal_plumbing_co"])
    assert "Job Title" not in notes and "Mobile Phone Number: (512) 555-0199" in notes
