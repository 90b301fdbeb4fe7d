"""The directory as a YAML, CSV or xlsx file (issue 11): exported, read back unchanged, a dry
run listing every change, a real run all or nothing, and bad files refused naming the row
or line and the field, with nothing changed; on both databases."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import openpyxl
import pytest

from engine import directory
from engine.directory import DirectoryRefused, edits, files
from engine.services import Services
from reports.directory_sheet import render_directory_csv, render_directory_xlsx
from tests.conftest import NOW, PANEL_CHAIR

CHAIR = "chair@southend-lscb.example.org"
SEPT_LEAD = "named.nurse@sept.example.org"
SEPT_DIRECTOR = "director.nursing@sept.example.org"
FORMULA = '=HYPERLINK("http://evil.example","x")'


def snapshot(services: Services) -> directory.Snapshot:
    with services.db.engine.connect() as conn:
        return directory.read(conn)


def exported(services: Services, tmp_path: Path, fmt: str) -> Path:
    path = tmp_path / f"directory.{fmt}"
    if fmt == "yaml":
        path.write_text(files.export_yaml(services), encoding="utf-8")
    elif fmt == "csv":
        path.write_bytes(render_directory_csv(files.export_rows(services)))
    else:
        path.write_bytes(render_directory_xlsx(files.export_rows(services)))
    return path


def run(services: Services, path: Path, *, dry_run: bool = False) -> files.Planned:
    return files.import_file(services, path, actor="bm@test", now=NOW, dry_run=dry_run)


def problems(services: Services, path: Path) -> list[str]:
    before = snapshot(services)
    with pytest.raises(DirectoryRefused) as caught:
        run(services, path)
    assert snapshot(services) == before
    return [p.text for p in caught.value.problems]


def enrich(services: Services) -> None:
    """A conflict, an assigned auditor, a dated absence and a formula-like name."""
    for edit in (
        edits.add_conflict("sept", CHAIR, PANEL_CHAIR),
        edits.assign_auditor("sept", "internal.audit@nhs-see.example.org"),
    ):
        directory.edit(services, edit, actor="t", now=NOW)

    def away(s: directory.Snapshot) -> directory.Snapshot:
        lead = s["sept"].person(SEPT_LEAD)
        assert lead is not None
        import datetime as dt
        from dataclasses import replace

        person = replace(lead, name=FORMULA, absent=True, absent_from=dt.date(2011, 2, 1),
                         absent_until=dt.date(2011, 2, 14), deputy=SEPT_DIRECTOR)  # fmt: skip
        return edits.save_contact("sept", person, was=SEPT_LEAD)(s)

    directory.edit(services, away, actor="t", now=NOW)


@pytest.mark.parametrize("fmt", ["yaml", "csv", "xlsx"])
def test_an_exported_directory_reads_back_with_no_change(
    demo: Services, tmp_path: Path, fmt: str
) -> None:
    enrich(demo)
    path = exported(demo, tmp_path, fmt)
    planned = run(demo, path, dry_run=True)
    assert planned.changes == ()
    assert len(planned.agencies) == 8
    assert run(demo, path).changes == ()


def test_formula_like_text_is_neutralised_on_export(demo: Services, tmp_path: Path) -> None:
    enrich(demo)
    text = exported(demo, tmp_path, "csv").read_bytes().decode("utf-8-sig")
    names = [r[3] for r in csv.reader(io.StringIO(text)) if len(r) > 3]
    assert "'" + FORMULA in names
    assert FORMULA not in names
    sheet = openpyxl.load_workbook(exported(demo, tmp_path, "xlsx")).active
    assert sheet is not None
    cells = [c.value for row in sheet.iter_rows() for c in row]
    assert "'" + FORMULA in cells
    assert not any(isinstance(v, str) and v.startswith("=") for v in cells)
    assert not any(c.data_type == "f" for row in sheet.iter_rows() for c in row)


def edited_csv(services: Services, tmp_path: Path, change: dict[int, list[str]] | None = None,
               add: list[list[str]] | None = None, drop: str | None = None) -> Path:  # fmt: skip
    """The exported CSV with rows replaced (by index), added, or dropped (containing text)."""
    text = exported(services, tmp_path, "csv").read_bytes().decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    for i, row in (change or {}).items():
        rows[i] = row
    rows = [r for r in rows if drop is None or drop not in r] + (add or [])
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    path = tmp_path / "edited.csv"
    path.write_text(out.getvalue(), encoding="utf-8")
    return path


def row_of(path: Path, *needles: str) -> int:
    text = path.read_text(encoding="utf-8")
    for n, row in enumerate(csv.reader(io.StringIO(text)), start=1):
        if all(x in row for x in needles):
            return n
    raise AssertionError(needles)


def test_a_dry_run_lists_every_change_and_writes_nothing(demo: Services, tmp_path: Path) -> None:
    path = edited_csv(
        demo, tmp_path,
        add=[["sept", "contact", "", "Deputy Chief Executive", "dce@sept.example.org",
              "senior_contact", "no", "", "", "", ""],
             ["sept", "conflict", "", "", CHAIR, "", "", "", "", "", PANEL_CHAIR],
             ["essex-police", "agency", "Essex Police", "", "", "", "", "", "", "", ""]],
        drop="internal.audit@sept.example.org",
    )  # fmt: skip
    # and the ladder of SEPT loses its middle rung
    text = path.read_text(encoding="utf-8").replace(
        "sept,ladder,,,,lead_officer; safeguarding_lead; senior_contact",
        "sept,ladder,,,,lead_officer; senior_contact",
    )
    path.write_text(text, encoding="utf-8")
    before = snapshot(demo)
    planned = run(demo, path, dry_run=True)
    assert snapshot(demo) == before
    said = [c.text for c in planned.changes]
    sept = "South Essex Partnership Foundation NHS Trust (SEPT) (sept)"
    assert said == [
        "Agency Essex Police (essex-police): added",
        f"{sept}: contact Deputy Chief Executive <dce@sept.example.org> added (senior_contact)",
        f"{sept}: contact Internal Audit Manager <internal.audit@sept.example.org> removed",
        f"{sept}: escalation ladder changed from lead_officer → safeguarding_lead → "
        "senior_contact to lead_officer → senior_contact",
        f"{sept}: conflict of interest added: {CHAIR} receives no escalations (alternate: "
        f"{PANEL_CHAIR})",
    ]
    done = run(demo, path)
    assert [c.text for c in done.changes] == said
    after = snapshot(demo)
    assert after["sept"].ladder == ("lead_officer", "senior_contact")
    assert after["essex-police"].name == "Essex Police"


def test_one_bad_row_stops_the_whole_file(demo: Services, tmp_path: Path) -> None:
    path = edited_csv(
        demo, tmp_path,
        add=[["sept", "contact", "", "New Person", "new@sept.example.org", "lead_officer", "yes",
              "2011-03-01", "2011-02-01", "cover@elsewhere.example.org", ""],
             ["essex-police", "agency", "Essex Police", "", "", "", "", "", "", "", ""]],
    )  # fmt: skip
    row = row_of(path, "new@sept.example.org")
    found = problems(demo, path)
    assert any(p.startswith(f"row {row}, column 'Last day away': ") and "is before the first"
               in p for p in found), found  # fmt: skip
    deputy = "cover@elsewhere.example.org is not a contact"
    assert any(p.startswith(f"row {row}, column 'Deputy': ") and deputy in p
               for p in found), found  # fmt: skip
    assert "essex-police" not in snapshot(demo)


def test_a_ladder_role_nobody_holds_is_named_at_its_row(demo: Services, tmp_path: Path) -> None:
    path = exported(demo, tmp_path, "csv")
    text = (
        path.read_bytes()
        .decode("utf-8-sig")
        .replace(
            "sept,ladder,,,,lead_officer; safeguarding_lead; senior_contact",
            "sept,ladder,,,,lead_officer; chair",
        )
    )
    path.write_text(text, encoding="utf-8")
    row = row_of(path, "sept", "ladder")
    [problem] = problems(demo, path)
    assert problem.startswith(f"row {row}, column 'Roles': ")
    assert "the escalation ladder names the role chair, which no contact of" in problem


@pytest.mark.parametrize(
    ("cells", "expected"),
    [
        ({1: "person"}, "column 'Record': 'person' is not a record; use one of: agency, "
                        "contact, ladder, conflict, auditor"),
        ({6: "maybe"}, "column 'Absent': 'maybe': write yes or no"),
        ({7: "31/02/2011"}, "column 'First day away': '31/02/2011' is not a date"),
        ({0: ""}, "column 'Agency': give the agency's id"),
    ],
    ids=["record", "absent", "date", "agency"],
)  # fmt: skip
def test_a_bad_cell_is_named_by_row_and_column(
    demo: Services, tmp_path: Path, cells: dict[int, str], expected: str
) -> None:
    row = ["sept", "contact", "", "New Person", "new@sept.example.org", "lead_officer", "no",
           "", "", "", ""]  # fmt: skip
    for i, value in cells.items():
        row[i] = value
    path = edited_csv(demo, tmp_path, add=[row])
    [problem] = problems(demo, path)
    n = len(path.read_text(encoding="utf-8").splitlines())  # the row added: the last
    assert problem.startswith(f"row {n}, {expected}"), problem


def test_an_unknown_heading_is_refused(demo: Services, tmp_path: Path) -> None:
    path = edited_csv(demo, tmp_path)
    text = path.read_text(encoding="utf-8").replace("Deputy", "Stand-in", 1)
    path.write_text(text, encoding="utf-8")
    [problem] = problems(demo, path)
    assert problem.startswith("row 1, column J: unknown heading 'stand-in'; the headings are:")


def test_a_new_agency_needs_its_name(demo: Services, tmp_path: Path) -> None:
    path = edited_csv(demo, tmp_path, add=[
        ["essex-police", "contact", "", "DCI", "dci@police.example.org", "lead_officer", "", "",
         "", "", ""]])  # fmt: skip
    [problem] = problems(demo, path)
    assert problem == (
        f"row {row_of(path, 'essex-police')}: essex-police is a new agency: give its name on an "
        "'agency' row (column 'Agency name')"
    )


def test_a_yaml_problem_is_named_by_its_line(demo: Services, tmp_path: Path) -> None:
    path = exported(demo, tmp_path, "yaml")
    text = path.read_text(encoding="utf-8").replace(
        "    - role: lead_officer\n      name: Named Nurse Safeguarding Children\n"
        "      email: named.nurse@sept.example.org\n",
        "    - role: lead_officer\n      name: Named Nurse Safeguarding Children\n"
        "      email: named.nurse@sept.example.org\n      deputy: nobody@sept.example.org\n",
    )
    assert "nobody@sept" in text
    path.write_text(text, encoding="utf-8")
    line = next(i for i, x in enumerate(text.splitlines(), 1) if "nobody@sept" in x)
    [problem] = problems(demo, path)
    assert problem.startswith(f"line {line} (agencies.sept.contacts[")
    assert problem.endswith("the deputy nobody@sept.example.org is not a contact in the "
                            "directory; add them as a contact first, or choose another "
                            "deputy")  # fmt: skip


def test_a_yaml_file_of_the_wrong_shape_says_so(demo: Services, tmp_path: Path) -> None:
    path = tmp_path / "plan.yaml"
    path.write_text("review: {id: x}\n", encoding="utf-8")
    [problem] = problems(demo, path)
    assert "not a contacts file: expected a top-level key agencies" in problem
    path.write_text("agencies:\n  sept:\n    contacts:\n      - {role: x, name: y}\n")
    [problem] = problems(demo, path)
    assert problem == "line 4 (agencies.sept.contacts[0].email): required field is missing"


def test_other_files_are_refused_in_words(demo: Services, tmp_path: Path) -> None:
    word = tmp_path / "directory.docx"
    word.write_bytes(b"PK\x03\x04 not really")
    [problem] = problems(demo, word)
    assert "is not a directory file: use a .yaml, .csv or .xlsx file" in problem
    fake = tmp_path / "directory.xlsx"
    fake.write_text("Agency,Record\n", encoding="utf-8")
    [problem] = problems(demo, fake)
    assert problem.startswith("the file: cannot be read: not an Excel workbook (.xlsx)")


def test_a_real_run_bound_to_its_dry_run_is_refused_after_another_change(
    demo: Services, tmp_path: Path
) -> None:
    path = edited_csv(demo, tmp_path, add=[
        ["essex-police", "agency", "Essex Police", "", "", "", "", "", "", "", ""]])  # fmt: skip
    seen = run(demo, path, dry_run=True).fingerprint
    directory.edit(demo, edits.add_rung("sept", "internal_auditor"), actor="t", now=NOW)
    with pytest.raises(DirectoryRefused, match="changed since this file was checked"):
        files.import_file(demo, path, actor="t", now=NOW, dry_run=False, expected=seen)
    assert "essex-police" not in snapshot(demo)
