"""Files on the prospect's page in Chromium without JavaScript: upload (a plain multipart form), a refused
type said beside the form with nothing kept, download as an attachment, remove."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import make_user
from tests.factories import count, make_prospect
from tests.web.conftest import shoot, sign_in
from tests.web.test_browser_axe import SIZES


def test_upload_and_remove_without_javascript(browser, live, tmp_path: Path):
    p = make_prospect(live.settings, name="Baker Roofing")
    make_user(live.settings, "ann@example.com", "member")
    quote = tmp_path / "quote.pdf"
    quote.write_bytes(b"%PDF-1.4\n%%EOF\n")
    program = tmp_path / "invoice.pdf"
    program.write_bytes(b"MZ\x90\x00" + b"\x00" * 64)
    context = browser.new_context(base_url=live.url, viewport=SIZES["phone"], java_script_enabled=False,
                                  accept_downloads=True)  # fmt: skip
    context.set_default_timeout(10_000)
    tab = context.new_page()
    try:
        sign_in(tab, "ann@example.com")
        tab.goto(f"/prospects/{p.id}#files")
        form = tab.locator("#file-form")
        form.get_by_label("Add a file").set_input_files(str(program))
        form.get_by_role("button", name="Upload").click()
        assert "a program (executable or script) is not a type" in tab.locator("#file-form").inner_text()
        assert count(live.settings, "files") == 0
        tab.locator("#file-form").get_by_label("Add a file").set_input_files(str(quote))
        tab.locator("#file-form").get_by_role("button", name="Upload").click()
        tab.wait_for_url("**done=file-added**")
        assert tab.locator("[data-file]").get_by_role("link", name="quote.pdf").count() == 1
        shoot(tab, "prospect-files")
        with tab.expect_download() as got:
            tab.locator("[data-file]").get_by_role("link", name="quote.pdf").click()
        assert Path(got.value.path()).read_bytes() == quote.read_bytes()
        tab.locator("[data-file]").get_by_role("button", name="Remove").click()
        tab.wait_for_url("**done=file-removed**")
        assert count(live.settings, "files") == 0
        assert "removed quote.pdf" in tab.get_by_role("region", name="Timeline").inner_text()
    finally:
        context.close()
