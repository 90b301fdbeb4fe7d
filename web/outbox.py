"""The business manager's outbox: every email signoff sent, is sending, or could not send.

Listed by status (``?status=failed``), newest first, with the reason of each failure; a
failed email can be sent again (``engine.outbox.retry``, the outbox's one writer), which the
item's history records. ``?status=coming`` shows the reminders, chases and escalations the
next ``COMING_DAYS`` days would send (``engine.forecast``, the same code as ``signoff
forecast``), to whom, from today's directory: a directory change shows there at once.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from fastapi_csrf_protect.exceptions import CsrfProtectError
from starlette.concurrency import run_in_threadpool

from engine import outbox
from engine.forecast import forecast
from engine.permissions import Permission
from engine.sessions import SignedIn
from engine.store.tables import DeliveryStatus
from web import urls
from web.access import Requires, page
from web.deps import Context, LinkDead, client_of

OUTBOX = urls.OUTBOX
COMING = "coming"
COMING_DAYS = 30
_SHOWN = (
    DeliveryStatus.FAILED,
    DeliveryStatus.PENDING,
    DeliveryStatus.SENDING,
    DeliveryStatus.SENT,
)


def router(ctx: Context) -> APIRouter:
    routes = APIRouter()

    @routes.get(OUTBOX)
    def list_outbox(
        request: Request,
        who: Annotated[SignedIn, Depends(Requires(Permission.MANAGE_OUTBOX))],
        status: str = "failed",
    ) -> Response:
        with ctx.services.db.engine.connect() as conn:
            counts = outbox.counts(conn)
        if status == COMING:
            coming = [
                {**e, "at": dt.datetime.fromisoformat(e["at"])}
                for e in forecast(ctx.services, ctx.clock(), COMING_DAYS)
            ]
            return page(
                ctx, request, who, "outbox.html", rows=[], counts=counts, chosen=None,
                shown=_SHOWN, retried=False, coming=coming, days=COMING_DAYS,
            )  # fmt: skip
        try:
            chosen = DeliveryStatus(status)
        except ValueError:
            chosen = DeliveryStatus.FAILED
        with ctx.services.db.engine.connect() as conn:
            rows = outbox.deliveries(conn, chosen)
        retried = request.query_params.get("retried") == "1"
        return page(
            ctx, request, who, "outbox.html", rows=rows, counts=counts, chosen=chosen,
            shown=_SHOWN, retried=retried, coming=None, days=COMING_DAYS,
        )  # fmt: skip

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
