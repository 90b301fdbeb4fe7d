"""The business manager's outbox: every email signoff sent, is sending, or could not send.

Listed by status (``?status=failed``), newest first, with the reason of each failure; a
failed email can be sent again (``engine.outbox.retry``, the outbox's one writer), which the
item's history records. ``/outbox/forecast`` lists the reminders, chases and escalations the
coming days will send (``engine.forecast``, as ``signoff forecast``), nothing sent.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from fastapi_csrf_protect.exceptions import CsrfProtectError
from starlette.concurrency import run_in_threadpool

from engine import forecast, outbox
from engine.permissions import Permission
from engine.sessions import SignedIn
from engine.store.tables import DeliveryStatus
from web import urls
from web.access import Requires, page
from web.deps import Context, LinkDead, client_of

OUTBOX = urls.OUTBOX
_SHOWN = (
    DeliveryStatus.FAILED,
    DeliveryStatus.PENDING,
    DeliveryStatus.SENDING,
    DeliveryStatus.SENT,
)


FORECAST_DAYS = 30  # as the consequences preview of a workflow change
MAX_DAYS = 90


def _row(entry: dict[str, Any]) -> dict[str, Any]:
    return {
        "at": dt.datetime.fromisoformat(entry["at"]),
        "what": entry["kind"].capitalize()
        + (f" (step {entry['step'] + 1})" if entry["kind"] == "escalation" else "")
        + (", in a digest" if entry["digest"] else ""),
        "key": entry["key"],
        "href": urls.key_path(entry["key"]),
        "agency": entry["agency"],
        "to": list(entry["to"]),
        "unreachable": [u["role"] for u in entry["unreachable"]],
    }


def router(ctx: Context) -> APIRouter:
    routes = APIRouter()

    @routes.get(OUTBOX)
    def list_outbox(
        request: Request,
        who: Annotated[SignedIn, Depends(Requires(Permission.MANAGE_OUTBOX))],
        status: str = "failed",
    ) -> Response:
        try:
            chosen = DeliveryStatus(status)
        except ValueError:
            chosen = DeliveryStatus.FAILED
        with ctx.services.db.engine.connect() as conn:
            rows = outbox.deliveries(conn, chosen)
            counts = outbox.counts(conn)
        retried = request.query_params.get("retried") == "1"
        return page(
            ctx, request, who, "outbox.html", rows=rows, counts=counts, chosen=chosen,
            shown=_SHOWN, retried=retried,
        )  # fmt: skip

    @routes.get(urls.FORECAST)
    def show_forecast(
        request: Request,
        who: Annotated[SignedIn, Depends(Requires(Permission.MANAGE_OUTBOX))],
        days: str = "",
    ) -> Response:
        span = int(days) if days.isdigit() and 1 <= int(days) <= MAX_DAYS else FORECAST_DAYS
        entries = forecast.forecast(ctx.services, ctx.clock(), span)
        rows = [_row(e) for e in entries]
        total = sum(len(r["to"]) for r in rows)
        return page(ctx, request, who, "forecast.html", rows=rows, total=total, days=span)

    @routes.post(urls.OUTBOX_RETRY)
    async def retry(
        request: Request,
        row_id: int,
        who: Annotated[SignedIn, Depends(Requires(Permission.MANAGE_OUTBOX))],
    ) -> Response:
        ctx.throttle.post(client_of(request))
        await request.form(max_files=0, max_fields=5)
        try:
            await ctx.csrf().validate_csrf(request)
        except CsrfProtectError:
            raise LinkDead() from None
        done = await run_in_threadpool(
            outbox.retry, ctx.services.db, row_id, by=who.person.email, now=ctx.clock()
        )
        if not done:
            raise LinkDead()
        return RedirectResponse(f"{OUTBOX}?status=failed&retried=1", status_code=303)

    return routes
