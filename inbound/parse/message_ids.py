"""Message ids: the message's own, and those of the messages it replies to.

Rules: ids keep their angle brackets and lose any whitespace. ``reply_ids`` is
In-Reply-To then References, in order, de-duplicated; past 100 ids, the first 10 of
In-Reply-To and the last 90 of References (the most recent) are kept.
"""

from __future__ import annotations

import re
from email.message import Message

from inbound.parse.mime import raw_headers

_ID_RE = re.compile(r"<([^<>]+)>")
_MAX_IDS = 100


# email.utils has no public msg-id reader (only email._header_value_parser.get_msg_id,
# which is private and raises on the damaged ids this must still read)
def _ids(value: str | None) -> list[str]:
    if not value:
        return []
    found = ["<" + "".join(m.split()) + ">" for m in _ID_RE.findall(value)]
    return [i for i in found if len(i) > 2]


def first_id(value: str | None) -> str | None:
    """The first ``<id>`` in a field's value, else the whole value bracketed; None if empty."""
    if value is None:
        return None
    ids = _ids(value)
    if ids:
        return ids[0]
    bare = "".join(value.split())
    return f"<{bare}>" if bare else None


def reply_ids(msg: Message) -> tuple[str, ...]:
    """In-Reply-To then References ids, de-duplicated, at most 100."""
    replying = [i for v in raw_headers(msg, "in-reply-to") for i in _ids(v)]
    references = [i for v in raw_headers(msg, "references") for i in _ids(v)]
    if len(replying) + len(references) > _MAX_IDS:  # keep the most recent references
        replying, references = replying[:10], references[-(_MAX_IDS - 10) :]
    return tuple(dict.fromkeys(replying + references))
