"""The web app: the agency reply page, sign-in, and the signed-in pages.

Build one per process with ``create_app(services, settings, clock=...)`` and serve it with
``web.server``. It refuses to start without the GOV.UK Frontend assets.
"""

from __future__ import annotations

import datetime as dt
import urllib.parse
from collections.abc import Callable
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import (
    HTMLResponse,
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
)
from starlette.exceptions import HTTPException

from engine import wording
from engine.services import Services
from engine.uploads import UploadLimits
from web import (
    admin,
    administration,
    api,
    assets,
    directory_files,
    directory_pages,
    downloads,
    home,
    imports,
    items,
    outbox,
    panel,
    reply,
    report_pages,
    signin,
    tokens,
    workflow_forms,
)
from web import anchors as anchor_pages
from web import emails as emails_pages
from web import workflows as workflow_pages
from web.access import SignInNeeded
from web.deps import Context, LinkDead, Throttle, TooManyAttempts, client_of, csrf_for
from web.middleware import BodyTooLarge, Guard
from web.pages import Pages
from web.settings import WebSettings

_MB = 1024 * 1024
_FORM_FOR = 8 * 3600  # seconds a form's CSRF token stays good: time to write a statement
_THROTTLED = (
    "/r/",
    "/reply/",
    "/sign-in/",
    "/evidence/",
    "/sessions/",
    "/items/",
    "/outbox/",
    "/quarantine/",
    "/admin/import/",
    "/admin/anchors/",
)


def create_app(
    services: Services,
    settings: WebSettings,
    *,
    clock: Callable[[], dt.datetime],
    failure_limit: str = "20/minute",
    post_limit: str = "30/minute",
    links_per_client: str = "10/15 minutes",
    links_per_address: str = "3/15 minutes",
    assets_dir: Path = assets.DIST,
    emails: wording.Book | None = None,
) -> FastAPI:
    """The app, with its routes, middleware and error pages.

    ``failure_limit`` (failed link lookups), ``post_limit`` (form posts) and
    ``links_per_client`` (sign-in links asked for) are per client address, and
    ``links_per_address`` per email address, in the ``limits`` notation ("20/minute").
    ``emails`` (``notifications.templates.WordingBook``) adds the ``/admin/emails`` pages;
    the ``/admin/workflows`` pages check workflows' email template names against its names.

    Raises:
        AssetsMissing: GOV.UK Frontend is not installed (run `npm ci --prefix web`).
    """
    assets.check(assets_dir)
    key = settings.secret_key
    pages = Pages(local=services.calendar.local)
    secure = settings.base_url.startswith("https://")
    ctx = Context(
        services=services,
        settings=settings,
        clock=clock,
        pages=pages,
        throttle=Throttle(failure_limit, post_limit, links_per_client, links_per_address),
        csrf=csrf_for(key.decode(), secure=secure, max_age=_FORM_FOR),
        secret=key,
        secure=secure,
    )
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    app.state.ctx = ctx  # what web.access.Requires reads
    assets.mount(app, assets_dir)
    app.include_router(reply.router(ctx))
    app.include_router(signin.router(ctx))
    app.include_router(home.router(ctx))
    app.include_router(items.router(ctx))
    app.include_router(downloads.router(ctx))
    app.include_router(admin.router(ctx))
    app.include_router(administration.router(ctx))
    app.include_router(panel.router(ctx))
    app.include_router(outbox.router(ctx))
    app.include_router(tokens.router(ctx))
    app.include_router(imports.router(ctx))
    app.include_router(anchor_pages.router(ctx))
    if emails is not None:  # the email editor needs the templates (app passes them)
        app.include_router(emails_pages.router(ctx, emails))
    # the workflow editor checks template names against the emails' (None: not checked)
    app.include_router(workflow_pages.router(ctx, emails.names if emails is not None else None))
    app.include_router(workflow_forms.router(ctx, emails.names if emails is not None else None))
    app.include_router(report_pages.router(ctx))
    app.include_router(directory_pages.router(ctx))
    app.include_router(directory_files.router(ctx))
    app.mount(api.PREFIX, api.create_api(ctx))

    def not_found(request: Request) -> Response:
        if request.url.path.startswith(api.PREFIX + "/"):  # a path the API's mount missed
            return JSONResponse({"detail": "Not found", "error": None}, status_code=404)
        if request.url.path.startswith(_THROTTLED):
            ctx.throttle.failed(client_of(request))
        return HTMLResponse(pages.not_found, status_code=404)

    async def on_link_dead(request: Request, _exc: Exception) -> Response:
        return not_found(request)

    async def on_sign_in_needed(_request: Request, exc: Exception) -> Response:
        path = exc.path if isinstance(exc, SignInNeeded) else "/"
        query = urllib.parse.urlencode({"next": path}) if path != "/" else ""
        return RedirectResponse("/sign-in" + (f"?{query}" if query else ""), status_code=303)

    async def on_too_many(_request: Request, _exc: Exception) -> Response:
        return HTMLResponse(pages.too_many, status_code=429, headers={"Retry-After": "60"})

    async def on_http(request: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, HTTPException) else 500
        if status == 404:
            return not_found(request)
        return PlainTextResponse(_REASONS.get(status, "Something went wrong"), status_code=status)

    async def on_too_large(_request: Request, _exc: Exception) -> Response:
        return PlainTextResponse("Request too large", status_code=413)

    app.add_exception_handler(LinkDead, on_link_dead)
    app.add_exception_handler(TooManyAttempts, on_too_many)
    app.add_exception_handler(SignInNeeded, on_sign_in_needed)
    app.add_exception_handler(HTTPException, on_http)
    app.add_exception_handler(RequestValidationError, on_link_dead)
    app.add_exception_handler(BodyTooLarge, on_too_large)
    limits = UploadLimits()
    max_body = (
        min(settings.max_upload_files * settings.max_upload_mb * _MB, limits.max_total_bytes) + _MB
    )  # room for the statement and the multipart framing
    app.add_middleware(
        Guard,
        script_hash=pages.script_hash,
        max_body=max_body,
        not_found=pages.not_found,
        bad_query=pages.bad_query,
        api_prefix=api.PREFIX,
    )
    return app


_REASONS = {405: "Method not allowed", 400: "Bad request", 413: "Request too large"}
