"""The business manager's pages: the quarantine and who is signed in.

Each route declares its permission from the roles table; a person without it gets the
plain 404, as for a page that does not exist.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from fastapi_csrf_protect.exceptions import CsrfProtectError
from starlette.concurrency import run_in_threadpool

from engine import queries, sessions
from engine.permissions import Permission
from engine.sessions import SignedIn
from web.access import Requires, page
from web.deps import Context, LinkDead, client_of


def router(ctx: Context) -> APIRouter:
    routes = APIRouter()

    @routes.get("/quarantine")
    def quarantine(
        request: Request, who: Annotated[SignedIn, Depends(Requires(Permission.MANAGE_QUARANTINE))]
    ) -> Response:
        with ctx.services.db.engine.connect() as conn:
            held = queries.quarantine(conn)
        return page(ctx, request, who, "quarantine.html", quarantine=held)

    @routes.get("/sessions")
    def list_sessions(
        request: Request, who: Annotated[SignedIn, Depends(Requires(Permission.MANAGE_SESSIONS))]
    ) -> Response:
        live = sessions.live_sessions(ctx.services, ctx.clock())
        return page(ctx, request, who, "sessions.html", sessions=live)

    @routes.post("/sessions/{public_id}/end")
    async def end(
        request: Request,
        public_id: str,
        who: Annotated[SignedIn, Depends(Requires(Permission.MANAGE_SESSIONS))],
    ) -> Response:
        ctx.throttle.post(client_of(request))
        await request.form(max_files=0, max_fields=5)
        try:
            await ctx.csrf().validate_csrf(request)
        except CsrfProtectError:
            raise LinkDead() from None
        ended = await run_in_threadpool(sessions.revoke, ctx.services, public_id, ctx.clock())
        if not ended:
            raise LinkDead()
        return RedirectResponse("/sessions", status_code=303)

    return routes
