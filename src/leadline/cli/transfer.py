"""``leadline export --all -o FILE`` and ``leadline import --all FILE`` (see leadline/transfer.py)."""

from __future__ import annotations

from pathlib import Path

import typer

from leadline.cli._out import abort, cli_errors


def export_all(output: Path, *, force: bool) -> None:
    from leadline import transfer
    from leadline.cli._out import require_database
    from leadline.config import get_settings
    from leadline.db import get_engine, unit_of_work
    from leadline.migrate import current_revision

    require_database()
    if output.exists() and not force:
        abort(f"{output} exists; give --force to replace it")
    if not output.parent.is_dir():
        abort(f"{output.parent} does not exist")
    settings = get_settings()
    partial = output.with_name(output.name + ".partial")
    try:
        # A read-only unit: one consistent moment on both engines.
        with cli_errors(), unit_of_work(settings, readonly=True) as session:
            with transfer.open_text(partial, "w", gz=output.suffix == ".gz") as out:
                report = transfer.export_all(session, out, revision=current_revision(get_engine(settings)))
        partial.replace(output)
    finally:
        partial.unlink(missing_ok=True)
    typer.echo(f"Exported {report.total:,} rows of {len(report.rows)} tables to {output}.")


def import_all(source: Path) -> None:
    from leadline import transfer
    from leadline.cli._out import require_database
    from leadline.config import get_settings, mask_url
    from leadline.db import get_engine, unit_of_work
    from leadline.migrate import current_revision

    require_database()
    if not source.is_file():
        abort(f"{source} does not exist")
    settings = get_settings()
    with cli_errors():
        revision = current_revision(get_engine(settings))  # read before the import's unit holds the write lock
    with cli_errors(), transfer.open_text(source, "r") as handle, unit_of_work(settings) as session:
        report = transfer.import_all(session, handle, revision=revision)
    typer.echo(f"Imported {report.total:,} rows of {len(report.rows)} tables into {mask_url(settings.database_url)}.")
