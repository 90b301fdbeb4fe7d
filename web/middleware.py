"""Pure ASGI middleware: security headers, a per-request CSP nonce, a body limit, a quiet log.

Every response gets ``Referrer-Policy: no-referrer``, ``X-Content-Type-Options: nosniff``,
``X-Frame-Options: DENY`` and a Content-Security-Policy (unless the route set a stricter
one, as downloads do); everything except ``/assets`` gets ``Cache-Control: no-store``.

A path or query holding a control character (``%00``, a newline) is answered before any
route runs: the plain 404 page for a path, the 400 "There is a problem" page for a query.
The JSON API gets its 404 ``Problem`` for such a path; its queries are answered by the API
as its schema documents.

The access log never holds a link token: ``/r/<token>`` and ``/sign-in/<token>``
are logged as ``/r/<redacted>``, query strings are never logged, and uvicorn's own access
log is off (``web.server``).
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import time
import urllib.parse

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("signoff.web")

_HTML, _JSON = b"text/html", b"application/json"
# C0 control characters and DEL: no address or query of this app holds one, and a NUL makes
# PostgreSQL refuse the query it is bound into
_CONTROL = re.compile(rb"[\x00-\x1f\x7f]")

_SECRET_PATHS = re.compile(r"^/(r|sign-in)/[^/]*")


class BodyTooLarge(Exception):
    """The request body is over the app's limit (answered 413 by web.app)."""


def redact(path: str) -> str:
    """The path with any link token replaced, fit for a log."""
    return _SECRET_PATHS.sub(lambda m: f"/{m.group(1)}/<redacted>", path)


class Guard:
    """Headers, nonce, body limit and access log, in one pass over each HTTP request."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        script_hash: str,
        max_body: int,
        not_found: bytes,
        bad_query: bytes,
        api_prefix: str,
    ) -> None:
        self.app, self.script_hash, self.max_body = app, script_hash, max_body
        self.not_found, self.bad_query = not_found, bad_query
        self.api_prefix = api_prefix + "/"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        nonce = secrets.token_urlsafe(16)
        scope.setdefault("state", {})["csp_nonce"] = nonce
        asset = scope["path"].startswith("/assets/")
        csp = (
            "default-src 'self'; "
            f"script-src 'self' 'nonce-{nonce}' {self.script_hash}; "
            "style-src 'self'; img-src 'self' data:; font-src 'self'; object-src 'none'; "
            "base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
        )
        status = 500
        declared = _content_length(scope)
        received = 0

        async def limited() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.max_body:
                raise BodyTooLarge()
            return message

        async def send_with_headers(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = MutableHeaders(scope=message)
                headers["Referrer-Policy"] = "no-referrer"
                headers["X-Content-Type-Options"] = "nosniff"
                headers["X-Frame-Options"] = "DENY"
                if "content-security-policy" not in headers:
                    headers["Content-Security-Policy"] = csp
                if not asset and "cache-control" not in headers:
                    headers["Cache-Control"] = "no-store"
            await send(message)

        try:
            if declared is not None and declared > self.max_body:
                await _too_large(send_with_headers)
                return
            api = scope["path"].startswith(self.api_prefix)
            if _CONTROL.search(scope["path"].encode("utf-8", "surrogateescape")):
                body = _json({"detail": "Not found", "error": None}) if api else self.not_found
                await _answer(send_with_headers, 404, body, _JSON if api else _HTML)
                return
            # the JSON API answers its queries as its schema documents (bad filters: 422)
            query = scope["query_string"]
            if not api and _CONTROL.search(urllib.parse.unquote_to_bytes(query)):
                await _answer(send_with_headers, 400, self.bad_query, _HTML)
                return
            await self.app(scope, limited, send_with_headers)
        finally:
            log.info(
                "%s %s %s %.1fms",
                scope["method"],
                redact(scope["path"]),
                status,
                (time.perf_counter() - started) * 1000,
            )


def _json(value: object) -> bytes:
    return json.dumps(value).encode()


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _too_large(send: Send) -> None:
    await _answer(send, 413, b"Request too large", b"text/plain", close=True)


async def _answer(
    send: Send, status: int, body: bytes, kind: bytes, *, close: bool = False
) -> None:
    headers = [
        (b"content-type", kind + b"; charset=utf-8"),
        (b"content-length", str(len(body)).encode()),
    ]
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": headers + ([(b"connection", b"close")] if close else []),
        }
    )
    await send({"type": "http.response.body", "body": body})
