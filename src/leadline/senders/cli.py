"""``leadline senders ...``: the From identities Leadline sends as, their health, pausing and resuming."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

import typer

from leadline.cli._out import actor, cli_errors, cli_settings, local, print_fields, print_json, print_table
from leadline.guardian.cli import check as domain_check

app = typer.Typer(help="Senders: From addresses with their own cap, warm-up, gap, window, health and domain checks.",
                  no_args_is_help=True)  # fmt: skip

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]
Key = Annotated[str, typer.Argument(help="The sender's id or address.")]
NameOpt = Annotated[str | None, typer.Option("--name", help="The From name (such as 'Ann at Acme').")]
CapOpt = Annotated[int | None, typer.Option("--daily-cap", help="Sends a day at most (0-10000).")]
StartOpt = Annotated[int | None, typer.Option("--warmup-start", help="Warm-up: sends on the first day.")]
StepOpt = Annotated[int | None, typer.Option("--warmup-step", help="Warm-up: more sends each day after.")]
MaxOpt = Annotated[int | None, typer.Option("--warmup-max", help="Warm-up: the ramp's ceiling.")]
GapOpt = Annotated[int | None, typer.Option("--min-gap", help="Seconds between two sends (0-86400).")]
WindowOpt = Annotated[
    str | None,
    typer.Option("--window", help="When it may send: '08:00-17:00 mon-fri Europe/Paris' (days, zone optional), "
                 "or 'always'."),
]  # fmt: skip
CredOpt = Annotated[
    str | None,
    typer.Option("--credentials-env", help="NAME of the variable holding its own SendGrid key (never the key)."),
]


def _values(**given: Any) -> dict[str, Any]:
    return {k: v for k, v in given.items() if v is not None}


def _change(change: Callable[[Any, Any], Any], as_json: bool, said: Callable[[Any], str]) -> None:
    """The one shape of add, update, pause and resume: ``change(session, service)`` (which validates its
    input and returns the sender) in a unit of work; then the sender as JSON, or ``said(sender)``."""
    from leadline.cli._out import require_database
    from leadline.db import unit_of_work
    from leadline.senders import service

    require_database()
    settings = cli_settings()
    with cli_errors(), unit_of_work(settings) as session:
        result = service.read(session, settings, change(session, service))
    if as_json:
        print_json(result.dump())
    else:
        typer.echo(said(result))


def _show(sender: Any, as_json: bool) -> None:
    if as_json:
        print_json(sender.dump(exclude_none=False))
        return
    ramp = (f"{sender.warmup_start} +{sender.warmup_step}/day up to {sender.warmup_max or sender.daily_cap}"
            if sender.warmup_start is not None else "none")  # fmt: skip
    status = sender.status + (f" ({sender.paused_reason}; by {sender.paused_by}, {local(sender.paused_at)})"
                              if sender.status == "paused" else "")  # fmt: skip
    print_fields(
        [("Id", sender.id), ("From", f"{sender.name} <{sender.email}>"), ("Status", status),
         ("Daily cap", sender.daily_cap), ("Today", f"{sender.sent_today} of {sender.cap_today}"), ("Warm-up", ramp),
         ("Min gap", f"{sender.min_gap_seconds} s"), ("Window", sender.window.text() if sender.window else "always"),
         ("Credentials", sender.credentials_env or "the backend's own")],
        title=sender.email,
    )  # fmt: skip
    if sender.events:
        print_table(["When", "What", "By", "Note"],
                    ((local(e.created_at), e.kind, e.actor, e.note or "") for e in sender.events))  # fmt: skip


@app.command("add")
def add(
    email: Annotated[str, typer.Argument(help="The From address.")],
    name: NameOpt = None,
    daily_cap: CapOpt = None,
    warmup_start: StartOpt = None,
    warmup_step: StepOpt = None,
    warmup_max: MaxOpt = None,
    min_gap: GapOpt = None,
    window: WindowOpt = None,
    credentials_env: CredOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Add a sender (active at once)."""
    from leadline.senders.schemas import SenderCreate

    def change(session: Any, service: Any) -> Any:
        data = SenderCreate.model_validate(_values(
            email=email, name=name if name is not None else email.partition("@")[0], daily_cap=daily_cap,
            warmup_start=warmup_start, warmup_step=warmup_step, warmup_max=warmup_max, min_gap_seconds=min_gap,
            window=window, credentials_env=credentials_env,
        ))  # fmt: skip
        return service.add(session, data, actor=actor())

    _change(change, as_json, lambda r: f"Added sender {r.name} <{r.email}> ({r.id}), {r.daily_cap} a day.")


@app.command("list")
def list_senders(as_json: JsonOpt = False) -> None:
    """Every sender, with today's sends against today's cap."""
    from leadline.cli._out import require_database
    from leadline.db import unit_of_work
    from leadline.senders import service

    require_database()
    settings = cli_settings()
    with cli_errors(), unit_of_work(settings, readonly=True) as session:
        items = [service.read(session, settings, s) for s in service.all_senders(session)]
    if as_json:
        print_json([item.dump() for item in items])
        return
    caps = sum(s.cap_today for s in items if s.status == "active")
    ceiling = (f"; today's caps add up to {caps}, under the ceiling of {settings.daily_send_limit} a day across "
               "every sender (LEADLINE_DAILY_SEND_LIMIT)")  # fmt: skip
    print_table(
        ["Sender", "Name", "Status", ("Today", "right"), ("Cap", "right"), ("Gap s", "right"), "Window", "Id"],
        ((s.email, s.name, s.status + (f": {s.paused_reason}" if s.paused_reason else ""), s.sent_today,
          s.cap_today, s.min_gap_seconds, s.window.text() if s.window else "always", s.id) for s in items),
        footer=f"{len(items)} senders{ceiling}" if items else "no senders (`leadline senders add EMAIL`)",
    )  # fmt: skip


@app.command("show")
def show(key: Key, as_json: JsonOpt = False) -> None:
    """One sender, with its record (added, changed, paused, resumed, warnings)."""
    from leadline.cli._out import require_database
    from leadline.db import unit_of_work
    from leadline.senders import service

    require_database()
    settings = cli_settings()
    with cli_errors(), unit_of_work(settings, readonly=True) as session:
        result = service.read(session, settings, service.find(session, key), events=True)
    _show(result, as_json)


@app.command("update")
def update(
    key: Key,
    name: NameOpt = None,
    daily_cap: CapOpt = None,
    warmup_start: StartOpt = None,
    warmup_step: StepOpt = None,
    warmup_max: MaxOpt = None,
    min_gap: GapOpt = None,
    window: WindowOpt = None,
    credentials_env: CredOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Change a sender (only what is given)."""
    from leadline.cli._out import abort
    from leadline.senders.schemas import SenderUpdate

    given = _values(
        name=name, daily_cap=daily_cap, warmup_start=warmup_start, warmup_step=warmup_step, warmup_max=warmup_max,
        min_gap_seconds=min_gap, window=window, credentials_env=credentials_env,
    )  # fmt: skip
    if not given:
        abort("nothing to change: give --name, --daily-cap, --warmup-start, --warmup-step, --warmup-max, "
              "--min-gap, --window or --credentials-env")  # fmt: skip
    _change(lambda session, service: service.update_sender(session, key, SenderUpdate.model_validate(given),
                                                           actor=actor()),
            as_json, lambda r: f"Updated sender {r.email}.")  # fmt: skip


@app.command("pause")
def pause(
    key: Key,
    reason: Annotated[str, typer.Option("--reason", help="Why (kept with the pause).")] = "paused by a person",
    as_json: JsonOpt = False,
) -> None:
    """Stop a sender at once, in every process: its queued sends and sequence steps wait."""
    from leadline.senders.schemas import PauseIn

    _change(lambda session, service: service.pause(session, key, PauseIn(reason=reason).reason, actor=actor()),
            as_json, lambda r: f"Paused sender {r.email}: its queued sends wait until it is resumed.")  # fmt: skip


@app.command("resume")
def resume(
    key: Key,
    note: Annotated[str, typer.Option("--note", help="Why it is safe to send again (kept in its record).")],
    as_json: JsonOpt = False,
) -> None:
    """Let a paused sender send again (a person, with a note)."""
    from leadline.senders.schemas import ResumeIn

    _change(lambda session, service: service.resume(session, key, ResumeIn(note=note).note, actor=actor()),
            as_json, lambda r: f"Resumed sender {r.email}; what waited on it goes now.")  # fmt: skip


@app.command("remove")
def remove(key: Key, as_json: JsonOpt = False) -> None:
    """Remove a sender that never sent (one that did: pause it)."""
    from leadline.cli._out import require_database
    from leadline.db import unit_of_work
    from leadline.senders import service

    require_database()
    with cli_errors(), unit_of_work(cli_settings()) as session:
        email = service.remove(session, key, actor=actor())
    if as_json:
        print_json({"removed": email})
    else:
        typer.echo(f"Removed sender {email}.")


ListOpt = Annotated[bool, typer.Option("--list", help="Each figure's emails too (read from the rows).")]


@app.command("health")
def health(as_json: JsonOpt = False, with_lists: ListOpt = False) -> None:
    """Bounce, spam-report and unsubscribe rates per sender and per sending domain (24 h, 7 d, 28 d,
    in whole UTC hours up to the end of the current hour)."""
    from leadline.cli._out import require_database
    from leadline.db import unit_of_work
    from leadline.senders import health as figures

    require_database()
    with cli_errors(), unit_of_work(cli_settings(), readonly=True) as session:
        found = figures.report(session, lists=with_lists)
    if as_json:
        print_json(found)
        return

    def rows(name: str, windows: dict[str, Any], status: str = "") -> Any:
        for window, f in windows.items():
            yield (name if window == "24h" else "", status if window == "24h" else "", window, f["sends"],
                   f"{f['bounces']} ({f['bounceRate']:.1%})", f"{f['spamReports']} ({f['spamRate']:.2%})",
                   f"{f['unsubscribes']} ({f['unsubscribeRate']:.1%})")  # fmt: skip

    columns: list[str | tuple[str, str]] = [
        "", "Status", "Window", ("Sends", "right"), ("Hard bounces", "right"), ("Spam reports", "right"),
        ("Unsubscribes", "right"),
    ]  # fmt: skip
    print_table(columns, (r for s in found["senders"] for r in rows(s["email"], s["windows"], s["status"])),
                title="Senders", footer=None if found["senders"] else "no senders")  # fmt: skip
    print_table(columns, (r for d in found["domains"] for r in rows(d["domain"], d["windows"])), title="Domains")
    typer.echo(f"Sent in whole UTC hours up to {found['asOf']}; events counted before then.")
    if with_lists:
        for item in found["senders"]:
            for window, f in item["windows"].items():
                for kind, ids in f["lists"].items():
                    if ids and kind != "sends":
                        typer.echo(f"{item['email']} {window} {kind} ({len(ids)}): {' '.join(ids)}")


# The domain doctor (guardian/): SPF, DKIM, DMARC, MX of a sender's domain and the base URL.
app.command("check")(domain_check)
