"""Who sent a message: the mailboxes of its address fields, and the one sender they name.

Rules: the sender is the lower-cased address of ``From:``. A display name that looks like
an address never wins (``"ceo@police.example" <evil@x>`` is ``evil@x``); a malformed
``From:`` with exactly one ``<angle-address>`` is that address. ``From:`` naming two or
more mailboxes (or two ``From:`` fields that disagree) is ambiguous: ``Sender:`` decides
if it names exactly one mailbox, otherwise there is no sender. Display names are cleaned
like the subject (``mime.clean_line``).
"""

from __future__ import annotations

import re
from email import policy
from email.message import Message

from inbound.parse.mime import HEADER_ERRORS, clean_line, raw_headers, unsurrogate

# an address in running text (the addr-spec of common practice, not every RFC 5322 form)
ADDR = r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?" + (
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+"
)
ADDR_RE = re.compile(ADDR)
_ANGLE_RE = re.compile(r"<\s*(" + ADDR + r")\s*>")


def _mailboxes(msg: Message, name: str) -> list[tuple[str, str | None]] | None:
    """(address, display name) for each mailbox in every ``name`` field; None if unreadable."""
    found: list[tuple[str, str | None]] = []
    for raw in raw_headers(msg, name):
        value = " ".join(unsurrogate(raw).split())
        try:
            field = policy.default.header_factory(name, value)
        except HEADER_ERRORS:
            field = None
        addresses = getattr(field, "addresses", None)
        if addresses is not None and not getattr(field, "defects", ()):
            for a in addresses:
                if not a.username or not a.domain:
                    return None
                found.append((a.addr_spec.lower(), clean_line(a.display_name) or None))
            continue
        # malformed: accept only a single unmistakable <angle-address>
        angles = _ANGLE_RE.findall(value)
        if len(angles) != 1:
            return None
        display = clean_line(_ANGLE_RE.sub(" ", value).replace('"', " ")) or None
        found.append((angles[0].lower(), display))
    return found


def read_sender(msg: Message) -> tuple[str | None, str | None]:
    """(address, display name) of the one sender, or (None, None) when ambiguous or absent."""
    from_ = _mailboxes(msg, "from")
    if from_ and len({addr for addr, _ in from_}) == 1:
        return from_[0]
    named = _mailboxes(msg, "sender")
    if named and len(named) == 1:
        return named[0]
    return None, None
