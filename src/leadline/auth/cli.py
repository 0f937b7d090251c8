"""``leadline users ...`` and ``leadline tokens ...``."""

from __future__ import annotations

import sys
from typing import Annotated, Any, Literal

import typer

from leadline.cli._out import abort, actor, cli_errors, cli_settings, local, print_json, print_table

users_app = typer.Typer(help="People who sign in to the web app, and their roles.", no_args_is_help=True)
tokens_app = typer.Typer(help="API tokens for scripts and integrations.", no_args_is_help=True)

Role = Literal["admin", "member", "viewer"]
PasswordStdin = Annotated[
    bool, typer.Option("--password-stdin", help="Read the password from the first line of standard input.")
]
Link = Annotated[bool, typer.Option("--link", help="Print a one-time set-password link instead of asking.")]


def _password(from_stdin: bool, link: bool) -> str | None:
    """The new password: from stdin, asked for at the terminal, or None (a link is printed instead)."""
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            abort("no password on standard input")
        return password
    if link or not sys.stdin.isatty():
        return None
    typed: str = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    return typed


@users_app.command("add")
def add(
    email: Annotated[str, typer.Argument(help="The e-mail address they sign in with.")],
    role: Annotated[Role, typer.Option(help="viewer: reads; member: works; admin: also manages users.")] = "member",
    password_stdin: PasswordStdin = False,
    link: Link = False,
) -> None:
    """Add a user. Asks for a password, or prints a one-time set-password link (valid 3 days)."""
    from leadline.auth import service
    from leadline.cli._out import require_database
    from leadline.db import unit_of_work

    require_database()
    with cli_errors():
        password = _password(password_stdin, link)
        if password is not None:
            service.check_password(password)
        with unit_of_work(cli_settings()) as session:
            user = service.add_user(session, email, role, password)
            url = service.set_password_link(session, cli_settings(), user) if password is None else None
            email = user.email
    typer.echo(f"Added {email} ({role}).")
    if url:
        typer.echo(f"They choose their password at (once, within 3 days):\n  {url}")


@users_app.command("set-password")
def set_password(
    email: Annotated[str, typer.Argument(help="The user's e-mail address.")],
    password_stdin: PasswordStdin = False,
    link: Link = False,
) -> None:
    """Set a user's password (which signs them out everywhere), or print a new set-password link."""
    from leadline.auth import service
    from leadline.cli._out import require_database
    from leadline.db import unit_of_work

    require_database()
    with cli_errors():
        password = _password(password_stdin, link)
        with unit_of_work(cli_settings()) as session:
            user = service.get_user(session, email)
            if password is None:
                url = service.set_password_link(session, cli_settings(), user)
            else:
                service.set_password(session, user, password)
                url = None
            email = user.email
    if url:
        typer.echo(f"{email} chooses a new password at (once, within 3 days):\n  {url}")
    else:
        typer.echo(f"Password of {email} changed; their browsers are signed out.")


@users_app.command("role")
def role(
    email: Annotated[str, typer.Argument(help="The user's e-mail address.")],
    new_role: Annotated[Role, typer.Argument(metavar="ROLE", help="admin, member or viewer.")],
) -> None:
    """Change what a user may do."""
    from leadline.auth import service
    from leadline.cli._out import require_database
    from leadline.db import unit_of_work

    require_database()
    with cli_errors(), unit_of_work(cli_settings()) as session:
        user = service.change_role(session, email, new_role)
        email = user.email
    typer.echo(f"{email} is now {new_role}.")


@users_app.command("remove")
def remove(email: Annotated[str, typer.Argument(help="The user's e-mail address.")]) -> None:
    """Remove a user (and sign them out)."""
    from leadline.auth import service
    from leadline.cli._out import require_database
    from leadline.db import unit_of_work

    require_database()
    with cli_errors(), unit_of_work(cli_settings()) as session:
        email = service.remove_user(session, email).email
    typer.echo(f"Removed {email}.")


@users_app.command("unlock")
def unlock(email: Annotated[str, typer.Argument(help="The user's e-mail address.")]) -> None:
    """Let a user sign in again at once: forget their failed sign-ins, from every address."""
    from leadline.auth import service
    from leadline.cli._out import require_database
    from leadline.db import unit_of_work

    require_database()
    with cli_errors(), unit_of_work(cli_settings()) as session:
        email, ended = service.unlock(session, email)
    locks = f"{ended} lock(s) ended" if ended else "it was not locked"
    typer.echo(f"Unlocked {email}: {locks}; its failed sign-ins are forgotten.")


def _lock_text(state: Any) -> str:
    """What `users list` shows of a user's sign-in locks."""
    if state is None:
        return ""
    who = [*(["new browsers"] if state.account else []), *([f"{state.clients} address(es)"] if state.clients else [])]
    return f"locked for {' and '.join(who)} until {local(state.until)}"


@users_app.command("list")
def list_users(as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """Users, their roles, and whether failed sign-ins have locked them out (`leadline users unlock`)."""
    from leadline.auth import service
    from leadline.cli._out import require_database
    from leadline.clock import utc_now
    from leadline.db import unit_of_work

    require_database()
    with cli_errors(), unit_of_work(cli_settings(), readonly=True) as session:
        locks = service.lock_states(session, utc_now())
        rows: list[dict[str, Any]] = []
        for u in service.list_users(session):
            lock = locks.get(u.email)
            rows.append({"email": u.email, "role": u.role, "hasPassword": bool(u.password_hash),
                         "lastLoginAt": u.last_login_at, "createdAt": u.created_at,
                         "lockedUntil": lock.until if lock else None,
                         "lockedForNewBrowsers": bool(lock and lock.account),
                         "lockedAddresses": lock.clients if lock else 0})  # fmt: skip
    if as_json:
        print_json(rows)
        return
    print_table(
        ["E-mail", "Role", "Password", "Last sign-in", "Sign-in lock"],
        ((r["email"], r["role"], "set" if r["hasPassword"] else "link sent", local(r["lastLoginAt"]),
          _lock_text(locks.get(r["email"]))) for r in rows),
        footer=f"{len(rows)} user(s)",
    )  # fmt: skip


@tokens_app.command("create")
def create(
    name: Annotated[str, typer.Option(help="What it is for, e.g. zapier.")],
    scope: Annotated[Literal["read", "write"], typer.Option(help="read: GET only; write: everything a member can.")],
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print only the token.")] = False,
) -> None:
    """Create an API token. It is shown once: only its hash is stored."""
    from leadline.auth import service
    from leadline.cli._out import require_database
    from leadline.db import unit_of_work

    require_database()
    with cli_errors(), unit_of_work(cli_settings()) as session:
        token, raw = service.create_token(session, name, scope, actor())
        token_id = token.id
    if quiet:
        typer.echo(raw)
        return
    typer.echo(f"Token {name!r} ({scope}, id {token_id}). Copy it now; it is not shown again:\n  {raw}")
    typer.echo("Use it as: Authorization: Bearer <token>")


@tokens_app.command("list")
def list_tokens(
    include_revoked: Annotated[bool, typer.Option("--all", help="Include revoked tokens.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """API tokens (never the tokens themselves: their first characters)."""
    from leadline.auth import service
    from leadline.cli._out import require_database
    from leadline.db import unit_of_work

    require_database()
    with cli_errors(), unit_of_work(cli_settings(), readonly=True) as session:
        rows: list[dict[str, Any]] = [
            {"id": t.id, "name": t.name, "scope": t.scope, "prefix": t.prefix, "createdBy": t.created_by,
             "createdAt": t.created_at, "lastUsedAt": t.last_used_at, "revokedAt": t.revoked_at}
            for t in service.list_tokens(session, include_revoked=include_revoked)
        ]  # fmt: skip
    if as_json:
        print_json(rows)
        return
    print_table(
        ["Id", "Name", "Scope", "Starts", "Created", "Last used", "Revoked"],
        (
            (
                r["id"],
                r["name"],
                r["scope"],
                r["prefix"] + "…",
                local(r["createdAt"]),
                local(r["lastUsedAt"]),
                local(r["revokedAt"]),
            )
            for r in rows
        ),
        footer=f"{len(rows)} token(s)",
    )


@tokens_app.command("revoke")
def revoke(token: Annotated[str, typer.Argument(help="The token's id or name.")]) -> None:
    """Revoke a token: it stops working at once, in every process."""
    from leadline.auth import service
    from leadline.cli._out import require_database
    from leadline.db import unit_of_work

    require_database()
    with cli_errors(), unit_of_work(cli_settings()) as session:
        row = service.revoke_token(session, token)
        name = row.name
    typer.echo(f"Revoked token {name!r}.")
