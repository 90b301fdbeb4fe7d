"""Personal access tokens for the JSON API: made by the business manager, scoped to one role.

A token is 256 random bits, shown once when it is made (``create``); the store keeps its
SHA-256, so a copy of the database authenticates nobody. It grants what the roles table
(``engine.permissions.TABLE``) gives its one :class:`~engine.permissions.Role`, reaching
the agency it names (roles whose permissions are for their own agency need one; an
internal auditor's reach includes the board's own items, as for a person). It never grants
more than that role: the API asks ``Person.may`` of the token exactly as the pages ask it
of a signed-in person.

Decisions (firing a transition) are made by people: a token that may fire names the
directory person it ``acts_for`` (``--for EMAIL``), and the engine then checks that person
exactly as for the pages and the command line (workflow roles, the roles table, separation
of duties). A token without one reads only.

``authenticate`` is the one way a request's bearer token is checked; it records when the
token was last used (at most once a minute). Revoked tokens stop working at once.
This module is the one writer of the api_token table.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from engine import permissions
from engine.contacts import FALLBACK_ROLE
from engine.errors import TokenNotFound, TokenRefused
from engine.permissions import Permission, Person, Role, Scope
from engine.services import Services
from engine.store.tables import Agency, ApiToken, Contact, new_public_id

PREFIX = "sot_"  # marks a signoff token, so secret scanners and people can recognise one
_token = ApiToken.__table__  # type: ignore[attr-defined]
_agency = Agency.__table__  # type: ignore[attr-defined]
_contact = Contact.__table__  # type: ignore[attr-defined]
_TOUCH_EVERY = dt.timedelta(minutes=1)
_MAX_SECRET = 100
_MAX_NAME = 100


@dataclass(frozen=True, kw_only=True)
class TokenInfo:
    """A token as ``signoff token list`` and ``/tokens`` show it (never its secret)."""

    public_id: str
    name: str
    role: str
    agency: str | None
    acts_for: str | None
    created_at: dt.datetime
    created_by: str
    last_used_at: dt.datetime | None
    revoked_at: dt.datetime | None


@dataclass(frozen=True, kw_only=True)
class Bearer:
    """A live token presented with a request: what it may do, and who it decides as."""

    public_id: str
    name: str
    person: Person  # the token's reach, asked exactly as a signed-in person's
    acts_for: str | None


def secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _needs_agency(role: Role) -> bool:
    return any(
        scope in (Scope.OWN, Scope.OWN_AND_BOARD) for scope in permissions.TABLE[role].values()
    )


def create(
    services: Services,
    *,
    name: str,
    role: str,
    agency: str | None,
    acts_for: str | None,
    created_by: str,
    now: dt.datetime,
) -> tuple[str, TokenInfo]:
    """Make a token; return its secret (shown once, never stored) and what is kept.

    ``created_by`` must be a business manager (``system:…`` for the command line).

    Raises:
        TokenRefused: an empty or long name, an unknown role or agency, an agency missing
            for a role that needs one, or an ``acts_for`` the directory does not know or who
            does not hold ``role`` (at ``agency``).
        ActorRefused: ``created_by`` may not administer.
    """
    name = name.strip()
    if not name or len(name) > _MAX_NAME or not name.isprintable():
        raise TokenRefused("name", f"give a name of 1 to {_MAX_NAME} printable characters")
    try:
        token_role = Role(role)
    except ValueError:
        allowed = ", ".join(r.value for r in Role)
        raise TokenRefused("role", f"unknown role {role!r}; one of {allowed}") from None
    agency = agency.strip() if agency else None
    with services.db.write() as conn:
        permissions.require(conn, created_by, Permission.ADMINISTER)
        if agency is not None:
            known = conn.execute(sa.select(_agency.c.id)).scalars().all()
            if agency not in known:
                raise TokenRefused(
                    "agency", f"unknown agency {agency!r}; one of {', '.join(sorted(known))}"
                )
        elif _needs_agency(token_role):
            raise TokenRefused(
                "agency", f"{token_role.value} tokens reach one agency's items: give --agency"
            )
        if acts_for is not None:
            acts_for = acts_for.strip().lower()
            holder = permissions.person(conn, acts_for)
            if holder is None:
                raise TokenRefused("for", f"{acts_for} is not in the directory")
            if not any(
                r is token_role and (agency is None or a == agency) for r, a in holder.holds
            ):
                where = f" at {agency}" if agency else ""
                raise TokenRefused("for", f"{acts_for} does not hold {token_role.value}{where}")
        secret = PREFIX + secrets.token_urlsafe(32)
        info = TokenInfo(
            public_id=new_public_id(),
            name=name,
            role=token_role.value,
            agency=agency,
            acts_for=acts_for,
            created_at=now,
            created_by=created_by,
            last_used_at=None,
            revoked_at=None,
        )
        conn.execute(
            _token.insert(),
            {
                "public_id": info.public_id,
                "secret_hash": secret_hash(secret),
                "name": name,
                "role": info.role,
                "agency_id": agency,
                "acts_for": acts_for,
                "created_at": now,
                "created_by": created_by,
            },
        )
    return secret, info


def revoke(services: Services, public_id: str, now: dt.datetime) -> TokenInfo:
    """Revoke the token listed as ``public_id``; it stops working at once. Revoking a
    revoked token changes nothing.

    Raises:
        TokenNotFound.
    """
    with services.db.write() as conn:
        row = _row(conn, public_id)
        if row.revoked_at is None:
            conn.execute(_token.update().where(_token.c.id == row.id).values(revoked_at=now))
        return _info(_row(conn, public_id))


def _row(conn: sa.Connection, public_id: str) -> Any:
    if not public_id or len(public_id) > 32:
        raise TokenNotFound(public_id)
    row = conn.execute(sa.select(_token).where(_token.c.public_id == public_id)).one_or_none()
    if row is None:
        raise TokenNotFound(public_id)
    return row


def _info(row: Any) -> TokenInfo:
    return TokenInfo(
        public_id=row.public_id,
        name=row.name,
        role=row.role,
        agency=row.agency_id,
        acts_for=row.acts_for,
        created_at=row.created_at,
        created_by=row.created_by,
        last_used_at=row.last_used_at,
        revoked_at=row.revoked_at,
    )


def list_tokens(services: Services, include_revoked: bool = False) -> list[TokenInfo]:
    """Tokens, newest first; revoked ones only when asked."""
    query = sa.select(_token).order_by(_token.c.created_at.desc(), _token.c.id.desc())
    if not include_revoked:
        query = query.where(_token.c.revoked_at.is_(None))
    with services.db.engine.connect() as conn:
        return [_info(r) for r in conn.execute(query).all()]


def authenticate(services: Services, secret: str, now: dt.datetime) -> Bearer | None:
    """The live token whose secret is ``secret``, or None (unknown, malformed or revoked).

    Marks it used now (at most once a minute).
    """
    if not secret.startswith(PREFIX) or len(secret) > _MAX_SECRET:
        return None
    with services.db.engine.connect() as conn:
        row = conn.execute(
            sa.select(_token).where(
                _token.c.secret_hash == secret_hash(secret), _token.c.revoked_at.is_(None)
            )
        ).one_or_none()
        if row is None:
            return None
        board = conn.execute(
            sa.select(_contact.c.agency_id).where(_contact.c.role == FALLBACK_ROLE).distinct()
        ).scalars()
        reach = Person(
            email=f"token:{row.public_id}",
            holds=frozenset({(Role(row.role), row.agency_id or "")}),
            board=frozenset(board),
        )
    if row.last_used_at is None or now - row.last_used_at >= _TOUCH_EVERY:
        with services.db.write() as conn:
            conn.execute(_token.update().where(_token.c.id == row.id).values(last_used_at=now))
    return Bearer(public_id=row.public_id, name=row.name, person=reach, acts_for=row.acts_for)
