"""``leadline customers ...``: list (with MRR), show, update, pause, churn, reactivate."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import typer

from leadline.cli._out import (
    abort,
    actor,
    cli_errors,
    cli_settings,
    local,
    price,
    print_fields,
    print_json,
    print_table,
)

app = typer.Typer(
    help="Customers: list with MRR, show, update results, pause, churn, reactivate.", no_args_is_help=True
)

Status = Literal["active", "paused", "churned"]
Service = Literal["grid_health_analysis", "content_generation", "paid_ads"]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]
CustomerArg = Annotated[str, typer.Argument(help="The customer's id (cus_...) or its prospect's id.")]


@app.command("list")
def list_customers(
    status: Annotated[Status | None, typer.Option(help="Only customers with this status.")] = None,
    signed_from: Annotated[str | None, typer.Option("--signed-from", help="Signed on or after (local).")] = None,
    signed_to: Annotated[str | None, typer.Option("--signed-to", help="Signed before (local).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """List customers; the footer shows MRR (the sum of active monthly fees)."""
    from leadline.cli._out import require_database
    from leadline.customers import service
    from leadline.customers.schemas import CustomerList, CustomerRead
    from leadline.db import unit_of_work
    from leadline.times import parse_since

    require_database()
    with cli_errors(), unit_of_work(cli_settings(), readonly=True) as session:
        zone = cli_settings().zone
        start = parse_since(signed_from, zone, field="signed-from") if signed_from else None
        end = parse_since(signed_to, zone, field="signed-to") if signed_to else None
        found = service.search(session, status=status, signed_from=start, signed_to=end)
        items = [CustomerRead.model_validate(c) for c in found]
        result = CustomerList(items=items, total=len(items), mrr=service.mrr(session))
    if as_json:
        print_json(result.dump())
        return
    active = sum(1 for c in items if c.status == "active")
    plural = "" if len(items) == 1 else "s"
    print_table(
        ["Id", "Company", "Contact", "Service", ("Monthly fee", "right"), "Status", "Since",
         ("Grid health", "right"), ("Leads", "right")],
        ((c.id, c.company_name, c.contact_name, c.service_type, price(c.monthly_fee, "month"), c.status,
          local(c.start_date, "%Y-%m-%d"), _health(c.initial_grid_health, c.current_grid_health),
          c.leads_generated) for c in items),
        footer=f"{len(items)} customer{plural}, {active} active · MRR {price(result.mrr, 'month')}",
    )  # fmt: skip


def _health(initial: float | None, current: float | None) -> str:
    if initial is None and current is None:
        return ""
    if current is None or current == initial:
        return f"{initial:g}"
    return f"{initial:g} -> {current:g}" if initial is not None else f"{current:g}"


@app.command("show")
def show(customer: CustomerArg, as_json: JsonOpt = False) -> None:
    """Show every field of a customer."""
    from leadline.cli._out import require_database
    from leadline.customers import service
    from leadline.customers.schemas import CustomerRead
    from leadline.db import unit_of_work

    require_database()
    with cli_errors(), unit_of_work(cli_settings(), readonly=True) as session:
        result = CustomerRead.model_validate(service.get(session, customer))
    if as_json:
        print_json(result.dump())
        return
    pairs = []
    for name, value in result.model_dump().items():
        if name == "monthly_fee":
            value = price(value, "month")
        pairs.append((name, local(value) if hasattr(value, "astimezone") else value))
    print_fields(pairs, title=f"{result.company_name} ({result.id})")


UPDATABLE = (
    "company_name", "contact_name", "email", "phone", "website", "service_type", "monthly_fee", "start_date",
    "contract_url", "primary_contact", "slack_channel", "google_drive_folder", "current_grid_health",
    "impressions_generated", "leads_generated", "notes",
)  # fmt: skip


@app.command("update")
def update(
    customer: CustomerArg,
    current_grid_health: Annotated[str | None, typer.Option(help="Grid health now, 0-100.")] = None,
    impressions_generated: Annotated[str | None, typer.Option(help="Impressions generated so far.")] = None,
    leads_generated: Annotated[str | None, typer.Option(help="Leads generated so far.")] = None,
    monthly_fee: Annotated[str | None, typer.Option(help="Monthly fee.")] = None,
    service_type: Annotated[Service | None, typer.Option("--service", help="The service sold.")] = None,
    start_date: Annotated[str | None, typer.Option("--start", help="Service start date.")] = None,
    company_name: Annotated[str | None, typer.Option(help="Company name.")] = None,
    contact_name: Annotated[str | None, typer.Option(help="Contact name.")] = None,
    email: Annotated[str | None, typer.Option(help="Email address.")] = None,
    phone: Annotated[str | None, typer.Option(help="Phone number.")] = None,
    website: Annotated[str | None, typer.Option(help="Website.")] = None,
    contract_url: Annotated[str | None, typer.Option(help="Link to the contract.")] = None,
    primary_contact: Annotated[str | None, typer.Option(help="Who to talk to.")] = None,
    slack_channel: Annotated[str | None, typer.Option(help="Shared Slack channel.")] = None,
    google_drive_folder: Annotated[str | None, typer.Option(help="Google Drive folder URL.")] = None,
    notes: Annotated[str | None, typer.Option(help="Notes.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Edit a customer: results (grid health, impressions, leads), fee, contract, contacts."""
    from leadline.cli._out import require_database
    from leadline.customers import service
    from leadline.customers.schemas import CustomerRead, CustomerUpdate
    from leadline.db import unit_of_work

    values = locals()
    given: dict[str, Any] = {name: values[name] for name in UPDATABLE if values[name] is not None}
    if not given:
        abort("nothing to change: give at least one --field value (see --help)")
    require_database()
    with cli_errors():
        changes = CustomerUpdate.model_validate(given)
        with unit_of_work(cli_settings()) as session:
            result = CustomerRead.model_validate(service.update(session, customer, changes, actor=actor()))
    if as_json:
        print_json(result.dump())
    else:
        typer.echo(f"Updated {result.id} ({result.company_name}): {', '.join(sorted(given))}.")


def _status_command(action: str, doc: str) -> None:
    def command(
        customer: CustomerArg,
        reason: Annotated[str | None, typer.Option(help="Why (kept in the timeline).")] = None,
        as_json: JsonOpt = False,
    ) -> None:
        from leadline.cli._out import require_database
        from leadline.customers import service
        from leadline.customers.schemas import CustomerRead, StatusChange
        from leadline.db import unit_of_work

        require_database()
        with cli_errors():
            data = StatusChange.model_validate({"reason": reason})
            with unit_of_work(cli_settings()) as session:
                changed = service.change_status(session, customer, action, reason=data.reason, actor=actor())
                result = CustomerRead.model_validate(changed)
        if as_json:
            print_json(result.dump())
        else:
            typer.echo(f"{result.company_name} ({result.id}) is {result.status}.")

    command.__doc__ = doc
    app.command(action)(command)


_status_command("pause", "Pause a customer (its fee leaves MRR until reactivated).")
_status_command("churn", "Churn a customer: it ends today; its fee leaves MRR.")
_status_command("reactivate", "Make a paused or churned customer active again.")
