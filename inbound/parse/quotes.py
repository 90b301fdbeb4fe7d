"""What the person newly wrote: quoted history, attributions and signature stripped.

``new_text`` works on plain text; ``html_to_text`` (``inbound.parse.html``) leaves the
``CUT`` and ``RULE`` markers where an HTML body shows the start of history, and this
module decides what they mean.

Rules: the text is cut at the first of ``-----Original Message-----``; an Outlook header
block (``From:`` followed within a few lines by ``Sent:``/``Date:`` and
``To:``/``Subject:``, also after a line of underscores or a ``RULE``); an ``On <date> …
wrote:`` attribution (Gmail, Apple Mail; possibly wrapped over two lines) that is *not*
followed by ``>`` quotes; a ``-- `` signature delimiter; and a ``CUT``. Lines quoted with
``>`` are dropped wherever they are (so inline answers between quotes survive), as is an
attribution line introducing them. A trailing "Sent from my iPhone"/"Get Outlook for …"
line is dropped. Lines keep their words, lose trailing whitespace; runs of blank lines
become one; leading and trailing blank lines go.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

# Private-use characters that no decoded body keeps (``body`` strips them first):
CUT = "\ue000"  # everything from here on is history
RULE = "\ue001"  # a divider: history if the next line starts a From: header block

_ORIGINAL_RE = re.compile(
    r"^\s*-{2,}\s*(original message|ursprüngliche nachricht|message d'origine|"
    r"oorspronkelijk bericht|mensaje original)\s*-{2,}\s*$",
    re.IGNORECASE,
)
_UNDERSCORES_RE = re.compile(r"^\s*_{10,}\s*$")
_HEAD_FROM_RE = re.compile(r"^\s*\*?(from|von|de|van|da)\s*:\*?\s*\S", re.IGNORECASE)
_HEAD_SENT_RE = re.compile(
    r"^\s*\*?(sent|date|gesendet|datum|envoyé|verzonden|inviato)\s*:", re.IGNORECASE
)
_HEAD_TO_RE = re.compile(
    r"^\s*\*?(to|subject|an|betreff|à|objet|aan|onderwerp|a|oggetto)\s*:", re.IGNORECASE
)
_WROTE_RE = re.compile(
    r"^\s*(on|le|am|el|op|il)\s.{0,300}(wrote|a écrit|schrieb|escribió|schreef|ha scritto)"
    r"\s*:\s*$",
    re.IGNORECASE,
)
_DATEISH_RE = re.compile(r"\b(19|20)\d\d\b|\b\d{1,2}[:.]\d\d\b")
_SIGNATURE = frozenset({"-- ", "--"})
_MOBILE_RE = re.compile(
    r"^\s*(sent from my \w[\w ]*|get outlook for (ios|android)|sent from outlook for "
    r"(ios|android)|sent from (mail|yahoo mail) for \w+)\s*$",
    re.IGNORECASE,
)


def _quoted(line: str) -> bool:
    return line.lstrip(" ").startswith(">")


def _attribution(lines: list[str], i: int) -> int:
    """How many lines (1 or 2) at ``i`` form an "On <date> … wrote:" line; 0 if none."""
    line = lines[i].strip()
    if _WROTE_RE.match(line) and _DATEISH_RE.search(line):
        return 1
    if i + 1 < len(lines) and not _quoted(lines[i + 1]):
        joined = f"{line} {lines[i + 1].strip()}"
        if _WROTE_RE.match(joined) and _DATEISH_RE.search(joined):
            return 2
    return 0


def _header_block(lines: list[str], i: int) -> bool:
    """An Outlook-style From:/Sent:/To: block of quoted history starts at line ``i``."""
    if not _HEAD_FROM_RE.match(lines[i]):
        return False
    window = lines[i + 1 : i + 9]
    return any(_HEAD_SENT_RE.match(x) for x in window) and any(_HEAD_TO_RE.match(x) for x in window)


def _next_nonblank(lines: list[str], i: int) -> int | None:
    for j in range(i, len(lines)):
        if lines[j].strip():
            return j
    return None


def _cut_point(lines: list[str], i: int) -> bool:
    line = lines[i]
    if line.strip() == CUT or _ORIGINAL_RE.match(line) or line in _SIGNATURE:
        return True
    if line.strip() == RULE or _UNDERSCORES_RE.match(line):
        j = _next_nonblank(lines, i + 1)
        return j is not None and bool(_HEAD_FROM_RE.match(lines[j]))
    return _header_block(lines, i)


# email-reply-parser (PyPI) reads one language a call and takes any line starting "--",
# "__" or "-x" for a signature; it knows nothing of the HTML markers: these rules stay ours
def new_text(text: str) -> str:
    """What the person newly wrote: quoted history, attributions and signature removed."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    kept: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if _quoted(line):
            i += 1
            continue
        if _cut_point(lines, i):
            break
        size = _attribution(lines, i)
        if size:
            j = _next_nonblank(lines, i + size)
            if j is None or not _quoted(lines[j]):
                break  # unquoted history follows: all of it goes
            i += size
            continue
        if line.strip() != RULE:
            kept.append(line)
        i += 1
    while kept and not kept[-1].strip():
        kept.pop()
    if kept and _MOBILE_RE.match(kept[-1]):
        kept.pop()
    return tidy(kept)


def tidy(lines: Iterable[str]) -> str:
    """Trailing whitespace off every line, runs of blank lines to one, ends trimmed."""
    out: list[str] = []
    for line in lines:
        line = line.rstrip()
        if not line and (not out or not out[-1]):
            continue
        out.append(line)
    while out and not out[-1]:
        out.pop()
    return "\n".join(out)
