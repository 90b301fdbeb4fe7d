"""Signing in by emailed link, and signing out.

- ``GET /sign-in`` asks for an email address; ``POST /sign-in`` checks it (GOV.UK error
  summary and inline message, the value kept) and asks ``engine.signin`` for a link, which
  is emailed only when the directory knows the address. Either way the answer is the same
  "Check your email" page, sent before the link is asked for (a background task), so its
  timing does not tell either. Throttled per client (429) and per address (silently: no email).
- ``GET /sign-in/{token}`` changes nothing (mail scanners fetch links): a live link shows a
  "Sign in" button; ``POST`` to the same address (CSRF-checked) spends the link and starts a
  session (``engine.sessions.start_session``), ending the browser's earlier one (rotation).
  A wrong, used or expired link is the plain 404.
- ``POST /sign-out`` (CSRF-checked) ends the session and clears the cookie.
"""

from __future__ import annotations

from email_validator import EmailNotValidError, validate_email
from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from fastapi_csrf_protect.exceptions import CsrfProtectError
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool

from engine import sessions, signin
from engine.errors import UnknownPerson
from web.access import SESSION_COOKIE, clear_session_cookie, set_session_cookie
from web.deps import Context, LinkDead, client_of

_ENTER = "Enter your email address"
_FORMAT = "Enter an email address in the correct format, like name@example.com"
_TIMED_OUT = "This page timed out or was opened in another tab. Enter your email address again."
_MAX_EMAIL = 320


def email_problem(text: str) -> str | None:
    """What is wrong with ``text`` as an email address (GOV.UK wording), or None."""
    if not text:
        return _ENTER
    if len(text) > _MAX_EMAIL:
        return _FORMAT
    try:
        validate_email(text, check_deliverability=False)
    except EmailNotValidError:
        return _FORMAT
    return None


def router(ctx: Context) -> APIRouter:
    routes = APIRouter()

    def form_page(
        request: Request, *, email: str = "", next_path: str | None = None, error: str = ""
    ) -> Response:
        csrf = ctx.csrf()
        token, signed = csrf.generate_csrf_tokens()
        response = ctx.page(
            request,
            "sign_in.html",
            status=422 if error else 200,
            email=email,
            next_path=signin.safe_next(next_path) or "",
            csrf_token=token,
            errors=[{"text": error, "href": "#email"}] if error else [],
            error=error,
        )
        csrf.set_csrf_cookie(signed, response)
        return response

    @routes.get("/sign-in")
    def ask(request: Request) -> Response:
        return form_page(request, next_path=request.query_params.get("next"))

    @routes.post("/sign-in")
    async def send_link(request: Request) -> Response:
        client = client_of(request)
        ctx.throttle.post(client)
        form = await request.form(max_files=0, max_fields=5)
        email = str(form.get("email") or "").strip()
        next_path = str(form.get("next") or "")
        try:
            await ctx.csrf().validate_csrf(request)
        except CsrfProtectError:
            return form_page(request, email=email, next_path=next_path, error=_TIMED_OUT)
        problem = email_problem(email)
        if problem is not None:
            return form_page(request, email=email, next_path=next_path, error=problem)
        # asked for after the answer is sent, so how long the answer takes does not say
        # whether the address is known (only a known one writes anything)
        task = (
            BackgroundTask(signin.ask_for_link, ctx.services, email, ctx.clock(), next_path)
            if ctx.throttle.link_asked(client, email.lower())
            else None
        )
        return RedirectResponse("/sign-in/check-email", status_code=303, background=task)

    @routes.get("/sign-in/check-email")
    def check_email(request: Request) -> Response:
        minutes = int(signin.LINK_FOR.total_seconds() // 60)
        return ctx.page(request, "sign_in_sent.html", minutes=minutes)

    @routes.get("/sign-in/{token}")
    def open_link(request: Request, token: str) -> Response:
        ctx.throttle.check(client_of(request))
        email = signin.holder(ctx.services, token, ctx.clock())
        if email is None:
            raise LinkDead()
        csrf = ctx.csrf()
        plain, signed = csrf.generate_csrf_tokens()
        hours = int(sessions.LIFETIME.total_seconds() // 3600)
        response = ctx.page(
            request, "sign_in_link.html", email=email, token=token, csrf_token=plain, hours=hours
        )
        csrf.set_csrf_cookie(signed, response)
        return response

    @routes.post("/sign-in/{token}")
    async def use_link(request: Request, token: str) -> Response:
        client = client_of(request)
        ctx.throttle.post(client)
        ctx.throttle.check(client)
        await request.form(max_files=0, max_fields=5)
        try:
            await ctx.csrf().validate_csrf(request)
        except CsrfProtectError:
            raise LinkDead() from None
        now = ctx.clock()
        used = await run_in_threadpool(signin.use, ctx.services, token, now)
        if used is None:
            raise LinkDead()
        email, next_path = used
        try:
            session_id = await run_in_threadpool(
                lambda: sessions.start_session(
                    ctx.services,
                    email,
                    now,
                    sessions.How.LINK,
                    replacing=request.cookies.get(SESSION_COOKIE),
                )
            )
        except UnknownPerson:  # removed from the directory since the link was made
            raise LinkDead() from None
        response = RedirectResponse(signin.safe_next(next_path) or "/", status_code=303)
        set_session_cookie(ctx, response, session_id)
        return response

    @routes.post("/sign-out")
    async def sign_out(request: Request) -> Response:
        ctx.throttle.post(client_of(request))
        await request.form(max_files=0, max_fields=5)
        try:
            await ctx.csrf().validate_csrf(request)
        except CsrfProtectError:
            raise LinkDead() from None
        session_id = request.cookies.get(SESSION_COOKIE, "")
        await run_in_threadpool(sessions.end_session, ctx.services, session_id, ctx.clock())
        response = RedirectResponse("/signed-out", status_code=303)
        clear_session_cookie(ctx, response)
        return response

    @routes.get("/signed-out")
    def signed_out(request: Request) -> Response:
        return ctx.page(request, "signed_out.html")

    return routes
