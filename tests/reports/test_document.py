"""Report PDFs: laid out by WeasyPrint from the report's HTML, pages rendered to PNG and the
text read back with poppler-utils; the renderer fetches nothing."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from reports import render
from tests.reports.test_render import _report

PDFTOPPM, PDFTOTEXT = shutil.which("pdftoppm"), shutil.which("pdftotext")
needs_poppler = pytest.mark.skipif(
    not (PDFTOPPM and PDFTOTEXT) and os.environ.get("CI") != "true",
    reason="no pdftoppm/pdftotext (make pdf-libs installs poppler-utils); CI never skips this",
)


@needs_poppler
def test_pdf_pages_render_and_carry_the_figures(tmp_path: Path) -> None:
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(render(_report(), "pdf"))
    assert pdf.read_bytes().startswith(b"%PDF-")
    subprocess.run(
        [str(PDFTOPPM), "-png", "-r", "50", str(pdf), str(tmp_path / "page")],
        check=True,
        timeout=60,
    )
    pages = sorted(tmp_path.glob("page*.png"))
    assert pages
    assert all(p.read_bytes().startswith(b"\x89PNG") for p in pages)
    text = subprocess.run(
        [str(PDFTOTEXT), "-layout", str(pdf), "-"],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    assert "RAG <and> state" in text
    assert "RAG by agency" in text
    assert "sept: red: 2" in text
    assert "r/A2" in text
    assert "<script>alert(1)</script>" in text  # shown as text, never run


@needs_poppler
def test_pdf_refuses_to_fetch_anything() -> None:
    from reports.document import _refuse

    with pytest.raises(ValueError, match="fetches nothing"):
        _refuse("file:///etc/passwd")


@needs_poppler
def test_a_long_pdf_prints_the_first_rows_and_names_the_sheet_with_the_rest(
    tmp_path: Path,
) -> None:
    """130 items: the PDF prints 100 of each table and list and names the sheet of the xlsx
    that holds every one; that sheet does."""
    from openpyxl import load_workbook

    from reports.document import LIMIT
    from tests.reports.test_render import _long

    report = _long(LIMIT + 30)
    pdf = tmp_path / "long.pdf"
    pdf.write_bytes(render(report, "pdf"))
    text = subprocess.run(
        [str(PDFTOTEXT), str(pdf), "-"], check=True, capture_output=True, text=True, timeout=60
    ).stdout
    flat = " ".join(text.split())
    assert "This PDF is a summary" in flat
    assert f"r/K{LIMIT:03d}" in flat
    assert f"r/K{LIMIT + 1:03d}" not in flat
    assert f"30 more rows are not printed here (rows 1 to {LIMIT} of {LIMIT + 30} are)" in flat
    assert "sheet “overdue-each-item”" in flat
    assert "30 more items are not printed here. Every item is on the sheet “F1”" in flat
    book = load_workbook(io.BytesIO(render(report, "xlsx")))
    assert book["overdue-each-item"].max_row == 2 + LIMIT + 30  # caption, headings, rows
    assert [r[0] for r in book["F1"].iter_rows(min_row=3, values_only=True)][-1] == (
        f"r/K{LIMIT + 30:03d}"
    )
