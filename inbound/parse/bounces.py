"""Bounces: delivery status notifications, standard (RFC 3464) or written for people.

Rules: a multipart/report with a message/delivery-status part is a standard bounce: the
failed recipients are those whose ``Action`` is ``failed`` or ``delayed`` (or, with no
Action, whose Status is 4.x.x/5.x.x), from ``Original-Recipient`` and ``Final-Recipient``;
``status`` is the most severe of theirs; ``permanent`` means some recipient has
``Action: failed`` with a 5.x.x status. A report of successful deliveries only is not a
bounce. A message from a daemon address (MAILER-DAEMON, postmaster, Microsoft Exchange)
whose subject says it is a delivery failure is a bounce too: the failed address is taken
from the text only where clearly marked (e.g. "wasn't delivered to", "Delivery has failed
to these recipients", "The following address(es) failed:"), the status from an SMTP reply
such as ``550 5.1.1``; ``permanent`` then means a 5.x.x status. ``original_message_id``
comes from the returned message/rfc822 or text/rfc822-headers part, else from a
``Message-ID:`` line in the text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email import policy
from email.message import Message
from email.parser import HeaderParser

from inbound.parse.addresses import ADDR, ADDR_RE
from inbound.parse.body import decode
from inbound.parse.message_ids import first_id
from inbound.parse.mime import children, header, walk

_MAX_ADDRESS_FIELD = 1000  # longer DSN recipient fields are cut before searching
_MAX_REPORT_TEXT = 100_000  # characters of a bounce written for people searched: it is short


@dataclass(frozen=True, kw_only=True)
class Bounce:
    failed_recipients: tuple[str, ...]  # lower-cased; Original- then Final-Recipient
    status: str | None  # e.g. "5.1.1"
    permanent: bool  # Action: failed with a 5.x.x status (non-standard bounces: 5.x.x)
    original_message_id: str | None  # of the message that bounced, with angle brackets


_STATUS_RE = re.compile(r"\b([245]\.\d{1,3}\.\d{1,3})\b")
_SMTP_STATUS_RE = re.compile(r"\b[45]\d\d[ -]#?([45]\.\d{1,3}\.\d{1,3})\b")
_DAEMON_RE = re.compile(
    r"^(mailer-daemon|mailer_daemon|mailerdaemon|postmaster|mail-daemon|"
    r"microsoftexchange[0-9a-f]*|mail-delivery-subsystem)@",
    re.IGNORECASE,
)
_BOUNCE_SUBJECT_RE = re.compile(
    r"^\s*(delivery status notification \((failure|delay)\)|undeliverable\s*:|"
    r"undelivered mail|undeliverable mail|mail delivery failed|delivery failure|"
    r"returned mail\b|failure notice|delivery has failed|message not delivered|"
    r"mail delivery failure|non[- ]?delivery)",
    re.IGNORECASE,
)
_FAILED_TEXT_RES = tuple(
    re.compile(p, re.IGNORECASE | re.MULTILINE)
    for p in (
        r"(?:wasn't|was not|couldn't be|could not be) delivered to\s+<?(" + ADDR + ")",
        r"your message to\s+<?(" + ADDR + r")>?\s+(?:couldn't|could not|can't|cannot)\s+be",
        r"delivery has failed to these recipients or groups:\s*\n(?:\s*\n)*\s*<?(" + ADDR + ")",
        r"following address(?:\(es\)|es)? failed:\s*\n(?:\s*\n)*\s*<?(" + ADDR + ")",
        r"following recipients?(?:\(s\))? (?:failed|could not be reached|cannot be reached)"
        r"[^:\n]*:\s*\n(?:\s*\n)*\s*<?(" + ADDR + ")",
        r"^\s*(?:final|original)-recipient:\s*rfc822;\s*<?(" + ADDR + ")",
        r"^<(" + ADDR + r")>:\s*$",
    )
)
_ORIGINAL_ID_RE = re.compile(r"^\s*message-id:\s*(<[^<>\s]+>)", re.IGNORECASE | re.MULTILINE)


def bounce(msg: Message, sender: str | None, subject: str, text: str) -> Bounce | None:
    """The bounce ``msg`` reports, given its sender, cleaned subject and body text; else None."""
    report = msg.get_content_type() == "multipart/report"
    status_part = next(
        (
            p
            for p in children(msg)
            if p.get_content_type() in ("message/delivery-status", "message/global-delivery-status")
        ),
        None,
    )
    if report and status_part is not None:
        return _standard_bounce(msg, status_part)
    if sender and _DAEMON_RE.match(sender) and _BOUNCE_SUBJECT_RE.match(subject):
        return _textual_bounce(msg, text[:_MAX_REPORT_TEXT])
    return None


def _recipient_address(value: str | None) -> str | None:
    if not value:
        return None
    kind, _, address = value[:_MAX_ADDRESS_FIELD].partition(";")
    if not address:
        address = kind
    match = ADDR_RE.search(address)
    return match.group(0).lower() if match else None


def _standard_bounce(msg: Message, status_part: Message) -> Bounce | None:
    failed: dict[str, None] = {}
    statuses: list[str] = []
    permanent = False
    for block in children(status_part)[1:]:  # the first block is per-message
        action = (header(block, "action") or "").strip().lower()
        match = _STATUS_RE.search(header(block, "status") or "")
        status = match.group(1) if match else None
        if action not in ("failed", "delayed") and (action or not status or status[0] == "2"):
            continue
        for name in ("original-recipient", "final-recipient"):
            address = _recipient_address(header(block, name))
            if address:
                failed.setdefault(address, None)
        if status:
            statuses.append(status)
        permanent = permanent or (action == "failed" and status is not None and status[0] == "5")
    if not failed and not statuses:
        return None  # only successful deliveries reported: not a bounce
    statuses.sort(key=lambda s: s[0], reverse=True)
    return Bounce(
        failed_recipients=tuple(failed),
        status=statuses[0] if statuses else None,
        permanent=permanent,
        original_message_id=_original_id(msg, ""),
    )


def _textual_bounce(msg: Message, text: str) -> Bounce:
    failed: dict[str, None] = {}
    for pattern in _FAILED_TEXT_RES:
        for match in pattern.finditer(text):
            failed.setdefault(match.group(1).lower(), None)
    smtp = _SMTP_STATUS_RE.search(text)
    labelled = re.search(r"^\s*status:\s*([245]\.\d{1,3}\.\d{1,3})\b", text, re.I | re.M)
    status = smtp.group(1) if smtp else labelled.group(1) if labelled else None
    return Bounce(
        failed_recipients=tuple(failed),
        status=status,
        permanent=status is not None and status.startswith("5"),
        original_message_id=_original_id(msg, text),
    )


def _original_id(msg: Message, text: str) -> str | None:
    for part in walk(msg):
        ctype = part.get_content_type()
        if ctype == "message/rfc822":
            inner = children(part)
            if inner:
                found = first_id(header(inner[0], "message-id"))
                if found:
                    return found
        elif ctype == "text/rfc822-headers":
            headers = HeaderParser(policy=policy.default).parsestr(decode(part).lstrip())
            found = first_id(header(headers, "message-id"))
            if found:
                return found
    match = _ORIGINAL_ID_RE.search(text)
    return "".join(match.group(1).split()) if match else None
