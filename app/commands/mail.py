"""Commands on outgoing mail: sweep, dispatch, outbox, forecast, templates.

Each imports the engine and the mail adapter inside its body, so loading this module
(for ``--help``) is cheap.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from app.console import parse_now, print_json, refusals, services, settings


@refusals
def sweep(
    now: Annotated[str | None, typer.Option(help="ISO date-time with timezone")] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="show what is due; queue nothing")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Queue every reminder, chase and escalation due now (each exactly once)."""
    from engine import queries
    from engine.sweep import run_once

    report = run_once(services(), parse_now(now), dry_run=dry_run)
    decided = [
        {
            "kind": d["kind"],
            "to": d["recipient"],
            "key": d["context"]["key"],
            "step": d["context"]["step"],
            "send_at": d["next_attempt_at"].isoformat(),
        }
        for d in report.decided
    ]
    if as_json:
        print_json(
            {
                "format": queries.FORMAT,
                "items": report.items,
                "queued": report.queued,
                "dry_run": dry_run,
                "decided": decided,
                "unreachable": [
                    {"kind": u["kind"], "key": u["context"]["key"], "role": u["role"]}
                    for u in report.unreachable
                ],
            }
        )
        return
    for d in decided:
        typer.echo(f"{d['key']}: {d['kind']} {d['step']} to {d['to']} at {d['send_at']}")
    for u in report.unreachable:
        typer.echo(f"{u['context']['key']}: {u['kind']}: nobody reachable for {u['role']!r}")
    verb = "would queue" if dry_run else f"queued {report.queued} new of"
    typer.echo(f"{report.items} item(s) due; {verb} {len(decided)} notification(s)")


@refusals
def dispatch_(
    now: Annotated[str | None, typer.Option(help="ISO date-time with timezone")] = None,
    batch: Annotated[int, typer.Option(min=1, help="most rows to claim")] = 500,
    connections: Annotated[int, typer.Option(min=1, max=32, help="SMTP connections")] = 1,
) -> None:
    """Send what the outbox holds that is due; retry or fail each delivery."""
    import os
    import socket

    from notifications.dispatcher import dispatch
    from notifications.templates import Templates

    report = dispatch(
        services(),
        settings().mail(),
        Templates(),
        parse_now(now),
        owner=f"{socket.gethostname()}:{os.getpid()}",
        batch=batch,
        connections=connections,
    )
    typer.echo(
        f"claimed {report.claimed}: {report.sent} sent, {report.retried} to retry, "
        f"{report.failed} failed"
    )
    for error in report.errors:
        typer.echo(f"failed: {error}", err=True)


@refusals
def outbox(
    status: Annotated[
        str | None, typer.Option(help="pending, sending, sent, failed, cancelled")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """List emails in the outbox; with --status failed, what the admin must look at."""
    import sqlalchemy as sa

    from engine import queries
    from engine.store.tables import Outbox

    table = Outbox.__table__  # type: ignore[attr-defined]
    query = sa.select(table).order_by(table.c.id)
    if status:
        query = query.where(table.c.status == status)
    with services().db.engine.connect() as conn:
        rows = [
            {
                "id": r.id,
                "kind": r.kind,
                "to": r.recipient,
                "status": r.status,
                "attempts": r.attempts,
                "key": r.context.get("key"),
                "error": r.last_error,
                "next_attempt_at": r.next_attempt_at.isoformat(),
                "sent_at": r.sent_at.isoformat() if r.sent_at else None,
            }
            for r in conn.execute(query)
        ]
    if as_json:
        print_json({"format": queries.FORMAT, "rows": rows})
        return
    for r in rows:
        typer.echo(
            f"#{r['id']} {r['status']:<9} {r['kind']:<10} {r['to']:<45} {r['key']}"
            + (f"  ({r['error']})" if r["error"] else "")
        )
    typer.echo(f"{len(rows)} row(s)")


@refusals
def forecast_(
    days: Annotated[int, typer.Option(min=1, max=366, help="how far ahead")] = 14,
    now: Annotated[str | None, typer.Option(help="ISO date-time with timezone")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Who will be emailed what, and when, over the next N days."""
    from engine import queries
    from engine.forecast import forecast

    rows = forecast(services(), parse_now(now), days)
    if as_json:
        print_json({"format": queries.FORMAT, "days": days, "emails": rows})
        return
    for r in rows:
        typer.echo(
            f"{r['at'][:16]}  {r['kind']:<10} {r['key']:<40} to {', '.join(r['to'])}"
            + ("  (in a digest)" if r["digest"] else "")
            + ("  (no contact for the role: business manager instead)" if r["fallback"] else "")
            + "".join(f"  (nobody reachable for {u['role']!r})" for u in r["unreachable"])
        )
    typer.echo(f"{len(rows)} email(s) in the next {days} day(s)")


@refusals
def templates_check(
    directory: Annotated[
        Path | None, typer.Option(help="a folder of NAME.txt.j2/NAME.html.j2")
    ] = None,
) -> None:
    """Check email templates (syntax, variables, sandbox, subject line) before using them."""
    from notifications.templates import TEMPLATE_DIR, Templates

    folder = directory or TEMPLATE_DIR
    built = Templates(folder)
    typer.echo(f"{folder}: ok ({', '.join(sorted(built.names))})")
