"""Received messages: the one writer of the inbound_message table.

Every message the inbound listener takes is recorded once, by its key (its Message-ID,
else the SHA-256 of its bytes), with what became of it (``InboundStatus``) and why. A
message delivered twice, even twice at once, is recorded once; the second delivery gets
the first one's record back (``Seen``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from engine import contacts
from engine.errors import Refusal, RequestRefused
from engine.evidence import EvidenceInput, StoredFile
from engine.fire import Fired, FireRequest, fire_in
from engine.items import item_key, resolve_item
from engine.requests.answer import Upload, answer
from engine.services import Services
from engine.spec import answer_transition
from engine.store.tables import InboundMessage, InboundStatus, Outbox
from engine.uploads import UploadLimits

__all__ = [
    "Arrival",
    "Held",
    "InboundStatus",
    "Seen",
    "Sent",
    "assign",
    "discard",
    "held",
    "insert",
    "record",
    "record_answer",
    "seen",
    "sent_message",
]

_inbound = InboundMessage.__table__  # type: ignore[attr-defined]
_outbox = Outbox.__table__  # type: ignore[attr-defined]
_INSERT = _inbound.insert()


@dataclass(frozen=True, kw_only=True)
class Arrival:
    """What is known of a message as it arrives, before anything is decided about it."""

    received_at: dt.datetime
    envelope_from: str | None
    recipient: str
    raw_sha256: str
    size: int
    sender: str | None = None
    subject: str | None = None


@dataclass(frozen=True, kw_only=True)
class Seen:
    """What became of a message recorded earlier under the same key."""

    status: InboundStatus
    reason: str | None
    evidence_ids: tuple[int, ...]


@dataclass(frozen=True, kw_only=True)
class Sent:
    """An email signoff sent, as a bounce of it is matched."""

    item_id: int | None
    recipient: str
    kind: str


def seen(services: Services, key: str) -> Seen | None:
    """The earlier record of the message with this key, or None."""
    with services.db.engine.connect() as conn:
        row = conn.execute(
            sa.select(_inbound.c.status, _inbound.c.reason, _inbound.c.evidence_ids).where(
                _inbound.c.message_key == key
            )
        ).one_or_none()
    if row is None:
        return None
    return Seen(
        status=InboundStatus(row.status), reason=row.reason, evidence_ids=tuple(row.evidence_ids)
    )


def insert(
    conn: sa.Connection,
    arrival: Arrival,
    *,
    key: str,
    status: InboundStatus,
    reason: str | None,
    request_id: int | None = None,
    evidence_ids: Sequence[int] = (),
) -> None:
    """Record a message inside the caller's transaction.

    Raises:
        sqlalchemy.exc.IntegrityError: a message with this key is already recorded.
    """
    conn.execute(
        _INSERT,
        {
            **asdict(arrival),
            "message_key": key,
            "status": status.value,
            "reason": reason,
            "request_id": request_id,
            "evidence_ids": list(evidence_ids),
        },
    )


def record(
    services: Services,
    arrival: Arrival,
    *,
    key: str,
    status: InboundStatus,
    reason: str,
    request_id: int | None = None,
) -> Seen | None:
    """Record a message in a transaction of its own.

    Returns None when it was recorded now, or the earlier record when the same message
    was recorded first (delivered twice at once).
    """
    try:
        with services.db.write() as conn:
            insert(conn, arrival, key=key, status=status, reason=reason, request_id=request_id)
    except IntegrityError:
        found = seen(services, key)
        if found is None:
            raise
        return found
    return None


def record_answer(
    services: Services,
    arrival: Arrival,
    *,
    key: str,
    request_id: int,
    public_id: str,
    sender: str,
    statement: str,
    uploads: Sequence[Upload],
    limits: UploadLimits,
    now: dt.datetime,
) -> Fired | Seen:
    """Answer the request with a reply and record the message as accepted, in one transaction.

    A redelivered message adds nothing: it gets the earlier record back (``Seen``).

    Raises:
        Everything ``engine.requests.answer.answer`` raises; nothing is then recorded.
    """
    try:
        with services.db.write() as conn:
            fired = answer(
                services,
                public_id,
                actor=sender,
                statement=statement,
                uploads=uploads,
                now=now,
                limits=limits,
                channel="email",
                conn=conn,
            )
            insert(
                conn, arrival, key=key, status=InboundStatus.ACCEPTED, reason=None,
                request_id=request_id, evidence_ids=fired.evidence_ids,
            )  # fmt: skip
    except IntegrityError:
        found = seen(services, key)
        if found is None:
            raise
        return found  # the same message, delivered twice at once
    return fired


def sent_message(conn: sa.Connection, message_id: str) -> Sent | None:
    """The email signoff sent with this Message-ID, or None when it does not know one."""
    row = conn.execute(
        sa.select(_outbox.c.item_id, _outbox.c.recipient, _outbox.c.kind)
        .where(_outbox.c.message_id == message_id)
        .limit(1)
    ).one_or_none()
    if row is None:
        return None
    return Sent(item_id=row.item_id, recipient=row.recipient, kind=row.kind)


@dataclass(frozen=True, kw_only=True)
class Held:
    """A message in the quarantine."""

    id: int
    received_at: dt.datetime
    sender: str | None
    recipient: str
    subject: str | None
    reason: str | None
    size: int
    raw_sha256: str


_HELD = sa.select(
    _inbound.c.id,
    _inbound.c.received_at,
    _inbound.c.sender,
    _inbound.c.recipient,
    _inbound.c.subject,
    _inbound.c.reason,
    _inbound.c.size,
    _inbound.c.raw_sha256,
).where(_inbound.c.status == InboundStatus.QUARANTINED.value)


def held(conn: sa.Connection, message_id: int | None = None) -> list[Held]:
    """The quarantined messages (or the one with ``message_id``), oldest first."""
    query = _HELD.order_by(_inbound.c.id)
    if message_id is not None:
        query = query.where(_inbound.c.id == message_id)
    return [Held(**r._asdict()) for r in conn.execute(query)]


def discard(services: Services, message_id: int, *, by: str, note: str, now: dt.datetime) -> bool:
    """Set a quarantined message aside (``dismissed``), saying who did, when and why after the
    reason it was held. False (nothing changed) when it is not in the quarantine (any more)."""
    with services.db.write() as conn:
        done = conn.execute(
            _inbound.update()
            .where(
                _inbound.c.id == message_id,
                _inbound.c.status == InboundStatus.QUARANTINED.value,
            )
            .values(
                status=InboundStatus.DISMISSED.value,
                reason=sa.func.coalesce(_inbound.c.reason, "")
                + f" | discarded by {by} on {now:%Y-%m-%d %H:%M} UTC: {note}",
            )
        )
        return done.rowcount == 1


def assign(
    services: Services, message_id: int, item: int | str, *, by: str, note: str, now: dt.datetime
) -> Fired | None:
    """Put a quarantined message on ``item`` (an id or ``REVIEW/REF@AGENCY``) as evidence: the
    email itself, as received.

    The item's answering transition (``submit_evidence`` in the shipped workflow) is fired
    as the message's sender, so every workflow rule still applies: the sender must be a
    contact of the item's agency (or a deputy of one) and the item must be taking evidence.
    ``note`` (why it belongs there) is the event's reason, with who assigned it; the message
    is recorded as accepted, with the evidence's id. None when it is not in the quarantine.

    Raises:
        RecommendationNotFound: no such item;
        RequestRefused: the sender may not answer for the item's agency (``NOT_ANSWERER``)
            or the item takes no evidence in its state (``NOT_ASKED_HERE``); the workflow's
            refusals (FireError).
    """
    with services.db.write() as conn:
        found = held(conn, message_id)
        if not found:
            return None
        message = found[0]
        row = resolve_item(conn, item)
        key = item_key(row.review_id, row.ref, row.agency_id)
        sender = (message.sender or "").strip().lower()
        if not sender or not contacts.answers_for(conn, sender, row.agency_id):
            raise RequestRefused(
                Refusal.NOT_ANSWERER,
                f"{sender or 'the sender'} is not a contact of {row.agency_id}, so their email "
                f"cannot be evidence on {key}: add them to the directory first",
                key,
            )
        spec = services.specs.get(conn, row.workflow_version_id)
        answering = answer_transition(spec.model, row.state)
        if answering is None:
            raise RequestRefused(
                Refusal.NOT_ASKED_HERE, f"{key} takes no evidence in {row.state!r}", key
            )
        sha = message.raw_sha256
        raw = StoredFile(
            sha256=sha, size=message.size, stored_name=f"{sha[:2]}/{sha}", filename="reply.eml"
        )
        fired = fire_in(
            conn,
            services.specs,
            FireRequest(
                item=int(row.id),
                trigger=answering.trigger,
                actor=sender,
                now=now,
                reason=f"Assigned from the quarantine by {by}: {note}",
                evidence=[EvidenceInput(content_type="message/rfc822")],
                channel="email",
            ),
            [(EvidenceInput(content_type="message/rfc822"), raw)],
            services.calendar,
        )
        conn.execute(
            _inbound.update()
            .where(_inbound.c.id == message_id)
            .values(
                status=InboundStatus.ACCEPTED.value,
                evidence_ids=list(fired.evidence_ids),
                reason=sa.func.coalesce(_inbound.c.reason, "")
                + f" | assigned to {key} by {by} on {now:%Y-%m-%d %H:%M} UTC",
            )
        )
        return fired
