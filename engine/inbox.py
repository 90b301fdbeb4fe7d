"""Received messages: the one writer of the inbound_message table.

Every message the inbound listener takes is recorded once, by its key
(``delivery_key``), with what became of it (``InboundStatus``) and why. A message
delivered twice, even twice at once, is recorded once; the second delivery gets the first
one's record back (``Seen``). An accepted reply is keyed by the reply address it came to
and its Message-ID, so a retrying mail server adds nothing; anything else by its bytes, so
junk that borrows a genuine reply's Message-ID cannot make the genuine one look received.

``local_address`` is the one place that decides which addresses signoff takes mail at.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence
from dataclasses import asdict, dataclass
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from engine import contacts, history, outbox, permissions
from engine.contacts import mark_failing
from engine.errors import NotHeld, Refusal, RequestRefused
from engine.evidence import EvidenceInput, StoredFile, read_stored
from engine.fire import Fired, FireRequest, fire_in
from engine.items import item_key, resolve_item
from engine.replykeys import parse_bounce_address, parse_reply_address
from engine.requests import records
from engine.requests.answer import Upload, answer
from engine.services import Services
from engine.spec import answer_transition
from engine.store.tables import DeliveryStatus, InboundMessage, InboundStatus, Outbox
from engine.uploads import UploadLimits

__all__ = [
    "AddressKind",
    "Arrival",
    "Unusable",
    "InboundStatus",
    "LocalAddress",
    "Seen",
    "Sent",
    "assign",
    "delivery_key",
    "discard",
    "insert",
    "quarantined",
    "local_address",
    "record",
    "record_answer",
    "record_bounce",
    "seen",
    "sent_message",
    "auto_answer",
    "Held",
    "Quarantined",
    "held",
    "confirm_answer",
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


class Unusable(StrEnum):
    """Why a reply could not be used, as its automatic answer says (fixed words, no case text)."""

    NOT_ALLOWED = "not_allowed"  # the sender may not answer for the item
    CLOSED = "closed"  # the address was answered, the item moved on, or it expired
    EMPTY = "empty"  # no text and no attachments
    FILE_REFUSED = "file_refused"  # an attachment failed its content check


def auto_answer(
    services: Services, to: str, reason: Unusable, address: str, now: dt.datetime
) -> outbox.Notice:
    """The automatic answer to ``to`` about a reply to ``address``: one a sender a local day.

    Its dedupe key names the address and the board's local day, so a second one that day is
    never queued (``engine.outbox.enqueue_once``). It carries no item: nothing of the case.
    """
    day = services.calendar.local(now).date().isoformat()
    return outbox.Notice(
        dedupe_key=f"auto-answer:{to}:{day}",
        item_id=None,
        kind=outbox.Kind.AUTO_ANSWER,
        template="auto_answer",
        recipient=to,
        context={"reason": reason.value, "address": address},
        send_at=now,
    )


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
    message_id: str


class AddressKind(StrEnum):
    REPLY = "reply"  # reply+<request>.<tag>@: answers to an evidence request
    BOUNCE = "bounce"  # bounces+<outbox id>.<tag>@: the envelope sender of one email
    INBOUND = "inbound"  # a configured address (postmaster@): kept for the admin to read


@dataclass(frozen=True, kw_only=True)
class LocalAddress:
    """An address signoff takes mail at, and what it is."""

    kind: AddressKind
    address: str  # lower-cased
    public_id: str | None = None  # REPLY: the request
    outbox_id: int | None = None  # BOUNCE: the email


def local_address(
    services: Services, address: str, *, key: bytes, domain: str, inbound: Collection[str] = ()
) -> LocalAddress | None:
    """What ``address`` is, when signoff takes mail at it; None when it does not.

    The one place that decides it (the listener refuses every other address at RCPT TO,
    as a mail server refuses an unknown user): a reply address whose tag verifies for a
    request that exists (answered or expired still counts: the reply is recorded and the
    reason kept), a bounce address whose tag verifies for an email that was sent, or one
    of the ``inbound`` local parts at ``domain``. Tags are checked before the database is
    read, so made-up addresses cost no query.
    """
    address = address.strip().strip("<>").lower()
    local, at, host = address.rpartition("@")
    if not at or host != domain.lower():
        return None
    if local in inbound:
        return LocalAddress(kind=AddressKind.INBOUND, address=address)
    public_id = parse_reply_address(key, address, domain)
    if public_id is not None:
        with services.db.engine.connect() as conn:
            if records.find(conn, public_id) is None:
                return None
        return LocalAddress(kind=AddressKind.REPLY, address=address, public_id=public_id)
    outbox_id = parse_bounce_address(key, address, domain)
    if outbox_id is not None:
        with services.db.engine.connect() as conn:
            if sent_message(conn, outbox_id) is None:
                return None
        return LocalAddress(kind=AddressKind.BOUNCE, address=address, outbox_id=outbox_id)
    return None


def delivery_key(recipient: str, *, message_id: str | None, raw_sha256: str) -> str:
    """The key a delivery is recorded under (unique): an accepted reply's is its reply
    address and Message-ID (``message_id``; None for anything not accepted, or without
    one), anything else's its recipient and the SHA-256 of its bytes."""
    what = message_id if message_id else f"sha256:{raw_sha256}"
    return f"{recipient.lower()[:320]} {what}"[:400]


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
    answer: outbox.Notice | None = None,
) -> Seen | None:
    """Record a message in a transaction of its own, with its automatic ``answer`` if any.

    Returns None when it was recorded now, or the earlier record when the same message
    was recorded first (delivered twice at once: then no second answer is queued).
    """
    try:
        with services.db.write() as conn:
            insert(conn, arrival, key=key, status=status, reason=reason, request_id=request_id)
            if answer is not None:
                outbox.enqueue_once(conn, answer, arrival.received_at)
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


def sent_message(conn: sa.Connection, outbox_id: int) -> Sent | None:
    """The email sent for outbox row ``outbox_id``, or None when no such email was sent."""
    row = conn.execute(
        sa.select(
            _outbox.c.item_id, _outbox.c.recipient, _outbox.c.kind, _outbox.c.message_id
        ).where(_outbox.c.id == outbox_id, _outbox.c.status == DeliveryStatus.SENT.value)
    ).one_or_none()
    if row is None or row.message_id is None:
        return None
    return Sent(
        item_id=row.item_id, recipient=row.recipient, kind=row.kind, message_id=row.message_id
    )


def record_bounce(
    services: Services,
    arrival: Arrival,
    *,
    key: str,
    outbox_id: int,
    failed_recipients: Sequence[str],
    original_message_id: str | None,
    status: str | None,
    permanent: bool,
    note: str = "",
    now: dt.datetime,
) -> tuple[InboundStatus, str] | Seen:
    """Record a bounce that came back to the bounce address of the email ``outbox_id``.

    Only when that email was sent and what the bounce names agrees with it (the
    ``original_message_id``, if given, is its Message-ID; the ``failed_recipients``, if
    any, include its recipient) is the bounce taken: the recipient is marked failing when
    it is ``permanent``, and the item's history notes it. Otherwise it is quarantined and
    changes nothing. ``note`` ends the recorded reason. Returns the status and reason
    recorded, or the earlier record of the same delivery (``Seen``).
    """
    try:
        with services.db.write() as conn:
            sent = sent_message(conn, outbox_id)
            why = None
            if sent is None:
                why = f"came back to the bounce address of email #{outbox_id}, which was never sent"
            elif original_message_id not in (None, sent.message_id):
                why = (
                    f"names {original_message_id}, not {sent.message_id}, "
                    "the email whose bounce address it came back to"
                )
            elif failed_recipients and sent.recipient.lower() not in failed_recipients:
                why = f"names other recipients than {sent.recipient}, whom that email went to"
            if sent is None or why is not None:
                reason = f"a delivery report that {why}: nothing changed{note}"
                insert(conn, arrival, key=key, status=InboundStatus.QUARANTINED, reason=reason)
                return InboundStatus.QUARANTINED, reason
            if permanent:
                mark_failing(conn, sent.recipient)
            if sent.item_id is not None:
                history.note(
                    conn,
                    item_id=sent.item_id,
                    at=now,
                    actor="system:mail",
                    trigger="notification_bounced",
                    data={
                        "recipient": sent.recipient,
                        "kind": sent.kind,
                        "status": status,
                        "permanent": permanent,
                    },
                )
            what = "marked failing" if permanent else "temporary, nothing changed"
            reason = f"{sent.recipient}: {what}{note}"
            insert(conn, arrival, key=key, status=InboundStatus.BOUNCE, reason=reason)
            return InboundStatus.BOUNCE, reason
    except IntegrityError:
        found = seen(services, key)
        if found is None:
            raise
        return found


@dataclass(frozen=True, kw_only=True)
class Held:
    """A received message held for a member of staff, as confirming it reads it."""

    id: int
    recipient: str
    sender: str | None
    envelope_from: str | None
    raw_sha256: str


_HELD_COLUMNS = (
    _inbound.c.id,
    _inbound.c.status,
    _inbound.c.reason,
    _inbound.c.recipient,
    _inbound.c.sender,
    _inbound.c.envelope_from,
    _inbound.c.raw_sha256,
)


def held(services: Services, message_id: int) -> Held:
    """The held message ``message_id``.

    Raises:
        NotHeld: there is no such message, or it is not held.
    """
    with services.db.engine.connect() as conn:
        row = conn.execute(
            sa.select(*_HELD_COLUMNS).where(_inbound.c.id == message_id)
        ).one_or_none()
    if row is None or row.status != InboundStatus.HELD:
        raise NotHeld(message_id, row.status if row else None)
    return Held(
        id=row.id, recipient=row.recipient, sender=row.sender,
        envelope_from=row.envelope_from, raw_sha256=row.raw_sha256,
    )  # fmt: skip


def confirm_answer(
    services: Services,
    message_id: int,
    *,
    staff: str,
    public_id: str,
    sender: str,
    statement: str,
    uploads: Sequence[Upload],
    limits: UploadLimits,
    now: dt.datetime,
) -> Fired:
    """A member of staff confirms a held reply: it answers ``public_id`` as ``sender``.

    One transaction: the answer (as ``engine.requests.answer.answer`` takes it), a
    ``reply_confirmed`` event by ``staff`` naming the message, its From: and its envelope
    sender, and the message recorded as accepted.

    Raises:
        ActorRefused: the roles table does not let ``staff`` manage the quarantine.
        NotHeld: the message is not held (or was confirmed meanwhile).
        Everything ``answer`` raises; nothing is then written.
    """
    staff = staff.strip().lower()
    with services.db.write() as conn:
        permissions.require(conn, staff, permissions.Permission.MANAGE_QUARANTINE)
        query = sa.select(*_HELD_COLUMNS).where(_inbound.c.id == message_id)
        if not services.db.is_sqlite:
            query = query.with_for_update()
        row = conn.execute(query).one_or_none()
        if row is None or row.status != InboundStatus.HELD:
            raise NotHeld(message_id, row.status if row else None)
        fired = answer(
            services, public_id, actor=sender, statement=statement, uploads=uploads, now=now,
            limits=limits, channel="email", conn=conn,
        )  # fmt: skip
        history.note(
            conn,
            item_id=fired.item_id,
            at=now,
            actor=staff,
            trigger="reply_confirmed",
            data={
                "inbound_message": message_id,
                "from": sender,
                "envelope_from": row.envelope_from,
                "evidence": list(fired.evidence_ids),
            },
        )
        conn.execute(
            _inbound.update()
            .where(_inbound.c.id == message_id)
            .values(
                status=InboundStatus.ACCEPTED.value,
                reason=f"confirmed by {staff}; was {row.reason or 'held'}"[:2000],
                evidence_ids=list(fired.evidence_ids),
            )
        )
    return fired


@dataclass(frozen=True, kw_only=True)
class Quarantined:
    """A message in the quarantine, or held for staff to confirm who sent it."""

    id: int
    received_at: dt.datetime
    sender: str | None
    recipient: str
    subject: str | None
    reason: str | None
    size: int
    raw_sha256: str


_FOR_STAFF = (InboundStatus.QUARANTINED.value, InboundStatus.HELD.value)
_QUARANTINED = sa.select(
    _inbound.c.id,
    _inbound.c.received_at,
    _inbound.c.sender,
    _inbound.c.recipient,
    _inbound.c.subject,
    _inbound.c.reason,
    _inbound.c.size,
    _inbound.c.raw_sha256,
).where(_inbound.c.status.in_(_FOR_STAFF))


def quarantined(conn: sa.Connection, message_id: int | None = None) -> list[Quarantined]:
    """The quarantined and held messages (or the one with ``message_id``), oldest first."""
    query = _QUARANTINED.order_by(_inbound.c.id)
    if message_id is not None:
        query = query.where(_inbound.c.id == message_id)
    return [Quarantined(**r._asdict()) for r in conn.execute(query)]


def discard(services: Services, message_id: int, *, by: str, note: str, now: dt.datetime) -> bool:
    """Set a quarantined message aside (``dismissed``), saying who did, when and why after the
    reason it was held. False (nothing changed) when it is not in the quarantine (any more)."""
    with services.db.write() as conn:
        done = conn.execute(
            _inbound.update()
            .where(
                _inbound.c.id == message_id,
                _inbound.c.status.in_(_FOR_STAFF),
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
        found = quarantined(conn, message_id)
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
        # what was kept (a quarantined message may have been cut), not what arrived
        size = len(read_stored(services.data_dir, sha))
        raw = StoredFile(
            sha256=sha, size=size, stored_name=f"{sha[:2]}/{sha}", filename="reply.eml"
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
