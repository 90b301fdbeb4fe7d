"""What can ride inside a binary file unseen: a web page or a script a browser would run.

A PDF or an image that also holds ``<html>`` or ``<script>`` is a polyglot: shown by a
browser that guesses types from content (or saved and renamed) it runs as a page. Such
markup never occurs by chance in the binary kinds we accept: compressed data would have
to spell one of these tags, case and all allowed, and legitimate metadata (XMP) is XML
without them. So the bytes are searched as they are, anywhere. Each tag has four letters
or more (``<svg`` and ``<%`` are left out): by chance, random bytes spell one of them about
once in 10^5 files of 25 MB.
"""

from __future__ import annotations

import re

_MARKUP = re.compile(
    rb"<(?:!doctype\s+html|html|head|body|script|iframe|frameset|object|embed|applet"
    rb"|meta\s+http-equiv|\?php)[\s>/]",
    re.IGNORECASE,
)


def hidden_markup(data: bytes) -> str | None:
    """The first web-page or script tag found in ``data`` (as text), or None."""
    found = _MARKUP.search(data)
    if found is None:
        return None
    return found.group().decode("ascii", "replace").rstrip("\t\n\r\f />").lower() + ">"
