"""The business manager's ``/tokens`` page: personal access tokens for the JSON API.

Lists live tokens (name, role, agency, who decisions are made as, when last used) with a
"Revoke" button each, and a form to make one: on success the page shows the token once (it
is never stored, so it cannot be shown again; it is never put in a URL); a bad field is the
GOV.UK error summary with the value kept, and nothing is made. ``engine.api_tokens`` does
the work, as for ``signoff token``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from fastapi_csrf_protect.exceptions import CsrfProtectError
from starlette.concurrency import run_in_threadpool

from engine import api_tokens, queries
from engine.errors import TokenNotFound, TokenRefused
from engine.permissions import Permission, Role
from engine.sessions import SignedIn
from web.access import Requires, page
from web.deps import Context, LinkDead, client_of

Manager = Annotated[SignedIn, Depends(Requires(Permission.ADMINISTER))]
_FIELD_ID = {"name": "name", "role": "role", "agency": "agency", "for": "acts-for"}


def router(ctx: Context) -> APIRouter:
    routes = APIRouter()

    def tokens_page(
        request: Request,
        who: SignedIn,
        *,
        status: int = 200,
        form: dict[str, str] | None = None,
        error: tuple[str, str] | None = None,
        made: tuple[str, api_tokens.TokenInfo] | None = None,
    ) -> Response:
        with ctx.services.db.engine.connect() as conn:
            agencies = queries.agency_names(conn)
        errors: list[dict[str, Any]] = []
        if error is not None:
            errors = [{"text": error[1], "href": f"#{_FIELD_ID.get(error[0], 'name')}"}]
        return page(
            ctx,
            request,
            who,
            "tokens.html",
            status=status,
            tokens=api_tokens.list_tokens(ctx.services),
            roles=[r.value for r in Role],
            agencies=agencies,
            form=form or {},
            errors=errors,
            error_field=error[0] if error else None,
            error_text=error[1] if error else None,
            made=made,
        )

    @routes.get("/tokens")
    def list_tokens(request: Request, who: Manager) -> Response:
        return tokens_page(request, who)

    @routes.post("/tokens")
    async def create(request: Request, who: Manager) -> Response:
        ctx.throttle.post(client_of(request))
        data = await request.form(max_files=0, max_fields=10)
        form = {k: str(data.get(k) or "").strip() for k in ("name", "role", "agency", "for")}
        try:
            await ctx.csrf().validate_csrf(request)
        except CsrfProtectError:
            raise LinkDead() from None
        try:
            made = await run_in_threadpool(
                lambda: api_tokens.create(
                    ctx.services,
                    name=form["name"],
                    role=form["role"],
                    agency=form["agency"] or None,
                    acts_for=form["for"] or None,
                    created_by=who.person.email,
                    now=ctx.clock(),
                )
            )
        except TokenRefused as exc:
            return tokens_page(
                request, who, status=422, form=form, error=(exc.field, _sentence(exc))
            )
        return tokens_page(request, who, made=made)

    @routes.post("/tokens/{public_id}/revoke")
    async def revoke(request: Request, public_id: str, who: Manager) -> Response:
        ctx.throttle.post(client_of(request))
        await request.form(max_files=0, max_fields=5)
        try:
            await ctx.csrf().validate_csrf(request)
        except CsrfProtectError:
            raise LinkDead() from None
        try:
            await run_in_threadpool(api_tokens.revoke, ctx.services, public_id, ctx.clock())
        except TokenNotFound:
            raise LinkDead() from None
        return RedirectResponse("/tokens", status_code=303)

    return routes


def _sentence(exc: TokenRefused) -> str:
    text = exc.problem.replace("give --agency", "choose an agency").replace(
        "with --for EMAIL", "with who it acts for"
    )
    return text[:1].upper() + text[1:]
