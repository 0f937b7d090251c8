"""Data steps several migrations share."""

from __future__ import annotations


def recount_totals() -> None:
    """Count the maintained totals again from the rows (``leadline analytics recount``'s code), in the
    migration's transaction, with the days of the settings the migration runs under: for a migration
    that adds figures to ``analytics_totals`` (no schema change)."""
    from alembic import context, op

    from leadline.analytics import totals
    from leadline.config import Settings, get_settings

    settings = context.config.attributes.get("settings")
    totals.recount(op.get_bind(), (settings if isinstance(settings, Settings) else get_settings()).zone)
