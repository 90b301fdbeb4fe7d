"""What becomes of one received message: evidence on an item, or the quarantine.

Only a message to a valid reply address (``reply+<request>.<tag>@<reply domain>``),
from a contact of the request's agency, with something in it, while the request is
live, becomes evidence; it fires the request's answering transition as the sender, in
the same transaction that records the message, so the same reply delivered again to
the same address adds nothing. Everything else is recorded with its reason and shown to
the admin (``signoff quarantine``); nothing of it touches an item, and junk that borrows
a genuine reply's Message-ID is recorded on its own (``engine.inbox.delivery_key``).

A bounce counts only when it proves it answers an email signoff sent: it comes from the
null sender (``MAIL FROM:<>``) to that email's own envelope sender
(``bounces+<outbox id>.<tag>@<reply domain>``, whose tag verifies), and whatever it
names (the failed recipient, the Message-ID) agrees with that email. Only then is the
recipient marked failing (the ladder moves on to the next contact). A delivery report
that proves nothing is recorded and changes nothing, whatever Message-IDs it names.
Automatic replies are recorded and otherwise ignored.

The raw message is kept, by its SHA-256, in the evidence store: whole when it became
evidence; otherwise only its header and the first ``KEEP_BODY_BYTES`` of its body, and
the record says so.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from engine import inbox
from engine.errors import SignoffError, Unreadable
from engine.evidence import store_bytes
from engine.inbox import Arrival, InboundStatus, Seen, delivery_key
from engine.replykeys import parse_bounce_address, parse_reply_address
from engine.requests.answer import Upload, reply_target
from engine.services import Services
from engine.uploads import UploadLimits
from inbound.parse import Parsed, parse_message

log = logging.getLogger("signoff.inbound")

KEEP_HEADER_BYTES = 256 * 1024  # of a message not taken as evidence: its header, up to this
KEEP_BODY_BYTES = 64 * 1024  # ... and this much of what follows
_NULL_SENDERS = ("", "<>")  # MAIL FROM:<>, as aiosmtpd hands it on


@dataclass(frozen=True, kw_only=True)
class Received:
    status: InboundStatus
    reason: str | None = None
    request: str | None = None
    evidence_ids: tuple[int, ...] = ()
    duplicate: bool = False


@dataclass(frozen=True, kw_only=True)
class Mailbox:
    """Where replies arrive, what they may carry, and how much one client may send.

    ``addresses`` are the local parts at ``domain`` taken besides reply and bounce
    addresses: ``postmaster`` (RFC 5321 requires it) and ``bounces``, the envelope sender
    of mail sent before each email had its own. ``messages_per_minute`` and
    ``refusals_per_minute`` are per client address (``inbound.listener``).
    """

    key: bytes
    domain: str
    limits: UploadLimits = field(default_factory=UploadLimits)
    max_message_bytes: int = 35 * 1024 * 1024  # a 25 MiB file, base64-encoded, and a reply
    addresses: frozenset[str] = frozenset({"postmaster", "bounces"})
    max_recipients: int = 10
    messages_per_minute: int = 30
    refusals_per_minute: int = 10


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
    reply_to = _first(rcpt_tos, lambda r: parse_reply_address(mailbox.key, r, mailbox.domain))
    bounce_to = _first(rcpt_tos, lambda r: parse_bounce_address(mailbox.key, r, mailbox.domain))
    recipient = (reply_to or bounce_to or (rcpt_tos[0] if rcpt_tos else "")).strip().lower()
    arrival = Arrival(
        received_at=now,
        envelope_from=(envelope_from or "")[:320] or None,
        recipient=recipient[:320],
        raw_sha256=sha,
        size=len(raw),
    )
    key = delivery_key(recipient, message_id=None, raw_sha256=sha)
    seen = inbox.seen(services, key)
    if seen is not None:  # these very bytes, to this address, again
        return _duplicate(seen)
    kept = _Kept(services, raw)
    try:
        parsed = parse_message(raw, max_bytes=mailbox.max_message_bytes)
    except Unreadable as exc:
        return kept.record(arrival, key, InboundStatus.QUARANTINED, str(exc))
    arrival = dataclasses.replace(
        arrival, sender=(parsed.sender or "")[:320] or None, subject=parsed.subject[:1000]
    )
    if parsed.bounce is not None or (bounce_to is not None and not parsed.auto_reply):
        null_sender = envelope_from is not None and envelope_from.strip() in _NULL_SENDERS
        return _bounce(services, mailbox, kept, arrival, key, parsed, bounce_to, null_sender, now)
    if parsed.auto_reply:
        return kept.record(arrival, key, InboundStatus.AUTO_REPLY, "automatic reply")
    public_id = parse_reply_address(mailbox.key, recipient, mailbox.domain)
    if public_id is None:
        return kept.record(
            arrival, key, InboundStatus.QUARANTINED,
            f"{recipient or 'no recipient'} is not a valid reply address for any request",
        )  # fmt: skip
    return _answer(services, mailbox, kept, arrival, key, public_id, parsed, now)


def _first(rcpt_tos: Sequence[str], parse: Callable[[str], object]) -> str | None:
    """The first of ``rcpt_tos`` that ``parse`` reads (returns other than None)."""
    return next((r for r in rcpt_tos if parse(r) is not None), None)


class _Kept:
    """The raw message in the evidence store: whole, or cut, once it is known which."""

    def __init__(self, services: Services, raw: bytes) -> None:
        self.services, self.raw = services, raw

    def whole(self, arrival: Arrival) -> Arrival:
        if self.raw:
            store_bytes(self.services.data_dir, self.raw, "message.eml")
        return arrival

    def cut(self, arrival: Arrival) -> tuple[Arrival, str]:
        """Keep the header and the start of the body; the arrival, and what the record
        says of the cut ("" when nothing was cut)."""
        raw = self.raw
        if not raw:
            return arrival, ""
        ends = [i + n for i, n in ((raw.find(b"\r\n\r\n"), 4), (raw.find(b"\n\n"), 2)) if i >= 0]
        head = min([*ends, KEEP_HEADER_BYTES])
        kept = raw[: head + KEEP_BODY_BYTES]
        stored = store_bytes(self.services.data_dir, kept, "message.eml")
        arrival = dataclasses.replace(arrival, raw_sha256=stored.sha256)
        if len(kept) == len(raw):
            return arrival, ""
        return arrival, (
            f" (kept the first {len(kept):,} of {len(raw):,} bytes: the header and the start "
            "of the body; the rest was discarded)"
        )

    def record(
        self,
        arrival: Arrival,
        key: str,
        status: InboundStatus,
        reason: str,
        request: str | None = None,
        request_id: int | None = None,
    ) -> Received:
        arrival, note = self.cut(arrival)
        return _record(self.services, arrival, key, status, reason + note, request, request_id)


def _answer(
    services: Services,
    mailbox: Mailbox,
    kept: _Kept,
    arrival: Arrival,
    key: str,
    public_id: str,
    parsed: Parsed,
    now: dt.datetime,
) -> Received:
    def quarantine(reason: str, request_id: int | None = None) -> Received:
        return kept.record(arrival, key, InboundStatus.QUARANTINED, reason, public_id, request_id)

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
    # an accepted reply is known by its address and Message-ID: a retrying server's copy
    # (other Received: lines, the same Message-ID) is the same delivery
    accepted_key = delivery_key(
        arrival.recipient, message_id=parsed.message_id, raw_sha256=arrival.raw_sha256
    )
    seen = inbox.seen(services, accepted_key)
    if seen is not None:
        return _duplicate(seen)
    try:
        done = inbox.record_answer(
            services, kept.whole(arrival), key=accepted_key, request_id=target.request_id,
            public_id=public_id, sender=sender, statement=parsed.text, uploads=uploads,
            limits=mailbox.limits, now=now,
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
    services: Services,
    mailbox: Mailbox,
    kept: _Kept,
    arrival: Arrival,
    key: str,
    parsed: Parsed,
    bounce_to: str | None,
    null_sender: bool,
    now: dt.datetime,
) -> Received:
    """A delivery report, or anything sent to a bounce address; see the module docstring."""

    def unproven(why: str) -> Received:
        reason = f"a delivery report that {why}: nothing changed"
        return kept.record(arrival, key, InboundStatus.QUARANTINED, reason)

    report = parsed.bounce
    outbox_id = parse_bounce_address(mailbox.key, bounce_to, mailbox.domain) if bounce_to else None
    if outbox_id is None:
        return unproven(
            f"did not come back to the bounce address of an email signoff sent "
            f"(it came to {arrival.recipient or 'no recipient'})"
        )
    if not null_sender:
        return unproven(
            f"came from {arrival.envelope_from or 'an unknown envelope sender'}, "
            "not the null sender (MAIL FROM:<>) real bounces come from"
        )
    if report is None:
        return unproven("signoff cannot read as one (no failed recipient or status found)")
    arrival, note = kept.cut(arrival)
    done = inbox.record_bounce(
        services, arrival, key=key, outbox_id=outbox_id,
        failed_recipients=report.failed_recipients, original_message_id=report.original_message_id,
        status=report.status, permanent=report.permanent, note=note, now=now,
    )  # fmt: skip
    if isinstance(done, Seen):  # the same bytes, delivered twice at once
        return _duplicate(done)
    status, reason = done
    if status is InboundStatus.QUARANTINED:
        log.warning("inbound message quarantined: %s", reason)
    return Received(status=status, reason=reason)


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
