"""The hostile upload corpus against the content checks, and what must still pass.

Each hostile file is refused by name with its reason (issue 9, "Uploads that pass the
content checks"); the web and email tests send the same files through the public paths.
"""

from __future__ import annotations

import collections
import io
import time

import pikepdf
import pytest

from engine.errors import UploadRefused
from engine.uploads import check_file
from engine.uploads.formulas import check_csv
from engine.uploads.names import check_name
from engine.uploads.pdf import MAX_STRUCTURE
from engine.uploads.policy import BadContent
from tests.files import pdf, pdf_object_stream
from tests.hostile_files import BENIGN, CORPUS, Hostile


@pytest.mark.parametrize("hostile", CORPUS, ids=[h.id for h in CORPUS])
def test_hostile_file_is_refused_with_its_name_and_reason(hostile: Hostile) -> None:
    with pytest.raises(UploadRefused) as caught:
        check_file(hostile.name, hostile.data)
    assert caught.value.filename == hostile.name
    assert hostile.says in caught.value.reason


def test_the_corpus_covers_every_kind() -> None:
    counts = collections.Counter(h.kind for h in CORPUS)
    assert counts == {"pdf": 24, "image": 15, "office": 19, "csv": 10, "email": 7, "name": 15}
    assert len({h.id for h in CORPUS}) == len(CORPUS)


@pytest.mark.parametrize(("name", "data"), BENIGN, ids=[name for name, _ in BENIGN])
def test_ordinary_file_passes(name: str, data: bytes) -> None:
    assert check_file(name, data).filename == name


# --- PDF -----------------------------------------------------------------------------------


def test_pdf_bomb_is_refused_within_the_budget_quickly() -> None:
    """A 70 KB object stream of 70 MB: refused by the scan before qpdf would inflate it."""
    [bomb] = [h for h in CORPUS if h.id == "object_stream_bomb"]
    started = time.perf_counter()
    with pytest.raises(UploadRefused, match="PDF bombs"):
        check_file(bomb.name, bomb.data)
    assert time.perf_counter() - started < 5
    assert len(bomb.data) < MAX_STRUCTURE // 100


def test_object_streams_without_anything_active_pass() -> None:
    assert check_file("a.pdf", pdf_object_stream(b"<< /Title (Minutes) >>")).kind == "pdf"


def test_a_pdf_qpdf_cannot_open_is_refused_as_damaged() -> None:
    with pytest.raises(UploadRefused, match="seems damaged: it cannot be opened as a PDF"):
        check_file("a.pdf", b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n")


def test_a_go_to_page_open_action_passes() -> None:
    """Writers often open on page 1 at a zoom: that acts on nothing outside the file."""
    data = pdf(b"/OpenAction << /S /GoTo /D [3 0 R /Fit] >>")
    assert check_file("a.pdf", data).kind == "pdf"


def test_a_large_ordinary_pdf_is_checked_in_bounded_time() -> None:
    """1,000 pages, each with its own content and image, in object streams (about 7 MB)."""
    doc = pikepdf.new()
    for number in range(1000):
        doc.add_blank_page()
        page = doc.pages[number]
        page.Contents = doc.make_stream(b"BT /F1 10 Tf 50 700 Td (Page %d) Tj ET" % number)
        image = doc.make_stream(bytes(range(256)) * 24)
        image.Type, image.Subtype = pikepdf.Name.XObject, pikepdf.Name.Image
        image.Width, image.Height, image.BitsPerComponent = 64, 96, 8
        image.ColorSpace = pikepdf.Name.DeviceGray
        page.Resources = pikepdf.Dictionary(XObject=pikepdf.Dictionary(Im0=image))
    out = io.BytesIO()
    doc.save(out, object_stream_mode=pikepdf.ObjectStreamMode.generate, compress_streams=False)
    started = time.perf_counter()
    assert check_file("large.pdf", out.getvalue()).kind == "pdf"
    assert time.perf_counter() - started < 10


# --- CSV -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "cell",
    ["-3.5", "+44 (0)20 7946 0000", "-10%", "- done", "@panel", "-", "2011-01-03", "+1,000"],
)
def test_cells_that_cannot_act_pass(cell: str) -> None:
    check_csv(f"ref,value\nR1,{cell}\n")


def test_the_formula_is_named_with_its_row() -> None:
    with pytest.raises(BadContent, match=r"\(row 3: '=1\+1'\)"):
        check_csv("a,b\n1,2\n3,=1+1\n")


# --- names -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "kept"),
    [
        ("re\u200bport\u00ad.pdf", "report.pdf"),
        ("\uff52\uff45\uff50\uff4f\uff52\uff54.pdf", "report.pdf"),
        ("minutes.pdf. . ", "minutes.pdf"),
        ("CONTRACT.pdf", "CONTRACT.pdf"),
        ("console.txt", "console.txt"),
    ],
)
def test_names_are_normalised_before_they_are_checked_and_kept(name: str, kept: str) -> None:
    assert check_name(name) == kept
