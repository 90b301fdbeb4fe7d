"""Checking uploads by content: every allowed kind, and hostile files and names refused."""

from __future__ import annotations

import codecs
import gzip
import io
import math
import os
import random
import struct
import tarfile
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from engine import uploads
from engine.errors import EvidenceError, UploadRefused
from engine.uploads import Accepted, UploadLimits, check_file, check_files
from engine.uploads.names import clean_filename
from tests.files import (
    ELF,
    EML,
    EXE,
    GIF,
    HTML,
    MACHO,
    RTF,
    SVG,
    WEBP,
    XML,
    eml_with,
    jpeg,
    make_zip,
    odf,
    ole,
    ooxml,
    pdf,
    png,
    tiff,
)


def tar_bytes() -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        info = tarfile.TarInfo("minutes.txt")
        info.size = 5
        archive.addfile(info, io.BytesIO(b"hello"))
    return buffer.getvalue()


def zeros_zip(size: int, name: str = "word/media/image1.bin") -> bytes:
    """A docx-shaped zip with one part of ``size`` zero bytes, deflated as it is written."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        with zipfile.ZipFile(io.BytesIO(ooxml())) as good:
            for info in good.infolist():
                archive.writestr(info.filename, good.read(info))
        megabyte = bytes(1 << 20)
        info = zipfile.ZipInfo(name)
        info.compress_type = zipfile.ZIP_DEFLATED
        with archive.open(info, "w", force_zip64=True) as part:
            for _ in range(size // len(megabyte)):
                part.write(megabyte)
    return buffer.getvalue()


def patch_central(data: bytes, name: str, patch: Callable[[bytearray, int], None]) -> bytes:
    """Edit the central directory header of ``name`` in place (to make lying zips)."""
    out = bytearray(data)
    at = out.find(b"PK\x01\x02")
    while at >= 0:
        length = struct.unpack_from("<H", out, at + 28)[0]
        if out[at + 46 : at + 46 + length] == name.encode():
            patch(out, at)
            return bytes(out)
        at = out.find(b"PK\x01\x02", at + 4)
    raise AssertionError(name)


# --- accepted -----------------------------------------------------------------------------------

DOCX_WITH_CHART = ooxml("docx", {"word/embeddings/Microsoft_Excel_Worksheet.xlsx": ooxml("xlsx")})


@pytest.mark.parametrize(
    ("name", "data", "kind", "content_type", "filename"),
    [
        ("report.pdf", pdf(), "pdf", "application/pdf", "report.pdf"),
        (
            "action plan.docx",
            ooxml("docx"),
            "docx",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            "action plan.docx",
        ),
        (
            "tracker.xlsx",
            ooxml("xlsx"),
            "xlsx",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "tracker.xlsx",
        ),
        (
            "briefing.pptx",
            ooxml("pptx"),
            "pptx",
            "application/vnd.openxmlformats-officedocument.presentationml.presentation",
            "briefing.pptx",
        ),
        ("chart.docx", DOCX_WITH_CHART, "docx", None, "chart.docx"),
        ("notes.odt", odf("text"), "odt", "application/vnd.oasis.opendocument.text", "notes.odt"),
        ("data.ods", odf("spreadsheet"), "ods", None, "data.ods"),
        ("slides.odp", odf("presentation"), "odp", None, "slides.odp"),
        ("old.doc", ole("WordDocument", "1Table"), "doc", "application/msword", "old.doc"),
        ("old.xls", ole("Workbook"), "xls", "application/vnd.ms-excel", "old.xls"),
        ("old.ppt", ole("PowerPoint Document"), "ppt", "application/vnd.ms-powerpoint", "old.ppt"),
        (
            "reply.msg",
            ole("__properties_version1.0", "__substg1.0_0037001F", "__substg1.0_1000001F"),
            "msg",
            "application/vnd.ms-outlook",
            "reply.msg",
        ),
        ("photo.png", png(), "png", "image/png", "photo.png"),
        ("photo.jpg", jpeg(), "jpeg", "image/jpeg", "photo.jpg"),
        ("photo.JPEG", jpeg(), "jpeg", "image/jpeg", "photo.JPEG"),
        ("anim.gif", GIF, "gif", "image/gif", "anim.gif"),
        ("photo.webp", WEBP, "webp", "image/webp", "photo.webp"),
        ("scan.tif", tiff(), "tiff", "image/tiff", "scan.tif"),
        (
            "notes.txt",
            "Café meeting — done ✓\n".encode(),
            "text",
            "text/plain; charset=utf-8",
            None,
        ),
        ("bom.txt", codecs.BOM_UTF8 + b"with a BOM\n", "text", "text/plain; charset=utf-8", None),
        (
            "register.csv",
            "name,date\r\nAlex Ó,2011-01-03\r\n".encode("utf-16"),
            "csv",
            "text/csv; charset=utf-16",
            "register.csv",
        ),
        ("register.csv", b"name,date\nAlex,2011-01-03\n", "csv", "text/csv; charset=utf-8", None),
        ("reply.eml", EML, "email", "message/rfc822", "reply.eml"),
        ("reply.eml", eml_with("register.pdf", pdf()), "email", "message/rfc822", None),
        ("headers.txt", EML, "text", "text/plain; charset=utf-8", "headers.txt"),
        # no extension: the detected one is added
        ("scan", png(), "png", "image/png", "scan.png"),
        ("Report v1.2 final", pdf(), "pdf", "application/pdf", "Report v1.2 final.pdf"),
        ("forwarded", EML, "email", "message/rfc822", "forwarded.eml"),
        ("README", b"plain words\n", "text", "text/plain; charset=utf-8", "README.txt"),
        # invisible characters are cleaned from the kept name
        ("rep\u200bort.pdf", pdf(), "pdf", "application/pdf", "report.pdf"),
        ("REPORT.PDF", pdf(), "pdf", "application/pdf", "REPORT.PDF"),
    ],
)
def test_accepted(
    name: str, data: bytes, kind: str, content_type: str | None, filename: str | None
) -> None:
    accepted = check_file(name, data)
    assert accepted.kind == kind
    assert accepted.size == len(data)
    assert accepted.filename == (filename or name)
    if content_type:
        assert accepted.content_type == content_type


def test_check_files_accepts_all() -> None:
    accepted = check_files([("a.pdf", pdf()), ("b.png", png()), ("c.csv", b"x,y\n1,2\n")])
    assert [a.kind for a in accepted] == ["pdf", "png", "csv"]
    assert all(isinstance(a, Accepted) for a in accepted)
    assert check_files([]) == []


# --- refused ------------------------------------------------------------------------------------

ZIP_BOMB = zeros_zip(300 << 20)  # 300 MB of zeros in about 300 KB
RATIO_BOMB = zeros_zip(20 << 20)  # 20 MB of zeros: under the unpacked limit, 1000 to 1


def lying_zip() -> bytes:
    """The central directory says 10 bytes; the part really inflates to 2 MB."""
    data = ooxml("docx", {"word/media/image1.bin": bytes(2 << 20)})
    return patch_central(
        data, "word/media/image1.bin", lambda out, at: struct.pack_into("<I", out, at + 24, 10)
    )


def encrypted_entry_zip() -> bytes:
    def set_flag(out: bytearray, at: int) -> None:
        out[at + 8] |= 1

    return patch_central(ooxml("docx"), "word/document.xml", set_flag)


def many_parts() -> bytes:
    return ooxml("docx", {f"customXml/item{i}.xml": b"<a/>" for i in range(2001)})


def traversal_zip(entry: str) -> bytes:
    buffer = io.BytesIO(ooxml("docx"))
    with zipfile.ZipFile(buffer, "a") as archive:
        info = zipfile.ZipInfo("placeholder")
        info.filename = entry  # ZipInfo() would strip the leading "/" and "..": set it after
        archive.writestr(info, b"owned")
    return buffer.getvalue()


ENCRYPTED_MANIFEST = (
    b'<manifest:manifest><manifest:file-entry manifest:full-path="content.xml">'
    b"<manifest:encryption-data/></manifest:file-entry></manifest:manifest>"
)


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        # names
        ("../../etc/passwd", b"root:x:0:0\n", "has a folder path in its name"),
        ("C:\\x\\y.pdf", pdf(), "has a folder path in its name"),
        ("report\x00.pdf", pdf(), "has control characters in its name"),
        ("minutes\n.txt", b"hello\n", "has control characters in its name"),
        ("invoice\u202efdp.exe", pdf(), "has a hidden right-to-left character in its name"),
        ("report\u2067.pdf", pdf(), "has a hidden right-to-left character in its name"),
        ("a" * 201 + ".pdf", pdf(), "has a name longer than 200 characters. Shorten it"),
        ("", pdf(), "has no name. Rename it"),
        (" .. ", pdf(), "has no name. Rename it"),
        ("CON", b"hello\n", "has a name Windows reserves for devices (CON)"),
        ("nul.txt", b"hello\n", "has a name Windows reserves for devices (NUL)"),
        ("com1.pdf", pdf(), "has a name Windows reserves for devices (COM1)"),
        # size
        ("empty.pdf", b"", "is empty. Check you chose the right file"),
        ("blank.txt", b"  \n\n", "has no text in it"),
        # wrong or unwanted content
        (
            "report.pdf",
            HTML,
            "is not a PDF: its content is an HTML page. Save it as PDF and upload that.",
        ),
        ("notes.txt", HTML, "is not plain text: its content is an HTML page."),
        ("page.html", b"<p>hello</p>", "cannot be accepted: its content is an HTML page."),
        ("logo.png", SVG, "is not a PNG image: its content is an SVG image. Export it as PNG"),
        ("logo.svg", SVG, "cannot be accepted: its content is an SVG image."),
        ("data.txt", XML, "is not plain text: its content is an XML file."),
        ("letter.doc", RTF, "is not a Word 97-2003 document: its content is a Rich Text (RTF)"),
        ("report.pdf", png(), "is not a PDF: its content is a PNG image; rename it to .png"),
        ("report.pdf", ooxml(), "is not a PDF: its content is a Word document; rename it to .docx"),
        ("report.doc", ooxml(), "is not a Word 97-2003 document: its content is a Word document"),
        (
            "photo.exe",
            png(),
            "has an extension (.exe) we do not accept: its content is a PNG image",
        ),
        (
            "notes.eml",
            b"just notes\n",
            "is not an email message: its content is plain text; rename",
        ),
        ("report.pdf", pdf()[:-30], "is an incomplete PDF"),
        # archives
        (
            "report.docx",
            make_zip({"report.pdf": pdf()}),
            "is not a Word document: its content is a zip archive. Unpack it and upload",
        ),
        (
            "bundle.zip",
            make_zip({"a.txt": b"a"}),
            "cannot be accepted: its content is a zip archive",
        ),
        ("bundle.rar", b"Rar!\x1a\x07\x01\x00" + bytes(30), "its content is a RAR archive"),
        ("bundle.7z", b"7z\xbc\xaf\x27\x1c\x00\x04" + bytes(30), "its content is a 7-Zip archive"),
        (
            "notes.txt",
            gzip.compress(b"hello", mtime=0),
            "is not plain text: its content is a gzip archive",
        ),
        ("bundle.tar", tar_bytes(), "its content is a tar archive. Unpack it"),
        # programs
        ("invoice.pdf", EXE, "is not a PDF: its content is a Windows program. Programs"),
        ("setup.exe", EXE, "cannot be accepted: its content is a Windows program"),
        ("tool", ELF, "cannot be accepted: its content is a Linux program"),
        ("tool.png", MACHO, "is not a PNG image: its content is a macOS program"),
        ("run.txt", b"#!/bin/sh\nrm -rf ~\n", "is not plain text: its content is a script"),
        ("shell.txt", b"<?php system($_GET['c']); ?>\n", "its content is a PHP script"),
        # text that is not text we accept
        ("data.csv", "café,£5\n".encode("cp1252"), "its content is text in an older encoding"),
        ("data.csv", b"a,b\n\x00\x01\x02\x00", "its content is binary data we do not recognise"),
        ("blob.txt", bytes(range(256)) * 4, "its content is binary data we do not recognise"),
        (
            "clip.pdf",
            b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + bytes(32),
            "is not a PDF: its content is a file of type .mp4",
        ),
        # Office with macros or a password
        (
            "budget.docx",
            ooxml("docx", {"word/vbaProject.bin": ole("VBA")}),
            "contains macros, which we never accept. Save it as a Word document (.docx)",
        ),
        ("budget.docm", ooxml("docm"), "contains macros, which we never accept"),
        ("budget.xlsx", ooxml("xlsm"), "Save it as an Excel workbook (.xlsx)"),
        ("old.doc", ole("WordDocument", "Macros"), "contains macros, which we never accept"),
        (
            "secret.docx",
            ole("EncryptionInfo", "EncryptedPackage", "\x06DataSpaces"),
            "is protected by a password, so we cannot check it. Remove the password",
        ),
        ("secret.docx", encrypted_entry_zip(), "Remove the password"),
        ("secret.odt", odf("text", manifest=ENCRYPTED_MANIFEST), "password"),
        ("macro.odt", odf("text", {"Basic/Standard/Module1.xml": b"<x/>"}), "contains macros"),
        ("installer.doc", ole("\u4840\u4143\u4432"), "an Office file of a kind we do not accept"),
        ("letter.dotx", ooxml("dotx"), "an Office file of a kind we do not accept"),
        ("broken.docx", b"PK\x03\x04" + bytes(100), "seems damaged"),
        # zip bombs and hostile containers
        ("bomb.docx", ZIP_BOMB, "would unpack to 300.0 MB, more than the 200 MB we accept"),
        ("ratio.docx", RATIO_BOMB, "times larger than it is stored, which is how 'zip bombs'"),
        ("lying.docx", lying_zip(), "unpacks to more than it declares"),
        ("many.docx", many_parts(), "has 2004 parts inside, more than the 2000 a document needs"),
        ("evil.docx", traversal_zip("../../evil.txt"), "has a part with an unsafe path"),
        ("evil.docx", traversal_zip("/etc/cron.d/evil"), "has a part with an unsafe path"),
        (
            "nested.docx",
            ooxml("docx", {"word/media/more.zip": make_zip({"a.txt": b"a"})}),
            "has another archive inside it ('word/media/more.zip')",
        ),
        (
            "nested.docx",
            ooxml("docx", {"word/embeddings/oleObject1.bin": EXE}),
            "has a program inside it ('word/embeddings/oleObject1.bin')",
        ),
        (
            "chart.docx",
            ooxml("docx", {"word/embeddings/Sheet.xlsx": ooxml("xlsm")}),
            "has an embedded document ('word/embeddings/Sheet.xlsx') that contains macros",
        ),
        (
            "chart.docx",
            ooxml("docx", {"word/embeddings/Sheet.xlsx": make_zip({"a.txt": b"a"})}),
            "has another archive inside it ('word/embeddings/Sheet.xlsx')",
        ),
        # email carrying something we would refuse
        (
            "reply.eml",
            eml_with("invoice.pdf", EXE),
            "has an attachment we cannot accept: 'invoice.pdf' is not a PDF",
        ),
        (
            "reply.eml",
            eml_with("forward.eml", eml_with("a.pdf", pdf())),
            "has an attachment inside an attachment ('a.pdf')",
        ),
    ],
)
def test_refused(name: str, data: bytes, reason: str) -> None:
    with pytest.raises(UploadRefused) as caught:
        check_file(name, data)
    assert reason in str(caught.value)
    assert caught.value.filename == name
    assert isinstance(caught.value, EvidenceError)


def test_message_names_the_file_safely() -> None:
    with pytest.raises(UploadRefused) as caught:
        check_file("invoice\u202efdp.exe", pdf())
    assert str(caught.value).startswith("'invoice\\u202efdp.exe' has a hidden right-to-left")
    assert "\u202e" not in str(caught.value)


def test_brief_example_message() -> None:
    with pytest.raises(UploadRefused, match="^'report.pdf' is not a PDF: its content is an HTML"):
        check_file("report.pdf", HTML)


def test_too_big() -> None:
    limits = UploadLimits(max_file_bytes=1 << 20)
    with pytest.raises(UploadRefused, match=r"is 1\.5 MB, over the 1 MB allowed for one file"):
        check_file("big.pdf", pdf() + bytes(3 << 19), limits)


def test_too_many_files() -> None:
    files = [(f"f{i}.txt", b"hello\n") for i in range(11)]
    with pytest.raises(UploadRefused, match="at most 10 files can be uploaded at once") as caught:
        check_files(files)
    assert caught.value.filename == "f10.txt"


def test_too_much_in_total() -> None:
    limits = UploadLimits(max_total_bytes=5 << 19, max_file_bytes=2 << 20)
    files = [("a.txt", b"a" * (3 << 19)), ("b.txt", b"b" * (3 << 19)), ("c.txt", b"c\n")]
    with pytest.raises(UploadRefused, match=r"to 3 MB in all, over the 2\.5 MB allowed") as caught:
        check_files(files, limits)
    assert caught.value.filename == "b.txt"


def test_all_or_nothing() -> None:
    with pytest.raises(UploadRefused) as caught:
        check_files([("a.pdf", pdf()), ("b.pdf", HTML), ("c.exe", EXE)])
    assert caught.value.filename == "b.pdf"


def test_limits_are_adjustable() -> None:
    limits = UploadLimits(max_unpacked_bytes=1 << 20)
    with pytest.raises(UploadRefused, match="more than the 1 MB we accept"):
        check_file("big.docx", ooxml("docx", {"word/media/a.bin": bytes(2 << 20)}), limits)
    with pytest.raises(UploadRefused, match="has 3 parts inside, more than the 2 a document"):
        check_file("a.docx", ooxml(), UploadLimits(max_entries=2))


@pytest.mark.parametrize("seed", range(4))
def test_damaged_files_are_refused_not_crashed(seed: int) -> None:
    """Randomly broken Office, OLE, email and PDF files: accepted or refused, never a crash."""
    rng = random.Random(seed)
    samples = [ooxml(), DOCX_WITH_CHART, odf(), ole("WordDocument"), EML, pdf()]
    for _ in range(150):
        data = bytearray(rng.choice(samples))
        for _ in range(rng.randint(1, 6)):
            at = rng.randrange(len(data))
            if rng.random() < 0.7:
                data[at] = rng.randrange(256)
            else:
                del data[at : at + rng.randint(1, 40)]
        try:
            check_file("sample", bytes(data))
        except UploadRefused:
            pass


# --- legacy Office read with olefile -------------------------------------------------------------

OleTree = dict[str, "OleTree | None"]


def ole_tree(tree: OleTree) -> bytes:
    """An OLE compound file (MS-CFB v3) holding ``tree``: names of streams (None) and storages.

    Siblings are chained to the right, as some writers do; no stream has any data.
    """
    free, end, fat_sector, no_stream = 0xFFFFFFFF, 0xFFFFFFFE, 0xFFFFFFFD, 0xFFFFFFFF
    entries: list[list[str | int]] = []  # name, kind, right sibling, first child

    def add(name: str, kind: int) -> int:
        entries.append([name, kind, no_stream, no_stream])
        return len(entries) - 1

    def add_kids(parent: int, kids: OleTree) -> None:
        previous = None
        for name, inner in kids.items():
            sid = add(name, 2 if inner is None else 1)
            entries[parent if previous is None else previous][3 if previous is None else 2] = sid
            previous = sid
            if inner is not None:
                add_kids(sid, inner)

    add_kids(add("Root Entry", 5), tree)
    dir_sectors = math.ceil(len(entries) / 4)
    fat_sectors = 1
    while fat_sectors * 128 < fat_sectors + dir_sectors:
        fat_sectors += 1
    header = bytearray(512)
    header[0:8] = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
    struct.pack_into("<HHHHH", header, 0x18, 0x3E, 3, 0xFFFE, 9, 6)
    struct.pack_into("<IIII", header, 0x2C, fat_sectors, fat_sectors, 0, 4096)
    struct.pack_into("<IIII", header, 0x3C, end, 0, end, 0)
    struct.pack_into("<109I", header, 0x4C, *range(fat_sectors), *([free] * (109 - fat_sectors)))
    chain = [*range(fat_sectors + 1, fat_sectors + dir_sectors), end]
    fat = [fat_sector] * fat_sectors + chain
    fat += [free] * (fat_sectors * 128 - len(fat))
    directory = bytearray()
    for name, kind, right, child in entries:
        encoded = str(name).encode("utf-16-le") + b"\x00\x00"
        directory += encoded.ljust(64, b"\x00")
        directory += struct.pack("<HBBIII", len(encoded), kind, 1, no_stream, right, child)
        directory += bytes(16) + struct.pack("<IQQIQ", 0, 0, 0, end, 0)
    directory = directory.ljust(dir_sectors * 512, b"\x00")
    return bytes(header) + struct.pack(f"<{len(fat)}I", *fat) + bytes(directory)


def patch_entry(data: bytes, sid: int, field: str, value: int) -> bytes:
    """Set the left or right sibling, or the child, of directory entry ``sid`` (one FAT sector)."""
    offset = 1024 + sid * 128 + {"left": 0x44, "right": 0x48, "child": 0x4C}[field]
    out = bytearray(data)
    struct.pack_into("<I", out, offset, value)
    return bytes(out)


WORD_97 = {
    "WordDocument": None,
    "1Table": None,
    "\x05SummaryInformation": None,
    "ObjectPool": {"_1234567890": {"\x01Ole": None, "\x03ObjInfo": None}},
}
EXCEL_97 = {
    "Workbook": None,
    "\x05DocumentSummaryInformation": None,
    "_SX_DB_CUR": {"0001": None},
}


@pytest.mark.parametrize(
    ("name", "tree", "kind"),
    [
        ("old.doc", WORD_97, "doc"),
        ("old.xls", EXCEL_97, "xls"),
        ("old.ppt", {"PowerPoint Document": None, "Current User": None}, "ppt"),
        (
            "reply.msg",
            {
                "__properties_version1.0": None,
                "__substg1.0_0037001F": None,
                "__attach_version1.0_#00000000": {"__substg1.0_3707001F": None},
            },
            "msg",
        ),
    ],
)
def test_legacy_office_with_storages_accepted(name: str, tree: OleTree, kind: str) -> None:
    accepted = check_file(name, ole_tree(tree))
    assert accepted.kind == kind
    assert accepted.filename == name


@pytest.mark.parametrize(
    ("name", "tree", "reason"),
    [
        (
            "old.doc",
            {**WORD_97, "Macros": {"VBA": {"dir": None, "ThisDocument": None}, "PROJECT": None}},
            "contains macros, which we never accept. Save it as a Word document (.docx)",
        ),
        (
            "old.xls",
            {**EXCEL_97, "_VBA_PROJECT_CUR": {"VBA": {"dir": None}, "PROJECT": None}},
            "contains macros, which we never accept. Save it as an Excel workbook (.xlsx)",
        ),
        (
            "old.doc",
            {**WORD_97, "ObjectPool": {"_1": {"Macros": {"VBA": {"dir": None}}}}},
            "contains macros, which we never accept",
        ),
        (
            "old.doc",
            {"EncryptionInfo": None, "EncryptedPackage": None, "WordDocument": None},
            "is protected by a password, so we cannot check it",
        ),
    ],
)
def test_legacy_office_macro_storages_refused(name: str, tree: OleTree, reason: str) -> None:
    """Macros live in storages (folders) inside the file, at any depth: all are looked in."""
    with pytest.raises(UploadRefused) as caught:
        check_file(name, ole_tree(tree))
    assert reason in str(caught.value)


MACROS_OUT_OF_REACH = patch_entry(
    ole_tree({"WordDocument": None, "Macros": {"VBA": None}}), 1, "right", 500
)


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(MACROS_OUT_OF_REACH, id="broken_sibling_link_hides_macros"),
        pytest.param(
            patch_entry(ole_tree({"WordDocument": None, "1Table": None}), 2, "right", 1),
            id="siblings_loop",
        ),
        pytest.param(
            ole_tree({"WordDocument": None, **{f"S{i}": None for i in range(3000)}}),
            id="tree_deeper_than_the_recursion_limit",
        ),
        pytest.param(ole("WordDocument")[:512], id="header_only"),
    ],
)
def test_malformed_legacy_office_refused_as_damaged(data: bytes) -> None:
    """What olefile finds off-spec is refused: a broken tree could hide a macro storage."""
    with pytest.raises(UploadRefused, match="seems damaged: it cannot be opened as an Office"):
        check_file("old.doc", data)


def test_short_ole_bytes_are_never_opened_as_a_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """olefile takes bytes shorter than 1536 for a file name; a file of that name is ignored."""
    data = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"x" * 100
    monkeypatch.chdir(tmp_path)
    (tmp_path / os.fsdecode(data)).write_bytes(ole("WordDocument"))
    with pytest.raises(UploadRefused, match="seems damaged"):
        check_file("old.doc", data)


# --- magic numbers kept by hand --------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [b"MZ postcodes: MZ1 2AB, MZ3 4CD\n", b"GIF of the panel meeting follows\n"],
    ids=["starts_with_MZ", "starts_with_GIF"],
)
def test_text_starting_like_a_looser_magic_number_is_text(data: bytes) -> None:
    """filetype would call these a program and an image; they are plain text."""
    assert check_file("notes.txt", data).kind == "text"


# --- names --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "cleaned"),
    [
        ("C:\\Users\\alex\\re\u200bport.pdf", "report.pdf"),
        ("../minutes\t2011.txt", "minutes2011.txt"),
        (" .. ", "unnamed"),
        ("a" * 250, "a" * 200),
        ("action plan v2.docx", "action plan v2.docx"),
    ],
)
def test_clean_filename(name: str, cleaned: str) -> None:
    assert clean_filename(name) == cleaned


def test_all_is_honest() -> None:
    exported = set(uploads.__all__)
    public = {n for n in vars(uploads) if not n.startswith("_") and n != "annotations"}
    submodules = {n for n in public if type(getattr(uploads, n)).__name__ == "module"}
    assert exported == public - submodules
