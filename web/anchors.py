"""The business manager's ``/admin/anchors`` page: the events relative due dates count from.

A plan may say "within six months of publication of this Review"; the import keeps the
wording and the event (the anchor) and its items have no due date yet. This page lists each
anchor with the items waiting for it, and a date to give (typed GOV.UK style, as day, month
and year). Giving it (``engine.anchors.set_date``, as ``signoff anchor set``) makes each
waiting item due, records that in its history and chases it from then. A bad date is the
GOV.UK error summary and an inline error at that anchor's date, with what was typed kept
and nothing changed. Anyone without Permission.ADMINISTER gets the plain 404.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from fastapi_csrf_protect.exceptions import CsrfProtectError
from starlette.concurrency import run_in_threadpool

from engine import anchors
from engine.errors import AnchorRefused
from engine.permissions import Permission
from engine.sessions import SignedIn
from web.access import Requires, page
from web.deps import Context, LinkDead, client_of
from web.urls import ANCHOR_DATE, ANCHORS

Manager = Annotated[SignedIn, Depends(Requires(Permission.ADMINISTER))]
_PARTS = ("day", "month", "year")
_EXPIRED = "This page was open too long to use safely. Check the date and give it again"


def router(ctx: Context) -> APIRouter:
    routes = APIRouter()

    def listed() -> list[anchors.AnchorView]:
        with ctx.services.db.engine.connect() as conn:
            return anchors.anchors(conn)

    def anchors_page(
        request: Request,
        who: SignedIn,
        *,
        status: int = 200,
        typed: tuple[int, dict[str, str]] | None = None,
        error: tuple[int, str] | None = None,
    ) -> Response:
        errors: list[dict[str, Any]] = []
        if error is not None:
            errors = [{"text": error[1], "href": f"#date-{error[0]}-day"}]
        return page(
            ctx,
            request,
            who,
            "anchors.html",
            status=status,
            anchors=listed(),
            typed=typed,
            error=error,
            errors=errors,
            dated=request.query_params.get("dated"),
        )

    @routes.get(ANCHORS)
    def list_anchors(request: Request, who: Manager) -> Response:
        return anchors_page(request, who)

    @routes.post(ANCHOR_DATE)
    async def give_date(request: Request, anchor_id: str, who: Manager) -> Response:
        ctx.throttle.post(client_of(request))
        form = await request.form(max_files=0, max_fields=10)
        found = [a for a in listed() if str(a.id) == anchor_id]
        if not found:
            raise LinkDead()
        anchor = found[0]
        parts = {p: str(form.get(f"date-{anchor.id}-{p}") or "").strip()[:10] for p in _PARTS}
        typed = (anchor.id, parts)
        try:
            await ctx.csrf().validate_csrf(request)
        except CsrfProtectError:  # kept: what was typed is shown again, given by a second press
            return anchors_page(request, who, status=400, typed=typed, error=(anchor.id, _EXPIRED))
        day, problem = _date(parts)
        if day is None:
            return anchors_page(request, who, status=422, typed=typed, error=(anchor.id, problem))
        try:
            await run_in_threadpool(_give, ctx, anchor, day, who.person.email)
        except AnchorRefused as exc:
            message = exc.problem[:1].upper() + exc.problem[1:]
            if exc.field == "date":
                message = f"The date {exc.problem}"
            return anchors_page(request, who, status=422, typed=typed, error=(anchor.id, message))
        return RedirectResponse(f"{ANCHORS}?dated={anchor.id}", status_code=303)

    return routes


def _give(ctx: Context, anchor: anchors.AnchorView, day: dt.date, actor: str) -> None:
    with ctx.services.db.write() as conn:
        anchors.set_date(
            conn,
            review_id=anchor.review,
            name=anchor.name,
            day=day,
            actor=actor,
            now=ctx.clock(),
            specs=ctx.services.specs,
            calendar=ctx.services.calendar,
        )


def _date(parts: dict[str, str]) -> tuple[dt.date | None, str]:
    """The date typed, or why it is not one (worded for the page)."""
    missing = [p for p in _PARTS if not parts[p]]
    if len(missing) == len(_PARTS):
        return None, "Enter the date the event happened, for example 31 1 2011"
    if missing:
        return None, f"The date must include a {missing[0]}"
    if not all(parts[p].isdigit() for p in _PARTS) or len(parts["year"]) != 4:
        return None, "The date must be a real date, for example 31 1 2011"
    try:
        return dt.date(int(parts["year"]), int(parts["month"]), int(parts["day"])), ""
    except ValueError:
        return None, "The date must be a real date, for example 31 1 2011"
