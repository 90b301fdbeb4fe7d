"""Zip containers: only Office documents pass, and only after they are proved no bomb.

Zips are only read in memory. The central directory's sizes are checked first, then
every part is inflated in bounded chunks (nothing kept) to prove it is no bigger than
declared and intact, so a lying directory cannot smuggle a bomb past the limits.
Embedded Office documents are checked the same way, one level deep.
"""

from __future__ import annotations

import io
import struct
import zipfile
import zlib

from engine.uploads.office import ooxml_content, opendocument_content
from engine.uploads.policy import (
    ARCHIVE_SUFFIXES,
    ARCHIVES,
    MAX_DEPTH,
    OLE_MAGIC,
    PASSWORD,
    PROGRAMS,
    RESAVE,
    SAVE_AS_PDF,
    UNPACK,
    BadContent,
    Content,
    UploadLimits,
    is_windows_program,
    megabytes,
)

_RATIO_FLOOR = 1 << 20  # parts smaller than 1 MiB unpacked are never called bombs
_CHUNK = 1 << 16
_EMBEDDED_OFFICE = (".docx", ".xlsx", ".pptx")


def zip_content(data: bytes, limits: UploadLimits, depth: int) -> Content:
    """An Office zip container (OOXML, OpenDocument), checked for bombs in memory.

    A zip that is not Office is returned as "a zip archive", never accepted.

    Raises:
        BadContent: a bomb, damaged, protected by a password, with an unsafe part path or
            an archive or program inside, or an Office document with macros.
    """
    declared = _declared_entries(data)
    if declared is not None and declared > limits.max_entries:
        raise _too_many_parts(declared, limits)
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
            if "[Content_Types].xml" not in names and "mimetype" not in names:
                return Content((), "a zip archive", UNPACK)
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
    raise BadContent(f"seems damaged: it cannot be opened as an Office document. {RESAVE}")


def _declared_entries(data: bytes) -> int | None:
    """The entry count from the end-of-central-directory record, before zipfile reads it all."""
    end = data.rfind(b"PK\x05\x06", max(0, len(data) - 65557))
    if end < 0 or end + 22 > len(data):
        return None
    count: int = struct.unpack_from("<H", data, end + 10)[0]
    return None if count == 0xFFFF else count


def _too_many_parts(count: int, limits: UploadLimits) -> BadContent:
    return BadContent(
        f"has {count} parts inside, more than the {limits.max_entries} a document needs "
        f"(too many parts is a sign of a 'zip bomb'). {SAVE_AS_PDF}"
    )


def _office(archive: zipfile.ZipFile, data: bytes, limits: UploadLimits, depth: int) -> Content:
    infos = archive.infolist()
    if len(infos) > limits.max_entries:
        raise _too_many_parts(len(infos), limits)
    seen: set[str] = set()
    for info in infos:
        # Office names parts without regard to case; a second "[Content_Types].xml" can
        # declare macros to Office while a checker reads the first
        same = info.filename.replace("\\", "/").lower()
        if same in seen:
            raise BadContent(
                f"has two parts with the same name inside it ({info.filename!r}), a trick to "
                f"hide one from checks. {SAVE_AS_PDF}"
            )
        seen.add(same)
    for info in infos:
        parts = info.filename.replace("\\", "/").split("/")
        if info.filename.startswith(("/", "\\")) or ".." in parts or ":" in parts[0]:
            raise BadContent(
                f"has a part with an unsafe path ({info.filename!r}), so it is not a genuine "
                f"Office document. {SAVE_AS_PDF}"
            )
    if sum(info.compress_size for info in infos) > len(data):
        raise BadContent(
            f"has parts that overlap inside it, a trick used by 'zip bombs'. {SAVE_AS_PDF}"
        )
    unpacked = sum(info.file_size for info in infos)
    if unpacked > limits.max_unpacked_bytes:
        raise BadContent(
            f"would unpack to {megabytes(unpacked)}, more than the "
            f"{megabytes(limits.max_unpacked_bytes)} we accept for one document (a 'zip bomb'). "
            f"If it is a genuine document, save it as PDF and upload that."
        )
    for info in infos:
        ratio = info.file_size // max(info.compress_size, 1)
        if info.file_size > _RATIO_FLOOR and ratio > limits.max_ratio:
            raise BadContent(
                f"has a part ({info.filename!r}) that unpacks {ratio} times larger than it is "
                f"stored, which is how 'zip bombs' work. If it is a genuine document, save it "
                "as PDF and upload that."
            )
    if any(info.flag_bits & 1 for info in infos):
        raise BadContent(f"is protected by a password, so we cannot check it. {PASSWORD}")
    for info in infos:
        _check_part(archive, data, info, limits, depth)
    if "mimetype" in archive.namelist():
        return opendocument_content(archive)
    return ooxml_content(archive)


def _check_part(
    archive: zipfile.ZipFile, data: bytes, info: zipfile.ZipInfo, limits: UploadLimits, depth: int
) -> None:
    """No archives or programs inside; embedded Office documents are checked themselves."""
    if info.is_dir():
        return
    head = _inflate(data, info)
    lower = info.filename.lower()
    embedded_office = "embeddings/" in lower and lower.endswith(_EMBEDDED_OFFICE)
    if head.startswith(b"PK\x03\x04") and embedded_office:
        if depth >= MAX_DEPTH:
            raise BadContent(
                f"has documents embedded more than one level deep ({info.filename!r}). "
                f"{SAVE_AS_PDF}"
            )
        try:
            inner = zip_content(archive.read(info), limits, depth + 1)
        except BadContent as exc:
            raise BadContent(
                f"has an embedded document ({info.filename!r}) that {exc.reason}"
            ) from None
        if inner.kinds:
            return
    if lower.endswith(ARCHIVE_SUFFIXES) or any(head.startswith(m) for m, _ in ARCHIVES):
        raise BadContent(
            f"has another archive inside it ({info.filename!r}). Remove it from the document, "
            "or save the document as PDF, and upload that."
        )
    if head.startswith(OLE_MAGIC) and not lower.endswith("vbaproject.bin"):  # macros: later
        raise BadContent(
            f"has an embedded object (OLE) inside it ({info.filename!r}), which can run a "
            "program when it is opened. Remove it from the document, or save the document as "
            "PDF, and upload that."
        )
    if is_windows_program(head) or any(head.startswith(m) for m, _ in PROGRAMS):
        raise BadContent(
            f"has a program inside it ({info.filename!r}). Remove it from the document, "
            "or save the document as PDF, and upload that."
        )


def _inflate(data: bytes, info: zipfile.ZipInfo) -> bytes:
    """A part's first bytes, after inflating all of it in memory to prove its declared size.

    Other programs may trust the local headers or the data itself rather than the central
    directory, so a part that unpacks to more (or other) than declared is refused.
    """
    # by hand, not ZipFile.open: it stops at the declared size, so it cannot prove there is no more
    damaged = BadContent(f"seems damaged: a part inside it is broken ({info.filename!r}). {RESAVE}")
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
                raise BadContent(
                    f"has a part ({info.filename!r}) that unpacks to more than it declares, "
                    f"which is how 'zip bombs' work. {SAVE_AS_PDF}"
                )
            if not out and not pending:
                break
    if total != info.file_size or crc != info.CRC or not inflater.eof:
        raise damaged
    return head
