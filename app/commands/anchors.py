"""``signoff anchor list`` and ``signoff anchor set``: the events relative due dates count from.

Each imports the engine inside its body, so loading this module (for ``--help``) is cheap.
"""

from __future__ import annotations

from typing import Annotated

import typer

from app.console import parse_now, print_json, refusals, services


@refusals
def list_(
    review: Annotated[str | None, typer.Option(help="only this review's anchors")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="stable JSON (README)")] = False,
) -> None:
    """List the anchors of relative due dates: their date, or the items waiting for it."""
    from engine import anchors, queries

    current = services()
    with current.db.engine.connect() as conn:
        found = anchors.anchors(conn, review)
    if as_json:
        print_json({"format": queries.FORMAT, "anchors": [a.as_json() for a in found]})
        return
    if not found:
        typer.echo("no anchors: no imported plan has a due date relative to an event")
        return
    for a in found:
        when = f"dated {a.date.isoformat()} by {a.set_by}" if a.date else "no date yet"
        typer.echo(f"{a.review}: {a.name!r}: {when}")
        if a.waiting:
            typer.echo(f"  waiting: {', '.join(a.waiting)}")
        if a.dated:
            typer.echo(f"  dated from it: {', '.join(a.dated)}")


@refusals
def set_(
    name: Annotated[str, typer.Argument(help="the anchor, as the plan words it")],
    day: Annotated[str, typer.Argument(metavar="DATE", help="its date, YYYY-MM-DD")],
    review: Annotated[str, typer.Option(help="the review whose plan names it")],
    actor: Annotated[str, typer.Option(help="recorded as who gave the date")] = "system:admin",
    now: Annotated[str | None, typer.Option(help="ISO date-time to record")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="stable JSON (README)")] = False,
) -> None:
    """Give an anchor its date: each item waiting for it is given its due date (recorded in
    its history) and is chased from then."""
    import datetime as dt

    from engine import anchors, permissions, queries

    try:
        date = dt.date.fromisoformat(day.strip())
    except ValueError:
        raise typer.BadParameter(
            f"{day!r} is not a date; write YYYY-MM-DD", param_hint="DATE"
        ) from None
    current = services()
    at = parse_now(now)
    with current.db.write() as conn:
        permissions.require(conn, actor, permissions.Permission.ADMINISTER)
        done = anchors.set_date(
            conn,
            review_id=review,
            name=name,
            day=date,
            actor=actor,
            now=at,
            specs=current.specs,
            calendar=current.calendar,
        )
    if as_json:
        print_json(
            {
                "format": queries.FORMAT,
                "review": done.review,
                "anchor": done.anchor,
                "date": done.date.isoformat(),
                "items": {k: v.isoformat() for k, v in done.items.items()},
            }
        )
        return
    typer.echo(f"{done.review}: {done.anchor!r} dated {done.date.isoformat()}")
    for key, due in done.items.items():
        typer.echo(f"  {key}: due {due.isoformat()}")
    if not done.items:
        typer.echo("  no item was waiting for it")
