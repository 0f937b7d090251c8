"""``leadline availability set|show`` (what a user offers for booked calls) and ``leadline booking
link|revoke`` (a prospect's booking page)."""

from __future__ import annotations

from typing import Annotated

import typer

from leadline.cli._out import actor, cli_errors, cli_settings, local, print_fields, print_json

availability_app = typer.Typer(
    help="Availability: the times each user offers for calls prospects book themselves.", no_args_is_help=True
)
booking_app = typer.Typer(help="Booking links: a prospect's own page to book a call.", no_args_is_help=True)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]
UserOpt = Annotated[
    str | None, typer.Option("--user", help="The user's e-mail address (default: the only user, else required).")
]


def _user(session, email: str | None):  # type: ignore[no-untyped-def]
    from leadline.auth import service as users
    from leadline.errors import Invalid

    if email:
        return users.get_user(session, email)
    found = users.list_users(session)
    if len(found) == 1:
        return found[0]
    raise Invalid("name the user with --user EMAIL" if found else "no users yet: add one with `leadline users add`",
                  field="user")  # fmt: skip


def _show(result) -> None:  # type: ignore[no-untyped-def]
    from leadline.booking.schemas import weekly_text

    print_fields(
        [
            ("User", result.user),
            ("Time zone", result.timezone),
            ("Weekly hours", weekly_text(result.weekly).replace("\n", "; ")),
            ("Call lengths", ", ".join(f"{m} min" for m in result.lengths)),
            ("Buffers", f"{result.buffer_before} min before, {result.buffer_after} min after"),
            ("How far ahead", f"{result.horizon_days} days"),
            ("Minimum notice", f"{result.min_notice_minutes} min"),
            ("Daily maximum", f"{result.daily_max} calls"),
            (
                "Updated",
                f"{local(result.updated_at)} by {result.updated_by}" if result.updated_at else "never (defaults)",
            ),
        ],
        title="Availability",
    )


@availability_app.command("show")
def show(user: UserOpt = None, as_json: JsonOpt = False) -> None:
    """A user's availability (the defaults until it is set)."""
    from leadline.booking import availability
    from leadline.cli._out import require_database
    from leadline.db import unit_of_work

    require_database()
    settings = cli_settings()
    with cli_errors(), unit_of_work(settings, readonly=True) as session:
        found = _user(session, user)
        result = availability.read(availability.get(session, found.id), found, settings.timezone)
    if as_json:
        print_json(result.dump())
    else:
        _show(result)


@availability_app.command("set")
def set_availability(
    user: UserOpt = None,
    hours: Annotated[
        str | None,
        typer.Option("--hours", help="Weekly hours: 'mon-fri 09:00-12:00 13:00-17:00; sat 10:00-12:00' (others off)."),
    ] = None,
    timezone: Annotated[
        str | None, typer.Option("--timezone", help="The zone of the hours, e.g. America/Chicago.")
    ] = None,
    lengths: Annotated[str | None, typer.Option("--lengths", help="Call lengths offered, minutes: '15,30'.")] = None,
    buffer_before: Annotated[
        int | None, typer.Option("--buffer-before", help="Minutes kept free before a call.")
    ] = None,
    buffer_after: Annotated[int | None, typer.Option("--buffer-after", help="Minutes kept free after a call.")] = None,
    days_ahead: Annotated[int | None, typer.Option("--days-ahead", help="How many days ahead may be booked.")] = None,
    notice: Annotated[int | None, typer.Option("--notice", help="The least notice, minutes.")] = None,
    daily_max: Annotated[int | None, typer.Option("--daily-max", help="Most calls in one day.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Set what a user offers; options left out keep their value."""
    from leadline.booking import availability
    from leadline.booking.schemas import AvailabilitySet
    from leadline.cli._out import require_database
    from leadline.db import unit_of_work

    require_database()
    settings = cli_settings()
    with cli_errors():
        data = AvailabilitySet.model_validate(
            {
                k: v
                for k, v in {
                    "timezone": timezone,
                    "weekly": hours,
                    "lengths": lengths,
                    "buffer_before": buffer_before,
                    "buffer_after": buffer_after,
                    "horizon_days": days_ahead,
                    "min_notice_minutes": notice,
                    "daily_max": daily_max,
                }.items()
                if v is not None
            }
        )
        with unit_of_work(settings) as session:
            found = _user(session, user)
            result = availability.read(availability.set_for(session, found, data, actor=actor()), found,
                                       settings.timezone)  # fmt: skip
    if as_json:
        print_json(result.dump())
    else:
        _show(result)


@booking_app.command("link")
def link(
    prospect_id: Annotated[str, typer.Argument(help="The prospect's id.")],
    sender: Annotated[
        str | None, typer.Option("--sender", help="The From address (default: the configured one).")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """A prospect's booking link (what {{ booking_url }} prints in an email)."""
    from leadline.booking import service
    from leadline.cli._out import require_database
    from leadline.db import unit_of_work

    require_database()
    with cli_errors(), unit_of_work(cli_settings(), readonly=True) as session:
        result = service.link_for(session, prospect_id, sender)
    if as_json:
        print_json(result.dump())
        return
    typer.echo(result.url or f"{prospect_id} cannot book a call (lost or do-not-contact)")
    if result.revoked_at:
        typer.echo(f"Links made before {local(result.revoked_at)} were withdrawn.", err=True)


@booking_app.command("revoke")
def revoke(
    prospect_id: Annotated[str, typer.Argument(help="The prospect's id.")],
    sender: Annotated[str | None, typer.Option("--sender", help="Only this sender's link (default: all).")] = None,
    reason: Annotated[str | None, typer.Option("--reason", help="Why (kept with the link).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Withdraw every booking link sent to a prospect so far (emails sent later carry a new one)."""
    from leadline.booking import service
    from leadline.cli._out import require_database
    from leadline.db import unit_of_work

    require_database()
    with cli_errors(), unit_of_work(cli_settings()) as session:
        row = service.revoke(session, prospect_id, sender=sender, reason=reason, actor=actor())
        result = {"prospectId": row.prospect_id, "sender": row.sender_email, "revokedAt": row.revoked_at,
                  "reason": row.revoked_reason}  # fmt: skip
    if as_json:
        print_json(result)
    else:
        who = "every sender" if row.sender_email == "*" else row.sender_email
        typer.echo(f"Withdrew the booking links of {prospect_id} ({who}).")
