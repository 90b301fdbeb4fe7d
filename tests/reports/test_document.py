"""Report PDFs: laid out by WeasyPrint from the report's HTML, pages rendered to PNG and the
text read back with poppler-utils; the renderer fetches nothing."""

from __future__ import annotations

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
