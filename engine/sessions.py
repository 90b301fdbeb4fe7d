"""Signed-in sessions: server-side rows, ended by time, by sign-out, by the business manager,
and when the person's roles change.

A session id is 256 random bits, given to the browser once (its cookie); the store keeps
only its SHA-256. A session ends after 30 minutes without a request (``IDLE``) and 12 hours
after it started (``LIFETIME``) whatever happens; signing in again starts a new one and ends
the old (the id is rotated). Each session remembers a fingerprint of the roles held when it
started (``Person.digest``): when the directory changes them (a contacts import, a role
removed), the next request finds the fingerprint changed and ends the session, and the
sessions list ends it too.

``start_session(services, email, now, how)`` is the one way in: an emailed or printed
link (``engine.signin``) today, and a later single sign-on (OIDC) the same way.
This module is the one writer of the staff_session table.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import sqlalchemy as sa

from engine import permissions
from engine.errors import UnknownPerson
from engine.permissions import Person
from engine.services import Services
from engine.store.tables import StaffSession, new_public_id

IDLE = dt.timedelta(minutes=30)
LIFETIME = dt.timedelta(hours=12)
_TOUCH_EVERY = dt.timedelta(minutes=1)  # last_seen_at is written at most this often
_session = StaffSession.__table__  # type: ignore[attr-defined]
_MAX_ID = 100


class How(StrEnum):
    """How a session was started."""

    LINK = "link"  # a sign-in link: asked for on /sign-in, or printed by signoff staff-link
    # OIDC = "oidc"  # a later single sign-on starts sessions through start_session too


class Ended(StrEnum):
    """Why a session ended."""

    SIGNED_OUT = "signed out"
    ROTATED = "signed in again"
    ROLES_CHANGED = "roles changed"
    REVOKED = "ended by the business manager"


@dataclass(frozen=True, kw_only=True)
class SignedIn:
    """A live session and the person it belongs to, as the directory stands now."""

    public_id: str
    person: Person
    started_at: dt.datetime
    expires_at: dt.datetime


@dataclass(frozen=True, kw_only=True)
class SessionInfo:
    """A live session as the sessions list shows it (never its id)."""

    public_id: str
    email: str
    how: str
    started_at: dt.datetime
    last_seen_at: dt.datetime
    expires_at: dt.datetime


def id_hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def start_session(
    services: Services,
    email: str,
    now: dt.datetime,
    how: How,
    *,
    replacing: str | None = None,
) -> str:
    """Start a session for ``email``; return its id (for the cookie; not stored).

    ``replacing``: the id of the browser's current session, if any, which ends (rotation).

    Raises:
        UnknownPerson: the directory does not know the address (any more).
    """
    session_id = secrets.token_urlsafe(32)
    with services.db.write() as conn:
        person = permissions.person(conn, email)
        if person is None:
            raise UnknownPerson(email)
        if replacing:
            _end(conn, _session.c.id_hash == id_hash(replacing), now, Ended.ROTATED)
        conn.execute(
            _session.insert(),
            {
                "public_id": new_public_id(),
                "id_hash": id_hash(session_id),
                "email": person.email,
                "how": how.value,
                "roles_digest": person.digest(),
                "started_at": now,
                "last_seen_at": now,
                "expires_at": now + LIFETIME,
            },
        )
    return session_id


def _live(now: dt.datetime) -> sa.ColumnElement[bool]:
    return sa.and_(
        _session.c.ended_at.is_(None),
        _session.c.expires_at > now,
        _session.c.last_seen_at > now - IDLE,
    )


def _end(conn: sa.Connection, which: sa.ColumnElement[bool], now: dt.datetime, why: Ended) -> int:
    result = conn.execute(
        _session.update()
        .where(which, _session.c.ended_at.is_(None))
        .values(ended_at=now, ended_reason=why.value)
    )
    return int(result.rowcount)


def signed_in(services: Services, session_id: str, now: dt.datetime) -> SignedIn | None:
    """The live session with id ``session_id`` and its person, or None.

    None for an unknown, ended, idle or expired session, and for one whose person's roles
    changed since it started (that session is ended here). A live one is marked seen now.
    """
    if not session_id or len(session_id) > _MAX_ID:
        return None
    with services.db.engine.connect() as conn:
        row = conn.execute(
            sa.select(_session).where(_session.c.id_hash == id_hash(session_id), _live(now))
        ).one_or_none()
        if row is None:
            return None
        person = permissions.person(conn, row.email)
    if person is None or person.digest() != row.roles_digest:
        with services.db.write() as conn:
            _end(conn, _session.c.id == row.id, now, Ended.ROLES_CHANGED)
        return None
    if now - row.last_seen_at >= _TOUCH_EVERY:
        with services.db.write() as conn:
            conn.execute(
                _session.update()
                .where(_session.c.id == row.id, _session.c.last_seen_at < now)
                .values(last_seen_at=now)
            )
    return SignedIn(
        public_id=row.public_id, person=person, started_at=row.started_at, expires_at=row.expires_at
    )


def end_session(services: Services, session_id: str, now: dt.datetime) -> bool:
    """Sign out: end the session with this id. True when a live session ended."""
    if not session_id or len(session_id) > _MAX_ID:
        return False
    with services.db.write() as conn:
        return _end(conn, _session.c.id_hash == id_hash(session_id), now, Ended.SIGNED_OUT) == 1


def revoke(services: Services, public_id: str, now: dt.datetime) -> bool:
    """End the session listed as ``public_id`` (the business manager's action).

    True when a live session ended; False for an unknown or already ended one.
    """
    if not public_id or len(public_id) > 32:
        return False
    with services.db.write() as conn:
        return _end(conn, _session.c.public_id == public_id, now, Ended.REVOKED) == 1


def live_sessions(services: Services, now: dt.datetime) -> list[SessionInfo]:
    """Every live session, newest first. Sessions whose person's roles changed are ended
    here first, so the list shows only sessions that still work."""
    with services.db.engine.connect() as conn:
        rows = conn.execute(
            sa.select(_session).where(_live(now)).order_by(_session.c.started_at.desc())
        ).all()
        stale = [r.id for r in rows if _stale(conn, r)]
    if stale:
        with services.db.write() as conn:
            _end(conn, _session.c.id.in_(stale), now, Ended.ROLES_CHANGED)
    return [
        SessionInfo(
            public_id=r.public_id,
            email=r.email,
            how=r.how,
            started_at=r.started_at,
            last_seen_at=r.last_seen_at,
            expires_at=min(r.expires_at, r.last_seen_at + IDLE),
        )
        for r in rows
        if r.id not in stale
    ]


def _stale(conn: sa.Connection, row: Any) -> bool:
    person = permissions.person(conn, row.email)
    return person is None or person.digest() != row.roles_digest
