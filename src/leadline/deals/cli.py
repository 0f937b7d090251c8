"""``leadline deals ...``: won, lost, reopen."""

from __future__ import annotations

from typing import Annotated, Literal

import typer

from leadline.cli._out import actor, cli_errors, cli_settings, price, print_json

app = typer.Typer(help="Deals: win (makes the customer), lose, reopen a lost one.", no_args_is_help=True)

Service = Literal["grid_health_analysis", "content_generation", "paid_ads"]
OpenStage = Literal["new", "contacted", "replied", "scheduled", "interested", "proposal"]
ProspectOpt = Annotated[str, typer.Option("--prospect", help="The prospect's id.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]


@app.command("won")
def won(
    prospect: ProspectOpt,
    service_type: Annotated[Service, typer.Option("--service", help="The service sold.")],
    monthly_fee: Annotated[str, typer.Option(help="Monthly fee, e.g. 2400.")],
    start: Annotated[str | None, typer.Option(help="Service start date; default: the signing day.")] = None,
    contract_url: Annotated[str | None, typer.Option(help="Link to the signed contract.")] = None,
    signed_at: Annotated[str | None, typer.Option(help="When the contract was signed; default: now.")] = None,
    notes: Annotated[str | None, typer.Option(help="Notes on the customer.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Win the deal: the customer record is made from the prospect; the prospect is closed_won."""
    from leadline.cli._out import require_database
    from leadline.customers.schemas import CustomerRead
    from leadline.db import unit_of_work
    from leadline.deals import service
    from leadline.deals.schemas import DealWon

    values = {
        "prospect_id": prospect, "service_type": service_type, "monthly_fee": monthly_fee,
        "start_date": start, "contract_url": contract_url, "signed_at": signed_at, "notes": notes,
    }  # fmt: skip
    require_database()
    with cli_errors():
        data = DealWon.model_validate({k: v for k, v in values.items() if v is not None})
        with unit_of_work(cli_settings()) as session:
            _, customer = service.won(session, data, actor=actor())
            result = CustomerRead.model_validate(customer)
    if as_json:
        print_json(result.dump())
        return
    typer.echo(
        f"Deal won: {result.company_name} is customer {result.id} "
        f"({result.service_type}, {price(result.monthly_fee, 'month')}); {prospect} is closed_won."
    )


@app.command("lost")
def lost(
    prospect: ProspectOpt,
    reason: Annotated[str, typer.Option(help="Why the deal was lost.")],
) -> None:
    """Lose the deal: the prospect moves to closed_lost with the reason."""
    from leadline.cli._out import require_database
    from leadline.db import unit_of_work
    from leadline.deals import service
    from leadline.deals.schemas import DealLost

    require_database()
    with cli_errors():
        data = DealLost.model_validate({"prospect_id": prospect, "reason": reason})
        with unit_of_work(cli_settings()) as session:
            service.lost(session, data.prospect_id, reason=data.reason, actor=actor())
    typer.echo(f"Deal lost: {prospect} is closed_lost ({data.reason}).")


@app.command("reopen")
def reopen(
    prospect: ProspectOpt,
    reason: Annotated[str, typer.Option(help="Why it is open again.")],
    stage: Annotated[
        OpenStage | None, typer.Option(help="Stage to reopen to; default: the stage it was lost from.")
    ] = None,
) -> None:
    """Reopen a lost deal (the only way back from closed_lost besides a manual stage move)."""
    from leadline.cli._out import require_database
    from leadline.db import unit_of_work
    from leadline.deals import service
    from leadline.deals.schemas import DealReopen

    require_database()
    with cli_errors():
        data = DealReopen.model_validate({"prospect_id": prospect, "reason": reason, "stage": stage})
        with unit_of_work(cli_settings()) as session:
            moved = service.reopen(
                session, data.prospect_id, reason=data.reason, stage=data.stage, actor=actor()
            ).sales_status
    typer.echo(f"Deal reopened: {prospect} is {moved}.")


proposals_app = typer.Typer(help="Proposals: email one, record the deal value, move to proposal.", no_args_is_help=True)


@proposals_app.command("send")
def proposals_send(
    proposal: Annotated[
        str | None, typer.Argument(help="A proposal document's id (prp_...): email its private link.")
    ] = None,
    prospect: Annotated[
        str | None, typer.Option("--prospect", help="The prospect's id (an email-only proposal).")
    ] = None,
    value: Annotated[float | None, typer.Option(help="Monthly value proposed, e.g. 2400 (email-only).")] = None,
    template: Annotated[str, typer.Option(help="The email template.")] = "proposal",
    force: Annotated[bool, typer.Option("--force", help="Send although this template went to them before.")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show the email; send nothing, change nothing.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Send a proposal: a document (`send prp_...`: its link) or an email alone (`--prospect X --value N`).
    Either way the deal value is recorded and the prospect moves to proposal."""
    from leadline.cli._out import abort, require_database
    from leadline.deals.flows import send_proposal

    if proposal is not None:
        if prospect is not None or value is not None or dry_run:
            abort("give a proposal id, or --prospect and --value, not both (and no --dry-run for a document)")
        from leadline.proposals.cli import send_document

        send_document(proposal, template, force, as_json)
        return
    if prospect is None or value is None:
        abort("give a proposal id (leadline proposals create ...), or --prospect and --value")
    require_database()
    with cli_errors():
        result = send_proposal(
            cli_settings(), prospect, value, actor=actor(), template=template, force=force, dry_run=dry_run
        )
    if as_json:
        print_json(result.__dict__)
        return
    if dry_run:
        typer.echo(f"Dry run: would send {template} to {prospect}: {result.subject}. Nothing was sent.")
        return
    typer.echo(
        f"Proposal sent to {prospect} ({result.email_id}): {price(value, 'month')}; "
        f"{prospect} is now {result.sales_status}."
    )
