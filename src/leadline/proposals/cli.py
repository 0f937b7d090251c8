"""``leadline proposals create|edit|send|show|list|pdf``: proposals as documents (``proposals send ID``).

``leadline proposals send --prospect X --value N`` (the email alone, as before) stays in deals/cli.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

import typer

from leadline.cli._out import actor, cli_errors, cli_settings, local, print_fields, print_json, print_table

Service = Literal["grid_health_analysis", "content_generation", "paid_ads"]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]
IdArg = Annotated[str, typer.Argument(help="The proposal's id (prp_...).")]


def create(
    prospect: Annotated[str, typer.Option("--prospect", help="The prospect's id.")],
    service_type: Annotated[Service, typer.Option("--service", help="The service proposed.")],
    monthly_fee: Annotated[float, typer.Option("--fee", help="The monthly fee, e.g. 2400.")],
    title: Annotated[str | None, typer.Option(help="Default: 'Proposal for <the business>'.")] = None,
    intro: Annotated[str | None, typer.Option(help="A paragraph at the top of the document.")] = None,
    template: Annotated[
        str, typer.Option(help="The proposal template (LEADLINE_TEMPLATES_DIR/proposals/).")
    ] = "standard",
    as_json: JsonOpt = False,
) -> None:
    """Make a draft proposal document for a prospect (send it with `leadline proposals send ID`)."""
    from leadline.cli._out import require_database
    from leadline.db import unit_of_work
    from leadline.proposals import service
    from leadline.proposals.schemas import ProposalCreate

    values: dict[str, Any] = {"prospectId": prospect, "serviceType": service_type, "monthlyFee": monthly_fee,
                              "title": title, "intro": intro, "template": template}  # fmt: skip
    require_database()
    with cli_errors():
        data = ProposalCreate.model_validate({k: v for k, v in values.items() if v is not None})
        with unit_of_work(cli_settings()) as session:
            result = service.read(session, service.create(session, data, actor=actor()))
    if as_json:
        print_json(result.dump())
        return
    typer.echo(f"Draft proposal {result.id} for {result.prospect_id}: {result.service_type}, "
               f"{result.monthly_fee:,.0f}/month. Send it: leadline proposals send {result.id}")  # fmt: skip


def edit(
    proposal_id: IdArg,
    service_type: Annotated[Service | None, typer.Option("--service", help="The service proposed.")] = None,
    monthly_fee: Annotated[float | None, typer.Option("--fee", help="The monthly fee.")] = None,
    title: Annotated[str | None, typer.Option(help="The title.")] = None,
    intro: Annotated[str | None, typer.Option(help="The paragraph at the top.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Change a proposal; once sent, this makes a new version (the earlier link then says it was replaced)."""
    from leadline.cli._out import require_database
    from leadline.db import unit_of_work
    from leadline.proposals import service
    from leadline.proposals.schemas import ProposalUpdate

    values = {"serviceType": service_type, "monthlyFee": monthly_fee, "title": title, "intro": intro}
    require_database()
    with cli_errors():
        data = ProposalUpdate.model_validate({k: v for k, v in values.items() if v is not None})
        with unit_of_work(cli_settings()) as session:
            result = service.read(session, service.update(session, proposal_id, data, actor=actor()))
    if as_json:
        print_json(result.dump())
        return
    typer.echo(f"Proposal {result.id} is at version {result.version} ({result.status}).")


def send_document(proposal_id: str, template: str, force: bool, as_json: bool) -> None:
    """`leadline proposals send ID`: the document's link by email, the value recorded, the prospect moved."""
    from leadline.cli._out import require_database
    from leadline.proposals import flows

    require_database()
    with cli_errors():
        sent = flows.send(cli_settings(), proposal_id, actor=actor(), template=template, force=force)
    if as_json:
        print_json(sent.__dict__)
        return
    typer.echo(f"Proposal {sent.proposal_id} v{sent.version} sent ({sent.email_id}); "
               f"the prospect is now {sent.sales_status}. Link: {sent.url}")  # fmt: skip


def show(proposal_id: IdArg, as_json: JsonOpt = False) -> None:
    """One proposal: its terms, versions and links, views (with how long), and the acceptance evidence."""
    from leadline.cli._out import require_database
    from leadline.db import unit_of_work
    from leadline.proposals import service

    require_database()
    with cli_errors(), unit_of_work(cli_settings(), readonly=True) as session:
        result = service.read(session, service.get(session, proposal_id), full=True)
    if as_json:
        print_json(result.dump())
        return
    pairs: list[tuple[str, Any]] = [
        ("Id", result.id), ("Prospect", result.prospect_id), ("Title", result.title),
        ("Service", result.service_type), ("Monthly fee", f"{result.monthly_fee:,.2f}"),
        ("Status", result.status), ("Version", result.version), ("Link", result.url or "— (not sent)"),
        ("Sent", local(result.sent_at)), ("First viewed", local(result.first_viewed_at)),
        ("Views", ", ".join(f"v{v.version} {local(v.viewed_at)} ({v.seconds}s)" for v in result.views) or "none"),
    ]  # fmt: skip
    if result.accepted_at:
        pairs += [
            ("Accepted", local(result.accepted_at)), ("Signer", result.signer_name), ("IP", result.signer_ip),
            ("User agent", result.signer_agent), ("Document SHA-256", result.signed_sha256),
            ("Signed PDF", result.signed_file_id), ("Customer", result.customer_id),
        ]  # fmt: skip
    if result.declined_at:
        pairs += [("Declined", local(result.declined_at)), ("Reason", result.decline_reason)]
    print_fields(pairs, title=f"Proposal {result.id}")


def list_proposals(
    prospect: Annotated[str | None, typer.Option("--prospect", help="Only this prospect's.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Proposals, newest first."""
    from leadline.cli._out import require_database
    from leadline.db import unit_of_work
    from leadline.proposals import service

    require_database()
    with cli_errors(), unit_of_work(cli_settings(), readonly=True) as session:
        items = [service.read(session, p) for p in service.search(session, prospect)]
    if as_json:
        print_json([item.dump() for item in items])
        return
    print_table(
        ["Id", "Prospect", "Service", "Fee", "Status", "Ver", "Sent", "Viewed"],
        ((p.id, p.prospect_id, p.service_type, f"{p.monthly_fee:,.0f}", p.status, p.version, local(p.sent_at),
          local(p.first_viewed_at)) for p in items),
        footer=f"{len(items)} proposals" if items else "no proposals",
    )  # fmt: skip


def pdf(
    proposal_id: IdArg,
    output: Annotated[Path, typer.Option("-o", "--output", help="Where to write the PDF.")],
) -> None:
    """Write the proposal's PDF (the signed one, with its certificate page, once accepted)."""
    from leadline.cli._out import require_database, write_bytes
    from leadline.proposals import flows

    require_database()
    with cli_errors():
        name, data = flows.document_pdf(cli_settings(), proposal_id)
    write_bytes(output, data)
    typer.echo(f"Wrote {name} ({len(data):,} bytes) to {output}.")
