"""Files for tests, built in code: minimal but real ones of every kind we accept.

:mod:`tests.hostile_files` builds hostile ones from these.
"""

from __future__ import annotations

import io
import math
import struct
import zipfile
import zlib
from collections.abc import Sequence
from email.message import EmailMessage


def pdf(
    catalog: bytes = b"",
    page: bytes = b"",
    objects: Sequence[bytes] = (),
    *,
    header: bytes = b"",
    tail: bytes = b"",
) -> bytes:
    """A one-page PDF; ``catalog`` and ``page`` add to those dictionaries, ``objects`` are
    numbered from 4, ``header`` follows the first line and ``tail`` the end marker."""
    bodies = [
        b"<< /Type /Catalog /Pages 2 0 R " + catalog + b" >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] " + page + b" >>",
        *objects,
    ]
    out, offsets = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n" + header), []
    for number, body in enumerate(bodies, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(bodies) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(bodies) + 1,
        xref,
    )
    return bytes(out) + tail


def pdf_object_stream(
    hidden: bytes, *, filters: bytes = b"/FlateDecode", packed: bytes | None = None
) -> bytes:
    """A PDF 1.5 whose object 4 (``hidden``, referenced by the catalog) is compressed in an
    object stream, listed by a cross-reference stream, as modern writers do."""
    inner = b"4 0 "
    body = inner + hidden
    data = packed if packed is not None else zlib.compress(body)
    bodies = {
        1: b"<< /Type /Catalog /Pages 2 0 R /Extra 4 0 R >>",
        2: b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        3: b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >>",
        5: b"<< /Type /ObjStm /N 1 /First %d /Filter %s /Length %d >>\nstream\n%s\nendstream"
        % (len(inner), filters, len(data), data),
    }
    out, offsets = bytearray(b"%PDF-1.5\n"), {}
    for number, obj in bodies.items():
        offsets[number] = len(out)
        out += b"%d 0 obj\n%s\nendobj\n" % (number, obj)
    xref = len(out)
    rows = [struct.pack(">BIH", 0, 0, 65535)]
    for number in range(1, 7):
        if number == 4:
            rows.append(struct.pack(">BIH", 2, 5, 0))
        else:
            rows.append(struct.pack(">BIH", 1, offsets.get(number, xref), 0))
    table = b"".join(rows)
    out += b"6 0 obj\n<< /Type /XRef /Size 7 /W [1 4 2] /Root 1 0 R /Length %d >>\nstream\n" % (
        len(table)
    )
    out += table + b"\nendstream\nendobj\nstartxref\n%d\n%%%%EOF\n" % xref
    return bytes(out)


def png(width: int = 2, height: int = 2) -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    rows = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def jpeg() -> bytes:
    """A 1x1 grey baseline JPEG: one Huffman code each for 'DC difference 0' and 'end of block'."""

    def segment(marker: int, body: bytes) -> bytes:
        return struct.pack(">BBH", 0xFF, marker, len(body) + 2) + body

    return (
        b"\xff\xd8"
        + segment(0xE0, b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00")
        + segment(0xDB, b"\x00" + b"\x01" * 64)
        + segment(0xC0, b"\x08\x00\x01\x00\x01\x01\x01\x11\x00")
        + segment(0xC4, b"\x00" + b"\x01" + b"\x00" * 15 + b"\x00")
        + segment(0xC4, b"\x10" + b"\x01" + b"\x00" * 15 + b"\x00")
        + segment(0xDA, b"\x01\x01\x00\x00\x3f\x00")
        + b"\x3f"
        + b"\xff\xd9"
    )


GIF = (
    b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00"
    b",\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
)
WEBP = (
    b"RIFF\x1a\x00\x00\x00WEBPVP8L\x0d\x00\x00\x00\x2f\x00\x00\x00\x10\x07\x10\x11\x11\x88\x88"
    b"\xfe\x07\x00"
)


def tiff() -> bytes:
    """A 1x1 8-bit greyscale little-endian TIFF with one uncompressed strip."""
    tags = [(256, 3, 1), (257, 3, 1), (258, 3, 8), (259, 3, 1), (262, 3, 1)]
    tags += [(273, 4, 8 + 2 + 8 * 12 + 4), (278, 3, 1), (279, 4, 1)]
    ifd = struct.pack("<H", len(tags)) + b"".join(
        struct.pack("<HHII", *t[:2], 1, t[2]) for t in tags
    )
    return b"II*\x00" + struct.pack("<I", 8) + ifd + struct.pack("<I", 0) + b"\x80"


_MAIN_TYPES = {
    "docx": ("word/document.xml", "wordprocessingml.document.main+xml"),
    "xlsx": ("xl/workbook.xml", "spreadsheetml.sheet.main+xml"),
    "pptx": ("ppt/presentation.xml", "presentationml.presentation.main+xml"),
    "docm": ("word/document.xml", "wordprocessingml.document.macroEnabled.main+xml"),
    "xlsm": ("xl/workbook.xml", "spreadsheetml.sheet.macroEnabled.main+xml"),
    "dotx": ("word/document.xml", "wordprocessingml.template.main+xml"),
}


def ooxml(kind: str = "docx", extra: dict[str, bytes] | None = None) -> bytes:
    """A real, minimal OOXML package: content types, relationships and the main part."""
    part, main = _MAIN_TYPES[kind]
    prefix = "application/vnd.openxmlformats-officedocument." if "macro" not in main else ""
    main_type = f"{prefix or 'application/vnd.ms-word.'}{main}"
    types = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" '
        'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        f'<Override PartName="/{part}" ContentType="{main_type}"/></Types>'
    )
    rels = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
        f'relationships/officeDocument" Target="{part}"/></Relationships>'
    )
    body = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
        "<w:body><w:p><w:r><w:t>Action 1.2 completed.</w:t></w:r></w:p></w:body></w:document>"
    )
    files = {"[Content_Types].xml": types.encode(), "_rels/.rels": rels.encode()}
    files[part] = body.encode()
    return make_zip({**files, **(extra or {})})


def odf(
    kind: str = "text", extra: dict[str, bytes] | None = None, manifest: bytes | None = None
) -> bytes:
    mimetype = f"application/vnd.oasis.opendocument.{kind}"
    manifest = manifest or (
        b'<?xml version="1.0" encoding="UTF-8"?>\n'
        b'<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0">'
        b'<manifest:file-entry manifest:full-path="/" manifest:media-type="%s"/>'
        b'<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
        b"</manifest:manifest>" % mimetype.encode()
    )
    content = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<office:document-content '
        'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" office:version="1.3"/>'
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("mimetype", mimetype, compress_type=zipfile.ZIP_STORED)
        archive.writestr("META-INF/manifest.xml", manifest)
        archive.writestr("content.xml", content)
        for name, data in (extra or {}).items():
            archive.writestr(name, data)
    return buffer.getvalue()


def make_zip(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def ole(*names: str) -> bytes:
    """A minimal OLE compound file (MS-CFB v3) whose directory lists ``names`` as streams."""
    free, end, fat_sector, no_stream = 0xFFFFFFFF, 0xFFFFFFFE, 0xFFFFFFFD, 0xFFFFFFFF
    entries = ["Root Entry", *names]
    dir_sectors = math.ceil(len(entries) / 4)
    header = bytearray(512)
    header[0:8] = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
    struct.pack_into("<HHHHH", header, 0x18, 0x3E, 3, 0xFFFE, 9, 6)
    struct.pack_into("<IIII", header, 0x2C, 1, 1, 0, 4096)
    struct.pack_into("<IIII", header, 0x3C, end, 0, end, 0)
    struct.pack_into("<109I", header, 0x4C, 0, *([free] * 108))
    chain = [*range(2, dir_sectors + 1), end]
    fat = struct.pack("<128I", fat_sector, *chain, *([free] * (127 - len(chain))))
    directory = bytearray()
    for index, name in enumerate(entries):
        encoded = name.encode("utf-16-le") + b"\x00\x00"
        kind = 5 if index == 0 else 2
        right = index + 1 if 0 < index < len(entries) - 1 else no_stream
        child = 1 if index == 0 and len(entries) > 1 else no_stream
        directory += encoded.ljust(64, b"\x00")
        directory += struct.pack("<HBBIII", len(encoded), kind, 1, no_stream, right, child)
        directory += bytes(16) + struct.pack("<IQQIQ", 0, 0, 0, end, 0)
    directory = directory.ljust(dir_sectors * 512, b"\x00")
    return bytes(header) + fat + bytes(directory)


EML = (
    b"Received: from mail.police.example.org by mx.example.org; Mon, 10 Jan 2011 09:00:00 +0000\r\n"
    b"From: DCI Example <dci@police.example.org>\r\n"
    b"To: business.manager@southend-lscb.example.org\r\n"
    b"Subject: Re: Recommendation 4 evidence\r\n"
    b"Date: Mon, 10 Jan 2011 09:00:00 +0000\r\n"
    b"MIME-Version: 1.0\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"\r\n"
    b"Training took place on 3 December; the register is attached.\r\n"
)


def eml_with(filename: str, data: bytes) -> bytes:
    message = EmailMessage()
    message["From"] = "dci@police.example.org"
    message["To"] = "business.manager@southend-lscb.example.org"
    message["Subject"] = "Evidence"
    message["Date"] = "Mon, 10 Jan 2011 09:00:00 +0000"
    message.set_content("See attached.")
    message.add_attachment(data, maintype="application", subtype="octet-stream", filename=filename)
    return message.as_bytes()


EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + bytes(48) + b"PE\x00\x00"
ELF = b"\x7fELF\x02\x01\x01\x00" + bytes(56)
MACHO = b"\xcf\xfa\xed\xfe\x07\x00\x00\x01" + bytes(24)
HTML = b"<!DOCTYPE html>\n<html><body><script>alert(1)</script></body></html>\n"
SVG = b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"><script/></svg>\n'
XML = b'<?xml version="1.0"?>\n<recommendations><item ref="1"/></recommendations>\n'
RTF = b"{\\rtf1\\ansi\\deff0 {\\fonttbl {\\f0 Times;}} Minutes of the panel.}\n"
