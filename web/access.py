"""Who is signed in, and the one dependency every signed-in route declares.

A route states what it needs with ``Depends(requires(ctx, Permission.X))`` and gets the
:class:`~engine.sessions.SignedIn` person; the permission itself is read from the roles table
(``engine.permissions``), never decided here. Without a live session the browser is sent to
``/sign-in`` (and back afterwards); without the permission the answer is the plain 404, the
same as for something that does not exist. A route acting on one agency's thing asks
``who.person.may(permission, agency)`` again and raises ``LinkDead`` when it is foreign.

The session cookie holds the session id (256 random bits; the database keeps its hash):
HttpOnly, SameSite=Lax (the link is opened from webmail), Path=/, Secure when the site is
served over https.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import Response
from itsdangerous import BadData, URLSafeTimedSerializer

from engine import sessions
from engine.permissions import Permission
from engine.sessions import SignedIn
from web.deps import Context, LinkDead

SESSION_COOKIE = "signoff_session"
CSRF_COOKIE = "signoff_csrf"  # web.deps.csrf_for
FORM_TOKEN_REUSED_FOR = 4 * 3600  # seconds; a form token is good for 8 hours (web.app)
_UNREAD = object()


class SignInNeeded(Exception):
    """No live session: answered by a redirect to ``/sign-in`` that comes back to ``path``."""

    def __init__(self, path: str) -> None:
        super().__init__(path)
        self.path = path


def current(ctx: Context, request: Request) -> SignedIn | None:
    """The live session of this request, read once per request."""
    known: SignedIn | None | object = getattr(request.state, "signed_in", _UNREAD)
    if known is None or isinstance(known, SignedIn):
        return known
    session_id = request.cookies.get(SESSION_COOKIE, "")
    found = sessions.signed_in(ctx.services, session_id, ctx.clock()) if session_id else None
    request.state.signed_in = found
    return found


class Requires:
    """The dependency of a signed-in route: a live session, and ``permission`` somewhere.

    ``permission`` is None for pages every signed-in person may open (the home page).
    Declared as ``who: Annotated[SignedIn, Depends(Requires(Permission.X))]``; it reads the
    app's Context from ``request.app.state.ctx``. The route table test reads ``permission``
    off each route's dependencies.
    """

    def __init__(self, permission: Permission | None = None) -> None:
        self.permission = permission

    def __call__(self, request: Request) -> SignedIn:
        ctx: Context = request.app.state.ctx
        who = current(ctx, request)
        if who is None:
            query = f"?{request.url.query}" if request.url.query else ""
            raise SignInNeeded(request.url.path + query)
        if self.permission is not None and not who.person.may(self.permission):
            raise LinkDead()
        return who


def set_session_cookie(ctx: Context, response: Response, session_id: str) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        session_id,
        max_age=int(sessions.LIFETIME.total_seconds()),
        path="/",
        httponly=True,
        samesite="lax",
        secure=ctx.secure,
    )


def clear_session_cookie(ctx: Context, response: Response) -> None:
    response.delete_cookie(
        SESSION_COOKIE, path="/", httponly=True, samesite="lax", secure=ctx.secure
    )


def page(
    ctx: Context, request: Request, who: SignedIn, name: str, status: int = 200, **context: Any
) -> Response:
    """A signed-in page: the template gets ``who`` and a CSRF token for its forms (sign-out
    is on every page)."""
    csrf = ctx.csrf()
    token = _form_token_in_use(ctx, request)
    signed = None
    if token is None:
        token, signed = csrf.generate_csrf_tokens()
    response = ctx.page(
        request, name, status=status, who=who, csrf_token=token, current_path=request.url.path,
        **context,
    )  # fmt: skip
    if signed is not None:
        csrf.set_csrf_cookie(signed, response)
    return response


def _form_token_in_use(ctx: Context, request: Request) -> str | None:
    """The form token of the browser's CSRF cookie while it has most of its life left.

    Reusing it keeps forms in other tabs working (a new cookie on every page would make the
    form of every other open page fail). The cookie is fastapi-csrf-protect's: its token
    signed under our key with the library's salt.
    """
    cookie = request.cookies.get(CSRF_COOKIE)
    if not cookie:
        return None
    serializer = URLSafeTimedSerializer(ctx.secret.decode(), salt="fastapi-csrf-token")
    try:
        token = serializer.loads(cookie, max_age=FORM_TOKEN_REUSED_FOR)
    except BadData:
        return None
    return token if isinstance(token, str) else None
