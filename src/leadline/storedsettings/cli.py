"""``leadline settings ...``: settings kept in the database (targets, send window, daily cap, ...)."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from leadline.cli._out import actor, cli_errors, cli_settings, print_json, print_table

app = typer.Typer(
    help="Settings kept in the database and applied without a restart (an environment variable still wins).",
    no_args_is_help=True,
)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]
SOURCES = {"env": "set by the environment", "stored": "stored", "default": "default"}


def _shown(name: str, value: Any) -> str:
    from leadline.config import setting_text

    return setting_text(name, value).replace("\n", "; ")


@app.command("list")
def list_settings(as_json: JsonOpt = False) -> None:
    """Every setting an admin may change, its value and where it comes from."""
    from leadline.cli._out import require_database
    from leadline.db import unit_of_work
    from leadline.storedsettings import service

    require_database()
    with cli_errors(), unit_of_work(cli_settings(), readonly=True) as session:
        rows = service.list_settings(session)
    if as_json:
        print_json([row.as_dict() for row in rows])
        return
    print_table(
        ["Group", "Setting", "Value", "Source"],
        ((row.group, row.field, _shown(row.name, row.value), SOURCES[row.source]
          + (f" ({row.env_name})" if row.source == "env" else f" by {row.updated_by}" if row.updated_by else ""))
         for row in rows),
    )  # fmt: skip


@app.command("get")
def get(
    name: Annotated[str, typer.Argument(help="The setting, e.g. dailySendLimit or daily_send_limit.")],
    as_json: JsonOpt = False,
) -> None:
    """One setting's value (as you would type it) and where it comes from."""
    from leadline.cli._out import require_database
    from leadline.db import unit_of_work
    from leadline.storedsettings import service

    require_database()
    with cli_errors(), unit_of_work(cli_settings(), readonly=True) as session:
        row = service.get_setting(session, name)
    if as_json:
        print_json(row.as_dict())
        return
    typer.echo(row.text)
    typer.echo(f"({SOURCES[row.source]}{f': {row.env_name}' if row.source == 'env' else ''})", err=True)


@app.command("set", context_settings={"ignore_unknown_options": True})  # a value of -1 is a value
def set_(
    pairs: Annotated[
        list[str],
        typer.Argument(
            metavar="NAME VALUE",
            help="The setting (e.g. dailySendLimit) and its new value as text (lists: comma separated; maps: "
            "JSON). Several pairs are saved together, all or none: sendWindowStart 18:00 sendWindowEnd 24:00.",
        ),
    ],
) -> None:
    """Change settings for every process (web, worker, CLI), from their next unit of work."""
    from leadline.cli._out import abort, require_database
    from leadline.db import unit_of_work
    from leadline.storedsettings import service

    if len(pairs) % 2:
        abort(f"{pairs[-1][:40]!r} has no value: give each setting its value (NAME VALUE [NAME VALUE ...])")
    values = dict(zip(pairs[::2], pairs[1::2], strict=True))
    if len(values) < len(pairs) // 2:
        twice = next(name for name in values if pairs[::2].count(name) > 1)
        abort(f"{twice[:40]!r} is given twice")
    require_database()
    with cli_errors(), unit_of_work(cli_settings()) as session:
        changes = service.set_settings(session, values, actor=actor())
    if not changes:
        typer.echo("Unchanged.")
    for snake, old, new in changes:
        typer.echo(f"{snake}: {json.dumps(old)} -> {json.dumps(new)}")


@app.command("unset")
def unset(name: Annotated[str, typer.Argument(help="The setting, e.g. dailySendLimit.")]) -> None:
    """Forget the stored value: the environment's or the default value applies again."""
    from leadline.cli._out import require_database
    from leadline.db import unit_of_work
    from leadline.storedsettings import service

    require_database()
    with cli_errors(), unit_of_work(cli_settings()) as session:
        change = service.unset_setting(session, name, actor=actor())
    if change is None:
        typer.echo("It was not stored: nothing to do.")
        return
    snake, old, new = change
    typer.echo(f"{snake}: {json.dumps(old)} -> {json.dumps(new)} (back to the default or environment value)")
