"""Passwordless sign-in for the board's staff, and evidence downloads for them only.

Who is staff: a contact holding a *board role*, i.e. a contact role that some published
workflow gives a role of scope ``any`` (business manager, panel member, chair, internal
auditor in the shipped workflows). Agency contacts (lead officers) are never staff.

``issue_staff_link`` gives a sign-in link valid for 15 minutes: a token signed with the
board's secret key (itsdangerous), bound to the address and the time it was issued. It is
checked again on use, and the role is checked again on every staff request, so removing
someone's role from the contacts file ends their access at once. Limitation: the token is
not stored, so it is single-use only within one running process (an in-memory list of used
tokens); after a restart an unused-looking copy would work until its 15 minutes run out.
Opening the link shows a "Sign in" button; only pressing it (a POST with a CSRF token)
signs in, so a mail scanner that fetches the link cannot use it up.

The session is a signed cookie (HttpOnly, SameSite=Lax, Path=/staff, 8 hours).
"""

from __future__ import annotations

import datetime as dt
import secrets
import threading
import urllib.parse
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, RedirectResponse, Response
from fastapi_csrf_protect.exceptions import CsrfProtectError
from itsdangerous import BadSignature, URLSafeSerializer

from engine import contacts, queries
from engine.errors import StaffNotAllowed
from engine.evidence import file_on_record
from engine.services import Services
from web.deps import Context, LinkDead, client_of
from web.settings import WebSettings

LINK_FOR = dt.timedelta(minutes=15)
SESSION_FOR = dt.timedelta(hours=8)
SESSION_COOKIE = "signoff_staff"
_LINK_SALT = "signoff-staff-link"
_SESSION_SALT = "signoff-staff-session"
_LARGEST_ID = 2**31 - 1  # the evidence table's id is a 32-bit INTEGER on PostgreSQL


def _board_roles_and_held(services: Services, email: str) -> tuple[set[str], set[str]]:
    with services.db.engine.connect() as conn:
        return (
            contacts.published_board_roles(conn, services.specs),
            contacts.roles_of(conn, email),
        )


def is_staff(services: Services, email: str) -> bool:
    board, held = _board_roles_and_held(services, email)
    return bool(board & held)


def issue_staff_link(
    services: Services, settings: WebSettings, email: str, now: dt.datetime
) -> str:
    """A sign-in link for a member of the board's staff, valid for 15 minutes.

    Raises:
        StaffNotAllowed: the address holds no board role.
    """
    email = email.strip().lower()
    board, held = _board_roles_and_held(services, email)
    if not board & held:
        raise StaffNotAllowed(email, sorted(board))
    signer = URLSafeSerializer(settings.secret_key, salt=_LINK_SALT)
    token = signer.dumps({"e": email, "t": int(now.timestamp()), "n": secrets.token_urlsafe(16)})
    return f"{settings.base_url}/staff/sign-in/{token}"


class _Used:
    """Link tokens already used in this process (kept until they would have expired)."""

    def __init__(self) -> None:
        self._until: dict[str, float] = {}
        self._lock = threading.Lock()

    def claim(self, nonce: str, now: float) -> bool:
        with self._lock:
            self._until = {n: t for n, t in self._until.items() if t > now}
            if nonce in self._until:
                return False
            self._until[nonce] = now + LINK_FOR.total_seconds()
            return True


def router(ctx: Context) -> APIRouter:
    routes = APIRouter()
    links = URLSafeSerializer(ctx.secret, salt=_LINK_SALT)
    sessions = URLSafeSerializer(ctx.secret, salt=_SESSION_SALT)
    used = _Used()

    def link_data(token: str) -> dict[str, Any]:
        try:
            data: dict[str, Any] = links.loads(token)
        except BadSignature:
            raise LinkDead() from None
        age = ctx.clock().timestamp() - data["t"]
        if not 0 <= age <= LINK_FOR.total_seconds() or not is_staff(ctx.services, data["e"]):
            raise LinkDead()
        return data

    def signed_in(request: Request) -> str:
        """The signed-in member of staff, still holding a board role; else LinkDead."""
        try:
            data: dict[str, Any] = sessions.loads(request.cookies.get(SESSION_COOKIE, ""))
        except BadSignature:
            raise LinkDead() from None
        age = ctx.clock().timestamp() - data["t"]
        if not 0 <= age <= SESSION_FOR.total_seconds() or not is_staff(ctx.services, data["e"]):
            raise LinkDead()
        return str(data["e"])

    @routes.get("/staff/sign-in/{token}")
    def sign_in_page(request: Request, token: str) -> Response:
        ctx.throttle.check(client_of(request))
        data = link_data(token)
        csrf = ctx.csrf()
        plain, signed = csrf.generate_csrf_tokens()
        response = ctx.page(
            request, "staff_sign_in.html", email=data["e"], token=token, csrf_token=plain
        )
        csrf.set_csrf_cookie(signed, response)
        return response

    @routes.post("/staff/sign-in/{token}")
    async def sign_in(request: Request, token: str) -> Response:
        ctx.throttle.post(client_of(request))
        ctx.throttle.check(client_of(request))
        data = link_data(token)
        await request.form(max_files=0, max_fields=5)
        try:
            await ctx.csrf().validate_csrf(request)
        except CsrfProtectError:
            raise LinkDead() from None
        if not used.claim(data["n"], ctx.clock().timestamp()):
            raise LinkDead()
        response = RedirectResponse("/staff", status_code=303)
        response.set_cookie(
            SESSION_COOKIE,
            sessions.dumps({"e": data["e"], "t": int(ctx.clock().timestamp())}),
            max_age=int(SESSION_FOR.total_seconds()),
            path="/staff",
            httponly=True,
            samesite="lax",
            secure=ctx.secure,
        )
        return response

    @routes.get("/staff")
    def home(request: Request) -> Response:
        email = signed_in(request)
        with ctx.services.db.engine.connect() as conn:
            held = queries.quarantine(conn)
        return ctx.page(request, "staff_home.html", email=email, quarantine=held)

    @routes.get("/staff/evidence/{evidence_id}")
    def download(request: Request, evidence_id: str) -> Response:
        signed_in(request)
        number = _evidence_number(evidence_id)
        if number is None:
            raise LinkDead()
        with ctx.services.db.engine.connect() as conn:
            found = file_on_record(conn, ctx.services.data_dir, number)
        if found is None:
            raise LinkDead()
        return _attachment(found.path, found.filename, found.content_type)

    return routes


def _evidence_number(text: str) -> int | None:
    """The evidence id in a URL, or None when it is not one any row could have: not plain
    ASCII digits, zero, or too large for the database's integer."""
    if not (text.isascii() and text.isdigit()) or len(text) > 10:
        return None
    number = int(text)
    return number if 0 < number <= _LARGEST_ID else None


def _attachment(path: Path, filename: str, content_type: str | None) -> FileResponse:
    ascii_name = "".join(
        c if c.isascii() and c.isprintable() and c not in '"\\;' else "_" for c in filename
    )
    quoted = urllib.parse.quote(filename, safe="")
    return FileResponse(
        path,
        media_type=content_type or "application/octet-stream",
        headers={
            "Content-Disposition": (
                f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quoted}"
            ),
            # nothing in a download may run, even if a browser ignores the disposition
            "Content-Security-Policy": "default-src 'none'; sandbox",
        },
    )
