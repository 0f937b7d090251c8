"""``leadline files ...``: keep files with a prospect or a customer (``prospect:ID`` / ``customer:ID``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from leadline.cli._out import actor, cli_errors, cli_settings, local, print_json, print_table, write_bytes

app = typer.Typer(help="Files kept with prospects and customers (in the database).", no_args_is_help=True)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]
TargetArg = Annotated[
    str, typer.Argument(help="The record: prospect:ID or customer:ID, e.g. prospect:royal_plumbing_co.")
]


def _size(size: int) -> str:
    for unit in ("bytes", "KB", "MB"):
        if size < 1024 or unit == "MB":
            return f"{size:,} {unit}" if unit == "bytes" else f"{size:,.1f} {unit}"
        size = size / 1024  # type: ignore[assignment]
    return str(size)


@app.command("add")
def add(
    target: TargetArg,
    path: Annotated[Path, typer.Argument(help="The file to keep.")],
    name: Annotated[str | None, typer.Option(help="The name to keep it under; default: the file's own.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Keep a file with a prospect or customer (type told by its content; at most LEADLINE_FILE_MAX_BYTES)."""
    from leadline.cli._out import abort, require_database
    from leadline.db import unit_of_work
    from leadline.files import service
    from leadline.files.schemas import parse_target

    require_database()
    settings = cli_settings()
    with cli_errors():
        where = parse_target(target)
        try:
            if not path.is_file():
                abort(f"{path}: not a file")
            if path.stat().st_size > settings.file_max_bytes:
                raise service.too_large(settings.file_max_bytes)
            with path.open("rb") as stream:
                data = service.read_capped(stream, settings.file_max_bytes)
        except OSError as error:
            abort(f"{path}: cannot read it ({error.strerror or error})")
        with unit_of_work(settings) as session:
            result = service.read(service.add(session, where, name or path.name, data, actor=actor()))
    if as_json:
        print_json(result.dump())
        return
    typer.echo(f"Kept {result.name} ({result.content_type}, {_size(result.size)}) as {result.id} on {where}.")


@app.command("list")
def list_files(
    target: Annotated[str | None, typer.Argument(help="Only this record's: prospect:ID or customer:ID.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Files kept, newest first (of one record, or all)."""
    from leadline.cli._out import require_database
    from leadline.db import unit_of_work
    from leadline.files import service
    from leadline.files.schemas import parse_target

    require_database()
    with cli_errors():
        where = parse_target(target) if target else None
        with unit_of_work(cli_settings(), readonly=True) as session:
            items = [service.read(f) for f in service.search(session, where)]
    if as_json:
        print_json([item.dump() for item in items])
        return
    print_table(
        ["Id", "Name", "Type", "Size", "Record", "Added", "By"],
        ((f.id, f.name, f.content_type, _size(f.size), f"customer:{f.customer_id}" if f.customer_id
          else f"prospect:{f.prospect_id}", local(f.created_at), f.created_by) for f in items),
        footer=f"{len(items)} files" if items else "no files",
    )  # fmt: skip


@app.command("get")
def get(
    file_id: Annotated[str, typer.Argument(help="The file's id (fil_...).")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Where to write it ('-': standard output).")],
) -> None:
    """Write a kept file's bytes to a path (its SHA-256 is checked first)."""
    import hashlib
    import sys

    from leadline.cli._out import abort, require_database
    from leadline.db import unit_of_work
    from leadline.files import service

    require_database()
    with cli_errors(), unit_of_work(cli_settings(), readonly=True) as session:
        stored = service.get(session, file_id, with_data=True)
        data, name, digest = stored.data, stored.name, stored.sha256
    if hashlib.sha256(data).hexdigest() != digest:
        abort(f"{file_id}: its bytes no longer match their SHA-256; nothing written")
    if str(output) == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return
    write_bytes(output, data)
    typer.echo(f"Wrote {name} ({len(data):,} bytes) to {output}.")


@app.command("remove")
def remove(file_id: Annotated[str, typer.Argument(help="The file's id (fil_...).")]) -> None:
    """Remove a kept file (the timeline keeps a line saying which)."""
    from leadline.cli._out import require_database
    from leadline.db import unit_of_work
    from leadline.files import service

    require_database()
    with cli_errors(), unit_of_work(cli_settings()) as session:
        stored = service.remove(session, file_id, actor=actor())
    typer.echo(f"Removed {stored.name} ({file_id}).")
