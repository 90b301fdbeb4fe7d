"""The body of a message: which parts it is, and their text decoded.

Rules: text/plain is preferred; in multipart/alternative the plain part wins, and an
HTML-only message is converted to text (``inbound.parse.html``; only the first 1,000,000
characters of HTML are converted). Several inline text parts of a multipart/mixed are
joined; only the first 1,000,000 characters of body text are read (a longer one is not
something a person wrote as a reply, and reading it is what costs). The first part of a
multipart/related, signed or report is the body; an encrypted part and an attached
message are never. ``format=flowed`` plain text is unwrapped. Unknown charsets are read
as UTF-8 and undeclared 8-bit text as UTF-8, else Windows-1252, with replacement
characters.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterator
from email.message import Message

from inbound.parse.attachments import is_attachment_like
from inbound.parse.html import html_to_text
from inbound.parse.mime import HEADER_ERRORS, children
from inbound.parse.quotes import CUT, RULE

_MAX_HTML = 1_000_000  # characters of HTML converted; html.parser is slow on hostile markup
_MAX_TEXT = 1_000_000  # characters of body text read (quote stripping works line by line)


def body(msg: Message) -> tuple[list[Message], str]:
    """The parts chosen as the body, and their text (HTML already converted)."""
    parts = list(_body_parts(msg))
    texts: list[str] = []
    left = _MAX_TEXT
    for p in parts:
        if left <= 0:
            break
        text = _part_text(p)[:left]
        if text.strip():
            texts.append(text)
            left -= len(text) + 1
    return parts, "\n".join(texts)


# EmailMessage.get_body() returns one part (it cannot join the text parts of a
# multipart/mixed) and would take a named text file without a Content-Disposition for it
def _body_parts(part: Message) -> Iterator[Message]:
    ctype = part.get_content_type()
    if not part.is_multipart():
        if ctype in ("text/plain", "text/html") and not is_attachment_like(part):
            yield part
        elif part.get_content_maintype() == "multipart" and not is_attachment_like(part):
            yield part  # declared multipart without a boundary: read it as text
        return
    if ctype == "message/rfc822":
        return
    subparts = children(part)
    if not subparts:
        return
    subtype = part.get_content_subtype()
    if subtype == "alternative":
        yield from _best_alternative(subparts)
    elif subtype in ("related", "signed", "report"):
        yield from _body_parts(subparts[0])
    elif subtype == "encrypted":
        return
    else:
        for child in subparts:
            yield from _body_parts(child)


def _best_alternative(options: list[Message]) -> Iterator[Message]:
    for wanted in ("text/plain", "text/html"):
        for child in options:
            chosen = list(_body_parts(child))
            if chosen and all(p.get_content_type() == wanted for p in chosen):
                yield from chosen
                return
    for child in options:
        chosen = list(_body_parts(child))
        if chosen:
            yield from chosen
            return


# EmailMessage.get_content() raises LookupError on an unknown charset and reads an
# undeclared one as ASCII, where this falls back to UTF-8, then Windows-1252
def decode(part: Message) -> str:
    """The text of a leaf part: its transfer encoding undone, its charset decoded."""
    payload = part.get_payload(decode=True)
    data = payload if isinstance(payload, bytes) else b""
    try:
        charset = part.get_content_charset()
    except HEADER_ERRORS:
        charset = None
    if charset:
        try:
            codec = codecs.lookup(charset).name
        except LookupError:
            codec = "utf-8"
        if codec != "ascii" or data.isascii():
            try:
                return data.decode(codec, "replace")
            except (LookupError, ValueError):
                return data.decode("utf-8", "replace")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", "replace")


def _part_text(part: Message) -> str:
    text = decode(part)
    if part.get_content_type() == "text/html":
        text = text[:_MAX_HTML]
    else:
        text = text[:_MAX_TEXT]
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace(CUT, "").replace(RULE, "")
    if part.get_content_type() == "text/html":
        return html_to_text(text)
    if part.get_param("format", "", "content-type") == "flowed":
        delsp = str(part.get_param("delsp", "", "content-type")).lower() == "yes"
        return _unflow(text, delsp=delsp)
    return text


# the one RFC 3676 package on PyPI (formatflowed) has had no release since 2016
def _unflow(text: str, *, delsp: bool) -> str:
    """RFC 3676: join soft-broken lines (ending in a space) of the same quote depth."""
    out: list[tuple[int, list[str]]] = []
    joining = False
    for line in text.split("\n"):
        depth = len(line) - len(line.lstrip(">"))
        content = line[depth:]
        if content.startswith(" "):
            content = content[1:]  # space-stuffing
        soft = content.endswith(" ") and content != "-- "
        if soft and delsp:
            content = content[:-1]
        if joining and out and out[-1][0] == depth:
            out[-1][1].append(content)
        else:
            out.append((depth, [content]))
        joining = soft
    return "\n".join((">" * d + " " + "".join(c)) if d else "".join(c) for d, c in out)
