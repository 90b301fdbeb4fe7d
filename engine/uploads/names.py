"""File names: hostile names refused, the rest cleaned into a name that is only ever shown.

A name is never used as a path: evidence is stored by content hash. It is still checked,
because a person downloading the file later sees it, and a name can lie about a file
(``invoice`` + U+202E + ``fdp.exe`` shows as ``invoiceexe.pdf``).

Every check is made on the name as Windows and people will see it: format characters
(zero-width space, soft hyphen: Unicode category Cf) removed, NFKC-normalised (fullwidth
``ＣＯＮ`` is ``CON``, ``COM¹`` is ``COM1``) and trailing dots and spaces dropped, as
Windows drops them. So ``C\u200bON.txt`` is refused as ``CON.txt`` is.
"""

from __future__ import annotations

import re
import unicodedata

from engine.errors import UploadRefused

MAX_NAME = 200
_BIDI = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_RESERVED = frozenset(
    ["CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"]
    + [f"{port}{n}" for port in ("COM", "LPT") for n in "0123456789¹²³"]
)


def normalise(name: str) -> str:
    """The name as it will be seen: no format characters, NFKC, no trailing dots or spaces."""
    kept = "".join(ch for ch in name if unicodedata.category(ch) != "Cf")
    return unicodedata.normalize("NFKC", kept).rstrip(" .")


def clean_filename(name: str) -> str:
    """A display-only version of an uploaded file's name: no paths, controls or bidi marks."""
    name = normalise(name).replace("\\", "/").rsplit("/", 1)[-1]
    kept = "".join(ch for ch in name if unicodedata.category(ch)[0] not in ("C", "Z") or ch == " ")
    kept = kept.strip(" .") or "unnamed"
    return kept[:MAX_NAME]


def check_name(name: str) -> str:
    """The cleaned display name of an upload.

    Bidirectional and control characters are refused as given; every other check is made
    on the :func:`normalise`-d name.

    Raises:
        UploadRefused: the name is empty, too long, has a folder path, control or
            bidirectional-override characters, a colon (Windows' alternate data streams),
            or is a Windows device name with or without an extension.
    """
    rename = "Rename it and upload it again."
    if any(ch in _BIDI for ch in name):
        raise UploadRefused(
            name,
            "has a hidden right-to-left character in its name, which can disguise its real "
            f"type. {rename}",
        )
    if any(unicodedata.category(ch) in ("Cc", "Zl", "Zp") for ch in name):
        raise UploadRefused(name, f"has control characters in its name. {rename}")
    seen = normalise(name)
    if not seen.strip(" ."):
        raise UploadRefused(name, f"has no name. {rename}")
    if len(seen) > MAX_NAME:
        raise UploadRefused(
            name,
            f"has a name longer than {MAX_NAME} characters. Shorten it and upload it again.",
        )
    if any(unicodedata.category(ch) in ("Cc", "Zl", "Zp") for ch in seen):
        raise UploadRefused(name, f"has control characters in its name. {rename}")
    if "/" in seen or "\\" in seen or re.match(r"[A-Za-z]:", seen):
        raise UploadRefused(
            name, "has a folder path in its name. Upload the file itself, named without folders."
        )
    if ":" in seen:
        raise UploadRefused(
            name,
            f"has a colon (:) in its name, which Windows uses to hide data in a file. {rename}",
        )
    stem = seen.split(".", 1)[0].strip(" ").upper()
    if stem in _RESERVED:
        raise UploadRefused(name, f"has a name Windows reserves for devices ({stem}). {rename}")
    return clean_filename(seen)


def extension(name: str) -> str | None:
    """The lower-cased extension, or None when the name has none (``v1.2 final`` has none)."""
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem or not re.fullmatch(r"[A-Za-z0-9]{1,10}", ext) or ext.isdigit():
        return None
    return ext.lower()
