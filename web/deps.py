"""What every route needs, built once per app, and the two refusals routes raise.

Routes raise :class:`LinkDead` (a wrong, expired or revoked link, or no permission) and
:class:`TooManyAttempts`; ``web.app`` maps them to the same plain 404 and 429 pages in
one place, so no route words its own refusal and a failure never says which check failed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi_csrf_protect import CsrfProtect
from limits import RateLimitItem, parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from engine.services import Services
from web.pages import Pages
from web.settings import WebSettings


class LinkDead(Exception):
    """Answered with the plain 404 page, and counted as a failed attempt."""


class TooManyAttempts(Exception):
    """Answered with the plain 429 page."""


class Throttle:
    """Per-client limits on failed link lookups and on form posts (moving window, in memory).

    A client over its failure limit is refused every link lookup, good or bad, until the
    window moves on; in-memory counts are per process, which is enough to make guessing a
    256-bit token pointless and to stop one client flooding the upload form.
    """

    def __init__(
        self,
        failures: str,
        posts: str,
        links_per_client: str = "10/15 minutes",
        links_per_address: str = "3/15 minutes",
    ) -> None:
        self._limiter = MovingWindowRateLimiter(MemoryStorage())
        self._failures: RateLimitItem = parse(failures)
        self._posts: RateLimitItem = parse(posts)
        self._per_client: RateLimitItem = parse(links_per_client)
        self._per_address: RateLimitItem = parse(links_per_address)

    def link_asked(self, client: str, email: str) -> bool:
        """Count one sign-in link asked for. Raises TooManyAttempts when ``client`` asks too
        often; False when ``email`` has had its share lately (then no email goes, and the
        page says the same as ever, so the limit tells nobody whether the address is known)."""
        if not self._limiter.hit(self._per_client, "link", client):
            raise TooManyAttempts()
        return self._limiter.hit(self._per_address, "link-to", email)

    def check(self, client: str) -> None:
        """Raises TooManyAttempts when ``client`` has failed too often lately."""
        if not self._limiter.test(self._failures, "failed", client):
            raise TooManyAttempts()

    def failed(self, client: str) -> None:
        self._limiter.hit(self._failures, "failed", client)

    def post(self, client: str) -> None:
        """Count one form post; raises TooManyAttempts over the limit."""
        if not self._limiter.hit(self._posts, "post", client):
            raise TooManyAttempts()


def csrf_for(secret: str, *, secure: bool, max_age: int) -> type[CsrfProtect]:
    """A CsrfProtect class configured for one app.

    The library keeps its configuration on the class, so each app gets its own subclass
    rather than sharing (and overwriting) one global configuration.
    """

    class AppCsrf(CsrfProtect):
        pass

    config: Sequence[tuple[str, Any]] = [
        ("secret_key", secret),
        ("token_location", "body"),
        ("token_key", "csrf_token"),
        ("cookie_key", "signoff_csrf"),
        ("cookie_samesite", "strict"),
        ("cookie_secure", secure),
        ("httponly", True),
        ("max_age", max_age),
    ]
    AppCsrf.load_config(lambda: config)
    return AppCsrf


@dataclass(frozen=True, kw_only=True)
class Context:
    services: Services
    settings: WebSettings
    clock: Callable[[], dt.datetime]
    pages: Pages
    throttle: Throttle
    csrf: type[CsrfProtect]
    secret: bytes
    secure: bool  # cookies get Secure when the site is served over https

    def page(self, request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
        nonce = getattr(request.state, "csp_nonce", None)
        return HTMLResponse(self.pages.render(name, nonce=nonce, **context), status_code=status)


def client_of(request: Request) -> str:
    """The client's address as the server sees it (behind a proxy, see web.server)."""
    return request.client.host if request.client else "unknown"
