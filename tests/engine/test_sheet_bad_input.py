"""Spreadsheet plans as boards really keep them, through ``engine.importer.import_files`` on
SQLite and PostgreSQL (issue 12, "Bad input"): blank rows, hidden rows, formulas with a saved
value, dates as Excel serial numbers, the same ref on two sheets, files that are not
spreadsheets. Each is handled or reported naming the sheet and row, never a crash, and a
refused import writes nothing, not even the good rows of another sheet.

(``tests/test_cli_sheets.py`` covers the example workbook's merged cells, header rows below
a title, several sheets, hidden rows and dates as text, and a workbook of bad rows: unknown
agencies, duplicate refs, formulas with no saved value, impossible dates.)
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import openpyxl
import pytest
import sqlalchemy as sa

from engine.errors import ImportErrors
from engine.findings import Severity
from engine.importer import ImportReport, import_files
from engine.services import Services
from engine.sheets import NotASpreadsheet
from engine.store import core
from tests.conftest import NOW

HEADINGS = ["Ref", "Recommendation", "Lead agency", "Target date", "Priority"]


def _workbook(
    path: Path, sheets: dict[str, list[list[Any]]], setup: Callable[[Any], None] | None = None
) -> Path:
    book = openpyxl.Workbook()
    first = book.active
    assert first is not None
    book.remove(first)
    for name, rows in sheets.items():
        ws = book.create_sheet(name)
        ws.append(HEADINGS)
        for row in rows:
            ws.append(row)
        if setup is not None:
            setup(ws)
    book.save(path)
    return path


def _counts(services: Services) -> tuple[int, ...]:
    with services.db.engine.connect() as conn:
        return tuple(
            conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one()
            for t in (core.review, core.recommendation, core.item, core.event)
        )


def _import(services: Services, path: Path) -> ImportReport:
    with services.db.write() as conn:
        return import_files(conn, [path], specs=services.specs, actor="test", now=NOW)


def _refused(services: Services, path: Path) -> ImportErrors:
    before = _counts(services)
    with pytest.raises(ImportErrors) as caught:
        _import(services, path)
    assert _counts(services) == before  # nothing written
    return caught.value


def _due(services: Services, review: str) -> dict[str, list[str]]:
    rec = core.recommendation
    with services.db.engine.connect() as conn:
        rows = conn.execute(sa.select(rec.c.ref, rec.c.due_dates).where(rec.c.review_id == review))
        return {r.ref: list(r.due_dates) for r in rows}


def test_blank_and_whitespace_rows_are_skipped_without_a_word(
    demo: Services, tmp_path: Path
) -> None:
    path = _workbook(
        tmp_path / "blanks.xlsx",
        {
            "Plan": [
                [None] * 5,
                ["1", "First.", "SEPT", "June 2011", "High"],
                ["  ", "", None, " ", None],
                ["2", "Second.", "sept", "July 2011", "Low"],
                [None] * 5,
                [None] * 5,
            ]
        },
    )
    done = _import(demo, path)
    assert done.added == ["blanks/1", "blanks/2"]
    assert {f.row for f in done.findings} <= {"review"}  # only the note on the review's kind


def test_a_hidden_row_is_left_out_and_said_so_even_when_it_is_wrong(
    demo: Services, tmp_path: Path
) -> None:
    def hide(ws: Any) -> None:
        ws.row_dimensions[3].hidden = True

    path = _workbook(
        tmp_path / "hidden.xlsx",
        {
            "Plan": [
                ["1", "Shown.", "SEPT", "June 2011", "High"],
                ["2", "Hidden, and wrong.", "Essex Polise", "soonish", "Urgent"],
            ]
        },
        hide,
    )
    done = _import(demo, path)
    assert done.added == ["hidden/1"]
    notes = [(f.row, f.message) for f in done.findings if f.severity is Severity.NOTE]
    assert ("sheet 'Plan' row 3", "hidden row; not imported") in notes


def _with_saved_value(path: Path, cell: str, value: str) -> Path:
    """``path`` as Excel saves it: the formula in ``cell`` with its value stored beside it
    (openpyxl writes the formula alone)."""
    out = path.with_name("saved-" + path.name)
    with zipfile.ZipFile(path) as zin, zipfile.ZipFile(out, "w") as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                text, n = re.subn(
                    rf'(<c r="{cell}"[^>]*>)<f>(.*?)</f>(<v\s*/>|<v></v>)?',
                    rf"\1<f>\2</f><v>{value}</v>",
                    data.decode(),
                )
                assert n == 1
                data = text.encode()
            zout.writestr(info, data)
    return out


def test_a_formula_with_a_saved_value_is_read_as_that_value(demo: Services, tmp_path: Path) -> None:
    plain = _workbook(
        tmp_path / "formula.xlsx",
        {"Plan": [["1", "Dated by a formula.", "SEPT", "=DATE(2011,6,30)", "High"]]},
    )
    path = _with_saved_value(plain, "D2", "40724")  # 30 June 2011, as Excel stores it
    done = _import(demo, path)
    assert done.added == ["saved-formula/1"]
    assert _due(demo, "saved-formula") == {"1": ["2011-06-30"]}


def test_a_date_as_an_excel_serial_number_is_a_date(demo: Services, tmp_path: Path) -> None:
    path = _workbook(
        tmp_path / "serial.xlsx",
        {
            "Plan": [
                ["1", "A serial.", "SEPT", 40574, "High"],
                ["2", "Text.", "SEPT", "31/01/2011", "M"],
            ]
        },
    )
    _import(demo, path)
    assert _due(demo, "serial") == {"1": ["2011-01-31"], "2": ["2011-01-31"]}


def test_the_same_ref_on_two_sheets_is_refused_and_no_sheet_is_written(
    demo: Services, tmp_path: Path
) -> None:
    path = _workbook(
        tmp_path / "two.xlsx",
        {
            "Actions": [["1", "First.", "SEPT", "June 2011", "High"]],
            "More actions": [
                ["2", "Second.", "SEPT", "June 2011", "High"],
                ["1", "The same ref again.", "SEPT", "June 2011", "High"],
            ],
        },
    )
    refused = _refused(demo, path)
    errors = [f for f in refused.findings if f.severity is Severity.ERROR]
    assert [(f.row, f.field.split(" (")[0]) for f in errors] == [
        ("sheet 'More actions' row 3", "column A")
    ]
    assert "already used" in errors[0].message


def test_a_bad_row_on_one_sheet_stops_the_good_sheet_too(demo: Services, tmp_path: Path) -> None:
    """All or nothing: the good sheet's rows are not written either."""
    path = _workbook(
        tmp_path / "half.xlsx",
        {
            "Good": [["1", "Fine.", "SEPT", "June 2011", "High"]],
            "Bad": [["2", "Unknown agency.", "Essex Polise", "June 2011", "High"]],
        },
    )
    refused = _refused(demo, path)
    assert [f.row for f in refused.findings if f.severity is Severity.ERROR] == [
        "sheet 'Bad' row 2"
    ]


_OLE2 = (
    bytes.fromhex("d0cf11e0a1b11ae1") + b"\x00" * 504
)  # an old .xls, or a password-protected .xlsx


def _no_workbook_part() -> bytes:
    import io

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
    return out.getvalue()


@pytest.mark.parametrize(
    ("name", "content", "said"),
    [
        ("plan.xlsx", _OLE2, "an old .xls file or a Word document must be saved as .xlsx"),
        ("plan.xlsx", b"", "not an Excel workbook (.xlsx)"),
        ("plan.xlsx", _no_workbook_part(), "not an Excel workbook (.xlsx)"),
        ("plan.csv", "Recommendation\tRef\n".encode("utf-16"), "not a CSV file"),
    ],
    ids=["old_xls_or_encrypted", "empty_xlsx", "zip_without_a_workbook", "utf16_text"],
)
def test_a_file_that_is_not_a_spreadsheet_says_so_in_words(
    demo: Services, tmp_path: Path, name: str, content: bytes, said: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    before = _counts(demo)
    with pytest.raises((ImportErrors, NotASpreadsheet)) as caught:
        _import(demo, path)
    assert said in str(caught.value)
    assert "Traceback" not in str(caught.value)
    assert _counts(demo) == before


def test_an_empty_csv_says_there_are_no_rows(demo: Services, tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    refused = _refused(demo, path)
    assert any("no recommendation rows found" in f.message for f in refused.findings)
