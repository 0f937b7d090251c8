"""``leadline emails|templates|suppressions ...``."""

from __future__ import annotations

import sys
from datetime import datetime
from typing import Annotated, Any

import typer

from leadline.cli._out import (
    abort,
    actor,
    check_selection,
    cli_errors,
    cli_settings,
    echo_text,
    local,
    print_fields,
    print_json,
    print_table,
    require_database,
)
from leadline.emails.schemas import EmailFilterStatus
from leadline.prospects.stages import Stage

app = typer.Typer(help="Emails: send, list, show, log replies.", no_args_is_help=True)
templates_app = typer.Typer(help="Email templates: list, show, preview.", no_args_is_help=True)
suppressions_app = typer.Typer(help="Addresses Leadline never emails.", no_args_is_help=True)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]


@app.command("send")
def send(
    template: Annotated[str, typer.Option(help="Template name, e.g. pain_point (see `leadline templates list`).")],
    prospect: Annotated[list[str] | None, typer.Option("--prospect", "-p", help="A prospect id (repeatable).")] = None,
    status: Annotated[Stage | None, typer.Option(help="Select prospects in this stage.")] = None,
    tier: Annotated[int | None, typer.Option(min=1, max=3, help="Select prospects of this tier.")] = None,
    trade: Annotated[str | None, typer.Option(help="Select prospects of this trade.")] = None,
    limit: Annotated[
        int | None, typer.Option(min=1, max=10_000, help="At most this many (needed with a selection).")
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show who would get what; send nothing.")] = False,
    force: Annotated[bool, typer.Option("--force", help="Send a template a prospect already got.")] = False,
    at: Annotated[
        str | None, typer.Option(help="Send later, at this local time (e.g. 2025-11-17 08:30); the worker sends it.")
    ] = None,
    sender: Annotated[
        list[str] | None,
        typer.Option("--sender", help="Send from this sender (id or address; repeatable): rotate across these only."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Send a template to prospects, by id or by selection (guardrails skip who must not get it)."""
    from leadline.emails.flows import send as send_batch

    chosen = check_selection(prospect, status, tier, trade, limit)
    require_database()
    settings = cli_settings()
    progress = None if (dry_run or as_json or not sys.stderr.isatty()) else _Progress()
    with cli_errors():
        when = _parse_since(at, "at") if at else None
        try:
            report = send_batch(
                settings, template, actor=actor(), prospect_ids=chosen.prospect_ids or None, filters=chosen.filters(),
                limit=chosen.limit, force=force, dry_run=dry_run, on_progress=progress.update if progress else None,
                at=when, sender_keys=sender,
            )  # fmt: skip
        finally:
            if progress:
                progress.stop()
    if as_json:
        print_json(report.as_dict())
    else:
        _print_report(report)
    if report.stopped:
        abort(report.stopped)
    if not dry_run and not report.count("sent") and not report.count("scheduled") and report.outcomes:
        raise typer.Exit(1)  # nothing went out: say so in the exit status too


@app.command("compose")
def compose(
    body: Annotated[str | None, typer.Option(help="What to say (merge fields such as {{ firstName }} work).")] = None,
    body_file: Annotated[
        typer.FileText | None, typer.Option("--body-file", help="Read the body from this file ('-': standard input).")
    ] = None,
    prospect: Annotated[str | None, typer.Option("--prospect", "-p", help="Write to this prospect.")] = None,
    subject: Annotated[str | None, typer.Option(help='The subject (with --prospect; a reply\'s is "Re: ...").')] = None,
    reply_to: Annotated[
        str | None, typer.Option("--reply-to", help="Answer the reply to this email of ours, in its thread.")
    ] = None,
    at: Annotated[
        str | None, typer.Option(help="Send later, at this local time (e.g. 2025-11-17 08:30); the worker sends it.")
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Send it even if they already got this very message.")] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show the message and who would get it; send nothing.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Write your own email to a prospect, or answer a prospect's reply in its thread (the same
    guardrails as templates: suppressions, do-not-contact, the daily cap, no double send)."""
    from leadline.emails.flows import compose as compose_email
    from leadline.emails.schemas import ComposeRequest

    if (body is None) == (body_file is None):
        abort("give the body with --body TEXT or --body-file FILE (one of them)")
    text = body if body is not None else body_file.read(20_001) if body_file is not None else ""
    require_database()
    settings = cli_settings()
    with cli_errors():
        request = ComposeRequest.model_validate({
            "prospectId": prospect, "replyTo": reply_to, "subject": subject, "body": text, "force": force,
            "dryRun": dry_run, "at": _parse_since(at, "at") if at else None,
        })  # fmt: skip
        report = compose_email(settings, request, actor=actor())
    if as_json:
        print_json(report.as_dict())
    else:
        _print_report(report)
        for outcome in report.outcomes:
            if outcome.text is not None:
                echo_text(f"\nSubject: {outcome.subject}\n\n{outcome.text}")
    if report.stopped:
        abort(report.stopped)
    if not report.count("sent") and not report.count("scheduled") and not report.count("planned"):
        raise typer.Exit(1)  # nothing went out (or would): say so in the exit status too


def _print_report(report: Any) -> None:
    rows = [
        (o.status, o.prospect_id, o.to_email or "", _subject_or_detail(o), o.email_id or "")
        for o in report.outcomes
        if o.status != "skipped"
    ]
    if rows:
        print_table(["Status", "Prospect", "Email", "Subject / detail", "Email id"], rows)
    skipped = [o for o in report.outcomes if o.status == "skipped"]
    for o in skipped:
        typer.echo(f"skipped {o.prospect_id}: {o.detail}")
    if report.dry_run:
        typer.echo(
            f"Dry run: {report.count('planned')} would be sent with {report.template} through the "
            f"{report.backend} backend, {report.count('failed')} would fail, {len(skipped)} skipped; "
            f"{report.cap_left} left in today's cap. Nothing was sent."
        )
        return
    if report.count("scheduled"):
        typer.echo(f"{report.count('scheduled')} scheduled, {report.count('failed')} failed, {len(skipped)} "
                   f"skipped ({report.template}); "
                   "a running `leadline serve` or `leadline worker` sends them on time.")  # fmt: skip
        return
    typer.echo(
        f"{report.count('sent')} sent, {report.count('failed')} failed, {report.count('unknown')} unknown, "
        f"{len(skipped)} skipped ({report.template}, {report.backend} backend)."
    )
    if report.count("unknown"):
        typer.echo("Check the unknown ones: `leadline emails list --status unknown`, then `leadline emails resolve`.")


def _subject_or_detail(outcome: Any) -> str:
    """Why a failed one failed; the subject of the others."""
    if outcome.status == "failed" and outcome.detail:
        return str(outcome.detail)
    return str(outcome.subject or outcome.detail or "")


class _Progress:
    def __init__(self) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

        self._progress = Progress(TextColumn("sending"), BarColumn(), MofNCompleteColumn(), transient=True)
        self._task = self._progress.add_task("send", total=None)
        self._progress.start()

    def update(self, done: int, total: int) -> None:
        self._progress.update(self._task, completed=done, total=total)

    def stop(self) -> None:
        self._progress.stop()


def _parse_since(value: str | None, field: str = "since") -> datetime | None:
    if value is None:
        return None
    from leadline.times import parse_since

    return parse_since(value, cli_settings().zone, field=field)


@app.command("list")
def list_emails(
    status: Annotated[
        EmailFilterStatus | None,
        typer.Option(
            help="opened, clicked, replied, delivered, bounced, sent, failed: ever did (by --as-of), whatever"
            " happened next; scheduled, cancelled: the state it is in; attention: pending, sending or unknown."
        ),
    ] = None,
    since: Annotated[str | None, typer.Option(help="Sent on or after this date/time (local), e.g. 2025-11-17.")] = None,
    sent_from: Annotated[
        str | None, typer.Option("--sent-from", help="Sent on or after this date/time (local), e.g. 2025-11-17.")
    ] = None,
    sent_to: Annotated[
        str | None, typer.Option("--sent-to", help="Sent before this date/time (local), e.g. 2025-11-24.")
    ] = None,
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", help="What the emails had done by this date/time (local): a past week's figures."),
    ] = None,
    template: Annotated[str | None, typer.Option(help="Only this template.")] = None,
    prospect: Annotated[str | None, typer.Option(help="Only this prospect.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1_000_000, help="How many to show.")] = 50,
    as_json: JsonOpt = False,
) -> None:
    """List emails, newest first (the seed's `list:emails --status opened`)."""
    from leadline.db import unit_of_work
    from leadline.emails import reading as service  # the reads alone, not the sending
    from leadline.emails.schemas import EmailRead
    from leadline.times import parse_since

    require_database()
    with cli_errors():
        moment = _parse_since(since)
        zone = cli_settings().zone
        bounds = {
            name: parse_since(value, zone, field=name.replace("_", "-")) if value else None
            for name, value in (("sent_from", sent_from), ("sent_to", sent_to), ("as_of", as_of))
        }
        with unit_of_work(cli_settings(), readonly=True) as session:
            page = service.search(
                session,
                status=status,
                since=moment,
                template=template,
                prospect_id=prospect,
                limit=limit,
                sent_from=bounds["sent_from"],
                sent_to=bounds["sent_to"],
                as_of=bounds["as_of"],
            )
            items = [EmailRead.model_validate(e) for e in page.items]
    if as_json:
        print_json([i.dump() for i in items])
        return
    print_table(
        ["Id", "Prospect", "To", "Template", "Status", "Sent", "Opened", "Clicks", "Replied"],
        (
            (e.id, e.prospect_id, e.to_email, e.template, e.status, local(e.sent_at), local(e.opened_at),
             e.click_count or "", local(e.replied_at))
            for e in items
        ),
        footer=f"{len(items)} email(s)" + (" (more: raise --limit)" if page.next_cursor else ""),
    )  # fmt: skip


@app.command("show")
def show(
    email_id: Annotated[str, typer.Argument(help="The email's id.")],
    as_json: JsonOpt = False,
) -> None:
    """Show an email as it was sent, what happened to it, and the prospect's timeline for it."""
    from leadline.activity.render import describe, shown_status

    zone = cli_settings().zone
    from leadline.db import unit_of_work
    from leadline.emails import service
    from leadline.emails.schemas import EmailDetail
    from leadline.prospects import service as prospects

    require_database()
    with cli_errors(), unit_of_work(cli_settings(), readonly=True) as session:
        email = EmailDetail.model_validate(service.get(session, email_id))
        entries = [
            e for e in prospects.timeline(session, email.prospect_id) if (e.details or {}).get("emailId") == email_id
        ]
    if as_json:
        print_json(email.dump() | {"timeline": [{"type": e.type, "status": e.status, "details": e.details,
                                                 "createdAt": e.created_at} for e in entries]})  # fmt: skip
        return
    print_fields(
        [("status", email.status), ("to", email.to_email), ("from", email.from_email), ("subject", email.subject),
         ("template", email.template), ("message id", email.message_id), ("sendgrid id", email.sendgrid_id),
         ("sent", local(email.sent_at)), ("delivered", local(email.delivered_at)), ("opened", local(email.opened_at)),
         ("opens", f"{email.open_count} ({email.machine_open_count} by machines)"),
         ("clicks", f"{email.click_count} ({email.machine_click_count} by machines)"),
         ("replied", local(email.replied_at)), ("bounced", email.bounce_reason),
         ("error", email.error)],
        title=f"Email {email.id} to {email.prospect_id}",
    )  # fmt: skip
    echo_text("\n" + email.body_text)
    if email.reply_text:
        echo_text("Reply:\n" + email.reply_text)
    print_table(
        ["When", "What", "Details"],
        (
            (
                local(e.created_at),
                f"{e.type}: {shown_status(e.type, e.status, e.details)}",
                describe(e.type, e.status, e.details, zone=zone, currency=cli_settings().currency),
            )
            for e in entries
        ),
        title="Timeline",
    )


@app.command("reply")
def reply(
    email_id: Annotated[str, typer.Argument(help="The email that was answered.")],
    text: Annotated[str, typer.Option(help="What they wrote.")],
) -> None:
    """Log a reply that came in another way (phone, another inbox): the email becomes replied and the
    prospect moves to replied unless it is further along (stages only move forward); the reply is
    labelled (interested, not interested, out of office...) with what follows from it. An automatic
    answer (out of office, auto-reply) is kept on the timeline and is not a reply."""
    from leadline.db import unit_of_work
    from leadline.emails.schemas import ReplyRequest
    from leadline.guardian import service as guardian
    from leadline.prospects.stages import STAGE_LABELS

    def stage(name: str) -> str:
        shown = STAGE_LABELS.get(name, name)
        return shown if shown.lower() == name.replace("_", " ") else f"{shown} ({name})"

    require_database()
    with cli_errors(), unit_of_work(cli_settings()) as session:
        text = ReplyRequest.model_validate({"text": text}).text
        logged = guardian.log_reply(session, email_id, text, actor=actor())
        prospect_id, reply_id, shown, action = logged.email.prospect_id, logged.label.id, logged.label.label, \
            logged.label.action  # fmt: skip
    if not logged.is_reply:
        where = f"; it stays at {stage(logged.stage)}" if not logged.moved else f"; now {stage(logged.stage)}"
        typer.echo(f"Logged the automatic answer to {email_id} on {prospect_id}'s timeline (not a reply){where}.")
    elif logged.moved:
        typer.echo(f"Logged the reply to {email_id}; {prospect_id} moved from {stage(logged.stage_before)} to "
                   f"{stage(logged.stage)}.")  # fmt: skip
    else:
        typer.echo(f"Logged the reply to {email_id}; {prospect_id} stays at {stage(logged.stage)} "
                   f"(stages only move forward).")  # fmt: skip
    typer.echo(f"Reply {reply_id}: {shown} ({action}).")


@app.command("cancel")
def cancel(email_id: Annotated[str, typer.Argument(help="A scheduled email.")]) -> None:
    """Cancel a scheduled email before it goes out."""
    from leadline.db import unit_of_work
    from leadline.emails import service

    require_database()
    with cli_errors(), unit_of_work(cli_settings()) as session:
        service.cancel(session, email_id, actor=actor())
    typer.echo(f"{email_id} is cancelled.")


@app.command("resolve")
def resolve(
    email_id: Annotated[str, typer.Argument(help="An email in status unknown.")],
    sent: Annotated[bool, typer.Option("--sent/--not-sent", help="What you found: it went out, or it did not.")] = ...,  # type: ignore[assignment]
) -> None:
    """Settle an email whose outcome was unknown, after checking (e.g. in SendGrid's activity feed)."""
    from leadline.emails import flows

    require_database()
    with cli_errors():
        state = flows.resolve(cli_settings(), email_id, sent=sent, actor=actor()).status
    typer.echo(f"{email_id} is now {state}.")


# --- templates -------------------------------------------------------------------------------


@templates_app.command("list")
def templates_list(as_json: JsonOpt = False) -> None:
    """List templates (yours override built-ins of the same name)."""
    from leadline.emails import templates

    settings = cli_settings()
    with cli_errors():
        found = [templates.load(settings, name) for name in templates.names(settings)]
    if as_json:
        print_json([{"name": t.name, "type": t.email_type, "subject": t.subject, "source": t.source} for t in found])
        return
    print_table(["Name", "Type", "Subject", "From"], ((t.name, t.email_type, t.subject, t.source) for t in found))


@templates_app.command("show")
def templates_show(name: Annotated[str, typer.Argument(help="Template name.")], as_json: JsonOpt = False) -> None:
    """Print a template's source and the merge fields it uses."""
    from leadline.emails import templates

    with cli_errors():
        template = templates.load(cli_settings(), name)
    if as_json:
        print_json({"name": template.name, "type": template.email_type, "subject": template.subject,
                    "body": template.body, "html": template.html, "source": template.source,
                    "fields": sorted(template.fields)})  # fmt: skip
        return
    typer.echo(f"# {template.name} ({template.source}), type {template.email_type}")
    echo_text(f"Subject: {template.subject}\n\n{template.body}")
    typer.echo("Merge fields: " + ", ".join(f"{f} ({templates.MERGE_FIELDS[f]})" for f in sorted(template.fields)))


@templates_app.command("preview")
def templates_preview(
    name: Annotated[str, typer.Argument(help="Template name.")],
    prospect: Annotated[str, typer.Option(help="Fill it in for this prospect.")],
    as_json: JsonOpt = False,
) -> None:
    """Show a template filled in for one prospect, exactly as it would be sent (without the footer)."""
    from leadline.db import unit_of_work
    from leadline.emails import templates
    from leadline.prospects import service as prospects

    require_database()
    settings = cli_settings()
    with cli_errors(), unit_of_work(cli_settings(), readonly=True) as session:
        template = templates.load(settings, name)
        target = prospects.get(session, prospect)
        rendered = templates.render(template, target, settings)
        to = target.email
    if as_json:
        print_json({"template": name, "prospectId": prospect, "toEmail": to, "subject": rendered.subject,
                    "text": rendered.text, "html": rendered.html})  # fmt: skip
        return
    echo_text(f"To: {to or '(no email address)'}\nSubject: {rendered.subject}\n\n{rendered.text}")


# --- suppressions ----------------------------------------------------------------------------


@suppressions_app.command("add")
def suppressions_add(
    email: Annotated[str, typer.Argument(help="The address to block.")],
    note: Annotated[str | None, typer.Option(help="Why.")] = None,
) -> None:
    """Never email this address (added by hand; lift it with `suppressions remove`)."""
    from leadline.db import unit_of_work
    from leadline.emails import service
    from leadline.emails.schemas import SuppressionCreate

    require_database()
    with cli_errors(), unit_of_work(cli_settings()) as session:
        given = SuppressionCreate.model_validate({"email": email, "note": note})
        new = service.suppress(session, given.email, "manual", source="cli", actor=actor(), note=given.note)
    typer.echo(f"{email.strip().lower()} is suppressed." if new else f"{email.strip().lower()} was already suppressed.")


@suppressions_app.command("list")
def suppressions_list(as_json: JsonOpt = False) -> None:
    """List suppressed addresses, newest first."""
    from leadline.db import unit_of_work
    from leadline.emails import service
    from leadline.emails.schemas import SuppressionRead

    require_database()
    with cli_errors(), unit_of_work(cli_settings(), readonly=True) as session:
        rows = [SuppressionRead.model_validate(s) for s in service.suppressions(session)]
    if as_json:
        print_json([r.dump() for r in rows])
        return
    print_table(
        ["Email", "Reason", "Source", "Since", "Note"],
        ((r.email, r.reason, r.source, local(r.created_at), r.note or "") for r in rows),
        footer=f"{len(rows)} suppressed",
    )


@suppressions_app.command("remove")
def suppressions_remove(email: Annotated[str, typer.Argument(help="The address to allow again.")]) -> None:
    """Allow an address again (the prospect stays do-not-contact until you change that too)."""
    from leadline.db import unit_of_work
    from leadline.emails import service

    require_database()
    with cli_errors(), unit_of_work(cli_settings()) as session:
        row = service.lift_suppression(session, email, actor=actor())
        was = row.reason
    typer.echo(f"{email.strip().lower()} may be emailed again (it was suppressed for {was.replace('_', ' ')}).")
