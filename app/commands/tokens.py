"""``signoff token create|list|revoke``: personal access tokens for the JSON API.

Whoever runs the server's command line is the business manager here (actor
``system:cli``), as for ``import``. The token is printed once; only its hash is kept.
"""

from __future__ import annotations

from typing import Annotated

import typer

from app.console import parse_now, print_json, refusals, services


@refusals
def create(
    name: Annotated[str, typer.Option(help="what uses the token, e.g. 'quarterly report'")],
    role: Annotated[
        str,
        typer.Option(
            help="business_manager, panel_member, chair, internal_auditor, board_viewer "
            "or agency_contact"
        ),
    ],
    agency: Annotated[
        str | None, typer.Option(help="the agency it reaches (needed for agency roles)")
    ] = None,
    acts_for: Annotated[
        str | None,
        typer.Option("--for", help="the person (email) its decisions are made as; else read only"),
    ] = None,
    now: Annotated[str | None, typer.Option(help="ISO date-time with timezone")] = None,
) -> None:
    """Make a token and print it once (it cannot be shown again)."""
    from engine import api_tokens

    secret, info = api_tokens.create(
        services(),
        name=name,
        role=role,
        agency=agency,
        acts_for=acts_for,
        created_by="system:cli",
        now=parse_now(now),
    )
    typer.echo(secret)
    typer.echo(
        f"token {info.public_id} ({info.name}, {info.role}"
        + (f" at {info.agency}" if info.agency else "")
        + "): copy it now, it is not shown again",
        err=True,
    )


@refusals
def list_(
    show_all: Annotated[bool, typer.Option("--all", help="revoked tokens too")] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Tokens with their role, agency and when each was last used (never the secrets)."""
    from engine import api_tokens

    tokens = api_tokens.list_tokens(services(), include_revoked=show_all)
    if as_json:
        print_json(
            {
                "format": 1,
                "tokens": [
                    {
                        "id": t.public_id,
                        "name": t.name,
                        "role": t.role,
                        "agency": t.agency,
                        "acts_for": t.acts_for,
                        "created_at": t.created_at.isoformat(),
                        "last_used_at": t.last_used_at.isoformat() if t.last_used_at else None,
                        "revoked_at": t.revoked_at.isoformat() if t.revoked_at else None,
                    }
                    for t in tokens
                ],
            }
        )
        return
    if not tokens:
        typer.echo("no tokens")
        return
    for t in tokens:
        used = t.last_used_at.isoformat(timespec="minutes") if t.last_used_at else "never used"
        typer.echo(
            f"{t.public_id}  {t.name}  {t.role}"
            + (f"@{t.agency}" if t.agency else "")
            + (f"  for {t.acts_for}" if t.acts_for else "  read only")
            + f"  last used: {used}"
            + ("  REVOKED" if t.revoked_at else "")
        )


@refusals
def revoke(
    token_id: Annotated[str, typer.Argument(help="the id `signoff token list` shows")],
    now: Annotated[str | None, typer.Option(help="ISO date-time with timezone")] = None,
) -> None:
    """Revoke a token: it stops working at once."""
    from engine import api_tokens

    info = api_tokens.revoke(services(), token_id, parse_now(now))
    typer.echo(f"token {info.public_id} ({info.name}) revoked")
