"""What becomes of one received message: evidence on an item, held, or the quarantine.

Every email that invites a reply carries a reply address (``reply+<id>.<tag>@<reply
domain>``, ``engine.requests.replies``): a request's, one bound to an item and its
recipient, or a digest's bound to its recipient. A reply to one becomes evidence when its
sender is the address's addressee (or their deputy) answering for the item's agency, it has
something in it, and the item takes evidence (it fires the answering transition as the
sender) or is still in the state entry evidence was just sent into (a follow-up: added to
the item, which does not move); the message is recorded in the same transaction, so a
redelivered Message-ID adds nothing. A reply to a digest is matched to the one item whose
ref it names.

Held for a member of staff (``InboundStatus.HELD``, with the From: and the envelope sender):
a reply from a contact of the agency who is not the addressee, one that does not pass DMARC
at our own receiving server (``Mailbox.authserv_id``: only its Authentication-Results field
is trusted), and a digest reply naming no item or several. Refused (quarantined) with one
short automatic answer saying why (at most one an address a day, to the envelope sender,
never to list mail, bounces or auto-replies, through the outbox): a sender who may not
answer for the item, an answered or expired address, an empty reply, a refused file.
Everything is recorded with its reason and shown to the admin (``signoff quarantine``).
Bounces of signoff's own mail mark the address failing (the ladder then moves on to the
next contact); automatic replies are recorded and otherwise ignored. The raw message is
kept, by its SHA-256, in the evidence store.
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
from engine.errors import (
    NotHeld,
    Refusal,
    RequestRefused,
    RoleNotAllowed,
    SignoffError,
    Unreadable,
    UploadRefused,
)
from engine.evidence import read_stored, store_bytes
from engine.inbox import Arrival, InboundStatus, Seen, Unusable
from engine.outbox import Notice
from engine.replykeys import parse_reply_address
from engine.requests.answer import Upload, assign_digest, digest_target, reply_target
from engine.requests.replies import Standing
from engine.services import Services
from engine.store.tables import RequestKind
from engine.uploads import UploadLimits
from inbound.parse import Parsed, dmarc_result, parse_message

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
    # the authserv-id of our own receiving server's Authentication-Results field; None: no
    # field is trusted (replies are then believed from their From: alone)
    authserv_id: str | None = None


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
    sender = parsed.sender or ""
    answer_to = _answer_address(mailbox, arrival, parsed)

    def quarantine(
        reason: str, request_id: int | None = None, why: Unusable | None = None
    ) -> Received:
        notice = None
        if why is not None and answer_to is not None:
            notice = inbox.auto_answer(services, answer_to, why, arrival.recipient, now)
        return _record(
            services, arrival, key, InboundStatus.QUARANTINED, reason, public_id, request_id,
            answer=notice,
        )  # fmt: skip

    def hold(reason: str, request_id: int) -> Received:
        both = f"From: {sender or '(none)'}, envelope sender: {arrival.envelope_from or '(none)'}"
        return _record(
            services, arrival, key, InboundStatus.HELD, f"{reason} ({both})", public_id, request_id
        )

    target = reply_target(services, public_id, sender)
    if target is None:
        return quarantine(f"request {public_id} does not exist")
    if target.standing is Standing.OUTSIDER:
        whose = f"of {target.agency_id}" if target.agency_id else "who may answer for items"
        return quarantine(
            f"the sender {sender or '(none)'} is not a contact {whose}, "
            "so may not answer through this address",
            target.request_id,
            Unusable.NOT_ALLOWED,
        )
    if mailbox.authserv_id is not None:
        verdict = dmarc_result(
            parsed.auth_results, mailbox.authserv_id, sender.rpartition("@")[2] or None
        )
        if verdict != "pass":
            return hold(
                f"held for staff to confirm who sent it: DMARC {verdict} at {mailbox.authserv_id}",
                target.request_id,
            )
    if target.standing is Standing.COLLEAGUE:
        return hold(
            "held for staff to confirm: the sender is not the person this address was sent to",
            target.request_id,
        )
    uploads = [Upload(filename=a.filename or "attachment", data=a.data) for a in parsed.attachments]
    if not parsed.text.strip() and not uploads:
        return quarantine(
            "the reply is empty: no text and no attachments", target.request_id, Unusable.EMPTY
        )
    if target.kind is RequestKind.DIGEST:
        found = digest_target(services, target, sender, f"{parsed.subject}\n{parsed.text}", now)
        if isinstance(found, list):
            names = "names no item" if not found else f"names {len(found)} items"
            return hold(
                f"held for staff to assign: a reply to a digest that {names}", target.request_id
            )
        target = found
    try:
        done = inbox.record_answer(
            services, arrival, key=key, request_id=target.request_id,
            public_id=target.public_id, sender=sender, statement=parsed.text, uploads=uploads,
            limits=mailbox.limits, now=now,
        )  # fmt: skip
    except SignoffError as exc:  # refused files, a dead request, the workflow's refusals
        return quarantine(str(exc), target.request_id, _unusable(exc))
    if isinstance(done, Seen):  # the same message, delivered twice at once
        return _duplicate(done)
    log.info(
        "reply accepted for request %s: %d evidence record(s)",
        target.public_id,
        len(done.evidence_ids),
    )
    return Received(
        status=InboundStatus.ACCEPTED, request=target.public_id, evidence_ids=done.evidence_ids
    )


def confirm(
    services: Services,
    mailbox: Mailbox,
    message_id: int,
    *,
    staff: str,
    now: dt.datetime,
    item: str | None = None,
) -> Received:
    """A member of staff confirms a held reply: it is then answered as its From: sender.

    For a reply to a digest, ``item`` (``REVIEW/REF``) names the item it is for. The message
    is read again from the evidence store, as it arrived.

    Raises:
        NotHeld; StaffNotAllowed; EvidenceError (the kept message cannot be read); Unreadable;
        RequestRefused (``NO_ITEM``: a digest reply needs ``item``; and as an answer is
        refused); UploadRefused and the workflow's refusals. Nothing is then written.
    """
    held = inbox.held(services, message_id)
    parsed = parse_message(
        read_stored(services.data_dir, held.raw_sha256), max_bytes=mailbox.max_message_bytes
    )
    public_id = parse_reply_address(mailbox.key, held.recipient, mailbox.domain)
    target = reply_target(services, public_id, parsed.sender or "") if public_id else None
    if target is None or not parsed.sender:
        raise NotHeld(message_id, "not a reply to a known address")
    public_id = target.public_id
    if target.kind is RequestKind.DIGEST:
        if item is None:
            raise RequestRefused(
                Refusal.NO_ITEM, f"message #{message_id} is a reply to a digest: name its item"
            )
        public_id = assign_digest(services, target.public_id, item, now)
    uploads = [Upload(filename=a.filename or "attachment", data=a.data) for a in parsed.attachments]
    fired = inbox.confirm_answer(
        services, message_id, staff=staff, public_id=public_id, sender=parsed.sender,
        statement=parsed.text, uploads=uploads, limits=mailbox.limits, now=now,
    )  # fmt: skip
    return Received(
        status=InboundStatus.ACCEPTED, request=public_id, evidence_ids=fired.evidence_ids
    )


def _unusable(exc: SignoffError) -> Unusable | None:
    """What the automatic answer to a refused reply says; None: staff decide, no answer."""
    if isinstance(exc, UploadRefused):
        return Unusable.FILE_REFUSED
    if isinstance(exc, RoleNotAllowed):
        return Unusable.NOT_ALLOWED
    if isinstance(exc, RequestRefused):
        return {
            Refusal.EMPTY: Unusable.EMPTY,
            Refusal.CLOSED: Unusable.CLOSED,
            Refusal.WORKFLOW_CHANGED: Unusable.CLOSED,
            Refusal.NOT_ANSWERER: Unusable.NOT_ALLOWED,
        }.get(exc.reason)
    return None


def _answer_address(mailbox: Mailbox, arrival: Arrival, parsed: Parsed) -> str | None:
    """Where an automatic answer goes: the envelope sender (RFC 3834), never to list mail,
    a null sender (bounces) or our own domain (no loops). Auto-replies never get this far."""
    to = (arrival.envelope_from or "").strip().strip("<>").lower()
    if not to or "@" not in to or parsed.list_mail or parsed.bounce or parsed.auto_reply:
        return None
    if to.rpartition("@")[2] == mailbox.domain.lower():
        return None
    return to


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
    answer: Notice | None = None,
) -> Received:
    seen = inbox.record(
        services, arrival, key=key, status=status, reason=reason, request_id=request_id,
        answer=answer,
    )  # fmt: skip
    if seen is not None:
        return _duplicate(seen)
    if status in (InboundStatus.QUARANTINED, InboundStatus.HELD):
        log.warning("inbound message %s: %s", status.value, reason)
    return Received(status=status, reason=reason, request=request)
