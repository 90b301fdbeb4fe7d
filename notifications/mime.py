"""The bytes of an email: header lines, quoted-printable bodies, ``multipart/alternative``.

Written directly rather than with ``email.mime``: a ``multipart/alternative`` with a text
and an HTML part, both UTF-8 and quoted-printable (so the bodies stay readable in mail
catchers and logs), CRLF line endings, and a boundary derived from the Message-ID that
cannot occur in quoted-printable text. Header values are refused if they hold a line
break; non-ASCII values become RFC 2047 encoded words and long ones are folded. Parsed with
the stdlib ``email`` package the result gives the same headers and parts as the
``MIMEMultipart`` it replaces (``tests/notifications/test_compose.py``).
"""

from __future__ import annotations

import binascii
import re
from collections.abc import Iterable
from email.headerregistry import Address

# what Templates.render refuses in header values, and NUL
_HEADER_BREAK = re.compile("[\x00\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")
_LINE = 78  # RFC 5322's recommended line length, as the stdlib folds
_WORD = 63  # the encoded text of one RFC 2047 word: =?utf-8?q?...?= stays within 75
_Q_SAFE = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!*+-/")
_Q = tuple(
    chr(b) if b in _Q_SAFE else "_" if b == 0x20 else f"={b:02X}" for b in range(256)
)  # RFC 2047 "Q" encoding of one byte, safe in any header


def _encoded_words(value: str, first: int) -> list[str]:
    """``value`` as RFC 2047 Q-encoded UTF-8 words, never splitting a character."""
    encoded = "".join(map(_Q.__getitem__, value.encode()))
    words: list[str] = []
    start, budget = 0, max(first, 12)
    while len(encoded) - start > budget:
        cut = start + budget
        escape = encoded.rfind("=", cut - 2, cut)  # "=" only starts an escape here
        if escape != -1:
            cut = escape
        while encoded.startswith("=", cut) and encoded[cut + 1] in "89AB" and cut > start:
            cut -= 3  # a UTF-8 continuation byte: keep the character whole
        words.append(f"=?utf-8?q?{encoded[start:cut]}?=")
        start, budget = cut, _WORD
    words.append(f"=?utf-8?q?{encoded[start:]}?=")
    return words


def _fold(name: str, value: str) -> str | None:
    """A long ASCII header folded at its spaces, or None when it cannot be (double spaces,
    or a word too long for an SMTP line)."""
    words = value.split(" ")
    if "" in words:
        return None
    lines = [f"{name}: {words[0]}"]
    for word in words[1:]:
        if len(lines[-1]) + 1 + len(word) > _LINE:
            lines.append(" " + word)
        else:
            lines[-1] += " " + word
    if any(len(line) > 998 for line in lines):
        return None
    return "\r\n".join(lines) + "\r\n"


def header(name: str, value: str) -> str:
    """One header line (folded, ending CRLF); non-ASCII values as RFC 2047 encoded words.

    Raises:
        ValueError: the value contains a line break (a header injection).
    """
    if _HEADER_BREAK.search(value):
        raise ValueError(f"the {name} header would contain a line break: {value!r}")
    if value.isascii() and value.isprintable() and "=?" not in value:
        if len(name) + 2 + len(value) <= _LINE:
            return f"{name}: {value}\r\n"
        folded = _fold(name, value)
        if folded is not None:
            return folded
    words = _encoded_words(value, _LINE - len(name) - 2 - 12)
    return f"{name}: " + "\r\n ".join(words) + "\r\n"


def address_header(name: str, display_name: str, address: str) -> str:
    """An address header (``From``) with a display name, encoded as ``header`` encodes.

    Raises:
        ValueError: the display name contains a line break (or, as the stdlib's parser may
            also raise ``email.errors.HeaderParseError``, ``address`` is not an address).
    """
    if display_name.isascii() and display_name.isprintable():
        return header(name, str(Address(display_name, addr_spec=address)))
    if _HEADER_BREAK.search(display_name):
        raise ValueError(f"the {name} name would contain a line break: {display_name!r}")
    str(Address(addr_spec=address))  # refuses an address that is not one
    words = _encoded_words(display_name, _LINE - len(name) - 2 - 12)
    return f"{name}: " + "\r\n ".join(words) + f" <{address}>\r\n"


def quoted_printable(text: str) -> bytes:
    """``text`` as UTF-8 quoted-printable (RFC 2045) lines of at most 76 characters, CRLF.

    Only what must be is escaped: "=", bytes outside printable ASCII (tab aside), a space or
    tab at the end of a line, and a line that is a lone "."; longer lines get soft breaks.
    Any line ending (CRLF, CR, LF) becomes CRLF, as the stdlib's encoder does.
    """
    # binascii.b2a_qp (C) replaced a hand-written encoder (regexes, a codec error handler):
    # bench/quoted_printable.py gives a median ratio b2a_qp / hand-written of 0.86-1.07 on
    # the shipped templates' ASCII bodies (within noise) and 0.18-0.23 with non-ASCII text.
    # Fed LF only, it ends every line, soft breaks included, with LF: one replace gives CRLF.
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return binascii.b2a_qp(text.encode(), istext=True).replace(b"\n", b"\r\n")


def boundary_of(message_id: str) -> str:
    """The part boundary of the message ``message_id`` names: stable, and never in its parts.

    "=_" never occurs in quoted-printable text ("=" starts "=XX" or a soft break).
    """
    return "=_" + message_id[1:33]


_PART_TEXT = (
    b'Content-Type: text/plain; charset="utf-8"\r\n'
    b"Content-Transfer-Encoding: quoted-printable\r\n\r\n"
)
_PART_HTML = (
    b'Content-Type: text/html; charset="utf-8"\r\n'
    b"Content-Transfer-Encoding: quoted-printable\r\n\r\n"
)


def alternative(headers: Iterable[str], text: bytes, html: bytes, boundary: str) -> bytes:
    """A ``multipart/alternative`` message: ``headers`` (lines from ``header``), then the
    text and HTML parts (from ``quoted_printable``) between ``boundary`` delimiters."""
    head = "".join(
        (
            f'Content-Type: multipart/alternative;\r\n boundary="{boundary}"\r\n',
            "MIME-Version: 1.0\r\n",
            *headers,
            f"\r\n--{boundary}\r\n",
        )
    ).encode("ascii")
    delimiter = f"\r\n--{boundary}".encode("ascii")
    return b"".join(
        (head, _PART_TEXT, text, delimiter, b"\r\n", _PART_HTML, html, delimiter, b"--\r\n")
    )
