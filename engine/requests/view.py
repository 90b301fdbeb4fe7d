"""What the reply page shows of a request: this request only, never another item's details."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from engine.errors import RequestNotFound
from engine.items import item_key, title_of
from engine.requests import records, tokens
from engine.services import Services
from engine.spec import WorkflowSpec
from engine.store.tables import Event, Evidence

_event = Event.__table__  # type: ignore[attr-defined]
_evidence = Evidence.__table__  # type: ignore[attr-defined]

# effects (engine.spec.EFFECTS) that turn down something the agency asked for


@dataclass(frozen=True, kw_only=True)
class Challenge:
    at: dt.datetime
    label: str
    reason: str


@dataclass(frozen=True, kw_only=True)
class Submission:
    at: dt.datetime
    what: str  # a file's cleaned name, or "Written statement"


@dataclass(frozen=True, kw_only=True)
class RequestView:
    """What the reply page shows: this request only, never another item's details."""

    id: int
    public_id: str
    item_id: int
    item_key: str
    ref: str
    title: str
    review_title: str
    board: str
    agency_name: str
    recipient: str
    asked: str
    due: dt.date | None
    state_label: str
    expires_at: dt.datetime
    challenges: tuple[Challenge, ...]
    submissions: tuple[Submission, ...]


def asked(services: Services, public_id: str) -> str:
    """What a request asks for, as its email states it.

    Raises:
        RequestNotFound.
    """
    with services.db.engine.connect() as conn:
        text = records.asked_of(conn, public_id)
    if text is None:
        raise RequestNotFound(public_id)
    return text


def view_by_token(services: Services, token: str, now: dt.datetime) -> RequestView | None:
    """The request a link opens, or None for a wrong, expired or revoked link (all alike)."""
    if not token or len(token) > 100:
        return None
    with services.db.engine.connect() as conn:
        row = tokens.by_token(conn, token, now)
        return None if row is None else _view(conn, services, row)


def view_by_public_id(services: Services, public_id: str) -> RequestView:
    """A request for staff and the inbound listener, live or not.

    Raises:
        RequestNotFound.
    """
    with services.db.engine.connect() as conn:
        return _view(conn, services, records.load(conn, public_id))


def received(services: Services, evidence_ids: Sequence[int]) -> list[str]:
    """What an answer handed in, in order: each file's cleaned name, or "Written statement"."""
    with services.db.engine.connect() as conn:
        rows = conn.execute(
            sa.select(_evidence.c.filename)
            .where(_evidence.c.id.in_(evidence_ids))
            .order_by(_evidence.c.id)
        ).all()
    return [r.filename or "Written statement" for r in rows]


def _view(conn: sa.Connection, services: Services, row: Any) -> RequestView:
    spec = services.specs.get(conn, row.workflow_version_id)
    challenges = tuple(
        Challenge(at=e.at, label=_label(spec, e.trigger), reason=e.reason)
        for e in conn.execute(
            sa.select(_event.c.at, _event.c.trigger, _event.c.reason)
            .where(
                _event.c.item_id == row.item_id,
                _event.c.trigger.in_(sorted(spec.challenge_triggers)),
                _event.c.reason.is_not(None),
            )
            .order_by(_event.c.seq)
        )
    )
    submissions = tuple(
        Submission(at=e.submitted_at, what=e.filename or "Written statement")
        for e in conn.execute(
            sa.select(_evidence.c.submitted_at, _evidence.c.filename)
            .where(_evidence.c.item_id == row.item_id)
            .order_by(_evidence.c.id)
        )
    )
    return RequestView(
        id=row.id,
        public_id=row.public_id,
        item_id=row.item_id,
        item_key=item_key(row.review_id, row.ref, None),
        ref=row.ref,
        title=title_of(row.text),
        review_title=row.review_title,
        board=row.board,
        agency_name=row.agency_name,
        recipient=row.recipient,
        asked=row.asked,
        due=row.due,
        state_label=spec.states[row.state].label,
        expires_at=row.expires_at,
        challenges=challenges,
        submissions=submissions,
    )


def _label(spec: WorkflowSpec, trigger: str) -> str:
    for t in spec.model.transitions:
        if t.trigger == trigger:
            return t.label or trigger.replace("_", " ")
    return trigger.replace("_", " ")
