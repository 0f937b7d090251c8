"""The migrations build the whole schema on both databases and agree with the models."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from leadline.config import Settings
from leadline.db import Base, compared, dispose_engines, import_all_models
from leadline.migrate import head_revision, upgrade
from leadline.prospects.dupkeys import include_object
from leadline.prospects.listing import SCHEMA_HEAD
from tests.conftest import PG_ADMIN_URL, _postgres_reason, _worker, require_service

import_all_models()


def _fresh_url(kind: str, tmp_path) -> str:
    if kind == "sqlite":
        return f"sqlite:///{tmp_path / 'fresh.db'}"
    require_service(_postgres_reason())
    name = f"leadline_migrate_{_worker()}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_empty_database_upgrades_to_head_and_matches_the_models(kind, tmp_path):
    url = _fresh_url(kind, tmp_path)
    before, after = upgrade(Settings(database_url=url))
    assert before is None
    assert after == head_revision()
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            tables = set(inspect(connection).get_table_names())
            assert {t.name for t in Base.metadata.sorted_tables} <= tables
            context = MigrationContext.configure(
                connection, opts={"compare_type": True, "include_name": compared, "include_object": include_object}
            )
            diff = compare_metadata(context, Base.metadata)
        assert diff == [], f"models and migrations disagree: {diff}"
    finally:
        engine.dispose()
        dispose_engines()
    # Running it again changes nothing.
    assert upgrade(Settings(database_url=url)) == (after, after)
    dispose_engines()


def test_the_fast_cli_knows_the_schema_head():
    assert head_revision() == SCHEMA_HEAD


def test_every_seed_field_has_a_column():
    """The seed's tables, field by field (Table 4 included)."""
    seed = {
        "prospects": "id name trade email phone grid_health critical_gaps gaps top_competitor competitor_health "
        "status sales_status last_contact_at next_follow_up_at emails_sent_count emails_opened_count "
        "calls_scheduled_count calls_completed_count deal_value close_date",
        "generated_posts": "prospect_id caption hashtags cta image_url video_script status",
        "outreach_activities": "id prospect_id type status details created_at updated_at",
        "email_activities": "id prospect_id outreach_activity_id sendgrid_id email_type subject sent_at opened_at "
        "clicked_at click_count replied_at reply_text status",
        "call_activities": "id prospect_id outreach_activity_id scheduled_at completed_at duration notes objections "
        "next_steps outcome recording_url",
        "customers": "id prospect_id company_name contact_name email phone website service_type monthly_fee "
        "start_date end_date contract_url signed_at primary_contact slack_channel google_drive_folder "
        "initial_grid_health current_grid_health impressions_generated leads_generated status created_at updated_at",
    }
    tables = {t.name: t for t in Base.metadata.sorted_tables}
    for table, fields in seed.items():
        missing = [f for f in fields.split() if f not in tables[table].c]
        assert not missing, f"{table} lacks {missing}"
