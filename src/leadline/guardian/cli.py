"""``leadline senders check``, ``leadline emails label`` and ``leadline replies ...``.

``check`` is registered under the ``senders`` group of the CLI root; the reply commands under
``emails`` (``label``) and their own ``replies`` group.
"""

from __future__ import annotations

from typing import Annotated

import typer

from leadline.cli._out import cli_errors, cli_settings, print_json, print_table

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
