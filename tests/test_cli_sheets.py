"""Action plans in spreadsheets through the command line (issue 12), on SQLite and PostgreSQL:
`signoff import plan.xlsx|plan.csv [--mapping] [--dry-run]` and `signoff export`.

The example workbook (config/examples/build_sheet_example.py) imports with no edits; export
then import changes nothing; each bad input is refused naming sheet, row, column and value,
in one pass, with nothing written."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import openpyxl
import pytest
import sqlalchemy as sa

from config.examples.build_sheet_example import build
from engine import sheets
from tests.conftest import EXAMPLES, PG_URL, make_database
from tests.test_cli_checkpoint import Board

EXAMPLE = EXAMPLES / "southend_scr_action_plan.xlsx"
NOW = "2011-01-10T09:00Z"
REVIEW = "southend-scr-action-plan"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def board(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Board]:
    """The demo board: the YAML plan and contacts imported, so the directory has agencies."""
    for db in make_database(request.param, tmp_path, "demo"):
        if db.is_sqlite:
            url = db.url
        else:
            with db.engine.connect() as conn:
                schema = conn.execute(sa.text("SELECT current_schema()")).scalar_one()
            url = f"{PG_URL}?options={quote(f'-csearch_path={schema}')}"
        yield Board(db, url, tmp_path)


def _counts(board: Board) -> tuple[int, int, int, int]:
    return tuple(  # type: ignore[return-value]
        board.sql(f"SELECT count(*) FROM {t}")[0][0]
        for t in ("review", "recommendation", "item", "event")
    )


def _recs(board: Board, review: str) -> list[tuple[Any, ...]]:
    rows = board.sql(
        "SELECT r.ref, r.text, r.agreed_action, r.lead, r.priority, r.due_dates, "
        "r.start_dates, r.note, i.agency_id, i.due FROM recommendation r "
        "JOIN item i ON i.recommendation_id = r.id WHERE r.review_id = :r ORDER BY r.ref, "
        "i.agency_id",
        r=review,
    )
    return [tuple(json.dumps(v) if isinstance(v, list) else str(v) for v in row) for row in rows]


def _import_json(board: Board, *args: str, code: int = 0) -> dict[str, Any]:
    out: dict[str, Any] = json.loads(
        board("import", *args, "--now", NOW, "--json", code=code).stdout
    )
    return out


def test_the_example_workbook_is_what_the_builder_makes(tmp_path: Path) -> None:
    fresh = build(tmp_path / "x.xlsx")
    committed, rebuilt = openpyxl.load_workbook(EXAMPLE), openpyxl.load_workbook(fresh)
    assert committed.sheetnames == rebuilt.sheetnames
    for name in committed.sheetnames:
        a, b = committed[name], rebuilt[name]
        assert [[c.value for c in r] for r in a.iter_rows()] == [
            [c.value for c in r] for r in b.iter_rows()
        ], f"regenerate {EXAMPLE.name} with config/examples/build_sheet_example.py"


def test_example_imports_with_no_edits_and_round_trips(board: Board, tmp_path: Path) -> None:
    dry = board("import", str(EXAMPLE), "--dry-run", "--now", NOW).stdout
    assert "would import: 1 review(s), 4 agency record(s), 0 contact(s), 8 new item(s)" in dry
    assert "header_row: 3" in dry
    assert "Target date: due" in dry
    before = _counts(board)
    assert _counts(board) == before  # the dry run wrote nothing
    done = _import_json(board, str(EXAMPLE))
    assert done["ok"]
    assert len(done["added"]) == 8
    assert f"{REVIEW}/5b" not in done["added"]  # the hidden row
    rows = {r[0]: r for r in _recs(board, REVIEW)}
    assert rows["1"][5] == '["2011-01-31"]'  # an Excel date cell
    assert rows["2"][5] == '["2011-01-31", "2011-04-01"]'  # two dates in one cell, in order
    assert rows["3"][5] == '["2011-06-30"]'  # June 2011: the end of the month
    assert rows["4"][5] == '["2010-08-31"]'  # Summer 2010, approximate (warned)
    assert rows["5"][5] == "[]"
    assert "within six months" in rows["5"][7]
    assert rows["A1"][5] == "[]"
    assert rows["A1"][6] == '["2011-01-01"]'
    assert rows["A2"][6] == '["2009-01-01"]'
    assert rows["A2"][5] == '["2010-03-31"]'
    assert rows["A3"][5] == '["2011-01-10"]'  # Immediate: the import's date
    # the agency merged down two rows answers both; "NHS South East Essex / SEPT": two items
    agencies = {(r[0], r[8]) for r in _recs(board, REVIEW)}
    assert ("A2", "sept") in agencies
    assert {("2", "nhs-south-east-essex"), ("2", "sept")} <= agencies
    warnings = [f for f in done["findings"] if f["severity"] == "warning"]
    assert any(
        "Summer 2010" in f["message"] and f["field"].startswith("column F") for f in warnings
    )
    # the status column: an imported event after the first, not verified, placing the item in
    # the state the workflow's imported_status names
    status = board.sql(
        "SELECT r.ref, e.from_state, e.to_state, e.reason, e.data, i.state FROM event e "
        "JOIN item i ON i.id = e.item_id JOIN recommendation r ON r.id = i.recommendation_id "
        "WHERE r.review_id = :r AND e.trigger = 'import_status' AND e.seq = 2",
        r=REVIEW,
    )
    placed = {
        ref: (f, t, why, d if isinstance(d, dict) else json.loads(d), now)
        for ref, f, t, why, d, now in status
    }
    assert set(placed) == {"1", "2", "3", "4", "5", "A1", "A2", "A3"}
    moved, reason, data, state = placed["3"][1], placed["3"][2], placed["3"][3], placed["3"][4]
    assert (placed["3"][0], moved, state) == ("open", "panel_signed_off", "panel_signed_off")
    assert data["imported_status"] == "completed"
    assert data["verified"] is False
    assert "sheet 'SCR actions' row 6" in data["status_source"]
    assert "not verified by signoff" in reason
    assert placed["A3"][1:2] == ("panel_signed_off",)  # "Completed": case ignored
    assert placed["4"][:2] == ("open", "open")  # "no response": still open, and chased
    assert placed["5"][:2] == ("open", "open")  # "on track"
    assert done["imported_statuses"] == [
        f"{REVIEW}/1",
        f"{REVIEW}/3",
        f"{REVIEW}/A3",
    ]
    timescale = json.loads(
        board("report", "timescale", "--review", REVIEW, "--format", "json", "--now", NOW).stdout
    )
    apart = [u["key"] for u in timescale["unverified"]]
    assert apart == [f"{REVIEW}/1", f"{REVIEW}/3", f"{REVIEW}/A3"]
    counted = json.dumps(timescale["bases"])
    assert f'"{REVIEW}/3"' not in counted
    # export, then import the export: nothing changes
    stored = _recs(board, REVIEW)
    out = tmp_path / "exported.xlsx"
    board("export", "--review", REVIEW, "--format", "xlsx", "-o", str(out))
    book = openpyxl.load_workbook(out)
    assert book.sheetnames[:2] == ["SCR actions", "Audit follow-up"]
    ws = book["SCR actions"]
    assert ws.cell(3, 1).value == "Ref"
    assert ws.cell(3, 10).value == "signoff: state"
    assert ws.cell(1, 1).value == "Serious Case Review action plan (fictional example)"
    counted = _counts(board)
    again = _import_json(board, str(out))
    assert again["added"] == []
    assert len(again["unchanged"]) == 8
    assert _counts(board) == counted
    assert _recs(board, REVIEW) == stored
    # and the rows read back are the rows first read, field for field
    directory = sheets.Directory(
        {
            a: {"id": a, "name": n, "senior_contact_role": s, "note": t}
            for a, n, s, t in board.sql("SELECT id, name, senior_contact_role, note FROM agency")
        }
    )
    today = dt.date(2011, 1, 10)
    first = sheets.read_plan(EXAMPLE, None, directory, today=today)
    second = sheets.read_plan(out, None, directory, today=today)
    assert first.data["recommendations"] == second.data["recommendations"]
    assert first.data["review"]["id"] == second.data["review"]["id"]


def test_csv_with_a_mapping_file_and_neutralised_export(board: Board, tmp_path: Path) -> None:
    plan = tmp_path / "plan.csv"
    plan.write_text(
        "Quarterly update,,,,\n"
        "Number,What we said,Who,When,Progress\n"
        '1,"=HYPERLINK(""http://x.example"",""click"")",Essex Probation Service,30/06/2011,Amber\n'
        "2,Review supervision policy,ESSEX PROBATION-SERVICE,1st April 2011,no response\n",
        encoding="utf-8",
    )
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text(
        "review: {id: quarterly-2011, title: Quarterly update, board: Example board, "
        "kind: scrutiny}\n"
        "sheets:\n  plan:\n    columns: {Number: ref, What we said: text, Who: agency, "
        "When: due, Progress: status}\n",
        encoding="utf-8",
    )
    dry = board("import", str(plan), "--mapping", str(mapping), "--dry-run", "--now", NOW)
    assert "2 new item(s)" in dry.stdout
    assert "What we said: text" in dry.stdout
    _import_json(board, str(plan), "--mapping", str(mapping))
    rows = {r[0]: r for r in _recs(board, "quarterly-2011")}
    assert rows["1"][1].startswith("=HYPERLINK")
    assert rows["2"][8] == "essex-probation"
    exported = board("export", "--review", "quarterly-2011", "--format", "csv").stdout
    cells = list(csv.reader(io.StringIO(exported.lstrip("\ufeff"))))
    assert cells[1][:5] == ["Number", "What we said", "Who", "When", "Progress"]
    assert cells[2][1].startswith("'=HYPERLINK")  # neutralised: shown, never run
    back = tmp_path / "plan-back.csv"
    back.write_text(exported, encoding="utf-8")
    counted = _counts(board)
    again = _import_json(board, str(back), "--mapping", str(mapping))
    assert again["added"] == []
    assert len(again["unchanged"]) == 2
    assert _counts(board) == counted
    # an agency's rows only; a bad agency or review is a usage error
    only = board("export", "--review", "quarterly-2011", "--format", "csv", "--agency", "sept")
    assert len(list(csv.reader(io.StringIO(only.stdout.lstrip("\ufeff"))))) == 2  # no rows
    err = board("export", "--review", "nope", "--format", "csv", code=2).stderr
    assert "--review" in err
    assert "quarterly-2011" in err
    err = board("export", "--format", "csv", code=2).stderr
    assert "give the review" in err
    err = board("export", "--review", REVIEW_IAWG, "--agency", "seppt", "--format", "csv", code=2)
    assert "no such agency" in err.stderr


REVIEW_IAWG = "southend-iawg-scr-audit-2010"


def _bad_workbook(path: Path) -> Path:
    book = openpyxl.Workbook()
    ws = book.active
    assert ws is not None
    ws.title = "Plan"
    ws.append(["Ref", "Recommendation", "Lead agency", "Target date", "Priority", "RAG"])
    ws.append(["1", "Fine row.", "SEPT", "June 2011", "High", "Green"])
    ws.append(["2", "Unknown agency.", "Essex Polise", "June 2011", "High", "Green"])
    ws.append(["3", "Bad date.", "sept", "soonish", "High", "Green"])
    ws.append(["4", "Bad priority.", "sept", "June 2011", "Urgent", "Green"])
    ws.append(["1", "Duplicate ref.", "sept", "June 2011", "Low", "Green"])
    ws.append(["6", "A formula with no saved value.", "sept", "=TODAY()+30", "Low", "Green"])
    ws.append(["7", None, "sept", "30/02/2011", "Low", "Green"])
    ws.append(["8", "Warned, then out of bounds.", "sept", "Summer 1985", "Low", "Green"])
    book.save(path)
    return path


def test_bad_rows_are_all_refused_naming_sheet_row_column_value(
    board: Board, tmp_path: Path
) -> None:
    path = _bad_workbook(tmp_path / "bad.xlsx")
    before = _counts(board)
    out = _import_json(board, str(path), code=1)
    assert not out["ok"]
    assert _counts(board) == before
    errors = [f for f in out["findings"] if f["severity"] == "error"]
    where = {(f["row"], f["field"].split(" (")[0]): f["message"] for f in errors}
    assert "did you mean" in where[("sheet 'Plan' row 3", "column C")]
    assert "'Essex Polise'" in where[("sheet 'Plan' row 3", "column C")]
    assert "'soonish'" in where[("sheet 'Plan' row 4", "column D")]
    assert "'Urgent'" in where[("sheet 'Plan' row 5", "column E")]
    assert "already used" in where[("sheet 'Plan' row 6", "column A")]
    assert "=TODAY()+30" in where[("sheet 'Plan' row 7", "column D")]
    assert "does not exist" in where[("sheet 'Plan' row 8", "column D")]
    assert "required" in where[("sheet 'Plan' row 8", "column B")]
    assert "1985-08-31" in where[("sheet 'Plan' row 9", "column D")]
    assert len(errors) == 8
    text = board("import", str(path), "--now", NOW, code=1).stderr
    assert "sheet 'Plan' row 4, column D (Target date): value 'soonish'" in text


def _word_document() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml", "<w:document/>")
    return out.getvalue()


_WORD = _word_document()


@pytest.mark.parametrize(
    ("name", "content", "said"),
    [
        ("plan.xlsx", b"Recommendation,Action\n1,2\n", "not an Excel workbook"),
        ("plan.xlsx", b"PK\x03\x04not really a zip", "not an Excel workbook"),
        ("plan.csv", b"\x00\x01\x02binary", "not a CSV file"),
        ("plan.csv", b"PK\x03\x04\x00\x00", "not a CSV file"),
        ("plan.csv", b"just,some\nwords,here\n", "no recommendation rows found"),
        ("plan.csv", b'Recommendation\n"' + b"x" * 200_000 + b'"\n', "not a CSV file"),
        ("plan.xlsx", _WORD, "not an Excel workbook"),
    ],
)
def test_a_file_that_is_not_a_plan_says_so(
    board: Board, tmp_path: Path, name: str, content: bytes, said: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    before = _counts(board)
    err = board("import", str(path), "--now", NOW, code=1).stderr
    assert said in err
    assert "Traceback" not in err
    assert _counts(board) == before


def test_a_bad_mapping_file_names_the_field(board: Board, tmp_path: Path) -> None:
    mapping = tmp_path / "m.yaml"
    mapping.write_text("columns: {Recommendation: txt}\nsheetz: {}\n", encoding="utf-8")
    err = board("import", str(EXAMPLE), "--mapping", str(mapping), "--now", NOW, code=1).stderr
    assert "columns.Recommendation" in err
    assert "sheetz" in err


@pytest.mark.parametrize(
    ("cell", "due", "starts", "kept"),
    [
        (40574, ["2011-01-31"], [], None),
        ("31/01/2011", ["2011-01-31"], [], None),
        ("1st April 2011", ["2011-04-01"], [], None),
        ("June 2011", ["2011-06-30"], [], None),
        ("Summer 2010", ["2010-08-31"], [], None),
        ("Winter 2010", ["2011-02-28"], [], None),
        ("From January 2011", [], ["2011-01-01"], None),
        ("January 09 onwards", [], ["2009-01-01"], None),
        ("Immediate", ["2011-01-10"], [], None),
        ("March 2011 and 1st June 2011", ["2011-03-31", "2011-06-01"], [], None),
        ("within six months of publication of this Review", [], [], "within six months"),
        ("Ongoing", [], [], "Ongoing"),
    ],
)
def test_dates_as_boards_write_them(
    cell: Any, due: list[str], starts: list[str], kept: str | None
) -> None:
    got = sheets.parse_dates(cell, immediate=dt.date(2011, 1, 10))
    assert [d.isoformat() for d in got.due] == due
    assert [d.isoformat() for d in got.starts] == starts
    assert got.problem is None
    if kept:
        assert kept in (got.text or "")
    else:
        assert got.text is None


def test_a_yaml_plan_exports_with_the_common_headings_and_reads_back(
    board: Board, tmp_path: Path
) -> None:
    out = tmp_path / "iawg.xlsx"
    board("export", "--review", REVIEW_IAWG, "-o", str(out))
    ws = openpyxl.load_workbook(out)["Action plan"]
    assert [c.value for c in ws[1]][:4] == ["Ref", "Recommendation", "Action", "Lead agency"]
    assert ws.cell(1, 10).value == "signoff: state"
    assert ws.cell(2, 10).value == "open"
    counted = _counts(board)
    again = _import_json(board, str(out))
    assert again["added"] == []
    assert len(again["unchanged"]) == 9
    assert _counts(board) == counted


def test_an_anchor_is_listed_and_dated_from_the_command_line(board: Board) -> None:
    board("import", str(EXAMPLE), "--now", NOW)
    listed = json.loads(board("anchor", "list", "--json").stdout)["anchors"]
    assert [(a["review"], a["name"], a["date"], a["waiting"]) for a in listed] == [
        (REVIEW, "publication of this Review", None, [f"{REVIEW}/5"])
    ]
    at = "2011-02-01T09:00Z"
    bad_date = board("anchor", "set", "publication of this Review", "31/01/2011",
                     "--review", REVIEW, code=2).stderr  # fmt: skip
    assert "not a date; write YYYY-MM-DD" in bad_date
    misspelt = board("anchor", "set", "publikation of this Review", "2011-01-31",
                     "--review", REVIEW, code=1).stderr  # fmt: skip
    assert "did you mean 'publication of this Review'?" in misspelt
    panel = "panel.member@southend-lscb.example.org"
    not_admin = board("anchor", "set", "publication of this Review", "2011-01-31", "--review",
                      REVIEW, "--actor", panel, code=1)  # fmt: skip
    assert "panel.member@southend-lscb.example.org" in not_admin.stderr
    assert board.sql("SELECT count(*) FROM anchor WHERE date IS NOT NULL") == [(0,)]
    done = board("anchor", "set", "Publication of this review", "2011-01-31", "--review", REVIEW,
                 "--actor", "business.manager@southend-lscb.example.org", "--now", at)  # fmt: skip
    assert f"{REVIEW}/5: due 2011-07-31" in done.stdout
    again = board("anchor", "set", "publication of this Review", "2011-02-28", "--review", REVIEW,
                  code=1).stderr  # fmt: skip
    assert "already has its date, 2011-01-31" in again
    shown = board("show", f"{REVIEW}/5", "--json").stdout
    assert json.loads(shown)["items"][0]["due"] == "2011-07-31"
    assert "dated 2011-01-31 by business.manager" in board("anchor", "list").stdout


def test_a_mapping_saved_from_the_command_line_reads_the_next_file(
    board: Board, tmp_path: Path
) -> None:
    headings = "Number,What we said,Who,When,Progress\n"
    first = tmp_path / "q1.csv"
    first.write_text(headings + "1,One.,SEPT,30/06/2011,on track\n", encoding="utf-8")
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text(
        "columns: {Number: ref, What we said: text, Who: agency, When: due, Progress: status}\n",
        encoding="utf-8",
    )
    refused = board("import", str(first), "--mapping", str(mapping), "--dry-run",
                    "--save-mapping", code=2).stderr  # fmt: skip
    assert "a dry run saves nothing" in refused
    done = board("import", str(first), "--mapping", str(mapping), "--save-mapping", "--now", NOW)
    assert "saved the mapping for Southend Local Safeguarding Children Board" in done.stdout
    second = tmp_path / "q2.csv"
    second.write_text(headings + "1,Two.,Essex Probation Service,31/07/2011,\n", encoding="utf-8")
    dry = board("import", str(second), "--dry-run", "--now", NOW).stdout
    assert "1 new item(s)" in dry
    assert (
        f"# the mapping used for {second}: the mapping saved for Southend Local Safeguarding "
        "Children Board by system:import on 10 January 2011"
    ) in dry
    assert "What we said: text" in dry
