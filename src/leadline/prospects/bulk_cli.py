"""``leadline prospects bulk`` and ``bulk-undo``, ``bulk-status``: the CLI shell of prospects.bulk."""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer

from leadline.cli._out import abort, actor, cli_errors, cli_settings, print_json
from leadline.prospects.stages import Stage

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]


def _progress(operation: Any) -> None:
    if operation.total > 500 and sys.stderr.isatty():
        sys.stderr.write(f"\r{operation.done if operation.status != 'undoing' else operation.undone}/{operation.total}")
        sys.stderr.flush()


def _say(result: Any, as_json: bool) -> None:
    if as_json:
        print_json(result.model_dump(mode="json", by_alias=True))
        return
    if result.status == "undone":
        typer.echo(f"Undid bulk operation {result.id}: {result.undone} prospects restored.")
        return
    typer.echo(
        f"Bulk operation {result.id}: {result.status}. {result.what()}: {result.total} selected, "
        f"{result.changed} changed, {result.skipped} skipped."
    )
    for skip in result.skips:
        typer.echo(f"  skipped {skip.count}: {skip.reason} (e.g. {', '.join(skip.sample)})")
    if result.error:
        typer.echo(f"  error: {result.error}")
    if result.undoable:
        typer.echo(f"Undo with: leadline prospects bulk-undo {result.id}")


def register(app: typer.Typer) -> None:
    @app.command("bulk")
    def bulk_command(
        ids: Annotated[
            list[str] | None, typer.Option("--id", help="A prospect's id (repeatable); else the filters.")
        ] = None,
        everything: Annotated[bool, typer.Option("--all", help="Every prospect, when no filter is given.")] = False,
        status: Annotated[Stage | None, typer.Option(help="Filter: sales stage.")] = None,
        in_tier: Annotated[int | None, typer.Option("--in-tier", min=1, max=3, help="Filter: tier 1, 2 or 3.")] = None,
        trade: Annotated[str | None, typer.Option(help="Filter: trade, e.g. roofing.")] = None,
        search: Annotated[
            str | None, typer.Option(help="Filter: text in the name, contact, email, city, id or phone digits.")
        ] = None,
        tag: Annotated[str | None, typer.Option(help="Filter: prospects with this tag.")] = None,
        owned_by: Annotated[str | None, typer.Option("--owned-by", help="Filter: prospects this user owns.")] = None,
        contactable: Annotated[bool, typer.Option("--contactable", help="Filter: not marked do-not-contact.")] = False,
        add_tag: Annotated[list[str] | None, typer.Option("--add-tag", help="Add this tag (repeatable).")] = None,
        remove_tag: Annotated[
            list[str] | None, typer.Option("--remove-tag", help="Remove this tag (repeatable).")
        ] = None,
        owner: Annotated[str | None, typer.Option(help='Set the owner (a user\'s email; "" to unassign).')] = None,
        owners: Annotated[
            str | None,
            typer.Option(
                "--owners",
                "--round-robin",
                help="Deal the selection out to these users in turn (emails, comma-separated).",
            ),
        ] = None,
        tier: Annotated[int | None, typer.Option(help="Set the tier (1, 2 or 3).")] = None,
        stage: Annotated[Stage | None, typer.Option(help="Move to this stage (with --reason).")] = None,
        reason: Annotated[str | None, typer.Option(help="Why (kept in each timeline); required with --stage.")] = None,
        do_not_contact: Annotated[
            bool, typer.Option("--do-not-contact", help="Mark do-not-contact (no undo).")
        ] = False,
        dry_run: Annotated[
            bool, typer.Option("--dry-run", help="Say who would change and who would be skipped.")
        ] = False,
        as_json: JsonOpt = False,
    ) -> None:
        """Change many prospects at once: tags, owner, tier, stage, do-not-contact (Undo with bulk-undo)."""
        from leadline.cli._out import require_database
        from leadline.db import unit_of_work
        from leadline.prospects import bulk
        from leadline.prospects.schemas import BulkRequest

        filters = {"status": status, "tier": in_tier, "trade": trade, "search": search, "tag": tag, "owner": owned_by,
                   "do_not_contact": False if contactable else None}  # fmt: skip
        given = {key: value for key, value in filters.items() if value is not None}
        if not ids and not given and not everything:
            abort("choose prospects: --id (repeatable), a filter (--status, --in-tier, --trade, --tag ...) or --all")
        if ids and (given or everything):
            abort("give --id or filters (or --all), not both")
        with cli_errors():
            request = BulkRequest.model_validate(
                {
                    "ids": ids or [], "allMatching": not ids, "filters": given, "addTags": add_tag or [],
                    "removeTags": remove_tag or [], "owner": owner, "owners": owners or [], "tier": tier,
                    "stage": stage, "reason": reason, "doNotContact": do_not_contact, "dryRun": dry_run,
                }
            )  # fmt: skip
        require_database()
        settings = cli_settings()
        with cli_errors():
            if dry_run:
                with unit_of_work(settings, readonly=True) as session:
                    preview = bulk.preview(session, request)
                if as_json:
                    print_json(preview.model_dump(mode="json", by_alias=True))
                    return
                typer.echo(f"Dry run: {preview.total} selected, {preview.will_change} would change.")
                for skip in preview.skipped:
                    typer.echo(f"  would skip {skip.count}: {skip.reason} (e.g. {', '.join(skip.sample)})")
                return
            operation_id = bulk.start(settings, request, actor=actor(), background=False, progress=_progress)
            with unit_of_work(settings, readonly=True) as session:
                result = bulk.read(session, operation_id)
        _say(result, as_json)

    @app.command("bulk-undo")
    def bulk_undo(
        operation_id: Annotated[str, typer.Argument(help="The bulk operation's id.")],
        as_json: JsonOpt = False,
    ) -> None:
        """Undo a bulk operation: put back the tags, owner, tier and stage it changed."""
        from leadline.cli._out import require_database
        from leadline.db import unit_of_work
        from leadline.prospects import bulk

        require_database()
        settings = cli_settings()
        with cli_errors():
            bulk.undo(settings, operation_id, actor=actor(), background=False, progress=_progress)
            with unit_of_work(settings, readonly=True) as session:
                result = bulk.read(session, operation_id)
        _say(result, as_json)

    @app.command("bulk-status")
    def bulk_status(
        operation_id: Annotated[str, typer.Argument(help="The bulk operation's id.")],
        as_json: JsonOpt = False,
    ) -> None:
        """Show a bulk operation's progress and skips."""
        from leadline.cli._out import require_database
        from leadline.db import unit_of_work
        from leadline.prospects import bulk

        require_database()
        with cli_errors(), unit_of_work(cli_settings(), readonly=True) as session:
            result = bulk.read(session, operation_id)
        _say(result, as_json)
