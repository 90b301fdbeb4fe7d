"""The board's reports in the staff app: ``/reports`` (a form, and the chosen report on the
page, each figure leading to its items) and ``/reports/file/FMT`` (the same report as a file).

Reports count every agency's items, so both routes need ``Permission.VIEW_REPORTS`` (a role
that sees every agency). The form is a GET form: choosing a report changes nothing, and its
address can be bookmarked or shared with someone who may read it. The dates are GOV.UK date
inputs (``web.report_form``); every problem, the form's own or what the engine refuses, is
shown with the GOV.UK error summary and beside its field, with what was typed kept.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from markupsafe import Markup
from starlette.concurrency import run_in_threadpool

import reports as rendering
from engine import listing
from engine import reports as engine_reports
from engine.errors import ReportRefused
from engine.permissions import Permission
from engine.sessions import SignedIn
from web import urls
from web.access import Requires, page
from web.deps import Context, LinkDead
from web.report_form import LABELS, ReportForm

DOWNLOADS = ("pdf", "xlsx", "csv", "json", "html")
_MEDIA = {
    "pdf": "application/pdf",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv; charset=utf-8",
    "json": "application/json",
    "html": "text/html; charset=utf-8",
}
DESCRIPTIONS = {
    "rag": "RAG and state by review and by agency, on date to",
    "overdue": "Overdue items, how far each has been escalated and whose move it is",
    "timescale": "Recommendations implemented within timescale, against the original and "
    "the agreed date",
    "high-risk": "High priority and red items, and what changed over the period",
    "themes": "Items by theme and agency, and themes recurring across reviews",
    "minutes": "The decisions recorded for one panel meeting",
    "board-pack": "All of these but the minutes for one period, with the history's "
    "hash-chain heads at the end",
}


def _build(ctx: Context, request: engine_reports.ReportRequest) -> engine_reports.Report:
    services = ctx.services
    with services.db.engine.connect() as conn:
        return engine_reports.build(conn, services.specs, services.calendar, request)


def router(ctx: Context) -> APIRouter:
    routes = APIRouter()

    def today() -> dt.date:
        return ctx.services.calendar.local(ctx.clock()).date()

    @routes.get(urls.REPORTS)
    async def show_reports(
        request: Request,
        who: Annotated[SignedIn, Depends(Requires(Permission.VIEW_REPORTS))],
    ) -> Response:
        form = ReportForm.read(request.query_params)
        with ctx.services.db.engine.connect() as conn:
            choices = listing.choices(conn, None)
        body, built = None, None
        if form.sent:
            asked = form.check(today())
            if asked is not None:
                try:
                    built = await run_in_threadpool(_build, ctx, asked)
                except ReportRefused as refused:
                    form.refused(refused)
        if built is not None:
            body = Markup(rendering.render_fragment(built, link=urls.key_path, level=2))
        query = form.query()
        downloads = [(fmt, urls.REPORT_FILE.format(fmt=fmt) + f"?{query}") for fmt in DOWNLOADS]
        return page(
            ctx, request, who, "reports.html", form=form, names=engine_reports.NAMES,
            descriptions=DESCRIPTIONS, labels=LABELS, choices=choices, errors=form.summary(),
            report=built, body=body, downloads=downloads,
        )  # fmt: skip

    @routes.get(urls.REPORT_FILE)
    async def report_file(
        request: Request,
        fmt: str,
        who: Annotated[SignedIn, Depends(Requires(Permission.VIEW_REPORTS))],
    ) -> Response:
        if fmt not in DOWNLOADS:
            raise LinkDead()
        form = ReportForm.read(request.query_params)
        asked = form.check(today())
        built = None
        if asked is not None:
            try:
                built = await run_in_threadpool(_build, ctx, asked)
            except ReportRefused:
                built = None
        if built is None:  # the page says what was wrong, in the error summary
            return RedirectResponse(f"{urls.REPORTS}?{form.query()}", status_code=303)
        content = await run_in_threadpool(rendering.render, built, fmt)
        day = built.data.get("as_of") or (built.data.get("period") or {}).get("to") or ""
        day = day or built.data.get("meeting") or ""
        name = f"signoff-{built.name}-{day}.{fmt}" if day else f"signoff-{built.name}.{fmt}"
        return Response(
            content,
            media_type=_MEDIA[fmt],
            headers={
                "Content-Disposition": f'attachment; filename="{name}"',
                "Content-Security-Policy": "default-src 'none'; sandbox",
                "X-Content-Type-Options": "nosniff",
            },
        )

    return routes
