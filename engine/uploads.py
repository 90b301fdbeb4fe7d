"""Uploaded evidence files, checked by their content before anything is stored.

The reply page and inbound email both hand each file's name and bytes here first::

    accepted = check_files([(name, data), ...])   # all or nothing, in order
    one = check_file(name, data, UploadLimits(max_file_bytes=10 * 1024 * 1024))

Either returns :class:`Accepted` (cleaned ``filename``, ``kind``, the ``content_type`` to
serve it as, ``size``) or raises :class:`UploadRefused` (an ``EvidenceError``) whose
message names the file and says what the person can do about it. Nothing is written.

What is accepted, judged by content (magic numbers, containers opened in memory):

- PDF; images: PNG, JPEG, GIF, WebP, TIFF;
- Office: OOXML docx/xlsx/pptx and OpenDocument odt/ods/odp (zip containers), legacy
  OLE doc/xls/ppt and Outlook msg;
- plain text and CSV in UTF-8 (optional BOM; no NUL bytes) or UTF-16 with a BOM, mostly
  printable; email messages (.eml) that start with RFC 5322 header lines. Attachments
  inside an .eml are checked by the same rules.

What is refused: empty or oversized files; archives (zip that is not Office, rar, 7z, gz,
tar…); programs and scripts (PE, ELF, Mach-O, ``#!``, PHP); HTML, SVG, other XML and RTF
whatever their name; Office with macros (vbaProject.bin, .docm/.xlsm, ODF Basic);
password-protected Office (OLE ``EncryptedPackage``, encrypted ODF or zip entries); Office
zips that would unpack beyond ``max_unpacked_bytes``, with a part compressed more than
``max_ratio`` to one, with more than ``max_entries`` parts, overlapping parts, unsafe part
paths, or an archive or program inside (embedded Office documents are checked one level
deep). Zips are only read in memory: the central directory's sizes are checked first, then
every part is inflated in bounded chunks (nothing kept) to prove it is no bigger than declared
and intact, so a lying directory cannot smuggle a bomb past these limits.

The extension must agree with the content (``report.pdf`` holding a PNG is refused and
told to rename it ``.png``); a name without an extension is given the detected one. Names
with folder paths, control or bidirectional-override characters, Windows device names
(CON, NUL.txt…), no name at all or more than 200 characters are refused; accepted names
are cleaned with :func:`engine.evidence.clean_filename`.
"""

from __future__ import annotations

import codecs
import email
import email.policy
import io
import re
import struct
import unicodedata
import zipfile
import zlib
from collections.abc import Sequence
from dataclasses import dataclass

import filetype

from engine.errors import UploadRefused
from engine.evidence import clean_filename

_MAX_NAME = 200
_MAX_CONTROL_SHARE = 0.01  # "mostly printable": at most 1 character in 100 a control
_RATIO_FLOOR = 1 << 20  # parts smaller than 1 MiB unpacked are never called bombs
_MAX_DEPTH = 1  # embedded documents and email attachments: one level, no further
_MB = 1024 * 1024
_CHUNK = 1 << 16


@dataclass(frozen=True, kw_only=True)
class UploadLimits:
    max_file_bytes: int = 25 * _MB
    max_files: int = 10
    max_total_bytes: int = 100 * _MB
    max_unpacked_bytes: int = 200 * _MB  # for Office zip containers
    max_ratio: int = 100  # unpacked / packed size of one part before we call it a bomb
    max_entries: int = 2000


@dataclass(frozen=True, kw_only=True)
class Accepted:
    filename: str
    kind: str
    content_type: str
    size: int


@dataclass(frozen=True)
class _Kind:
    label: str  # "a PDF": what the person is told the file should have been
    content_type: str
    extensions: tuple[str, ...]  # first one is given to names without an extension


_KINDS: dict[str, _Kind] = {
    "pdf": _Kind("a PDF", "application/pdf", ("pdf",)),
    "docx": _Kind(
        "a Word document",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        ("docx",),
    ),
    "xlsx": _Kind(
        "an Excel workbook",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ("xlsx",),
    ),
    "pptx": _Kind(
        "a PowerPoint presentation",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        ("pptx",),
    ),
    "odt": _Kind("an OpenDocument text", "application/vnd.oasis.opendocument.text", ("odt",)),
    "ods": _Kind(
        "an OpenDocument spreadsheet", "application/vnd.oasis.opendocument.spreadsheet", ("ods",)
    ),
    "odp": _Kind(
        "an OpenDocument presentation", "application/vnd.oasis.opendocument.presentation", ("odp",)
    ),
    "doc": _Kind("a Word 97-2003 document", "application/msword", ("doc",)),
    "xls": _Kind("an Excel 97-2003 workbook", "application/vnd.ms-excel", ("xls",)),
    "ppt": _Kind("a PowerPoint 97-2003 presentation", "application/vnd.ms-powerpoint", ("ppt",)),
    "msg": _Kind("an Outlook message", "application/vnd.ms-outlook", ("msg",)),
    "png": _Kind("a PNG image", "image/png", ("png",)),
    "jpeg": _Kind("a JPEG image", "image/jpeg", ("jpg", "jpeg", "jpe", "jfif")),
    "gif": _Kind("a GIF image", "image/gif", ("gif",)),
    "webp": _Kind("a WebP image", "image/webp", ("webp",)),
    "tiff": _Kind("a TIFF image", "image/tiff", ("tif", "tiff")),
    "text": _Kind("plain text", "text/plain", ("txt", "text")),
    "csv": _Kind("a CSV file", "text/csv", ("csv",)),
    "email": _Kind("an email message", "message/rfc822", ("eml",)),
}
_BY_EXTENSION = {ext: kind for kind, k in _KINDS.items() for ext in k.extensions}

_SAVE_AS_PDF = "Save it as PDF and upload that."
_UNPACK = "Unpack it and upload the documents inside it one by one."
_NO_PROGRAMS = "Programs and scripts are never accepted; upload the document itself."
_RESAVE = "Save it again (or save it as PDF) and upload the new copy."
_PASSWORD = "Remove the password (in Office: File > Info > Protect) and upload it again."

_IMAGES = (
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"\xff\xd8\xff", "jpeg"),
    (b"GIF87a", "gif"),
    (b"GIF89a", "gif"),
    (b"II*\x00", "tiff"),
    (b"MM\x00*", "tiff"),
    (b"II+\x00", "tiff"),
    (b"MM\x00+", "tiff"),
)
_ARCHIVES = (
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
_PROGRAMS = (
    (b"\x7fELF", "a Linux program"),
    (b"\xfe\xed\xfa\xce", "a macOS program"),
    (b"\xfe\xed\xfa\xcf", "a macOS program"),
    (b"\xce\xfa\xed\xfe", "a macOS program"),
    (b"\xcf\xfa\xed\xfe", "a macOS program"),
    (b"\xca\xfe\xba\xbe", "a macOS or Java program"),
    (b"\x00asm", "a WebAssembly program"),
)
_ARCHIVE_SUFFIXES = (".zip", ".rar", ".7z", ".gz", ".tgz", ".tar", ".bz2", ".xz", ".cab", ".jar")
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_BIDI = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_RESERVED = frozenset(
    ["CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"]
    + [f"{port}{n}" for port in ("COM", "LPT") for n in "123456789¹²³"]
)
_HEADER = re.compile(r"[!-9;-~]+:")
_EMAIL_FIELDS = frozenset(
    ["from", "date", "subject", "received", "mime-version", "message-id", "return-path", "to"]
)
_HTML_STARTS = (
    "<!doctype html", "<html", "<head", "<script", "<iframe", "<h1", "<div", "<font",
    "<table", "<a", "<style", "<title", "<b", "<body", "<br", "<p", "<!--",
)  # fmt: skip
_HTML_ANYWHERE = ("<!doctype html", "<html", "<script", "<iframe")


class _Refusal(Exception):
    """Content of an acceptable kind that is unacceptable anyway (macros, bombs, damage)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class _Content:
    kinds: tuple[str, ...]  # kinds it may be accepted as, the default first; () = never
    what: str  # "a PNG image": what we found, said to the person
    fix: str = ""  # what to do instead, when ``kinds`` is empty
    charset: str = ""  # text only


def check_file(name: str, data: bytes, limits: UploadLimits = UploadLimits()) -> Accepted:
    """Check one uploaded file by name and content.

    Raises:
        UploadRefused: the file, its name or its content is not acceptable.
    """
    return _check(name, data, limits, depth=0)


def check_files(
    files: Sequence[tuple[str, bytes]], limits: UploadLimits = UploadLimits()
) -> list[Accepted]:
    """Check one upload of several files: all are accepted, or the first problem is raised.

    Raises:
        UploadRefused: too many files, too much in total, or one file is not acceptable.
    """
    if len(files) > limits.max_files:
        name = files[limits.max_files][0]
        raise UploadRefused(
            name,
            f"is file {limits.max_files + 1} of {len(files)}, but at most {limits.max_files} "
            "files can be uploaded at once. Upload the rest in another reply.",
        )
    total = 0
    for name, data in files:
        total += len(data)
        if total > limits.max_total_bytes:
            raise UploadRefused(
                name,
                f"takes this upload to {_size(total)} in all, over the "
                f"{_size(limits.max_total_bytes)} allowed at once. "
                "Upload it in another reply.",
            )
    return [check_file(name, data, limits) for name, data in files]


def _check(name: str, data: bytes, limits: UploadLimits, *, depth: int) -> Accepted:
    cleaned = _check_name(name)
    if not data:
        raise UploadRefused(name, "is empty. Check you chose the right file and upload it again.")
    if len(data) > limits.max_file_bytes:
        raise UploadRefused(
            name,
            f"is {_size(len(data))}, over the {_size(limits.max_file_bytes)} allowed for one "
            "file. Make it smaller (for example save it as a smaller PDF) or split it.",
        )
    try:
        content = _sniff(data, limits, depth)
    except _Refusal as exc:
        raise UploadRefused(name, exc.reason) from None
    extension = _extension(cleaned)
    kind = _agree(name, extension, content)
    if kind == "email":
        _check_attachments(name, data, limits, depth)
    content_type = _KINDS[kind].content_type
    if content.charset and kind in ("text", "csv"):
        content_type += f"; charset={content.charset}"
    if extension is None:
        cleaned = f"{cleaned}.{_KINDS[kind].extensions[0]}"
    return Accepted(filename=cleaned, kind=kind, content_type=content_type, size=len(data))


def _check_name(name: str) -> str:
    """The cleaned display name, or UploadRefused when the name itself is unsafe."""
    rename = "Rename it and upload it again."
    if not name.strip(" ."):
        raise UploadRefused(name, f"has no name. {rename}")
    if len(name) > _MAX_NAME:
        raise UploadRefused(
            name,
            f"has a name longer than {_MAX_NAME} characters. Shorten it and upload it again.",
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


def _extension(name: str) -> str | None:
    """The lower-cased extension, or None when the name has none (``v1.2 final`` has none)."""
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem or not re.fullmatch(r"[A-Za-z0-9]{1,10}", ext) or ext.isdigit():
        return None
    return ext.lower()


def _agree(name: str, extension: str | None, content: _Content) -> str:
    """The kind to accept ``content`` as under this extension; UploadRefused if they disagree."""
    expected = _BY_EXTENSION.get(extension or "")
    if not content.kinds:
        head = f"is not {_KINDS[expected].label}" if expected else "cannot be accepted"
        raise UploadRefused(name, f"{head}: its content is {content.what}. {content.fix}")
    if extension is None:
        return content.kinds[0]
    if expected in content.kinds:
        return expected
    head = (
        f"is not {_KINDS[expected].label}"
        if expected
        else f"has an extension (.{extension}) we do not accept"
    )
    rename = _KINDS[content.kinds[0]].extensions[0]
    raise UploadRefused(
        name, f"{head}: its content is {content.what}; rename it to .{rename} and upload it again."
    )


def _sniff(data: bytes, limits: UploadLimits, depth: int) -> _Content:
    """What the bytes are. Raises _Refusal for acceptable kinds with a problem inside."""
    if data.startswith(b"%PDF-"):
        if b"%%EOF" not in data[-1024:]:
            raise _Refusal(
                "is an incomplete PDF (it has no end marker), perhaps cut short while "
                f"uploading. {_RESAVE}"
            )
        return _Content(("pdf",), "a PDF")
    for magic, kind in _IMAGES:
        if data.startswith(magic):
            return _Content((kind,), _KINDS[kind].label)
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return _Content(("webp",), "a WebP image")
    if data.startswith(_OLE_MAGIC):
        return _ole(data)
    if data.startswith(b"PK\x03\x04"):
        return _zip(data, limits, depth)
    for magic, what in _ARCHIVES:
        if data.startswith(magic):
            return _Content((), what, _UNPACK)
    if len(data) > 262 and data[257:262] == b"ustar":
        return _Content((), "a tar archive", _UNPACK)
    if data.startswith(b"MZ") and b"\x00" in data[:64]:
        return _Content((), "a Windows program", _NO_PROGRAMS)
    for magic, what in _PROGRAMS:
        if data.startswith(magic):
            return _Content((), what, _NO_PROGRAMS)
    return _text(data)


def _text(data: bytes) -> _Content:
    """Plain text, CSV or an email message; anything else is named as best we can."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return _text_content(data.decode("utf-16"), "utf-16")
        except UnicodeDecodeError:
            return _Content((), "damaged UTF-16 text", "Save it as UTF-8 text and upload that.")
    if b"\x00" not in data:
        try:
            return _text_content(data.decode("utf-8-sig"), "utf-8")
        except UnicodeDecodeError:
            pass
    guessed = filetype.guess(data)
    if guessed is not None:
        return _Content((), f"a file of type .{guessed.extension}", _SAVE_AS_PDF)
    if b"\x00" not in data and _printable(data.decode("cp1252", errors="replace")):
        return _Content(
            (),
            "text in an older encoding, not UTF-8",
            "Save it as UTF-8 (in Excel: 'CSV UTF-8') and upload that.",
        )
    return _Content((), "binary data we do not recognise", _SAVE_AS_PDF)


def _text_content(text: str, charset: str) -> _Content:
    if not text.strip():
        raise _Refusal("has no text in it. Check you chose the right file and upload it again.")
    if not _printable(text):
        return _Content((), "binary data we do not recognise", _SAVE_AS_PDF)
    head = text[:1024].lstrip().lower()
    if head.startswith("#!"):
        return _Content((), "a script (it starts with #!)", _NO_PROGRAMS)
    if head.startswith("<?php"):
        return _Content((), "a PHP script", _NO_PROGRAMS)
    if _is_email(text):
        return _Content(("email", "text", "csv"), "an email message", charset=charset)
    if head.startswith("{\\rtf"):
        return _Content(
            (), "a Rich Text (RTF) document", "Save it as .docx or PDF and upload that."
        )
    if any(re.match(re.escape(tag) + r"[\s>]", head) for tag in _HTML_STARTS):
        return _Content((), "an HTML page", _SAVE_AS_PDF)
    if "<svg" in head:
        return _Content((), "an SVG image", "Export it as PNG or PDF and upload that.")
    if any(tag in head for tag in _HTML_ANYWHERE):
        return _Content((), "an HTML page", _SAVE_AS_PDF)
    if head.startswith(("<?xml", "<!doctype")) or re.match(r"<[a-z_][\w.:-]*[\s>/]", head):
        return _Content((), "an XML file", "Save it as PDF or as plain text and upload that.")
    return _Content(("text", "csv"), "plain text", charset=charset)


def _printable(text: str) -> bool:
    controls = sum(
        1 for ch in text if ch not in "\t\n\r\f" and unicodedata.category(ch) in ("Cc", "Cs")
    )
    return controls <= len(text) * _MAX_CONTROL_SHARE


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


def _check_attachments(name: str, data: bytes, limits: UploadLimits, depth: int) -> None:
    """Every attachment in an email, forwarded emails included, must be acceptable itself."""
    message = email.message_from_bytes(data, policy=email.policy.default)
    for part in message.walk():
        if part.is_multipart() or not (
            part.get_filename() or part.get_content_disposition() == "attachment"
        ):
            continue
        inner_name = part.get_filename() or "attachment"
        payload = part.get_payload(decode=True)
        if not isinstance(payload, bytes):
            continue
        if depth >= _MAX_DEPTH:
            raise UploadRefused(
                name, f"has an attachment inside an attachment ({inner_name!r}). {_UNPACK}"
            )
        try:
            _check(inner_name, payload, limits, depth=depth + 1)
        except UploadRefused as exc:
            raise UploadRefused(name, f"has an attachment we cannot accept: {exc}") from None


def _ole(data: bytes) -> _Content:
    """Legacy Office (OLE compound file): which kind, by the names of its streams."""
    try:
        names = _ole_names(data)
    except (struct.error, IndexError, ValueError):
        raise _Refusal(f"seems damaged: it cannot be opened as an Office file. {_RESAVE}") from None
    if "EncryptedPackage" in names:
        raise _Refusal(f"is protected by a password, so we cannot check it. {_PASSWORD}")
    for stream, kind, save_as in (
        ("WordDocument", "doc", "a Word document (.docx)"),
        ("Workbook", "xls", "an Excel workbook (.xlsx)"),
        ("Book", "xls", "an Excel workbook (.xlsx)"),
        ("PowerPoint Document", "ppt", "a PowerPoint presentation (.pptx)"),
    ):
        if stream in names:
            if names & {"Macros", "_VBA_PROJECT_CUR", "VBA"}:
                raise _Refusal(
                    f"contains macros, which we never accept. Save it as {save_as}, which "
                    "cannot hold macros, and upload that."
                )
            return _Content((kind,), _KINDS[kind].label)
    if "__properties_version1.0" in names or any(n.startswith("__substg1.0_") for n in names):
        return _Content(("msg",), "an Outlook message")
    return _Content(
        (),
        "an Office file of a kind we do not accept (not Word, Excel, PowerPoint or Outlook)",
        _SAVE_AS_PDF,
    )


def _ole_names(data: bytes) -> set[str]:
    """The names in an OLE compound file's directory (MS-CFB), read without any library."""
    shift = struct.unpack_from("<H", data, 0x1E)[0]
    if shift not in (9, 12):
        raise ValueError("sector size")
    size = 1 << shift
    fat_count, first_dir = struct.unpack_from("<II", data, 0x2C)
    first_difat, difat_count = struct.unpack_from("<II", data, 0x44)
    sectors = len(data) // size
    fat_sectors = [s for s in struct.unpack_from("<109I", data, 0x4C) if s < sectors]
    next_difat = first_difat
    for _ in range(min(difat_count, sectors)):
        if next_difat >= sectors:
            break
        entries = struct.unpack_from(f"<{size // 4}I", data, (next_difat + 1) * size)
        fat_sectors += [s for s in entries[:-1] if s < sectors]
        next_difat = entries[-1]
    fat: list[int] = []
    for sector in fat_sectors[:fat_count]:
        fat += struct.unpack_from(f"<{size // 4}I", data, (sector + 1) * size)
    names: set[str] = set()
    sector, seen = first_dir, set()
    while sector < sectors and sector not in seen:
        seen.add(sector)
        for offset in range((sector + 1) * size, (sector + 2) * size, 128):
            length, kind = struct.unpack_from("<HB", data, offset + 0x40)
            if kind in (1, 2, 5) and 2 <= length <= 64:
                names.add(data[offset : offset + length - 2].decode("utf-16-le", "replace"))
        sector = fat[sector]
    if not names:
        raise ValueError("no directory")
    return names


def _zip(data: bytes, limits: UploadLimits, depth: int) -> _Content:
    """Office zip containers (OOXML, OpenDocument), checked for bombs in memory."""
    declared = _declared_entries(data)
    if declared is not None and declared > limits.max_entries:
        raise _too_many_parts(declared, limits)
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
            if "[Content_Types].xml" not in names and "mimetype" not in names:
                return _Content((), "a zip archive", _UNPACK)
            return _office(archive, data, limits, depth)
    except (
        zipfile.BadZipFile,
        NotImplementedError,
        EOFError,
        RuntimeError,
        OSError,
        ValueError,
        struct.error,
        zlib.error,
    ):
        pass
    raise _Refusal(f"seems damaged: it cannot be opened as an Office document. {_RESAVE}")


def _declared_entries(data: bytes) -> int | None:
    """The entry count from the end-of-central-directory record, before zipfile reads it all."""
    end = data.rfind(b"PK\x05\x06", max(0, len(data) - 65557))
    if end < 0 or end + 22 > len(data):
        return None
    count: int = struct.unpack_from("<H", data, end + 10)[0]
    return None if count == 0xFFFF else count


def _too_many_parts(count: int, limits: UploadLimits) -> _Refusal:
    return _Refusal(
        f"has {count} parts inside, more than the {limits.max_entries} a document needs "
        f"(too many parts is a sign of a 'zip bomb'). {_SAVE_AS_PDF}"
    )


def _office(archive: zipfile.ZipFile, data: bytes, limits: UploadLimits, depth: int) -> _Content:
    infos = archive.infolist()
    if len(infos) > limits.max_entries:
        raise _too_many_parts(len(infos), limits)
    for info in infos:
        parts = info.filename.replace("\\", "/").split("/")
        if info.filename.startswith(("/", "\\")) or ".." in parts or ":" in parts[0]:
            raise _Refusal(
                f"has a part with an unsafe path ({info.filename!r}), so it is not a genuine "
                f"Office document. {_SAVE_AS_PDF}"
            )
    if sum(info.compress_size for info in infos) > len(data):
        raise _Refusal(
            f"has parts that overlap inside it, a trick used by 'zip bombs'. {_SAVE_AS_PDF}"
        )
    unpacked = sum(info.file_size for info in infos)
    if unpacked > limits.max_unpacked_bytes:
        raise _Refusal(
            f"would unpack to {_size(unpacked)}, more than the "
            f"{_size(limits.max_unpacked_bytes)} we accept for one document (a 'zip bomb'). "
            f"If it is a genuine document, save it as PDF and upload that."
        )
    for info in infos:
        ratio = info.file_size // max(info.compress_size, 1)
        if info.file_size > _RATIO_FLOOR and ratio > limits.max_ratio:
            raise _Refusal(
                f"has a part ({info.filename!r}) that unpacks {ratio} times larger than it is "
                f"stored, which is how 'zip bombs' work. If it is a genuine document, save it "
                "as PDF and upload that."
            )
    if any(info.flag_bits & 1 for info in infos):
        raise _Refusal(f"is protected by a password, so we cannot check it. {_PASSWORD}")
    for info in infos:
        _check_part(archive, data, info, limits, depth)
    if "mimetype" in archive.namelist():
        return _opendocument(archive)
    return _ooxml(archive)


def _check_part(
    archive: zipfile.ZipFile, data: bytes, info: zipfile.ZipInfo, limits: UploadLimits, depth: int
) -> None:
    """No archives or programs inside; embedded Office documents are checked themselves."""
    if info.is_dir():
        return
    head = _inflate(data, info)
    lower = info.filename.lower()
    embedded_office = "embeddings/" in lower and lower.endswith((".docx", ".xlsx", ".pptx"))
    if head.startswith(b"PK\x03\x04") and embedded_office:
        if depth >= _MAX_DEPTH:
            raise _Refusal(
                f"has documents embedded more than one level deep ({info.filename!r}). "
                f"{_SAVE_AS_PDF}"
            )
        try:
            inner = _zip(archive.read(info), limits, depth + 1)
        except _Refusal as exc:
            raise _Refusal(
                f"has an embedded document ({info.filename!r}) that {exc.reason}"
            ) from None
        if inner.kinds:
            return
    if lower.endswith(_ARCHIVE_SUFFIXES) or any(head.startswith(m) for m, _ in _ARCHIVES):
        raise _Refusal(
            f"has another archive inside it ({info.filename!r}). Remove it from the document, "
            "or save the document as PDF, and upload that."
        )
    if (head.startswith(b"MZ") and b"\x00" in head) or any(
        head.startswith(m) for m, _ in _PROGRAMS
    ):
        raise _Refusal(
            f"has a program inside it ({info.filename!r}). Remove it from the document, "
            "or save the document as PDF, and upload that."
        )


def _inflate(data: bytes, info: zipfile.ZipInfo) -> bytes:
    """A part's first bytes, after inflating all of it in memory to prove its declared size.

    Other programs may trust the local headers or the data itself rather than the central
    directory, so a part that unpacks to more (or other) than declared is refused.
    """
    damaged = _Refusal(f"seems damaged: a part inside it is broken ({info.filename!r}). {_RESAVE}")
    offset = info.header_offset
    if data[offset : offset + 4] != b"PK\x03\x04":
        raise damaged
    name_length, extra_length = struct.unpack_from("<HH", data, offset + 26)
    start = offset + 30 + name_length + extra_length
    packed = data[start : start + info.compress_size]
    if info.compress_type == zipfile.ZIP_STORED:
        if len(packed) != info.file_size or zlib.crc32(packed) != info.CRC:
            raise damaged
        return packed[:8]
    if info.compress_type != zipfile.ZIP_DEFLATED:
        raise damaged
    inflater, head, total, crc = zlib.decompressobj(-15), b"", 0, 0
    for at in range(0, len(packed), _CHUNK):
        pending = packed[at : at + _CHUNK]
        while True:
            out = inflater.decompress(pending, _CHUNK)
            pending = inflater.unconsumed_tail
            total, crc, head = total + len(out), zlib.crc32(out, crc), (head + out[:8])[:8]
            if total > info.file_size:
                raise _Refusal(
                    f"has a part ({info.filename!r}) that unpacks to more than it declares, "
                    f"which is how 'zip bombs' work. {_SAVE_AS_PDF}"
                )
            if not out and not pending:
                break
    if total != info.file_size or crc != info.CRC or not inflater.eof:
        raise damaged
    return head


def _ooxml(archive: zipfile.ZipFile) -> _Content:
    with archive.open("[Content_Types].xml") as part:
        types = part.read(1 << 20).decode("utf-8", "replace")
    names = [n.lower() for n in archive.namelist()]
    if "macroenabled" in types.lower() or any(n.endswith("vbaproject.bin") for n in names):
        save_as = "a Word document (.docx)"
        if any(n.startswith("xl/") for n in names):
            save_as = "an Excel workbook (.xlsx)"
        elif any(n.startswith("ppt/") for n in names):
            save_as = "a PowerPoint presentation (.pptx)"
        raise _Refusal(
            f"contains macros, which we never accept. Save it as {save_as}, which cannot "
            "hold macros, and upload that."
        )
    for main, kind in (
        ("wordprocessingml.document.main+xml", "docx"),
        ("spreadsheetml.sheet.main+xml", "xlsx"),
        ("presentationml.presentation.main+xml", "pptx"),
    ):
        if main in types:
            return _Content((kind,), _KINDS[kind].label)
    return _unsupported_office()


def _opendocument(archive: zipfile.ZipFile) -> _Content:
    with archive.open("mimetype") as part:
        mimetype = part.read(100).decode("ascii", "replace").strip()
    names = archive.namelist()
    if "META-INF/manifest.xml" in names:
        with archive.open("META-INF/manifest.xml") as part:
            if b"encryption-data" in part.read(1 << 20):
                raise _Refusal(f"is protected by a password, so we cannot check it. {_PASSWORD}")
    if any(n.startswith(("Basic/", "Scripts/")) for n in names):
        raise _Refusal(
            "contains macros, which we never accept. Remove them (Tools > Macros > Organise) "
            "or save it as PDF, and upload that."
        )
    for suffix, kind in (("text", "odt"), ("spreadsheet", "ods"), ("presentation", "odp")):
        if mimetype == f"application/vnd.oasis.opendocument.{suffix}":
            return _Content((kind,), _KINDS[kind].label)
    return _unsupported_office()


def _unsupported_office() -> _Content:
    return _Content(
        (),
        "an Office file of a kind we do not accept (for example a template)",
        "Save it as a document (.docx, .xlsx, .pptx, .odt, .ods or .odp) and upload that.",
    )


def _size(count: int) -> str:
    mb = count / _MB
    return f"{mb:.0f} MB" if mb == int(mb) else f"{mb:.1f} MB"
