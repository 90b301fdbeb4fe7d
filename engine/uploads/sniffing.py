"""Content sniffing: what kind of file some bytes are, whatever their name says.

Binary kinds are known by their magic numbers (:mod:`engine.uploads.policy`), Office
containers are opened in memory (:mod:`engine.uploads.office`, :mod:`engine.uploads.archives`),
and everything else must be text: UTF-8 (optional BOM, no NUL bytes) or UTF-16 with a BOM,
mostly printable. Text that is HTML, SVG, other XML, RTF or a script is refused whatever
its name; text that starts with RFC 5322 header lines is an email message.
"""

from __future__ import annotations

import codecs
import re
import unicodedata

import filetype

from engine.uploads import policy
from engine.uploads.archives import zip_content
from engine.uploads.images import check_image
from engine.uploads.office import ole_content
from engine.uploads.pdf import check_pdf

_MAX_CONTROL_SHARE = 0.01  # "mostly printable": at most 1 character in 100 a control
_HEADER = re.compile(r"[!-9;-~]+:")
_EMAIL_FIELDS = frozenset(
    ["from", "date", "subject", "received", "mime-version", "message-id", "return-path", "to"]
)
_HTML_STARTS = (
    "<!doctype html", "<html", "<head", "<script", "<iframe", "<h1", "<div", "<font",
    "<table", "<a", "<style", "<title", "<b", "<body", "<br", "<p", "<!--",
)  # fmt: skip
_HTML_ANYWHERE = ("<!doctype html", "<html", "<script", "<iframe")


def sniff(data: bytes, limits: policy.UploadLimits, depth: int) -> policy.Content:
    """What the bytes are: the kinds they may be accepted as, or what they are and the fix.

    Raises:
        policy.BadContent: an acceptable kind with a problem inside (macros, bombs, damage).
    """
    if data.startswith(b"%PDF-"):
        if b"%%EOF" not in data[-1024:]:
            raise policy.BadContent(
                "is an incomplete PDF (it has no end marker), perhaps cut short while "
                f"uploading. {policy.RESAVE}"
            )
        check_pdf(data)
        return policy.Content.of("pdf")
    for magic, kind in policy.IMAGES:
        if data.startswith(magic):
            check_image(kind, data)
            return policy.Content.of(kind)
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        check_image("webp", data)
        return policy.Content.of("webp")
    if data.startswith(policy.OLE_MAGIC):
        return ole_content(data)
    if data.startswith(b"PK\x03\x04"):
        return zip_content(data, limits, depth)
    for magic, what in policy.ARCHIVES:
        if data.startswith(magic):
            return policy.Content((), what, policy.UNPACK)
    if len(data) > 262 and data[257:262] == b"ustar":
        return policy.Content((), "a tar archive", policy.UNPACK)
    if policy.is_windows_program(data):
        return policy.Content((), "a Windows program", policy.NO_PROGRAMS)
    for magic, what in policy.PROGRAMS:
        if data.startswith(magic):
            return policy.Content((), what, policy.NO_PROGRAMS)
    return _text(data)


def _is_email(text: str) -> bool:
    """Starts with RFC 5322 header lines, at least one of them a field every email has."""
    names: set[str] = set()
    for number, line in enumerate(text.splitlines()):
        if not line or number > 500:
            break
        if line[0] in " \t" and names:
            continue
        if not _HEADER.match(line):
            return False
        names.add(line.split(":", 1)[0].lower())
    return bool(names & _EMAIL_FIELDS)


def _text(data: bytes) -> policy.Content:
    """Plain text, CSV or an email message; anything else is named as best we can."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return _text_content(data.decode("utf-16"), "utf-16")
        except UnicodeDecodeError:
            return policy.Content(
                (), "damaged UTF-16 text", "Save it as UTF-8 text and upload that."
            )
    if b"\x00" not in data:
        try:
            return _text_content(data.decode("utf-8-sig"), "utf-8")
        except UnicodeDecodeError:
            pass
    guessed = filetype.guess(data)
    if guessed is not None:
        return policy.Content((), f"a file of type .{guessed.extension}", policy.SAVE_AS_PDF)
    if b"\x00" not in data and _printable(data.decode("cp1252", errors="replace")):
        return policy.Content(
            (),
            "text in an older encoding, not UTF-8",
            "Save it as UTF-8 (in Excel: 'CSV UTF-8') and upload that.",
        )
    return policy.Content((), "binary data we do not recognise", policy.SAVE_AS_PDF)


def _text_content(text: str, charset: str) -> policy.Content:
    if not text.strip():
        raise policy.BadContent(
            "has no text in it. Check you chose the right file and upload it again."
        )
    if not _printable(text):
        return policy.Content((), "binary data we do not recognise", policy.SAVE_AS_PDF)
    head = text[:1024].lstrip().lower()
    if head.startswith("#!"):
        return policy.Content((), "a script (it starts with #!)", policy.NO_PROGRAMS)
    if head.startswith("<?php"):
        return policy.Content((), "a PHP script", policy.NO_PROGRAMS)
    if _is_email(text):
        return policy.Content(
            ("email", "text", "csv"), policy.KINDS["email"].label, charset=charset
        )
    if head.startswith("{\\rtf"):
        return policy.Content(
            (), "a Rich Text (RTF) document", "Save it as .docx or PDF and upload that."
        )
    if any(re.match(re.escape(tag) + r"[\s>]", head) for tag in _HTML_STARTS):
        return policy.Content((), "an HTML page", policy.SAVE_AS_PDF)
    if "<svg" in head:
        return policy.Content((), "an SVG image", "Export it as PNG or PDF and upload that.")
    if any(tag in head for tag in _HTML_ANYWHERE):
        return policy.Content((), "an HTML page", policy.SAVE_AS_PDF)
    if head.startswith(("<?xml", "<!doctype")) or re.match(r"<[a-z_][\w.:-]*[\s>/]", head):
        return policy.Content((), "an XML file", "Save it as PDF or as plain text and upload that.")
    return policy.Content(("text", "csv"), policy.KINDS["text"].label, charset=charset)


def _printable(text: str) -> bool:
    controls = sum(
        1 for ch in text if ch not in "\t\n\r\f" and unicodedata.category(ch) in ("Cc", "Cs")
    )
    return controls <= len(text) * _MAX_CONTROL_SHARE
