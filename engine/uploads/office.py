"""Office documents: which kind, and refused when they hold macros or a password.

Three families, each judged by the names inside its container, never by running it:

- legacy OLE compound files (doc, xls, ppt, msg), opened with olefile;
- OOXML (docx, xlsx, pptx) and OpenDocument (odt, ods, odp), zip containers that
  :mod:`engine.uploads.archives` has already proved safe to read.
"""

from __future__ import annotations

import io
import struct
import zipfile
from xml.etree import ElementTree

import olefile

from engine.uploads.policy import PASSWORD, RESAVE, SAVE_AS_PDF, BadContent, Content

_OLE_MACROS = frozenset(["Macros", "_VBA_PROJECT_CUR", "VBA"])
_OLE_KINDS = (
    ("WordDocument", "doc", "a Word document (.docx)"),
    ("Workbook", "xls", "an Excel workbook (.xlsx)"),
    ("Book", "xls", "an Excel workbook (.xlsx)"),
    ("PowerPoint Document", "ppt", "a PowerPoint presentation (.pptx)"),
)
_OOXML_KINDS = (
    ("wordprocessingml.document.main+xml", "docx"),
    ("spreadsheetml.sheet.main+xml", "xlsx"),
    ("presentationml.presentation.main+xml", "pptx"),
)
_MAX_XML = 4 << 20  # content types and relationships: a few kB in real documents
_OLE_PACKAGE = "\x01Ole10Native"  # a file of any kind, a program too, packed into the document
_ACTIVE_RELATIONSHIPS = {
    "oleobject": "has an embedded object (OLE), which can run a program when it is opened",
    "activexcontrol": "contains ActiveX controls, which can run programs",
    "activexcontrolbinary": "contains ActiveX controls, which can run programs",
    "control": "contains ActiveX controls, which can run programs",
    "afchunk": "has a web page or other document merged into it when it is opened",
}
_REMOTE = ("\\\\", "//", "file:", "smb:")
_LINKS = ("http://", "https://", "mailto:")
_ODF_KINDS = (("text", "odt"), ("spreadsheet", "ods"), ("presentation", "odp"))


def ole_content(data: bytes) -> Content:
    """Legacy Office (OLE compound file): which kind, by the names of its streams and storages.

    Raises:
        BadContent: damaged, protected by a password, or holding macros.
    """
    try:
        names = _ole_names(data)
    except (OSError, struct.error, IndexError, ValueError, RecursionError):
        # olefile raises OleFileError (an OSError) for what it checks and lets the rest through
        raise BadContent(
            f"seems damaged: it cannot be opened as an Office file. {RESAVE}"
        ) from None
    if "EncryptedPackage" in names:
        raise BadContent(f"is protected by a password, so we cannot check it. {PASSWORD}")
    if _OLE_PACKAGE in names:
        raise BadContent(
            "has a file packed inside it (an embedded package), which can be a program. "
            f"{SAVE_AS_PDF}"
        )
    for stream, kind, save_as in _OLE_KINDS:
        if stream in names:
            if names & _OLE_MACROS:
                raise BadContent(
                    f"contains macros, which we never accept. Save it as {save_as}, which "
                    "cannot hold macros, and upload that."
                )
            return Content.of(kind)
    if "__properties_version1.0" in names or any(n.startswith("__substg1.0_") for n in names):
        return Content.of("msg")
    return Content(
        (),
        "an Office file of a kind we do not accept (not Word, Excel, PowerPoint or Outlook)",
        SAVE_AS_PDF,
    )


def _ole_names(data: bytes) -> set[str]:
    """Every stream and storage name in an OLE compound file, at any depth.

    Any depth, so that macros in an embedded object are found too. Off-spec structure is
    an error, not skipped: a tree walk that skipped a broken link could miss a macro storage.

    Raises:
        OSError: olefile found the file damaged (``olefile.OleFileError``), or not OLE.
        struct.error, IndexError, ValueError, RecursionError: damage olefile did not check
            (RecursionError: a degenerate directory tree deeper than Python's stack).
    """
    # a BytesIO, never bytes: olefile takes bytes shorter than 1536 for a path to open
    with olefile.OleFileIO(io.BytesIO(data), raise_defects=olefile.DEFECT_INCORRECT) as ole:
        paths: list[list[str]] = ole.listdir(streams=True, storages=True)
    return {name for path in paths for name in path}


def ooxml_content(archive: zipfile.ZipFile) -> Content:
    """OOXML: which kind, from ``[Content_Types].xml``, once nothing in it can act.

    The zip's structure (one part per name, no archives or programs, OLE objects refused)
    is proved by :mod:`engine.uploads.archives` first.

    Raises:
        BadContent: macros (a VBA project, a macro-enabled type), ActiveX controls, or a
            relationship that reaches outside the file (a remote template, an image on
            ``\\\\host``: Word fetches them on opening, leaking the reader's password hash),
            or unreadable relationships.
    """
    types = _read_part(archive, "[Content_Types].xml")
    names = [n.lower() for n in archive.namelist()]
    lowered = types.lower()
    if (
        "macroenabled" in lowered
        or "vbaproject" in lowered
        or any(n.endswith(("vbaproject.bin", "vbadata.xml")) for n in names)
    ):
        raise _macros(names)
    if "activex" in lowered or any("/activex/" in f"/{n}" for n in names):
        raise BadContent(f"contains ActiveX controls, which can run programs. {SAVE_AS_PDF}")
    for name in archive.namelist():
        if name.lower().endswith(".rels"):
            _check_relationships(name, _read_part(archive, name), names)
    for main, kind in _OOXML_KINDS:
        if main in types:
            return Content.of(kind)
    return _unsupported_office()


def _read_part(archive: zipfile.ZipFile, name: str) -> str:
    with archive.open(name) as part:
        data = part.read(_MAX_XML + 1)
    if len(data) > _MAX_XML:
        raise BadContent(f"has a part ({name!r}) too large for what it should hold. {SAVE_AS_PDF}")
    return data.decode("utf-8", "replace")


def _check_relationships(part: str, xml: str, names: list[str]) -> None:
    """No macro, OLE or ActiveX relationship; nothing fetched from outside the file."""
    try:
        root = ElementTree.fromstring(xml)
    except ElementTree.ParseError:
        raise BadContent(
            f"seems damaged: a part inside it cannot be read ({part!r}). {RESAVE}"
        ) from None
    for rel in root.iter():
        if not rel.tag.endswith("Relationship"):
            continue
        kind = rel.get("Type", "").rsplit("/", 1)[-1].lower()
        target = "".join(rel.get("Target", "").split())
        external = rel.get("TargetMode", "").lower() == "external"
        if kind == "vbaproject":
            raise _macros(names)
        if kind in _ACTIVE_RELATIONSHIPS:
            raise BadContent(f"{_ACTIVE_RELATIONSHIPS[kind]}. {SAVE_AS_PDF}")
        remote = target.lower().startswith(_REMOTE) or "://" in target
        if kind == "hyperlink":  # clicked, never fetched on opening: web and email only
            if external and not target.lower().startswith(_LINKS):
                raise BadContent(
                    f"has a link to a file on another computer ({target[:60]!r}), which can "
                    f"leak the password of whoever clicks it. {SAVE_AS_PDF}"
                )
        elif external or remote:
            raise BadContent(
                f"fetches something from outside the file when it is opened "
                f"({kind}: {target[:60]!r}), which can track or leak the password of whoever "
                f"opens it. Remove it (or save the document as PDF) and upload that."
            )


def _macros(names: list[str]) -> BadContent:
    save_as = "a Word document (.docx)"
    if any(n.startswith("xl/") for n in names):
        save_as = "an Excel workbook (.xlsx)"
    elif any(n.startswith("ppt/") for n in names):
        save_as = "a PowerPoint presentation (.pptx)"
    return BadContent(
        f"contains macros, which we never accept. Save it as {save_as}, which cannot "
        "hold macros, and upload that."
    )


def opendocument_content(archive: zipfile.ZipFile) -> Content:
    """OpenDocument: which kind, from its ``mimetype`` part.

    Raises:
        BadContent: encrypted (by its manifest), or holding Basic or script macros.
    """
    with archive.open("mimetype") as part:
        mimetype = part.read(100).decode("ascii", "replace").strip()
    names = archive.namelist()
    if "META-INF/manifest.xml" in names:
        with archive.open("META-INF/manifest.xml") as part:
            if b"encryption-data" in part.read(1 << 20):
                raise BadContent(f"is protected by a password, so we cannot check it. {PASSWORD}")
    if any(n.startswith(("Basic/", "Scripts/")) for n in names):
        raise BadContent(
            "contains macros, which we never accept. Remove them (Tools > Macros > Organise) "
            "or save it as PDF, and upload that."
        )
    for suffix, kind in _ODF_KINDS:
        if mimetype == f"application/vnd.oasis.opendocument.{suffix}":
            return Content.of(kind)
    return _unsupported_office()


def _unsupported_office() -> Content:
    """An Office container of a kind we do not take (a template, a database, a drawing)."""
    return Content(
        (),
        "an Office file of a kind we do not accept (for example a template)",
        "Save it as a document (.docx, .xlsx, .pptx, .odt, .ods or .odp) and upload that.",
    )
