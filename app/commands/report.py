"""``signoff report``: a board report from the recorded history, as HTML, xlsx, CSV or JSON.

Exit codes as everywhere: 2 for a usage error, which here includes an unknown report, a bad
or back-to-front date and an unknown review or agency (the engine's ``ReportRefused``).
"""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from app.console import parse_date, parse_now, services


class Format(StrEnum):
    """``--format``: reports.FORMATS (a test keeps them equal), without importing it here."""

    HTML = "html"
    XLSX = "xlsx"
    CSV = "csv"
    JSON = "json"
    PDF = "pdf"


def report_(
    name: Annotated[
        str,
        typer.Argument(
            help="rag, overdue, timescale, high-risk, themes, minutes or board-pack (README)"
        ),
    ],
    fmt: Annotated[
        Format, typer.Option("--format", help="html, xlsx, csv, json or pdf")
    ] = Format.HTML,
    day_from: Annotated[
        str | None, typer.Option("--from", help="YYYY-MM-DD: start of the period")
    ] = None,
    day_to: Annotated[
        str | None, typer.Option("--to", help="YYYY-MM-DD: end of the period (default today)")
    ] = None,
    review: Annotated[str | None, typer.Option(help="only this review's items")] = None,
    agency: Annotated[str | None, typer.Option(help="only this agency's items")] = None,
    meeting: Annotated[
        str | None, typer.Option(help="YYYY-MM-DD: the panel meeting (minutes)")
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="write to FILE (xlsx and pdf need one)")
    ] = None,
    now: Annotated[str | None, typer.Option(help="ISO date-time taken as now")] = None,
) -> None:
    """Build a board report from the recorded history."""
    from engine import reports as engine_reports
    from engine.errors import ReportRefused
    from reports import render

    if fmt in (Format.XLSX, Format.PDF) and output is None and sys.stdout.isatty():
        raise typer.BadParameter(
            f"{fmt.value} is a binary file; give --output FILE", param_hint="--format"
        )
    dates = {
        "day_from": parse_date(day_from, "--from"),
        "day_to": parse_date(day_to, "--to"),
        "meeting": parse_date(meeting, "--meeting"),
    }
    current = services()
    request = engine_reports.ReportRequest(
        name=name,
        today=current.calendar.local(parse_now(now)).date(),  # today where the board is
        review=review,
        agency=agency,
        **dates,
    )
    try:
        with current.db.engine.connect() as conn:
            built = engine_reports.build(conn, current.specs, current.calendar, request)
    except ReportRefused as exc:
        hint = f"; one of: {', '.join(exc.allowed)}" if 0 < len(exc.allowed) <= 20 else ""
        option = "REPORT" if exc.option == "report" else f"--{exc.option}"
        typer.echo(f"error: {option}: {exc}{hint}", err=True)
        raise typer.Exit(2) from None
    body = render(built, fmt.value)
    if output is not None:
        output.write_bytes(body)
        typer.echo(f"wrote {output} ({built.title}, {fmt.value})", err=True)
    else:
        sys.stdout.buffer.write(body)
        sys.stdout.flush()


class PlanFormat(StrEnum):
    XLSX = "xlsx"
    CSV = "csv"


def export_(
    fmt: Annotated[PlanFormat, typer.Option("--format", help="xlsx or csv")] = PlanFormat.XLSX,
    review: Annotated[
        str | None, typer.Option(help="the review (needed when there are several)")
    ] = None,
    agency: Annotated[str | None, typer.Option(help="only this agency's rows")] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="write to FILE (xlsx needs one)")
    ] = None,
) -> None:
    """Write an action plan back in the layout it was imported in, with each row's current
    state, RAG, original and agreed due dates, evidence and last decision."""
    from engine.errors import ReportRefused
    from engine.sheets import export_plan
    from reports.plan_sheet import OneSheetOnly, render_plan_csv, render_plan_xlsx

    if fmt is PlanFormat.XLSX and output is None and sys.stdout.isatty():
        raise typer.BadParameter("xlsx is a binary file; give --output FILE", param_hint="--format")
    current = services()
    try:
        with current.db.engine.connect() as conn:
            plan = export_plan(conn, review, agency)
        body = render_plan_xlsx(plan) if fmt is PlanFormat.XLSX else render_plan_csv(plan)
    except ReportRefused as exc:
        hint = f"; one of: {', '.join(exc.allowed)}" if 0 < len(exc.allowed) <= 20 else ""
        typer.echo(f"error: --{exc.option}: {exc}{hint}", err=True)
        raise typer.Exit(2) from None
    except OneSheetOnly as exc:
        typer.echo(f"error: --format: {exc}", err=True)
        raise typer.Exit(2) from None
    if output is not None:
        output.write_bytes(body)
        rows = sum(len(s.rows) for s in plan.sheets)
        typer.echo(f"wrote {output} ({plan.review_id}, {rows} row(s), {fmt.value})", err=True)
    else:
        sys.stdout.buffer.write(body)
        sys.stdout.flush()
