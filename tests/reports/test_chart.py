"""The themes heat map: an SVG drawn on the server, labelled for screen readers, embedded in
the HTML page and the PDF, with the table beside it as its text alternative."""

from __future__ import annotations

import subprocess
from pathlib import Path

from engine.reports import Chart, Figure, Report, Table
from reports import render
from reports.chart import render_svg
from tests.reports.test_document import PDFTOTEXT, needs_poppler

HOSTILE = "<script>alert(1)</script>"


def _report() -> Report:
    table = Table(
        name="themes-agencies",
        caption="Items by theme and agency",
        columns=("Theme", "nhs", "sept", "All"),
        rows=(
            (
                "Record keeping",
                Figure.of("Record keeping: nhs", ["a/R2"]),
                Figure.of("Record keeping: sept", ["a/R1", "b/S1"]),
                Figure.of("Record keeping: all", ["a/R2", "a/R1", "b/S1"]),
            ),
            (
                HOSTILE,
                Figure.of(f"{HOSTILE}: nhs", []),
                Figure.of(f"{HOSTILE}: sept", ["a/R1"]),
                Figure.of(f"{HOSTILE}: all", ["a/R1"]),
            ),
        ),
    )
    return Report(
        name="themes",
        title="Themes",
        data={"format": 1, "report": "themes", "as_of": "2011-03-31", "scope": {}},
        tables=(table,),
        charts=(
            Chart(table="themes-agencies", title="Heat map of themes", description="Darker: more"),
        ),
    )


def test_svg_is_an_image_with_a_title_and_description() -> None:
    report = _report()
    svg = render_svg(report.charts[0], report.tables[0], ident="c1")
    assert svg.startswith("<svg")
    assert 'role="img"' in svg.split(">", 1)[0]
    assert 'aria-labelledby="c1-title"' in svg
    assert '<title id="c1-title">Heat map of themes</title>' in svg
    assert '<desc id="c1-desc">Darker: more</desc>' in svg
    assert "Record keeping" in svg  # text stays text (svg.fonttype none)
    assert HOSTILE not in svg  # a theme's label is escaped, never markup


def test_html_embeds_the_chart_before_its_table() -> None:
    html = render(_report(), "html").decode()
    assert html.index('<figure class="chart"><svg') < html.index('<table id="themes-agencies"')
    assert HOSTILE not in html


def test_svg_is_the_same_for_the_same_report() -> None:
    """No dates or random ids in the drawing: a re-run gives the same bytes."""
    report = _report()
    one = render_svg(report.charts[0], report.tables[0], ident="c1")
    assert one == render_svg(report.charts[0], report.tables[0], ident="c1")


@needs_poppler
def test_pdf_shows_the_chart_labels(tmp_path: Path) -> None:
    pdf = tmp_path / "themes.pdf"
    pdf.write_bytes(render(_report(), "pdf"))
    text = subprocess.run(
        [str(PDFTOTEXT), "-layout", str(pdf), "-"],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    assert "Heat map of themes" in text  # the chart's own title, drawn in the SVG
    assert text.count("Record keeping") >= 2  # in the chart and in its table
