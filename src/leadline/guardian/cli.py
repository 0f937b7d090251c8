"""``leadline senders check``, ``leadline emails label`` and ``leadline replies ...``.

``check`` is registered under the ``senders`` group of the CLI root; the reply commands under
``emails`` (``label``) and their own ``replies`` group.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from leadline.cli._out import actor, cli_errors, cli_settings, local, print_json, print_table

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]
MARK = {"pass": "ok", "warn": "WARN", "fail": "FAIL"}


def check(
    target: Annotated[
        str | None,
        typer.Argument(help="A domain or an email address (default: the domain of LEADLINE_SENDER_EMAIL)."),
    ] = None,
    selector: Annotated[
        str | None, typer.Option("--selector", help="The DKIM selector to look up (default: SendGrid's s1/s2).")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """The domain doctor: SPF, DKIM, DMARC and MX of a sending domain, and whether the base URL is public
    HTTPS; each check passes, warns or fails, with the record to add."""
    from leadline.guardian import doctor

    settings = cli_settings()
    with cli_errors():
        report = doctor.check(settings, target, selector=selector)
    if as_json:
        print_json(report.as_dict())
        return
    typer.echo(f"Domain {report.domain} (backend {report.backend})")
    rows = [(name, MARK[c.status], c.detail, c.record or "") for name, c in report.checks.items()]
    print_table(["Check", "Status", "Detail", "Record to add"], rows)


replies_app = typer.Typer(help="Replies: what each one means (its label), and what follows.", no_args_is_help=True)


def _reply_line(view: object) -> str:
    v: Any = view
    named = " ".join(str(x) for x in (v.named_person, f"<{v.named_email}>" if v.named_email else None,
                                      v.named_date) if x)  # fmt: skip
    return f"{v.id} {v.label} ({v.set_by}): {v.reason}" + (f" [{named}]" if named else "") + f"; action: {v.action}"


def label(
    reply_id: Annotated[str, typer.Argument(help="The reply's id (rpl_..., from `leadline replies list`).")],
    new_label: Annotated[
        str,
        typer.Argument(
            metavar="LABEL",
            help="interested, meeting_request, not_interested, "
            "not_now, unsubscribe_request, referral, out_of_office, auto_reply, bounce_like or other.",
        ),
    ],
    note: Annotated[str | None, typer.Option("--note", help="Why (kept with the correction).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Correct a reply's label (the correction is kept and reported; the new label's action is taken)."""
    from leadline.cli._out import require_database
    from leadline.db import unit_of_work
    from leadline.guardian import service

    require_database()
    with cli_errors(), unit_of_work(cli_settings()) as session:
        view = service.view(session, service.correct(session, reply_id, new_label, actor=actor(), note=note))
    if as_json:
        print_json(view.as_dict())
    else:
        typer.echo(_reply_line(view))


@replies_app.command("list")
def list_replies(
    label_name: Annotated[str | None, typer.Option("--label", help="Only replies with this label.")] = None,
    prospect: Annotated[str | None, typer.Option("--prospect", help="Only this prospect's replies.")] = None,
    limit: Annotated[int, typer.Option("--limit", help="At most this many (1-500).")] = 50,
    as_json: JsonOpt = False,
) -> None:
    """Replies with their labels, newest first."""
    from leadline.cli._out import require_database
    from leadline.db import unit_of_work
    from leadline.guardian import service

    require_database()
    with cli_errors(), unit_of_work(cli_settings(), readonly=True) as session:
        views = service.search(session, label=label_name, prospect_id=prospect, limit=limit)
    if as_json:
        print_json([v.as_dict() for v in views])
        return
    rows = [(v.id, local(v.received_at), v.prospect_id, v.label + ("*" if v.set_by == "person" else ""), v.action,
             v.excerpt[:60].replace("\n", " ")) for v in views]  # fmt: skip
    print_table(["Reply", "Received", "Prospect", "Label", "Action", "Says"], rows,
                footer="* set by a person" if any(v.set_by == "person" for v in views) else None)  # fmt: skip


@replies_app.command("labels")
def label_report(as_json: JsonOpt = False) -> None:
    """Counts by label, who set them (rule or person), and the corrections people made."""
    from leadline.cli._out import require_database
    from leadline.db import unit_of_work
    from leadline.guardian import service

    require_database()
    with cli_errors(), unit_of_work(cli_settings(), readonly=True) as session:
        report = service.report(session)
    if as_json:
        print_json(report)
        return
    print_table(["Label", ("Replies", "right")], [(k, n) for k, n in report["byLabel"].items()],
                footer=f"{report['total']} replies; set by the rules {report['setBy']['rule']}, by a person "
                f"{report['setBy']['person']}; corrected {report['correctedReplies']}")  # fmt: skip
    if report["corrections"]:
        print_table(["Rule said", "Person said", ("Times", "right")],
                    [(c["from"], c["to"], c["count"]) for c in report["corrections"]], title="Corrections")  # fmt: skip


@replies_app.command("confirm")
def confirm(reply_id: Annotated[str, typer.Argument(help="A not-interested reply.")]) -> None:
    """Confirm a not-interested reply: its prospect moves to lost with the reply as the reason."""
    from leadline.cli._out import require_database
    from leadline.db import unit_of_work
    from leadline.guardian import service

    require_database()
    with cli_errors(), unit_of_work(cli_settings()) as session:
        row = service.confirm_lost(session, reply_id, actor=actor())
        prospect_id = row.prospect_id
    typer.echo(f"{prospect_id} is now closed_lost (reply {reply_id}).")


@replies_app.command("accept-referral")
def accept_referral(
    reply_id: Annotated[str, typer.Argument(help="A referral reply.")],
    name: Annotated[
        str | None, typer.Option("--name", help="The business's name (default: from the address's domain).")
    ] = None,
    email: Annotated[str | None, typer.Option("--email", help="Their address, if not found.")] = None,
) -> None:
    """Create the prospect a referral names, with its referrer noted."""
    from leadline.cli._out import require_database
    from leadline.db import unit_of_work
    from leadline.guardian import service

    require_database()
    with cli_errors(), unit_of_work(cli_settings()) as session:
        created = service.accept_referral(session, reply_id, actor=actor(), name=name, email=email)
        shown = f"{created.id} ({created.name}{', ' + created.email if created.email else ''})"
    typer.echo(f"Added prospect {shown}, referred in {reply_id}.")
