"""Alembic environment. Run through ``leadline db upgrade`` (see leadline/migrate.py)."""

from __future__ import annotations

import warnings

from alembic import context
from sqlalchemy.exc import SAWarning

from leadline.db import Base, compared, import_all_models, make_engine
from leadline.prospects.dupkeys import include_object

import_all_models()
config = context.config
# Reflection (batch operations, autogenerate) cannot read the expression indexes of migrations 0017
# and 0018; those migrations make and keep them, so the warning says nothing a user can act on.
warnings.filterwarnings(
    "ignore", message="Skipped unsupported reflection of expression-based index", category=SAWarning
)
target_metadata = Base.metadata


def run_migrations() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(config.get_main_option("sqlalchemy.url") or "")
    try:
        with engine.connect() as connection:
            _run(connection)
    finally:
        engine.dispose()


def _run(connection: object) -> None:
    context.configure(
        connection=connection,  # type: ignore[arg-type]
        target_metadata=target_metadata,
        render_as_batch=True,  # SQLite can only ALTER through table copies
        compare_type=True,
        include_name=compared,
        include_object=include_object,  # expression indexes autogenerate cannot compare
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported; run `leadline db upgrade`")
run_migrations()
