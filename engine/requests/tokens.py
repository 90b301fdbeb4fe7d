"""Public ids and link tokens: making them, minting a link, finding a request by its link.

A link token is 256 random bits (``secrets.token_urlsafe(32)``), minted when its email is
composed (``mint_token``), so the raw token exists only in that email; the store keeps
its SHA-256, so a copy of the database opens no request. This module is the one writer
of the request_token table.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import secrets
from typing import Any

import sqlalchemy as sa

from engine.requests import records
from engine.services import Services
from engine.store.tables import EvidenceRequest, RequestToken

_req = EvidenceRequest.__table__  # type: ignore[attr-defined]
_tok = RequestToken.__table__  # type: ignore[attr-defined]

_SELECT_BY_TOKEN = records.SELECT_REQUEST.add_columns(
    _tok.c.revoked_at.label("token_revoked_at"),
    _tok.c.expires_at.label("token_expires_at"),
).join(_tok, _tok.c.request_id == _req.c.id)


def new_token() -> str:
    """A fresh link token: 256 random bits, URL-safe."""
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_public_id() -> str:
    """A request's public id: 80 random bits, lower-case base32 (safe in a mail local part)."""
    return base64.b32encode(secrets.token_bytes(10)).decode().rstrip("=").lower()


def mint_token(
    services: Services, public_id: str, outbox_id: int | None, now: dt.datetime
) -> str | None:
    """A new link token for a live request (None when it is no longer live).

    Raises:
        RequestNotFound.
    """
    with services.db.write() as conn:
        row = records.load(conn, public_id)
        if not records.is_live(row, now):
            return None
        token = new_token()
        conn.execute(
            _tok.insert(),
            {
                "request_id": row.id,
                "token_hash": token_hash(token),
                "outbox_id": outbox_id,
                "created_at": now,
                "expires_at": row.expires_at,
            },
        )
        return token


def by_token(conn: sa.Connection, token: str, now: dt.datetime) -> Any:
    """The live request a link opens (a ``records.SELECT_REQUEST`` row), or None.

    A wrong, expired or revoked link and a request no longer live are all alike: None.
    """
    if not token or len(token) > 100:
        return None
    row = conn.execute(_SELECT_BY_TOKEN.where(_tok.c.token_hash == token_hash(token))).one_or_none()
    if row is None or row.token_revoked_at is not None or row.token_expires_at <= now:
        return None
    return row if records.is_live(row, now) else None


def revoke(conn: sa.Connection, request_id: int, now: dt.datetime) -> None:
    """Every link of the request stops working."""
    conn.execute(
        _tok.update()
        .where(_tok.c.request_id == request_id, _tok.c.revoked_at.is_(None))
        .values(revoked_at=now)
    )
