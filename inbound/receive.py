"""What becomes of one received message: evidence on an item, or the quarantine.

Only a message to a valid reply address (``reply+<request>.<tag>@<reply domain>``),
from a contact of the request's agency, with something in it, while the request is
live, becomes evidence; it fires the request's answering transition as the sender, in
the same transaction that records the message, so a redelivered Message-ID adds
nothing. Everything else is recorded with its reason and shown to the admin
(``signoff quarantine``); nothing of it touches an item. Bounces of signoff's own mail
mark the address failing (the ladder then moves on to the next contact); automatic
replies are recorded and otherwise ignored. The raw message is kept, by its SHA-256,
in the evidence store.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from engine import history
from engine.errors import SignoffError, Unreadable
from engine.evidence import store_bytes
from engine.evidence_requests import Upload, answer
from engine.replykeys import parse_reply_address
from engine.services import Services
from engine.store.tables import Contact, EvidenceRequest, InboundMessage, InboundStatus, Outbox
from engine.uploads import UploadLimits
from inbound.parse import Parsed, parse_message

log = logging.getLogger("signoff.inbound")

_inbound = InboundMessage.__table__  # type: ignore[attr-defined]
_req = EvidenceRequest.__table__  # type: ignore[attr-defined]
_contact = Contact.__table__  # type: ignore[attr-defined]
_outbox = Outbox.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True, kw_only=True)
class Received:
    status: InboundStatus
    reason: str | None = None
    request: str | None = None
    evidence_ids: tuple[int, ...] = ()
    duplicate: bool = False


@dataclass(frozen=True, kw_only=True)
class Mailbox:
    """Where replies arrive and what they may carry."""

    key: bytes
    domain: str
    limits: UploadLimits = field(default_factory=UploadLimits)
    max_message_bytes: int = 60 * 1024 * 1024


def receive(
    services: Services,
    mailbox: Mailbox,
    raw: bytes,
    *,
    rcpt_tos: Sequence[str],
    envelope_from: str | None,
    now: dt.datetime,
) -> Received:
    """Record one message and act on it; never raises for anything the sender did."""
    sha = hashlib.sha256(raw).hexdigest()
    if raw:
        store_bytes(services.data_dir, raw, "message.eml")
    recipient = next(
        (r for r in rcpt_tos if parse_reply_address(mailbox.key, r, mailbox.domain)),
        rcpt_tos[0] if rcpt_tos else "",
    )
    base: dict[str, Any] = {
        "received_at": now,
        "envelope_from": (envelope_from or "")[:320] or None,
        "recipient": recipient[:320],
        "raw_sha256": sha,
        "size": len(raw),
        "evidence_ids": [],
    }
    try:
        parsed = parse_message(raw, max_bytes=mailbox.max_message_bytes)
    except Unreadable as exc:
        return _record(services, base, f"sha256:{sha}", InboundStatus.QUARANTINED, str(exc))
    key = (parsed.message_id or f"sha256:{sha}")[:400]
    base.update(sender=(parsed.sender or "")[:320] or None, subject=parsed.subject[:1000])
    seen = _seen(services, key)
    if seen is not None:
        return seen
    if parsed.bounce is not None:
        return _bounce(services, base, key, parsed, now)
    if parsed.auto_reply:
        return _record(services, base, key, InboundStatus.AUTO_REPLY, "automatic reply")
    public_id = parse_reply_address(mailbox.key, recipient, mailbox.domain)
    if public_id is None:
        return _record(
            services, base, key, InboundStatus.QUARANTINED,
            f"{recipient or 'no recipient'} is not a valid reply address for any request",
        )  # fmt: skip
    return _answer(services, mailbox, base, key, public_id, parsed, now)


def _answer(
    services: Services,
    mailbox: Mailbox,
    base: dict[str, Any],
    key: str,
    public_id: str,
    parsed: Parsed,
    now: dt.datetime,
) -> Received:
    def quarantine(reason: str, request_id: int | None = None) -> Received:
        return _record(
            services, {**base, "request_id": request_id}, key, InboundStatus.QUARANTINED, reason,
            public_id,
        )  # fmt: skip

    with services.db.engine.connect() as conn:
        req = conn.execute(
            sa.select(_req.c.id, _req.c.agency_id).where(_req.c.public_id == public_id)
        ).one_or_none()
        if req is None:
            return quarantine(f"request {public_id} does not exist")
        sender = parsed.sender or ""
        known = conn.execute(
            sa.select(_contact.c.id).where(
                _contact.c.email == sender, _contact.c.agency_id == req.agency_id
            )
        ).first()
    if known is None:
        return quarantine(
            f"the sender {sender or '(none)'} is not a contact of {req.agency_id}, "
            "the agency this request was sent to",
            req.id,
        )
    uploads = [Upload(filename=a.filename or "attachment", data=a.data) for a in parsed.attachments]
    if not parsed.text.strip() and not uploads:
        return quarantine("the reply is empty: no text and no attachments", req.id)
    try:
        with services.db.write() as conn:
            fired = answer(
                services,
                public_id,
                actor=sender,
                statement=parsed.text,
                uploads=uploads,
                now=now,
                limits=mailbox.limits,
                channel="email",
                conn=conn,
            )
            conn.execute(
                _inbound.insert(),
                {
                    **base,
                    "message_key": key,
                    "status": InboundStatus.ACCEPTED.value,
                    "request_id": req.id,
                    "evidence_ids": list(fired.evidence_ids),
                },
            )
    except IntegrityError:
        seen = _seen(services, key)
        if seen is not None:  # the same message, delivered twice at once
            return seen
        raise
    except SignoffError as exc:  # refused files, a dead request, the workflow's refusals
        return quarantine(str(exc), req.id)
    log.info(
        "reply accepted for request %s: %d evidence record(s)", public_id, len(fired.evidence_ids)
    )
    return Received(
        status=InboundStatus.ACCEPTED, request=public_id, evidence_ids=fired.evidence_ids
    )


def _bounce(
    services: Services, base: dict[str, Any], key: str, parsed: Parsed, now: dt.datetime
) -> Received:
    bounce = parsed.bounce
    assert bounce is not None
    with services.db.write() as conn:
        sent = None
        if bounce.original_message_id:
            sent = conn.execute(
                sa.select(_outbox.c.item_id, _outbox.c.recipient, _outbox.c.kind)
                .where(_outbox.c.message_id == bounce.original_message_id)
                .limit(1)
            ).one_or_none()
        if sent is None:
            reason = "a bounce of a message signoff did not send (or no longer knows)"
            return _insert(conn, base, key, InboundStatus.QUARANTINED, reason)
        failed = set(bounce.failed_recipients) or {sent.recipient}
        failed &= {sent.recipient}  # a bounce may only mark the address the message went to
        if bounce.permanent and failed:
            conn.execute(
                _contact.update().where(_contact.c.email.in_(sorted(failed))).values(failing=True)
            )
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
                    "status": bounce.status,
                    "permanent": bounce.permanent,
                },
            )
        what = "marked failing" if bounce.permanent and failed else "temporary, nothing changed"
        return _insert(conn, base, key, InboundStatus.BOUNCE, f"{sent.recipient}: {what}")


def _seen(services: Services, key: str) -> Received | None:
    with services.db.engine.connect() as conn:
        row = conn.execute(
            sa.select(_inbound.c.status, _inbound.c.reason, _inbound.c.evidence_ids).where(
                _inbound.c.message_key == key
            )
        ).one_or_none()
    if row is None:
        return None
    return Received(
        status=InboundStatus(row.status),
        reason=row.reason,
        evidence_ids=tuple(row.evidence_ids),
        duplicate=True,
    )


def _record(
    services: Services,
    base: dict[str, Any],
    key: str,
    status: InboundStatus,
    reason: str,
    request: str | None = None,
) -> Received:
    try:
        with services.db.write() as conn:
            received = _insert(conn, base, key, status, reason)
    except IntegrityError:
        seen = _seen(services, key)
        if seen is None:
            raise
        return seen
    if status is InboundStatus.QUARANTINED:
        log.warning("inbound message quarantined: %s", reason)
    return Received(status=received.status, reason=reason, request=request)


def _insert(
    conn: sa.Connection, base: dict[str, Any], key: str, status: InboundStatus, reason: str
) -> Received:
    conn.execute(
        _inbound.insert(), {**base, "message_key": key, "status": status.value, "reason": reason}
    )
    return Received(status=status, reason=reason)
