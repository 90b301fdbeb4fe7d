"""The business manager's pages: the quarantine, who is signed in, and the directory.

Each route declares its permission from the roles table; a person without it gets the
plain 404, as for a page that does not exist. A held reply is put on an item as evidence
(``engine.inbox.assign``: the item's answering transition, fired as the sender) or set aside
(``engine.inbox.discard``), each with a note that the inbox record keeps; the directory is
read only here (editing it is the administration pages' business).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from fastapi_csrf_protect.exceptions import CsrfProtectError
from starlette.concurrency import run_in_threadpool

from engine import contacts, inbox, sessions
from engine.errors import FireError, RecommendationNotFound, RequestRefused
from engine.permissions import Permission
from engine.sessions import SignedIn
from web.access import Requires, page
from web.deps import Context, LinkDead, client_of

_MAX_NOTE = 1000
_DONE = {"assigned", "discarded"}
_EXPIRED = {"assign-note": "This page timed out or was opened in another tab. Try again."}


def router(ctx: Context) -> APIRouter:
    routes = APIRouter()

    @routes.get("/quarantine")
    def quarantine(
        request: Request, who: Annotated[SignedIn, Depends(Requires(Permission.MANAGE_QUARANTINE))]
    ) -> Response:
        with ctx.services.db.engine.connect() as conn:
            held = inbox.quarantined(conn)
        done = request.query_params.get("done")
        return page(
            ctx, request, who, "quarantine.html", quarantine=held,
            done=done if done in _DONE else None,
        )  # fmt: skip

    def held_page(
        request: Request,
        who: SignedIn,
        message_id: int,
        *,
        status: int = 200,
        typed: dict[str, str] | None = None,
        errors: dict[str, str] | None = None,
    ) -> Response:
        with ctx.services.db.engine.connect() as conn:
            found = inbox.quarantined(conn, message_id)
        if not found:
            raise LinkDead()
        errors = errors or {}
        return page(
            ctx, request, who, "held.html", status=status, m=found[0], typed=typed or {},
            field_errors=errors,
            errors=[{"text": t, "href": f"#{f}"} for f, t in errors.items()],
        )  # fmt: skip

    @routes.get("/quarantine/{message_id}")
    def held_message(
        request: Request,
        message_id: int,
        who: Annotated[SignedIn, Depends(Requires(Permission.MANAGE_QUARANTINE))],
    ) -> Response:
        return held_page(request, who, message_id)

    async def posted(request: Request) -> dict[str, str] | None:
        """The form's text fields; None when its CSRF token does not hold."""
        ctx.throttle.post(client_of(request))
        form = await request.form(max_files=0, max_fields=10)
        try:
            await ctx.csrf().validate_csrf(request)
        except CsrfProtectError:
            return None
        return {k: v for k, v in form.items() if isinstance(v, str)}

    def note_of(typed: dict[str, str], field: str, errors: dict[str, str]) -> str:
        note = typed.get(field, "").strip()
        if not note:
            errors[field] = "Say why"
        elif len(note) > _MAX_NOTE:
            errors[field] = f"Keep it to {_MAX_NOTE} characters or fewer"
        return note

    @routes.post("/quarantine/{message_id}/assign")
    async def assign(
        request: Request,
        message_id: int,
        who: Annotated[SignedIn, Depends(Requires(Permission.MANAGE_QUARANTINE))],
    ) -> Response:
        typed = await posted(request)
        if typed is None:
            return held_page(request, who, message_id, status=400, errors=_EXPIRED)
        errors: dict[str, str] = {}
        item = typed.get("item", "").strip()
        if not item:
            errors["item"] = "Enter the item, for example review-id/R1@agency-id"
        note = note_of(typed, "assign-note", errors)
        if not errors:
            try:
                fired = await run_in_threadpool(
                    inbox.assign, ctx.services, message_id, item, by=who.person.email,
                    note=note, now=ctx.clock(),
                )  # fmt: skip
            except RecommendationNotFound as exc:
                errors["item"] = f"No such item: {exc}"
            except (RequestRefused, FireError) as exc:
                errors["item"] = str(exc)
            else:
                if fired is None:
                    raise LinkDead()
                return RedirectResponse("/quarantine?done=assigned", status_code=303)
        return held_page(request, who, message_id, status=422, typed=typed, errors=errors)

    @routes.post("/quarantine/{message_id}/discard")
    async def discard(
        request: Request,
        message_id: int,
        who: Annotated[SignedIn, Depends(Requires(Permission.MANAGE_QUARANTINE))],
    ) -> Response:
        typed = await posted(request)
        if typed is None:
            return held_page(request, who, message_id, status=400, errors=_EXPIRED)
        errors: dict[str, str] = {}
        note = note_of(typed, "discard-note", errors)
        if errors:
            return held_page(request, who, message_id, status=422, typed=typed, errors=errors)
        done = await run_in_threadpool(
            inbox.discard, ctx.services, message_id, by=who.person.email, note=note,
            now=ctx.clock(),
        )  # fmt: skip
        if not done:
            raise LinkDead()
        return RedirectResponse("/quarantine?done=discarded", status_code=303)

    @routes.get("/directory")
    def directory(
        request: Request, who: Annotated[SignedIn, Depends(Requires(Permission.VIEW_DIRECTORY))]
    ) -> Response:
        with ctx.services.db.engine.connect() as conn:
            agencies = contacts.listing(conn)
        return page(ctx, request, who, "directory.html", agencies=agencies)

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
