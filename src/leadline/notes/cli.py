"""``leadline notes ...``: add, list, edit and remove a prospect's notes.

The terminal has the database itself, so it may edit or remove any note (as an admin may).
"""

from __future__ import annotations

from typing import Annotated

import typer

from leadline.cli._out import actor, cli_errors, cli_settings, local, print_json, print_table
from leadline.words import counted

app = typer.Typer(help="Notes: dated entries by their author on a prospect's timeline.", no_args_is_help=True)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]


@app.command("add")
def add(
    prospect_id: Annotated[str, typer.Argument(help="The prospect's id.")],
    text: Annotated[str, typer.Argument(help="The note.")],
    as_json: JsonOpt = False,
) -> None:
    """Add a note to a prospect (earlier notes are kept)."""
    from leadline.cli._out import require_database
    from leadline.db import unit_of_work
    from leadline.notes import service

    require_database()
    with cli_errors(), unit_of_work(cli_settings()) as session:
        result = service.read(service.add(session, prospect_id, text, actor=actor()))
    if as_json:
        print_json(result.dump())
    else:
        typer.echo(f"Added note {result.id} to {result.prospect_id}.")


@app.command("list")
def list_notes(
    prospect_id: Annotated[str, typer.Argument(help="The prospect's id.")],
    as_json: JsonOpt = False,
) -> None:
    """A prospect's notes, oldest first."""
    from leadline.cli._out import require_database
    from leadline.db import unit_of_work
    from leadline.notes import service

    require_database()
    with cli_errors(), unit_of_work(cli_settings(), readonly=True) as session:
        items = service.for_prospect(session, prospect_id)
    if as_json:
        print_json([item.dump() for item in items])
        return
    print_table(
        ["Written", "Note", "By", "Id"],
        ((local(n.created_at) + (f" (edited {local(n.edited_at)})" if n.edited_at else ""), n.text, n.author, n.id)
         for n in items),
        footer=counted(len(items), "note") if items else "no notes",
    )  # fmt: skip


@app.command("edit")
def edit(
    note_id: Annotated[str, typer.Argument(help="The note's id (act_...).")],
    text: Annotated[str, typer.Argument(help="The note's new text.")],
    as_json: JsonOpt = False,
) -> None:
    """Change a note's text (the timeline keeps the edit)."""
    from leadline.cli._out import require_database
    from leadline.db import unit_of_work
    from leadline.notes import service

    require_database()
    with cli_errors(), unit_of_work(cli_settings()) as session:
        result = service.read(service.edit(session, note_id, text, actor=actor(), admin=True))
    if as_json:
        print_json(result.dump())
    else:
        typer.echo(f"Edited note {result.id}.")


@app.command("remove")
def remove(note_id: Annotated[str, typer.Argument(help="The note's id (act_...).")]) -> None:
    """Remove a note (the timeline keeps the removal)."""
    from leadline.cli._out import require_database
    from leadline.db import unit_of_work
    from leadline.notes import service

    require_database()
    with cli_errors(), unit_of_work(cli_settings()) as session:
        prospect_id = service.remove(session, note_id, actor=actor(), admin=True)
    typer.echo(f"Removed note {note_id} of {prospect_id}.")
