"""The agency reply page: open the emailed link, read what is asked, send evidence.

No account is needed: the link's token is the credential, for one request only.

- ``GET /r/{token}`` changes nothing (mail scanners fetch links). For a live link it puts
  the token in an HttpOnly, SameSite=Strict cookie scoped to ``/reply/{public_id}`` and
  redirects there, so the token leaves the address bar, history and any Referer.
- ``GET /reply/{public_id}`` shows the request and the form. When the click came from
  another site (webmail), browsers do not send a SameSite=Strict cookie on the redirect
  that follows it, so a request without the cookie gets a tiny page that reloads itself
  (``?again=1``), a same-site navigation that does carry it.
- ``POST /reply/{public_id}`` checks the CSRF token, then hands the statement and files
  to ``engine.requests.answer.answer_by_token``; a refused file or an answer refused by the
  engine re-shows the form with the reason, worded for the page by the refusal's reason,
  and stores nothing. On success the link is revoked by the engine and a short-lived
  signed cookie carries the confirmation to ``/reply/{public_id}/done``.

A wrong, expired, revoked or mismatched link is always the same plain 404 (``LinkDead``).
"""

from __future__ import annotations

import datetime as dt
import functools
import secrets
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi_csrf_protect.exceptions import CsrfProtectError
from itsdangerous import BadSignature, URLSafeSerializer
from markupsafe import Markup
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException

from engine.errors import (
    ConcurrentUpdate,
    FireError,
    Refusal,
    RequestRefused,
    UploadRefused,
)
from engine.requests import RequestView, received, view_by_token
from engine.requests.answer import Upload, answer_by_token
from engine.uploads import UploadLimits
from web.deps import Context, LinkDead, client_of

REPLY_COOKIE = "signoff_reply"
DONE_COOKIE = "signoff_reply_done"
DONE_FOR = dt.timedelta(hours=1)
# stand-ins for the per-request nonce and CSRF token in the cached rendering of a page
_NONCE = "@@nonce-" + secrets.token_hex(8) + "@@"
_CSRF = "@@csrf-" + secrets.token_hex(8) + "@@"
_MB = 1024 * 1024
_KINDS = (
    "PDF, Word, Excel, PowerPoint, OpenDocument, images (PNG, JPEG, GIF, WebP, TIFF), "
    "text or CSV files and saved emails (.eml, .msg)"
)
_NEW_LINK = "Ask the safeguarding board for a new link if you still need to send evidence."
_CANNOT = "This request cannot be answered. " + _NEW_LINK
# What the page says when the engine refuses an answer, by the refusal's reason (the item
# page's evidence form says the same). Only the
# first three can come from answering; the others are refusals to issue, worded all the same.
REFUSED: dict[Refusal, str] = {
    Refusal.EMPTY: "Write a statement or choose at least one file to send.",
    Refusal.CLOSED: (
        "This request can no longer be answered: it has been answered or withdrawn, it has "
        "expired, or the recommendation has moved on. " + _NEW_LINK
    ),
    Refusal.WORKFLOW_CHANGED: (
        "This request can no longer be answered here: the board has changed how it takes "
        "evidence at this stage. " + _NEW_LINK
    ),
    Refusal.NOT_ASKED_HERE: _CANNOT,
    Refusal.NOT_ISSUER: _CANNOT,
    Refusal.NOBODY_TO_ASK: _CANNOT,
    Refusal.NOT_ANSWERER: _CANNOT,
    Refusal.FAILING: _CANNOT,
    Refusal.NO_ITEM: _CANNOT,
}
# What the page says when the workflow refuses the answer (a FireError): never a 500.
_CHANGED = (
    "The recommendation changed while you were answering: nothing was sent. Open the link "
    "again to see where it stands. " + _NEW_LINK
)
_NOT_YOURS = (
    "This request cannot be answered from this link: the safeguarding board's records do "
    "not show you answering for this agency now. " + _NEW_LINK
)


def _fire_refusal(exc: FireError) -> str:
    """The page's words for a transition the workflow refused (RoleNotAllowed and the rest)."""
    if isinstance(exc, ConcurrentUpdate):
        return _CHANGED
    if isinstance(exc, PermissionError):
        return _NOT_YOURS
    return _CANNOT


def router(ctx: Context) -> APIRouter:
    routes = APIRouter()
    limits = upload_limits(ctx)
    done_signer = URLSafeSerializer(ctx.secret, salt="signoff-reply-done")
    hint = limits_hint(ctx.settings.max_upload_mb, ctx.settings.max_upload_files)

    def live(request: Request, public_id: str) -> tuple[str, RequestView]:
        ctx.throttle.check(client_of(request))
        token = request.cookies.get(REPLY_COOKIE, "")
        view = view_by_token(ctx.services, token, ctx.clock())
        if view is None or view.public_id != public_id:
            raise LinkDead()
        return token, view

    def form_page(
        request: Request,
        view: RequestView,
        *,
        status: int = 200,
        statement: str = "",
        errors: dict[str, str] | None = None,
    ) -> Response:
        csrf = ctx.csrf()
        token, signed = csrf.generate_csrf_tokens()
        nonce = getattr(request.state, "csp_nonce", "")
        if errors or statement:
            html = render(view, statement, tuple((errors or {}).items()), nonce, token)
        else:  # the common case: the page depends only on the view, so render it once
            html = blank(view).replace(_NONCE, nonce).replace(_CSRF, token)
        response = HTMLResponse(html, status_code=status)
        csrf.set_csrf_cookie(signed, response)
        return response

    def render(
        view: RequestView,
        statement: str,
        errors: tuple[tuple[str, str], ...],
        nonce: str,
        csrf_token: str,
    ) -> str:
        return ctx.pages.render(
            "reply.html",
            nonce=nonce,
            view=view,
            csrf_token=csrf_token,
            statement=statement,
            errors=[{"text": text, "href": f"#{field}"} for field, text in errors],
            field_errors=dict(errors),
            limits_hint=hint,
        )

    @functools.lru_cache(maxsize=256)
    def blank(view: RequestView) -> str:
        return render(view, "", (), _NONCE, _CSRF)

    @routes.get("/r/{token}")
    def open_link(request: Request, token: str) -> Response:
        ctx.throttle.check(client_of(request))
        view = view_by_token(ctx.services, token, ctx.clock())
        if view is None:
            raise LinkDead()
        response = RedirectResponse(f"/reply/{view.public_id}", status_code=303)
        response.set_cookie(
            REPLY_COOKIE,
            token,
            path=f"/reply/{view.public_id}",
            httponly=True,
            samesite="strict",
            secure=ctx.secure,
        )
        return response

    @routes.get("/reply/{public_id}")
    def show(request: Request, public_id: str) -> Response:
        if REPLY_COOKIE not in request.cookies and "again" not in request.query_params:
            # Arriving by the redirect from /r/ after a click in webmail (another site), the
            # browser withholds the SameSite=Strict cookie it has just stored; a navigation
            # started by one of our own pages sends it. The second time, no cookie is a 404.
            ctx.throttle.check(client_of(request))
            return ctx.page(request, "continue.html", public_id=public_id)
        _token, view = live(request, public_id)
        return form_page(request, view)

    @routes.post("/reply/{public_id}")
    async def send(request: Request, public_id: str) -> Response:
        ctx.throttle.post(client_of(request))
        token, view = await run_in_threadpool(live, request, public_id)
        try:
            form = await request.form(max_files=limits.max_files + 1, max_fields=20)
        except HTTPException:
            return form_page(
                request,
                view,
                status=400,
                errors={
                    "files": f"Select at most {limits.max_files} files at once. "
                    "Send the rest in another reply."
                },
            )
        try:
            return await _answer(request, public_id, token, view, form)
        finally:
            await form.close()

    async def _answer(
        request: Request, public_id: str, token: str, view: RequestView, form: FormData
    ) -> Response:
        statement = str(form.get("statement") or "")
        try:
            await ctx.csrf().validate_csrf(request)
        except CsrfProtectError:
            return form_page(
                request,
                view,
                status=400,
                statement=statement,
                errors={
                    "statement": "This page timed out or was opened in another tab. "
                    "Check your answer, choose your files again and send it."
                },
            )
        uploads = [
            Upload(filename=f.filename or "", data=await f.read())
            for f in form.getlist("files")
            if isinstance(f, UploadFile) and (f.filename or f.size)
        ]
        try:
            fired = await run_in_threadpool(
                answer_by_token,
                ctx.services,
                token,
                statement=statement,
                uploads=uploads,
                now=ctx.clock(),
                limits=limits,
            )
        except UploadRefused as exc:
            errors = {"files": str(exc)}
            return form_page(request, view, status=422, statement=statement, errors=errors)
        except RequestRefused as exc:
            errors = {"statement": REFUSED[exc.reason]}
            return form_page(request, view, status=422, statement=statement, errors=errors)
        except FireError as exc:  # the workflow refused: worded here, never a 500
            errors = {"statement": _fire_refusal(exc)}
            return form_page(request, view, status=422, statement=statement, errors=errors)
        if fired is None:  # answered or withdrawn since the page was opened
            raise LinkDead()
        names = await run_in_threadpool(received, ctx.services, fired.evidence_ids)
        done = {
            "p": public_id,
            "t": int(ctx.clock().timestamp()),
            "ref": view.ref,
            "title": view.title,
            "board": view.board,
            "received": [name[:100] for name in names],
        }
        response = RedirectResponse(f"/reply/{public_id}/done", status_code=303)
        path = f"/reply/{public_id}"
        response.delete_cookie(REPLY_COOKIE, path=path, secure=ctx.secure, httponly=True)
        response.set_cookie(
            DONE_COOKIE,
            done_signer.dumps(done),
            max_age=int(DONE_FOR.total_seconds()),
            path=path,
            httponly=True,
            samesite="strict",
            secure=ctx.secure,
        )
        return response

    @routes.get("/reply/{public_id}/done")
    def done(request: Request, public_id: str) -> Response:
        ctx.throttle.check(client_of(request))
        try:
            data: dict[str, Any] = done_signer.loads(request.cookies.get(DONE_COOKIE, ""))
        except BadSignature:
            raise LinkDead() from None
        age = ctx.clock().timestamp() - data["t"]
        if data["p"] != public_id or not 0 <= age <= DONE_FOR.total_seconds():
            raise LinkDead()
        return ctx.page(request, "done.html", done=data)

    return routes


def upload_limits(ctx: Context) -> UploadLimits:
    """The upload checks' limits for this app's settings (the reply page and the item page)."""
    return UploadLimits(
        max_file_bytes=ctx.settings.max_upload_mb * _MB, max_files=ctx.settings.max_upload_files
    )


def limits_hint(max_mb: int, max_files: int) -> Markup:
    return Markup(
        "You can choose up to {files} files, each up to {mb} MB. We accept {kinds}. "
        "We do not accept zip files, programs, web pages or documents with macros or passwords."
    ).format(files=max_files, mb=max_mb, kinds=_KINDS)
