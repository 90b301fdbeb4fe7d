"""The MIME tree of one message: the raw bytes parsed under hard limits, and read back.

``parse_mime`` is the only place the bytes are parsed; everything else reads the tree it
returns through ``children``, ``walk``, ``header`` and ``raw_headers``, which never raise on
a damaged field.

Rules (``Unreadable``): empty input, input over ``max_bytes`` (the message names the
limit), bytes without a single recognisable header field, MIME nesting deeper than
``max_depth`` (message/rfc822 parts count as a level; checked while parsing, so a hostile
nesting costs little), more than 1000 MIME parts (counted before parsing, and again as
the parser makes each part, so the blocks of a delivery report count too), more than 1000
header fields in one part or 10000 in all (counted as the parser reads them, so a flood
of fields costs little), a header field longer than 65536 characters or a Content-*
field longer than 4096. Anything else parses, however damaged: bad base64 padding,
unknown charsets and raw 8-bit headers are tolerated.

Subjects and display names go through ``clean_line``: decoded (RFC 2047, raw UTF-8), every
control and line-separator character replaced by a space, whitespace collapsed.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from email import policy
from email.errors import HeaderParseError, MessageError
from email.feedparser import BytesFeedParser
from email.message import EmailMessage, Message
from email.policy import EmailPolicy

from engine.errors import Unreadable

DEFAULT_MAX_BYTES = 50 * 1024 * 1024
DEFAULT_MAX_DEPTH = 20
# what reading a damaged header field may raise; every reader here catches them all
# (AttributeError: the stdlib's address parser trips over a group inside a display name)
HEADER_ERRORS = (
    HeaderParseError, MessageError, ValueError, LookupError, IndexError, TypeError, AttributeError
)  # fmt: skip
_CHUNK = 4096
_POLICY: EmailPolicy[EmailMessage] = policy.default
_MAX_PARTS = 1000
_MAX_PART_FIELDS = 1000  # header fields in one part (real mail has a few dozen to hundreds)
_MAX_FIELDS = 10 * _MAX_PART_FIELDS  # in the whole message
_MAX_FIELD = 65536  # characters in one header field
_MAX_MIME_FIELD = 4096  # in one Content-* field, which the stdlib re-parses on every read
_BOUNDARY_RE = re.compile(rb'(?i)boundary\s*=\s*(?:"([^"\r\n]*)"|([^\s;"]+))')
_DELIMITER_RE = re.compile(rb"(?m)^--([^\r\n]*)")
_MIME_FIELD_RE = re.compile(rb"(?im)^(content-[a-z-]*):[^\r\n]*(?:\r?\n[ \t][^\r\n]*)*")
_KNOWN_HEADERS = frozenset(
    {
        "from", "to", "cc", "subject", "date", "message-id", "received", "return-path",
        "mime-version", "content-type", "sender", "reply-to", "in-reply-to", "references",
        "delivered-to", "x-mailer",
    }
)  # fmt: skip


def parse_mime(raw: bytes, *, max_bytes: int, max_depth: int) -> EmailMessage:
    """The message tree of ``raw``, parsed with ``policy.default``.

    Raises:
        Unreadable: empty, over ``max_bytes``, no header fields, nested deeper than
            ``max_depth``, too many parts, or a header field over its length limit.
    """
    if len(raw) > max_bytes:
        raise Unreadable(f"message is {len(raw)} bytes, over the limit of {max_bytes} bytes")
    if not raw.strip():
        raise Unreadable("message is empty")
    for field in _MIME_FIELD_RE.finditer(raw):  # the parser itself reads these repeatedly
        if field.end() - field.start() > _MAX_MIME_FIELD:
            name = field.group(1).decode("ascii", "replace").title()
            raise Unreadable(f"{name} is longer than {_MAX_MIME_FIELD} characters")
    if _delimiter_lines(raw) > _MAX_PARTS:
        raise Unreadable(f"more than {_MAX_PARTS} MIME parts")
    budget = _Budget()
    parser = BytesFeedParser(budget.part, policy=policy.default)
    budget.parts = 0  # the parser made one part to try the factory
    try:
        for start in range(0, len(raw), _CHUNK):
            parser.feed(raw[start : start + _CHUNK])
            # the parser's stack of open parts (private, so read defensively): stopping
            # here keeps deep nesting from costing the parser quadratic time
            if len(getattr(parser, "_msgstack", ())) > max_depth + 1:
                raise Unreadable(f"MIME nesting deeper than {max_depth} levels")
        msg = parser.close()
    except RecursionError:
        raise Unreadable(f"MIME nesting deeper than {max_depth} levels") from None
    if not isinstance(msg, EmailMessage):  # _Budget.part makes every part; never otherwise
        raise Unreadable("the message could not be parsed")
    if not any(name.lower() in _KNOWN_HEADERS for name in msg.keys()):
        raise Unreadable("no email header fields found")
    if _depth(msg) > max_depth:
        raise Unreadable(f"MIME nesting deeper than {max_depth} levels")
    for part in walk(msg):
        for name, value in part.raw_items():
            if len(value) > _MAX_FIELD:
                raise Unreadable(f"a header field is longer than {_MAX_FIELD} characters")
            if len(value) > _MAX_MIME_FIELD and name.lower().startswith("content-"):
                raise Unreadable(f"{name} is longer than {_MAX_MIME_FIELD} characters")
    return msg


class _Budget:
    """What one parse may make: parts and header fields, counted as the parser makes them
    (the parser's documented factory hook), so the parse stops as soon as one runs out."""

    def __init__(self) -> None:
        self.parts = 0
        self.fields = 0

    # the parser calls its factory with policy=...: the parameter keeps that name
    def part(self, policy: EmailPolicy[EmailMessage] = _POLICY) -> EmailMessage:
        self.parts += 1
        if self.parts > _MAX_PARTS:
            raise Unreadable(f"more than {_MAX_PARTS} MIME parts")
        return _CountedPart(self, policy)


class _CountedPart(EmailMessage):
    """A part that counts its header fields against its parse's budget."""

    def __init__(self, budget: _Budget, policy: EmailPolicy[EmailMessage]) -> None:
        super().__init__(policy)
        self._budget = budget
        self._fields = 0

    def set_raw(self, name: str, value: str) -> None:  # what the parser stores fields with
        self._fields += 1
        if self._fields > _MAX_PART_FIELDS:
            raise Unreadable(f"more than {_MAX_PART_FIELDS} header fields in one part")
        self._budget.fields += 1
        if self._budget.fields > _MAX_FIELDS:
            raise Unreadable(f"more than {_MAX_FIELDS} header fields")
        super().set_raw(name, value)


def _delimiter_lines(raw: bytes) -> int:
    """How many lines are MIME delimiters of a declared boundary (before parsing: the
    stdlib parser costs about a millisecond a part)."""
    declared = {a or b for a, b in _BOUNDARY_RE.findall(raw)}
    if len(declared) > _MAX_PARTS:
        return len(declared)
    count = 0
    for token in _DELIMITER_RE.findall(raw):
        token = token.rstrip()
        if token in declared or (token.endswith(b"--") and token[:-2] in declared):
            count += 1
    return count


def _depth(msg: Message) -> int:
    deepest, stack = 0, [(msg, 0)]
    while stack:
        part, depth = stack.pop()
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in children(part))
    return deepest


def children(part: Message) -> list[Message]:
    """The direct subparts of ``part``: of a multipart, or the one message of a
    message/rfc822 (which ``EmailMessage.iter_parts`` leaves out)."""
    if not part.is_multipart():
        return []
    payload = part.get_payload()
    return [p for p in payload if isinstance(p, Message)] if isinstance(payload, list) else []


def walk(msg: Message) -> Iterator[Message]:
    """Every part, depth first, ``msg`` itself first: the order of ``Message.walk``.

    Iterative rather than ``Message.walk``, which recurses, so a caller's larger
    ``max_depth`` cannot reach the interpreter's recursion limit.
    """
    stack = [msg]
    while stack:
        part = stack.pop()
        yield part
        stack.extend(reversed(children(part)))


def unsurrogate(value: str) -> str:
    """Raw 8-bit header bytes arrive as surrogate escapes: read them as UTF-8."""
    return value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def header(msg: Message, name: str) -> str | None:
    """The first ``name`` field, decoded (RFC 2047, raw UTF-8), unfolded; None if absent."""
    raw = raw_headers(msg, name)
    if not raw:
        return None
    try:
        return unsurrogate(str(policy.default.header_factory(name, raw[0])))
    except HEADER_ERRORS:
        return unsurrogate(raw[0])


def raw_headers(msg: Message, name: str) -> list[str]:
    """Every ``name`` field (lower-case ``name``) as received, unfolded and not decoded."""
    return [
        re.sub(r"[\r\n]", "", str(value)) for key, value in msg.raw_items() if key.lower() == name
    ]


def clean_line(value: str) -> str:
    """One display line: controls and line/paragraph separators become spaces."""
    kept = "".join(" " if unicodedata.category(ch) in ("Cc", "Zl", "Zp") else ch for ch in value)
    return " ".join(kept.split())
