"""File names: hostile names refused, the rest cleaned into a name that is only ever shown.

A name is never used as a path: evidence is stored by content hash. It is still checked,
because a person downloading the file later sees it, and a name can lie about a file
(``invoice`` + U+202E + ``fdp.exe`` shows as ``invoiceexe.pdf``).
"""

from __future__ import annotations

import re
import unicodedata

from engine.errors import UploadRefused

MAX_NAME = 200
_BIDI = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_RESERVED = frozenset(
    ["CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"]
    + [f"{port}{n}" for port in ("COM", "LPT") for n in "123456789¹²³"]
)


def clean_filename(name: str) -> str:
    """A display-only version of an uploaded file's name: no paths, controls or bidi marks."""
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    kept = "".join(ch for ch in name if unicodedata.category(ch)[0] not in ("C", "Z") or ch == " ")
    kept = kept.strip(" .") or "unnamed"
    return kept[:MAX_NAME]


def check_name(name: str) -> str:
    """The cleaned display name of an upload.

    Raises:
        UploadRefused: the name is empty, too long, has a folder path, control or
            bidirectional-override characters, or is a Windows device name.
    """
    rename = "Rename it and upload it again."
    if not name.strip(" ."):
        raise UploadRefused(name, f"has no name. {rename}")
    if len(name) > MAX_NAME:
        raise UploadRefused(
            name,
            f"has a name longer than {MAX_NAME} characters. Shorten it and upload it again.",
        )
    if any(ch in _BIDI for ch in name):
        raise UploadRefused(
            name,
            "has a hidden right-to-left character in its name, which can disguise its real "
            f"type. {rename}",
        )
    if any(unicodedata.category(ch) in ("Cc", "Zl", "Zp") for ch in name):
        raise UploadRefused(name, f"has control characters in its name. {rename}")
    if "/" in name or "\\" in name or re.match(r"[A-Za-z]:", name):
        raise UploadRefused(
            name, "has a folder path in its name. Upload the file itself, named without folders."
        )
    stem = name.split(".", 1)[0].strip().upper()
    if stem in _RESERVED:
        raise UploadRefused(name, f"has a name Windows reserves for devices ({stem}). {rename}")
    return clean_filename(name)


def extension(name: str) -> str | None:
    """The lower-cased extension, or None when the name has none (``v1.2 final`` has none)."""
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem or not re.fullmatch(r"[A-Za-z0-9]{1,10}", ext) or ext.isdigit():
        return None
    return ext.lower()
