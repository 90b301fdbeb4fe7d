"""The evidence_request table: its one writer, and the read of a request with its item.

A request is *live* while it is open, unexpired, and the item has not moved on (the
item's ``entered_seq`` is still the one the request was made in); nothing has to be
rewritten when the item moves, so revoking on a move costs the hot path nothing.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa

from engine.errors import RequestNotFound
from engine.store.tables import (
    Agency,
    EvidenceRequest,
    Item,
    Recommendation,
    RequestStatus,
    Review,
)

_req = EvidenceRequest.__table__  # type: ignore[attr-defined]
_item = Item.__table__  # type: ignore[attr-defined]
_rec = Recommendation.__table__  # type: ignore[attr-defined]
_review = Review.__table__  # type: ignore[attr-defined]
_agency = Agency.__table__  # type: ignore[attr-defined]

_INSERT = _req.insert().returning(_req.c.id)  # built once: fire() may call issue_in

SELECT_REQUEST = (
    sa.select(
        _req,
        _item.c.state.label("item_state"),
        _item.c.entered_seq.label("item_entered_seq"),
        _item.c.workflow_version_id,
        _item.c.due.label("item_due"),
        _rec.c.ref,
        _rec.c.text,
        _rec.c.review_id,
        _review.c.title.label("review_title"),
        _review.c.board,
        _agency.c.name.label("agency_name"),
    )
    .join(_item, _item.c.id == _req.c.item_id)
    .join(_rec, _rec.c.id == _item.c.recommendation_id)
    .join(_review, _review.c.id == _rec.c.review_id)
    .join(_agency, _agency.c.id == _req.c.agency_id)
)
"""A request with what its page and its checks read of the item, recommendation and agency."""


def load(conn: sa.Connection, public_id: str, *, for_update: bool = False) -> Any:
    """The request row (``SELECT_REQUEST``) with that public id.

    Raises:
        RequestNotFound.
    """
    query = SELECT_REQUEST.where(_req.c.public_id == public_id.strip().lower())
    if for_update:
        query = query.with_for_update(of=_req)
    row = conn.execute(query).one_or_none()
    if row is None:
        raise RequestNotFound(public_id)
    return row


def find(conn: sa.Connection, public_id: str) -> Any:
    """The reply address's row (id, agency, kind, item, recipient), or None when there is none.

    Every kind of reply address (``RequestKind``) is found here: a request's, another
    email's about an item, a digest's.
    """
    return conn.execute(
        sa.select(_req.c.id, _req.c.agency_id, _req.c.kind, _req.c.item_id, _req.c.recipient).where(
            _req.c.public_id == public_id
        )
    ).one_or_none()


def asked_of(conn: sa.Connection, public_id: str) -> str | None:
    """What the request asks for, or None when there is no such request."""
    text = conn.execute(
        sa.select(_req.c.asked).where(_req.c.public_id == public_id)
    ).scalar_one_or_none()
    return None if text is None else str(text)


def is_live(row: Any, now: dt.datetime) -> bool:
    """Open, unexpired, and the item still in the state entry it was asked in."""
    return bool(
        row.status == RequestStatus.OPEN
        and row.expires_at > now
        and row.entered_seq == row.item_entered_seq
    )


def why_closed(row: Any, now: dt.datetime | None = None) -> str:
    """Why a request is no longer live, in words for a message."""
    if row.status == RequestStatus.ANSWERED:
        return f"answered on {row.closed_at:%d %B %Y}"
    if row.status == RequestStatus.REVOKED:
        return f"withdrawn: {row.closed_reason}"
    if row.entered_seq != row.item_entered_seq:
        return f"the item has moved on to {row.item_state!r}"
    if now is not None and row.expires_at <= now:
        return f"it expired on {row.expires_at:%d %B %Y}"
    return "closed"


def insert(conn: sa.Connection, values: dict[str, Any]) -> int:
    """Write a new open request or reply address (issue 1); returns its id."""
    return int(
        conn.execute(
            _INSERT, {**values, "issues": 1, "status": RequestStatus.OPEN.value}
        ).scalar_one()
    )


def extend(conn: sa.Connection, request_id: int, *, issues: int, expires_at: dt.datetime) -> None:
    """Count a reissue and restart the expiry."""
    conn.execute(
        _req.update().where(_req.c.id == request_id).values(issues=issues, expires_at=expires_at)
    )


def mark_answered(
    conn: sa.Connection,
    request_id: int,
    *,
    now: dt.datetime,
    channel: str,
    followup_seq: int,
    followups_until: dt.datetime,
) -> None:
    """Close the request as answered; replies to it are follow-ups while the item stays in
    the entry the answer made (``followup_seq``), until ``followups_until``."""
    conn.execute(
        _req.update()
        .where(_req.c.id == request_id)
        .values(
            status=RequestStatus.ANSWERED.value,
            closed_at=now,
            closed_reason=channel,
            followup_seq=followup_seq,
            expires_at=followups_until,
        )
    )


def takes_follow_up(conn: sa.Connection, row: Any, now: dt.datetime) -> bool:
    """Whether a reply to ``row`` (``SELECT_REQUEST``) adds to evidence already sent.

    It does while the address is unexpired and not withdrawn, and the item is still in the
    state entry that an answer (through this address or another) made, and the address was
    made in that entry or in the one the answer came from.
    """
    if row.status == RequestStatus.REVOKED or row.expires_at <= now:
        return False
    if row.followup_seq is not None:
        return bool(row.followup_seq == row.item_entered_seq)
    current = row.entered_seq == row.item_entered_seq
    made_by_answer = sa.select(_req.c.id).where(
        _req.c.item_id == row.item_id,
        _req.c.followup_seq == row.item_entered_seq,
        sa.true() if current else _req.c.entered_seq == row.entered_seq,
    )
    return conn.execute(made_by_answer.limit(1)).first() is not None


def live_for_item(conn: sa.Connection, item_id: int, entered_seq: int, now: dt.datetime) -> Any:
    """The item's live request (public id, due) in its current state, or None."""
    return conn.execute(
        sa.select(_req.c.public_id, _req.c.due)
        .where(
            _req.c.item_id == item_id,
            _req.c.status == "open",
            _req.c.entered_seq == entered_seq,
            _req.c.expires_at > now,
        )
        .order_by(_req.c.id.desc())
        .limit(1)
    ).one_or_none()
