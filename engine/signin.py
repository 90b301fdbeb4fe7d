"""Sign-in links: asked for by email address, used once, within 15 minutes.

Everyone who works in signoff is a contact in its directory, so signing in is by email:
``ask_for_link`` queues an email (outbox kind ``sign_in``) when the address is known and
does nothing otherwise, so the caller answers the same either way. The link's token is 256
random bits minted when the email is composed (``mint_token``), so the raw token exists only
in that email; the store keeps its SHA-256, so a copy of the database signs nobody in.
``signoff staff-link`` makes the same kind of link and prints it (``issue_link``).

Opening a link changes nothing (``holder``, for a page with a "Sign in" button: mail
scanners fetch links); only ``use`` (on that button's POST) spends it, atomically, once.
This module is the one writer of the sign_in_link table.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

import sqlalchemy as sa

from engine import outbox, permissions
from engine.errors import UnknownPerson
from engine.services import Services
from engine.store.tables import SignInLink, new_public_id

LINK_FOR = dt.timedelta(minutes=15)
TEMPLATE = "sign_in"
_link = SignInLink.__table__  # type: ignore[attr-defined]
_MAX_TOKEN = 100  # longer is no token of ours: refused before hashing
_MAX_NEXT = 500


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def safe_next(path: str | None) -> str | None:
    """``path`` when it is a path on this site to return to after signing in, else None.

    Refuses absolute and scheme-relative URLs (``//evil.example``, ``/\\evil``), control
    characters and anything long, so a link can never send someone elsewhere.
    """
    if not path or len(path) > _MAX_NEXT or not path.startswith("/"):
        return None
    if path.startswith(("//", "/\\")) or any(c in path for c in "\\\r\n\t") or not path.isascii():
        return None
    if not all(c.isprintable() for c in path):
        return None
    return path


def ask_for_link(
    services: Services, email: str, now: dt.datetime, next_path: str | None = None
) -> bool:
    """Queue a sign-in email to ``email`` when the directory knows it; True when queued.

    The caller must answer the same whether or not anything was queued. The email goes at
    once (not held for office hours): the person is waiting for it.
    """
    email = email.strip().lower()
    with services.db.write() as conn:
        if permissions.person(conn, email) is None:
            return False
        public_id = new_public_id()
        conn.execute(
            _link.insert(),
            {
                "public_id": public_id,
                "email": email,
                "token_hash": None,
                "next_path": safe_next(next_path),
                "created_at": now,
                "expires_at": now + LINK_FOR,
            },
        )
        outbox.enqueue(
            conn,
            [
                outbox.Notice(
                    dedupe_key=f"sign_in:{public_id}",
                    item_id=None,
                    kind=outbox.Kind.SIGN_IN,
                    template=TEMPLATE,
                    recipient=email,
                    context={"sign_in": public_id},
                    send_at=now,
                )
            ],
            now,
        )
    return True


def mint_token(services: Services, public_id: str, now: dt.datetime) -> str | None:
    """A new token for the asked-for link ``public_id`` (None when used or expired).

    Called when its email is composed; minting again (a resend after a crash) replaces the
    earlier token, which then stops working.
    """
    token = secrets.token_urlsafe(32)
    with services.db.write() as conn:
        done = conn.execute(
            _link.update()
            .where(
                _link.c.public_id == public_id,
                _link.c.used_at.is_(None),
                _link.c.expires_at > now,
            )
            .values(token_hash=token_hash(token))
        )
    return token if done.rowcount == 1 else None


def issue_link(
    services: Services, email: str, now: dt.datetime, next_path: str | None = None
) -> str:
    """A token for a sign-in link to print (``signoff staff-link``): the same kind of link.

    Raises:
        UnknownPerson: no contact has the address.
    """
    email = email.strip().lower()
    token = secrets.token_urlsafe(32)
    with services.db.write() as conn:
        if permissions.person(conn, email) is None:
            raise UnknownPerson(email)
        conn.execute(
            _link.insert(),
            {
                "public_id": new_public_id(),
                "email": email,
                "token_hash": token_hash(token),
                "next_path": safe_next(next_path),
                "created_at": now,
                "expires_at": now + LINK_FOR,
            },
        )
    return token


def _live(token: str, now: dt.datetime) -> sa.ColumnElement[bool]:
    return sa.and_(
        _link.c.token_hash == token_hash(token),
        _link.c.used_at.is_(None),
        _link.c.expires_at > now,
    )


def holder(services: Services, token: str, now: dt.datetime) -> str | None:
    """The address a live link signs in, without using it up (None: wrong, used, expired)."""
    if not token or len(token) > _MAX_TOKEN:
        return None
    with services.db.engine.connect() as conn:
        found = conn.execute(sa.select(_link.c.email).where(_live(token, now))).scalar()
    return str(found) if found is not None else None


def use(services: Services, token: str, now: dt.datetime) -> tuple[str, str | None] | None:
    """Spend a live link: (address, path to return to), or None when it is not live.

    Exactly one caller can spend a link (a conditional update), however many try at once.
    """
    if not token or len(token) > _MAX_TOKEN:
        return None
    with services.db.write() as conn:
        found = conn.execute(
            sa.select(_link.c.id, _link.c.email, _link.c.next_path).where(_live(token, now))
        ).one_or_none()
        if found is None:
            return None
        spent = conn.execute(
            _link.update()
            .where(_link.c.id == found.id, _link.c.used_at.is_(None))
            .values(used_at=now)
        )
        if spent.rowcount != 1:
            return None
    return str(found.email), found.next_path
