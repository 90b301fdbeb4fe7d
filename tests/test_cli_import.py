"""`signoff import` as an administrator uses it (issue 9): every problem in one pass, sections
kept and reported, contacts files that create agencies, start dates that are never chased,
dates and header-bound values within bounds, `--json` findings."""

from __future__ import annotations

import json
import shutil
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from tests.conftest import PLAN
from tests.test_cli import Cli

PLAN_TEXT = """\
review:
  id: baby-t-scr-2024
  title: Serious case review Baby T
  board: Example Safeguarding Children Partnership
  kind: serious_case_review
  date: 2024-03-01
agencies:
- {id: council, name: Council Children's Services, senior_contact_role: Director}
- {id: police, name: Example Police, senior_contact_role: Chief Constable}
recommendations:
- ref: '1'
  agency: council
  text: Review the threshold document.
  due: [2024-09-30]
- ref: '2'
  agency: police
  text: Joint training on disguised compliance.
  due: [2024-12-31]
"""
CONTACTS_TEXT = """\
agencies:
  council:
    contacts:
      - {role: lead_officer, name: Head of Service, email: hos@council.example.org}
    ladder: [lead_officer]
  police:
    contacts:
      - {role: lead_officer, name: DCI, email: dci@police.example.org}
    ladder: [lead_officer]
"""
NOW = "2024-03-04T09:00Z"


@pytest.fixture(scope="session")
def _initialised(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("cli-init")
    run = Cli(folder)
    run("init")
    with closing(sqlite3.connect(run.db)) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return folder


@pytest.fixture
def cli(tmp_path: Path, _initialised: Path) -> Cli:
    """A database as `signoff init` leaves it: workflows published, nothing imported."""
    run = Cli(tmp_path)
    shutil.copyfile(_initialised / "cli.db", run.db)
    return run


def _file(tmp_path: Path, text: str, name: str = "plan.yaml") -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def _items(cli: Cli) -> list[dict[str, object]]:
    items: list[dict[str, object]] = json.loads(cli("list", "--json").stdout)["items"]
    return items


def test_a_bad_date_and_an_unknown_agency_are_both_reported(cli: Cli, tmp_path: Path) -> None:
    """Issue 9: the import stopped at the date; both problems come in one run."""
    text = PLAN_TEXT.replace("2024-12-31", "31/12/2024").replace(
        "agency: council\n", "agency: counsil\n"
    )
    err = cli("import", _file(tmp_path, text), "--now", NOW, code=1).stderr
    assert "recommendations[0] (1).agency: unknown agency 'counsil'; did you mean 'council'?" in (
        err
    )
    assert "recommendations[1] (2).due[0]: '31/12/2024' is not a date" in err
    assert _items(cli) == []


def test_json_lists_each_finding_with_row_and_field(cli: Cli, tmp_path: Path) -> None:
    text = PLAN_TEXT.replace("2024-12-31", "31/12/2024").replace(
        "agency: council\n", "agency: counsil\n"
    )
    out = json.loads(cli("import", _file(tmp_path, text), "--json", code=1).stdout)
    assert out["ok"] is False
    found = {(f["row"], f["field"], f["line"], f["severity"]) for f in out["findings"]}
    assert found == {
        ("recommendations[0] (1)", "agency", 12, "error"),
        ("recommendations[1] (2)", "due[0]", 18, "error"),
    }


def test_a_section_not_used_yet_is_kept_and_reported(cli: Cli, tmp_path: Path) -> None:
    """Issue 9: a section the importer does not model made the whole file fail."""
    text = PLAN_TEXT.replace("kind: serious_case_review", "kind: annual_report") + (
        "budget_summary:\n"
        "- {line: Training, value: 97, unit: pounds}\n"
        "- {line: Audit, value: .nan}\n"
    )
    done = cli("import", _file(tmp_path, text), "--now", NOW)
    assert "note: " in done.stdout
    assert "budget_summary: kept, not used: budget_summary" in done.stdout
    assert len(_items(cli)) == 2
    with closing(sqlite3.connect(cli.db)) as conn:
        (source,) = conn.execute("SELECT source FROM review").fetchone()
    kept = json.loads(source)["kept_not_used"]["budget_summary"]
    assert kept[0]["value"] == 97
    assert kept[1]["value"] == "nan"  # stored as JSON both databases accept


def test_a_misspelt_section_is_refused_not_kept(cli: Cli, tmp_path: Path) -> None:
    text = PLAN_TEXT.replace("recommendations:", "recomendations:")
    err = cli("import", _file(tmp_path, text), code=1).stderr
    assert "recomendations: unknown section; did you mean 'recommendations'?" in err
    assert "recommendations: required field is missing" in err


def test_a_contacts_file_creates_an_agency_on_its_own(cli: Cli, tmp_path: Path) -> None:
    """Issue 9: a contacts file had to come after, or with, a plan listing the agency."""
    text = (
        "agencies:\n"
        "  housing:\n"
        "    name: Example Housing Trust\n"
        "    senior_contact_role: Chief Executive\n"
        "    contacts:\n"
        "      - {role: lead_officer, name: Housing Lead, email: lead@housing.example.org}\n"
        "    ladder: [lead_officer]\n"
    )
    done = cli("import", _file(tmp_path, text, "contacts.yaml"), "--now", NOW)
    assert "1 agency record(s), 1 contact(s)" in done.stdout
    plan = PLAN_TEXT.replace("agency: police", "agency: housing")
    cli("import", _file(tmp_path, plan), "--now", NOW)
    assert {i["agency"] for i in _items(cli)} == {"council", "housing"}


def test_an_unknown_agency_without_a_name_says_how_to_create_it(cli: Cli, tmp_path: Path) -> None:
    err = cli("import", _file(tmp_path, CONTACTS_TEXT, "contacts.yaml"), code=1).stderr
    assert "agencies.council: unknown agency 'council'; give its name here (name: ...)" in err
    assert "agencies.police: unknown agency 'police'" in err


def test_start_dates_are_shown_and_never_chased(cli: Cli, tmp_path: Path) -> None:
    """Issue 9: "From January 2011" rows were chased and escalated at the first sweep."""
    plan = PLAN_TEXT.replace("  due: [2024-09-30]\n", "  starts: [2024-01-01]\n").replace(
        "  due: [2024-12-31]\n", "  starts: [2024-01-01]\n  due: [2024-12-31]\n"
    )
    cli("import", _file(tmp_path, plan), _file(tmp_path, CONTACTS_TEXT, "c.yaml"), "--now", NOW)
    items = {i["ref"]: i for i in _items(cli)}
    assert (items["1"]["due"], items["1"]["starts"]) == (None, "2024-01-01")
    assert (items["2"]["due"], items["2"]["starts"]) == ("2024-12-31", "2024-01-01")
    shown = json.loads(cli("show", "baby-t-scr-2024/1", "--json").stdout)
    assert (shown["due_dates"], shown["start_dates"]) == ([], ["2024-01-01"])
    assert "starts 2024-01-01 (not chased)" in cli("show", "baby-t-scr-2024/1").stdout
    assert "(starts 2024-01-01)" in cli("list").stdout
    forecast = json.loads(cli("forecast", "--days", "366", "--now", NOW, "--json").stdout)
    assert {e["key"] for e in forecast["emails"]} == {"baby-t-scr-2024/2"}
    swept = json.loads(cli("sweep", "--now", "2025-06-01T10:00Z", "--dry-run", "--json").stdout)
    assert swept["decided"]
    assert all(d["key"] == "baby-t-scr-2024/2" for d in swept["decided"]), swept["decided"]


@pytest.mark.parametrize(
    ("due", "line"),
    [pytest.param("9999-12-31", 14, id="year_9999"), pytest.param("0001-01-01", 14, id="year_1")],
)
def test_unbelievable_due_dates_are_refused_with_the_row(
    cli: Cli, tmp_path: Path, due: str, line: int
) -> None:
    """Issue 9: these passed the dry run and crashed the real import with a traceback."""
    path = _file(tmp_path, PLAN_TEXT.replace("2024-09-30", due))
    for args in (("--dry-run",), ()):
        err = cli("import", path, *args, code=1).stderr
        assert f"line {line}: recommendations[0] (1).due[0]: '{due}' is outside 1990-2100" in err
        assert "Traceback" not in err
    assert _items(cli) == []


def test_dates_at_the_bounds_import_after_a_passing_dry_run(cli: Cli, tmp_path: Path) -> None:
    plan = PLAN_TEXT.replace("2024-09-30", "2100-12-31").replace("2024-12-31", "1990-01-01")
    path = _file(tmp_path, plan)
    assert "would import" in cli("import", path, "--dry-run", "--now", NOW).stdout
    assert _items(cli) == []
    assert "2 new item(s)" in cli("import", path, "--now", NOW).stdout
    cli("sweep", "--now", NOW)
    assert {i["due"] for i in _items(cli)} == {"2100-12-31", "1990-01-01"}


HEADER_BOUND = {
    "ref_crlf": (
        PLAN_TEXT.replace("- ref: '1'", '- ref: "1\\r\\nBcc: all@example.org"'),
        "recommendations[0]",
        "U+000D (CARRIAGE RETURN)",
    ),
    "ref_line_separator": (
        PLAN_TEXT.replace("- ref: '1'", '- ref: "1\\u2028x"'),
        "recommendations[0]",
        "U+2028 (LINE SEPARATOR)",
    ),
    "review_title_lf": (
        PLAN_TEXT.replace("title: Serious case review Baby T", 'title: "Baby T\\nBcc: x"'),
        "review.title",
        "U+000A (LINE FEED)",
    ),
    "board_next_line": (
        PLAN_TEXT.replace(
            "board: Example Safeguarding Children Partnership", 'board: "Example\\x85"'
        ),
        "review.board",
        "U+0085 (NEXT LINE)",
    ),
    "agency_name_bidi": (
        PLAN_TEXT.replace("name: Example Police", 'name: "Example \\u202egro.live"'),
        "agencies[1].name",
        "U+202E (RIGHT-TO-LEFT OVERRIDE)",
    ),
    "text_escape_char": (
        PLAN_TEXT.replace("text: Review the threshold document.", 'text: "Review \\e[31m"'),
        "recommendations[0] (1).text",
        "U+001B",
    ),
}


@pytest.mark.parametrize("case", sorted(HEADER_BOUND))
def test_control_characters_in_plans_are_refused(cli: Cli, tmp_path: Path, case: str) -> None:
    text, where, named = HEADER_BOUND[case]
    err = cli("import", _file(tmp_path, text), code=1).stderr
    assert where in err, err
    assert named in err, err
    assert "write it on one line" in err or "remove the control character" in err


@pytest.mark.parametrize(
    ("field", "value", "named"),
    [
        pytest.param("name", '"Head\\r\\nBcc: x@evil.example"', "U+000D", id="name_crlf"),
        pytest.param("name", '"Head\\u2029of Service"', "U+2029", id="name_paragraph_sep"),
        pytest.param("email", '"hos@council.example.org\\r\\nBcc: x@evil.example"', "", id="email"),
    ],
)
def test_control_characters_in_contacts_are_refused(
    cli: Cli, tmp_path: Path, field: str, value: str, named: str
) -> None:
    """Issue 9: CR/LF and U+2028 in a contact name reached an email header."""
    cli("import", _file(tmp_path, PLAN_TEXT), "--now", NOW)
    old = "name: Head of Service" if field == "name" else "email: hos@council.example.org"
    text = CONTACTS_TEXT.replace(old, f"{field}: {value}")
    err = cli("import", _file(tmp_path, text, "contacts.yaml"), code=1).stderr
    assert f"agencies.council.contacts[0].{field}" in err
    assert named in err


def test_long_values_and_many_rows_are_refused_with_short_messages(
    cli: Cli, tmp_path: Path
) -> None:
    long_text = PLAN_TEXT.replace("text: Review the threshold document.", "text: " + "a" * 25_000)
    rows = "".join(f"- {{ref: 'x{i}', agency: council, text: t}}\n" for i in range(5_001))
    long_err = cli("import", _file(tmp_path, long_text), code=1).stderr
    rows_err = cli("import", _file(tmp_path, PLAN_TEXT + rows, "rows.yaml"), code=1).stderr
    assert (
        "recommendations[0] (1).text: 25,000 characters, at most 20,000 characters are allowed"
        in (long_err)
    )
    assert "recommendations: 5,003 entries, more than the 5,000 allowed" in rows_err
    assert len(long_err) + len(rows_err) < 2_000  # the bad values are not echoed back whole


def test_a_dry_run_reports_what_a_real_import_does(cli: Cli, tmp_path: Path) -> None:
    plan, contacts = _file(tmp_path, PLAN_TEXT), _file(tmp_path, CONTACTS_TEXT, "c.yaml")
    dry = json.loads(cli("import", plan, contacts, "--dry-run", "--json", "--now", NOW).stdout)
    assert _items(cli) == []
    real = json.loads(cli("import", contacts, plan, "--json", "--now", NOW).stdout)
    assert {k: v for k, v in dry.items() if k != "dry_run"} == {
        k: v for k, v in real.items() if k != "dry_run"
    }
    assert (real["ok"], real["contacts"], len(real["added"])) == (True, 2, 2)


def test_the_shipped_example_still_imports(cli: Cli) -> None:
    assert "9 new item(s)" in cli("import", str(PLAN), "--dry-run").stdout


def test_an_unbelievable_proposed_due_date_is_refused(cli: Cli, tmp_path: Path) -> None:
    """The same bound as import: a due date of 9999-12-31 would crash deadline planning."""
    cli("import", _file(tmp_path, PLAN_TEXT), _file(tmp_path, CONTACTS_TEXT, "c.yaml"))
    err = cli(
        "fire",
        "baby-t-scr-2024/1",
        "request_extension",
        "--actor",
        "hos@council.example.org",
        "--due-date",
        "9999-12-31",
        "--reason",
        "more time",
        "--now",
        NOW,
        code=1,
    ).stderr
    assert "the proposed due date 9999-12-31 is outside 1990-2100; check the year" in err
