"""``leadline texts ...``: log, send, preview and list texts; text templates; opted-out numbers;
texts from unknown numbers (the terminal has the database: it acts as an admin)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from leadline.cli._out import actor, cli_errors, cli_settings, echo_text, local, print_json, print_table

app = typer.Typer(help="Texts (SMS): log them, send them through Twilio, see replies and opt-outs.",
                  no_args_is_help=True)  # fmt: skip
templates_app = typer.Typer(help="Text templates with merge fields ({{ firstName }}...).", no_args_is_help=True)
optouts_app = typer.Typer(help="Numbers opted out of texts (STOP), kept like email suppressions.",
                          no_args_is_help=True)  # fmt: skip
app.add_typer(templates_app, name="templates")
app.add_typer(optouts_app, name="opt-outs")

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]
ProspectOpt = Annotated[str, typer.Option("--prospect", help="The prospect's id.")]


def _print_texts(items: list[Any], *, as_json: bool) -> None:
    if as_json:
        print_json([item.dump() for item in items])
        return
    print_table(
        ["When", "Prospect", "Dir", "Status", "Text", "Id"],
        ((local(t.at), t.prospect_id or f"? {t.from_number}", t.direction, t.status,
          t.body if len(t.body) <= 60 else t.body[:59] + "…", t.id) for t in items),
        footer=f"{len(items)} texts" if items else "no texts",
    )  # fmt: skip


@app.command("log")
def log(
    prospect_id: ProspectOpt,
    direction: Annotated[str, typer.Option("--direction", help="out (you texted them) or in (they texted you).")],
    body: Annotated[str, typer.Option("--body", help="What the text said.")],
    at: Annotated[str | None, typer.Option("--at", help="When (default now), e.g. 2025-11-21 15:00.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Log a text that happened elsewhere: on the timeline, a touch; an inbound one stops the sequence."""
    from leadline.cli._out import require_database
    from leadline.db import unit_of_work
    from leadline.texts import service
    from leadline.texts.schemas import TextLog

    require_database()
    settings = cli_settings()
    with cli_errors():
        data = TextLog.model_validate({"direction": direction, "body": body, "at": at})
        with unit_of_work(settings) as session:
            result = service.read(service.log(session, settings, prospect_id, data, actor=actor()))
    if as_json:
        print_json(result.dump())
    else:
        typer.echo(f"Logged text {result.id} ({result.direction}) for {result.prospect_id}.")


@app.command("send")
def send(
    prospect_id: ProspectOpt,
    template: Annotated[str, typer.Option("--template", help="The text template's name.")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show the text and its segments; send nothing.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Send a text template to a prospect (Twilio, or the log backend), if every rule allows it now."""
    from leadline.cli._out import require_database
    from leadline.texts import flows

    require_database()
    with cli_errors():
        result = flows.send(cli_settings(), prospect_id, template, actor=actor(), dry_run=dry_run)
    if as_json:
        print_json(result.as_dict())
        return
    p = result.preview
    echo_text(f"To {p.to} ({p.segments} segment{'s' if p.segments != 1 else ''}, {p.encoding}):\n{p.body}")
    if result.text is None:
        for reason in p.blocked:
            typer.echo(f"would not send now: {reason}")
        typer.echo("Dry run: nothing was sent.")
    else:
        typer.echo(f"Sent text {result.text.id} ({result.text.status}, {result.text.twilio_sid}).")


@app.command("preview")
def preview(
    prospect_id: ProspectOpt,
    template: Annotated[str, typer.Option("--template", help="The text template's name.")],
    as_json: JsonOpt = False,
) -> None:
    """The text a template would send, its segment count, and anything that stops it going now."""
    from leadline.cli._out import require_database
    from leadline.db import unit_of_work
    from leadline.texts import service

    require_database()
    settings = cli_settings()
    with cli_errors(), unit_of_work(settings, readonly=True) as session:
        result = service.plan(session, settings, prospect_id, template, strict=False).preview(settings)
    if as_json:
        print_json(result.dump())
        return
    typer.echo(f"To {result.to or '—'}: {result.segments} of at most {result.max_segments} segments "
               f"({result.encoding})\n{result.body}")  # fmt: skip
    for reason in result.blocked:
        typer.echo(f"would not send: {reason}")


@app.command("list")
def list_texts(
    prospect_id: Annotated[str | None, typer.Option("--prospect", help="Only this prospect's.")] = None,
    direction: Annotated[str | None, typer.Option("--direction", help="out or in.")] = None,
    status: Annotated[str | None, typer.Option("--status", help="queued, sent, delivered, failed, received...")] = None,
    sent_from: Annotated[str | None, typer.Option("--sent-from", help="From this time (configured zone).")] = None,
    sent_to: Annotated[str | None, typer.Option("--sent-to", help="Before this time.")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=1_000_000)] = 100,
    as_json: JsonOpt = False,
) -> None:
    """Texts, newest first (what a dashboard figure counts, with its filters)."""
    from leadline.cli._out import abort, require_database
    from leadline.db import unit_of_work
    from leadline.texts import service
    from leadline.times import parse_since

    require_database()
    settings = cli_settings()
    if direction not in (None, "out", "in"):
        abort("error: direction: give out or in")
    with cli_errors():
        start = parse_since(sent_from, settings.zone, field="sentFrom") if sent_from else None
        end = parse_since(sent_to, settings.zone, field="sentTo") if sent_to else None
        with unit_of_work(settings, readonly=True) as session:
            items = [service.read(m) for m in service.search(session, prospect_id=prospect_id, direction=direction,
                                                              status=status, sent_from=start, sent_to=end,
                                                              limit=limit)]  # fmt: skip
    _print_texts(items, as_json=as_json)


@app.command("unmatched")
def unmatched(as_json: JsonOpt = False) -> None:
    """Texts from numbers no prospect has (kept for an admin)."""
    from leadline.cli._out import require_database
    from leadline.db import unit_of_work
    from leadline.texts import service

    require_database()
    with cli_errors(), unit_of_work(cli_settings(), readonly=True) as session:
        items = [service.read(m) for m in service.unmatched(session)]
    _print_texts(items, as_json=as_json)


@templates_app.command("add")
def add_template(
    name: Annotated[str, typer.Argument(help="Its name (a-z, 0-9, _ and -).")],
    body: Annotated[str, typer.Option("--body", help="The text, with merge fields like {{ firstName }}.")],
    replace: Annotated[bool, typer.Option("--replace", help="Change an existing template.")] = False,
) -> None:
    """Add (or with --replace, change) a text template; its merge fields are checked."""
    from leadline.cli._out import require_database
    from leadline.db import unit_of_work
    from leadline.texts import templates
    from leadline.texts.schemas import TemplateWrite

    require_database()
    with cli_errors():
        data = TemplateWrite.model_validate({"name": name, "body": body})
        with unit_of_work(cli_settings()) as session:
            templates.save(session, data, actor=actor(), replace=replace)
    typer.echo(f"{'Changed' if replace else 'Added'} text template {name}.")


@templates_app.command("list")
def list_templates(as_json: JsonOpt = False) -> None:
    """The text templates."""
    from leadline.cli._out import require_database
    from leadline.db import unit_of_work
    from leadline.texts import segments, templates
    from leadline.texts.schemas import TemplateRead

    require_database()
    with cli_errors(), unit_of_work(cli_settings(), readonly=True) as session:
        items = [TemplateRead.model_validate(t) for t in templates.search(session)]
    if as_json:
        print_json([t.dump() for t in items])
        return
    print_table(["Name", "Text", "Segments (as written)"],
                ((t.name, t.body, segments.count(t.body).segments) for t in items),
                footer=f"{len(items)} templates" if items else "no text templates")  # fmt: skip


@templates_app.command("remove")
def remove_template(name: Annotated[str, typer.Argument(help="The template's name.")]) -> None:
    """Remove a text template (texts already sent keep their words)."""
    from leadline.cli._out import require_database
    from leadline.db import unit_of_work
    from leadline.texts import templates

    require_database()
    with cli_errors(), unit_of_work(cli_settings()) as session:
        templates.remove(session, name)
    typer.echo(f"Removed text template {name}.")


@optouts_app.command("list")
def list_opt_outs(as_json: JsonOpt = False) -> None:
    """Numbers that may not be texted."""
    from leadline.cli._out import require_database
    from leadline.db import unit_of_work
    from leadline.texts import optouts
    from leadline.texts.schemas import OptOutRead

    require_database()
    with cli_errors(), unit_of_work(cli_settings(), readonly=True) as session:
        items = [OptOutRead.model_validate(o) for o in optouts.search(session)]
    if as_json:
        print_json([o.dump() for o in items])
        return
    print_table(["Number", "Why", "Word", "By", "Since"],
                ((o.number, o.reason, o.keyword or "", o.source, local(o.created_at)) for o in items),
                footer=f"{len(items)} numbers" if items else "no opted-out numbers")  # fmt: skip


@optouts_app.command("add")
def add_opt_out(number: Annotated[str, typer.Argument(help="The phone number.")]) -> None:
    """Opt a number out of texts by hand."""
    from leadline.cli._out import require_database
    from leadline.db import unit_of_work
    from leadline.texts import optouts, phones

    require_database()
    settings = cli_settings()
    with cli_errors():
        e164 = phones.to_e164(number, settings.phone_region, field="number")
        with unit_of_work(settings) as session:
            new = optouts.add(session, e164, reason="manual", source=actor())
    typer.echo(f"{e164} {'is now' if new else 'was already'} opted out of texts.")


@optouts_app.command("remove")
def remove_opt_out(number: Annotated[str, typer.Argument(help="The phone number.")]) -> None:
    """Lift a number's opt-out (only when it asked to get texts again)."""
    from leadline.cli._out import require_database
    from leadline.db import unit_of_work
    from leadline.texts import optouts, phones

    require_database()
    settings = cli_settings()
    with cli_errors():
        e164 = phones.to_e164(number, settings.phone_region, field="number")
        with unit_of_work(settings) as session:
            optouts.lift(session, e164, missing_ok=False)
    typer.echo(f"{e164} may be texted again.")
