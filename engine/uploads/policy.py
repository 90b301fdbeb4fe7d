"""What an upload may be: the kinds we accept, the limits, and the words we refuse with.

Every other module of this package judges content against these tables; none of them
holds a rule of its own about which kinds exist or what a person is told to do instead.
"""

from __future__ import annotations

from dataclasses import dataclass

MB = 1024 * 1024
MAX_DEPTH = 1  # embedded documents and email attachments: one level, no further


@dataclass(frozen=True, kw_only=True)
class UploadLimits:
    max_file_bytes: int = 25 * MB
    max_files: int = 10
    max_total_bytes: int = 100 * MB
    max_unpacked_bytes: int = 200 * MB  # for Office zip containers
    max_ratio: int = 100  # unpacked / packed size of one part before we call it a bomb
    max_entries: int = 2000


@dataclass(frozen=True)
class Kind:
    label: str  # "a PDF": what the person is told the file should have been
    content_type: str
    extensions: tuple[str, ...]  # first one is given to names without an extension


KINDS: dict[str, Kind] = {
    "pdf": Kind("a PDF", "application/pdf", ("pdf",)),
    "docx": Kind(
        "a Word document",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        ("docx",),
    ),
    "xlsx": Kind(
        "an Excel workbook",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ("xlsx",),
    ),
    "pptx": Kind(
        "a PowerPoint presentation",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        ("pptx",),
    ),
    "odt": Kind("an OpenDocument text", "application/vnd.oasis.opendocument.text", ("odt",)),
    "ods": Kind(
        "an OpenDocument spreadsheet", "application/vnd.oasis.opendocument.spreadsheet", ("ods",)
    ),
    "odp": Kind(
        "an OpenDocument presentation", "application/vnd.oasis.opendocument.presentation", ("odp",)
    ),
    "doc": Kind("a Word 97-2003 document", "application/msword", ("doc",)),
    "xls": Kind("an Excel 97-2003 workbook", "application/vnd.ms-excel", ("xls",)),
    "ppt": Kind("a PowerPoint 97-2003 presentation", "application/vnd.ms-powerpoint", ("ppt",)),
    "msg": Kind("an Outlook message", "application/vnd.ms-outlook", ("msg",)),
    "png": Kind("a PNG image", "image/png", ("png",)),
    "jpeg": Kind("a JPEG image", "image/jpeg", ("jpg", "jpeg", "jpe", "jfif")),
    "gif": Kind("a GIF image", "image/gif", ("gif",)),
    "webp": Kind("a WebP image", "image/webp", ("webp",)),
    "tiff": Kind("a TIFF image", "image/tiff", ("tif", "tiff")),
    "text": Kind("plain text", "text/plain", ("txt", "text")),
    "csv": Kind("a CSV file", "text/csv", ("csv",)),
    "email": Kind("an email message", "message/rfc822", ("eml",)),
}
BY_EXTENSION = {ext: kind for kind, k in KINDS.items() for ext in k.extensions}

SAVE_AS_PDF = "Save it as PDF and upload that."
UNPACK = "Unpack it and upload the documents inside it one by one."
NO_PROGRAMS = "Programs and scripts are never accepted; upload the document itself."
RESAVE = "Save it again (or save it as PDF) and upload the new copy."
PASSWORD = "Remove the password (in Office: File > Info > Protect) and upload it again."

# Magic numbers, kept by hand rather than taken from filetype: its matchers are looser or
# narrower where it matters here (any "GIF", WebP without "RIFF", "MZ" alone is a program,
# no BigTIFF, gzip only when deflated), and these tables decide what is accepted.
IMAGES = (
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"\xff\xd8\xff", "jpeg"),
    (b"GIF87a", "gif"),
    (b"GIF89a", "gif"),
    (b"II*\x00", "tiff"),
    (b"MM\x00*", "tiff"),
    (b"II+\x00", "tiff"),
    (b"MM\x00+", "tiff"),
)
ARCHIVES = (
    (b"PK\x03\x04", "a zip archive"),
    (b"PK\x05\x06", "an empty zip archive"),
    (b"Rar!\x1a\x07", "a RAR archive"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"BZh", "a bzip2 archive"),
    (b"\xfd7zXZ\x00", "an xz archive"),
    (b"\x28\xb5\x2f\xfd", "a zstd archive"),
    (b"MSCF", "a cabinet (.cab) archive"),
)
PROGRAMS = (
    (b"\x7fELF", "a Linux program"),
    (b"\xfe\xed\xfa\xce", "a macOS program"),
    (b"\xfe\xed\xfa\xcf", "a macOS program"),
    (b"\xce\xfa\xed\xfe", "a macOS program"),
    (b"\xcf\xfa\xed\xfe", "a macOS program"),
    (b"\xca\xfe\xba\xbe", "a macOS or Java program"),
    (b"\x00asm", "a WebAssembly program"),
)
ARCHIVE_SUFFIXES = (".zip", ".rar", ".7z", ".gz", ".tgz", ".tar", ".bz2", ".xz", ".cab", ".jar")
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def is_windows_program(head: bytes) -> bool:
    """``MZ`` followed by a NUL early on: a DOS/PE header, not text that starts with "MZ"."""
    return head.startswith(b"MZ") and b"\x00" in head[:64]


class BadContent(Exception):
    """Content of an acceptable kind that is unacceptable anyway (macros, bombs, damage).

    Never leaves this package: :func:`engine.uploads.check_file` raises it again as
    :class:`engine.errors.UploadRefused` with the file's name; ``reason`` completes the
    sentence that starts with that name.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Content:
    """What a file's bytes turned out to be."""

    kinds: tuple[str, ...]  # kinds it may be accepted as, the default first; () = never
    what: str  # "a PNG image": what we found, said to the person
    fix: str = ""  # what to do instead, when ``kinds`` is empty
    charset: str = ""  # text only

    @classmethod
    def of(cls, kind: str) -> Content:
        """Content accepted as exactly one kind, described by that kind's label."""
        return cls((kind,), KINDS[kind].label)


def megabytes(count: int) -> str:
    """A byte count as people read it: ``25 MB``, ``1.5 MB``."""
    mb = count / MB
    return f"{mb:.0f} MB" if mb == int(mb) else f"{mb:.1f} MB"
