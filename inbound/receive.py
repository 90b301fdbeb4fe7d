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

import dataclasses
import datetime as dt
import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from engine import history, inbox
from engine.contacts import mark_failing
from engine.errors import SignoffError, Unreadable
from engine.evidence import store_bytes
from engine.inbox import Arrival, InboundStatus, Seen
from engine.replykeys import parse_reply_address
from engine.requests.answer import Upload, reply_target
from engine.services import Services
from engine.uploads import UploadLimits
from inbound.parse import Parsed, parse_message

log = logging.getLogger("signoff.inbound")


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
    arrival = Arrival(
        received_at=now,
        envelope_from=(envelope_from or "")[:320] or None,
        recipient=recipient[:320],
        raw_sha256=sha,
        size=len(raw),
    )
    try:
        parsed = parse_message(raw, max_bytes=mailbox.max_message_bytes)
    except Unreadable as exc:
        return _record(services, arrival, f"sha256:{sha}", InboundStatus.QUARANTINED, str(exc))
    key = (parsed.message_id or f"sha256:{sha}")[:400]
    arrival = dataclasses.replace(
        arrival, sender=(parsed.sender or "")[:320] or None, subject=parsed.subject[:1000]
    )
    seen = inbox.seen(services, key)
    if seen is not None:
        return _duplicate(seen)
    if parsed.bounce is not None:
        return _bounce(services, arrival, key, parsed, now)
    if parsed.auto_reply:
        return _record(services, arrival, key, InboundStatus.AUTO_REPLY, "automatic reply")
    public_id = parse_reply_address(mailbox.key, recipient, mailbox.domain)
    if public_id is None:
        return _record(
            services, arrival, key, InboundStatus.QUARANTINED,
            f"{recipient or 'no recipient'} is not a valid reply address for any request",
        )  # fmt: skip
    return _answer(services, mailbox, arrival, key, public_id, parsed, now)


def _answer(
    services: Services,
    mailbox: Mailbox,
    arrival: Arrival,
    key: str,
    public_id: str,
    parsed: Parsed,
    now: dt.datetime,
) -> Received:
    def quarantine(reason: str, request_id: int | None = None) -> Received:
        return _record(
            services, arrival, key, InboundStatus.QUARANTINED, reason, public_id, request_id
        )

    sender = parsed.sender or ""
    target = reply_target(services, public_id, sender)
    if target is None:
        return quarantine(f"request {public_id} does not exist")
    if not target.sender_known:
        return quarantine(
            f"the sender {sender or '(none)'} is not a contact of {target.agency_id}, "
            "the agency this request was sent to",
            target.request_id,
        )
    uploads = [Upload(filename=a.filename or "attachment", data=a.data) for a in parsed.attachments]
    if not parsed.text.strip() and not uploads:
        return quarantine("the reply is empty: no text and no attachments", target.request_id)
    try:
        done = inbox.record_answer(
            services, arrival, key=key, request_id=target.request_id, public_id=public_id,
            sender=sender, statement=parsed.text, uploads=uploads, limits=mailbox.limits, now=now,
        )  # fmt: skip
    except SignoffError as exc:  # refused files, a dead request, the workflow's refusals
        return quarantine(str(exc), target.request_id)
    if isinstance(done, Seen):  # the same message, delivered twice at once
        return _duplicate(done)
    log.info(
        "reply accepted for request %s: %d evidence record(s)", public_id, len(done.evidence_ids)
    )
    return Received(
        status=InboundStatus.ACCEPTED, request=public_id, evidence_ids=done.evidence_ids
    )


def _bounce(
    services: Services, arrival: Arrival, key: str, parsed: Parsed, now: dt.datetime
) -> Received:
    bounce = parsed.bounce
    assert bounce is not None
    with services.db.write() as conn:
        sent = None
        if bounce.original_message_id:
            sent = inbox.sent_message(conn, bounce.original_message_id)
        if sent is None:
            reason = "a bounce of a message signoff did not send (or no longer knows)"
            inbox.insert(conn, arrival, key=key, status=InboundStatus.QUARANTINED, reason=reason)
            return Received(status=InboundStatus.QUARANTINED, reason=reason)
        failed = set(bounce.failed_recipients) or {sent.recipient}
        failed &= {sent.recipient}  # a bounce may only mark the address the message went to
        if bounce.permanent and failed:
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
                    "status": bounce.status,
                    "permanent": bounce.permanent,
                },
            )
        what = "marked failing" if bounce.permanent and failed else "temporary, nothing changed"
        reason = f"{sent.recipient}: {what}"
        inbox.insert(conn, arrival, key=key, status=InboundStatus.BOUNCE, reason=reason)
        return Received(status=InboundStatus.BOUNCE, reason=reason)


def _duplicate(seen: Seen) -> Received:
    return Received(
        status=seen.status, reason=seen.reason, evidence_ids=seen.evidence_ids, duplicate=True
    )


def _record(
    services: Services,
    arrival: Arrival,
    key: str,
    status: InboundStatus,
    reason: str,
    request: str | None = None,
    request_id: int | None = None,
) -> Received:
    seen = inbox.record(
        services, arrival, key=key, status=status, reason=reason, request_id=request_id
    )
    if seen is not None:
        return _duplicate(seen)
    if status is InboundStatus.QUARANTINED:
        log.warning("inbound message quarantined: %s", reason)
    return Received(status=status, reason=reason, request=request)
