"""``signoff demo``: the example plans with their due dates moved to this week, and a sign-in
link for each demo role (``make run``). ``--plan`` may be given more than once: the demo
imports the board's own plan and an invented plan of partner agencies' actions, so that the
agency lead officer has items of their own to see, be chased for and answer."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer

from app.console import parse_now, refusals, services, settings

# the person who signs in as each demo role (config/examples/southend_contacts.yaml)
DEMO_PEOPLE = (
    ("business manager", "business.manager@southend-lscb.example.org"),
    ("panel member", "panel.member@southend-lscb.example.org"),
    ("internal auditor (NHS South East Essex)", "internal.audit@nhs-see.example.org"),
    ("agency lead officer (NHS South East Essex)", "designated.nurse@nhs-see.example.org"),
)


@refusals
def demo(
    plan: Annotated[list[Path], typer.Option(help="an action plan YAML (repeatable)")],
    contacts: Annotated[Path, typer.Option(help="the contacts YAML")],
    rebase_dates_to: Annotated[
        str | None,
        typer.Option(help="YYYY-MM-DD or 'today': move the plan's due dates to around it"),
    ] = None,
    now: Annotated[str | None, typer.Option(help="ISO date-time with timezone")] = None,
) -> None:
    """Import the example plans (due dates moved to around a day) and print sign-in links."""
    from engine import signin
    from engine.demo import rebase_file
    from engine.importer import import_files

    current = services()
    moment = parse_now(now)
    files = [*plan, contacts]
    if rebase_dates_to:
        today = (
            current.calendar.local(moment).date()
            if rebase_dates_to == "today"
            else dt.date.fromisoformat(rebase_dates_to)
        )
        files = [rebase_file(p, today, current.data_dir / "demo") for p in plan] + [contacts]
        typer.echo(f"due dates moved to around {today.isoformat()}")
    with current.db.write() as conn:
        report = import_files(
            conn,
            files,
            specs=current.specs,
            actor="system:import",
            now=moment,
            calendar=current.calendar,
        )
    for line in report.lines():
        typer.echo(line)
    base = settings().web().base_url
    typer.echo("\nSign in (each link works once, for 15 minutes):")
    for role, email in DEMO_PEOPLE:
        token = signin.issue_link(current, email, moment)
        typer.echo(f"  {role} ({email}):\n    {base}/sign-in/{token}")
