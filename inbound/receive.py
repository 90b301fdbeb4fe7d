"""What becomes of one received message: evidence on an item, held, or the quarantine.

Every email that invites a reply carries a reply address (``reply+<id>.<tag>@<reply
domain>``, ``engine.requests.replies``): a request's, one bound to an item and its
recipient, or a digest's bound to its recipient. A reply to one becomes evidence when its
sender is the address's addressee (or their deputy) answering for the item's agency, it has
something in it, and the item takes evidence (it fires the answering transition as the
sender) or is still in the state entry evidence was just sent into (a follow-up: added to
the item, which does not move); the message is recorded in the same transaction, so the
same reply delivered again to the same address adds nothing, and junk that borrows a
genuine reply's Message-ID is recorded on its own (``engine.inbox.delivery_key``). A reply
to a digest is matched to the one item whose ref it names.

Held for a member of staff (``InboundStatus.HELD``, kept whole, with the From: and the
envelope sender; ``confirm`` takes it once they have checked): a reply from a contact of
the agency who is not the addressee, one that does not pass DMARC at our own receiving
server (``Mailbox.authserv_id``: only its Authentication-Results field is trusted), and a
digest reply naming no item or several. Refused (quarantined) with one short automatic
answer saying why (at most one an address a day, to the envelope sender, never to list
mail, bounces or auto-replies, through the outbox): a sender who may not answer for the
item, an answered or expired address, an empty reply, a refused file. Everything is
recorded with its reason and shown to the admin (``signoff quarantine``).

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
from engine.inbox import Arrival, InboundStatus, Seen, Unusable, delivery_key
from engine.outbox import Notice
from engine.replykeys import parse_bounce_address, parse_reply_address
from engine.requests.answer import Upload, assign_digest, digest_target, reply_target
from engine.requests.replies import Standing
from engine.services import Services
from engine.store.tables import RequestKind
from engine.uploads import UploadLimits
from inbound.parse import Parsed, dmarc_result, parse_message

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
        answer: Notice | None = None,
    ) -> Received:
        if status is InboundStatus.HELD:  # staff may take it: kept whole
            arrival, note = self.whole(arrival), ""
        else:
            arrival, note = self.cut(arrival)
        return _record(
            self.services, arrival, key, status, reason + note, request, request_id, answer
        )


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
    sender = parsed.sender or ""
    answer_to = _answer_address(mailbox, arrival, parsed)

    def quarantine(
        reason: str, request_id: int | None = None, why: Unusable | None = None
    ) -> Received:
        notice = None
        if why is not None and answer_to is not None:
            notice = inbox.auto_answer(services, answer_to, why, arrival.recipient, now)
        return kept.record(
            arrival, key, InboundStatus.QUARANTINED, reason, public_id, request_id, notice
        )

    def hold(reason: str, request_id: int) -> Received:
        both = f"From: {sender or '(none)'}, envelope sender: {arrival.envelope_from or '(none)'}"
        return kept.record(
            arrival, key, InboundStatus.HELD, f"{reason} ({both})", public_id, request_id
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
    if target.standing is Standing.NOT_AGENCY:
        return hold(
            "held for staff to read: the person this address was sent to does not answer for "
            f"{target.agency_id}, so it is not evidence",
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
        NotHeld; ActorRefused; EvidenceError (the kept message cannot be read); Unreadable;
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
