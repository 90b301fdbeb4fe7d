"""``signoff report`` as a user runs it: a real process, a real SQLite file, exit codes.

Bad input is a usage error (exit 2) naming the option, and writes no file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from openpyxl import load_workbook

from tests.conftest import CONTACTS, PANEL, PLAN, R1
from tests.test_cli import Cli

NOW_ISO = "2011-05-10T09:00Z"


@pytest.fixture(scope="module")
def cli(tmp_path_factory: pytest.TempPathFactory) -> Cli:
    """The example imported, R1 signed off at the panel meeting of 2011-01-20."""
    run = Cli(tmp_path_factory.mktemp("cli-report"))
    run("init")
    run("import", str(PLAN), str(CONTACTS), "--now", "2011-01-10T09:00Z")
    run(
        "fire",
        R1,
        "submit_evidence",
        "--actor",
        "named.nurse@sept.example.org",
        "--statement",
        "done",
        "--now",
        "2011-01-15T09:00Z",
        code=1,
    )  # not SEPT's item
    run(
        "fire",
        R1,
        "submit_evidence",
        "--actor",
        "business.manager@southend-lscb.example.org",
        "--statement",
        "ToR agreed",
        "--now",
        "2011-01-15T09:00Z",
    )
    run(
        "fire",
        R1,
        "sign_off",
        "--actor",
        PANEL,
        "--rag",
        "green",
        "--reason",
        "=seen",
        "--meeting-date",
        "2011-01-20",
        "--now",
        "2011-01-20T09:00Z",
    )
    return run


def test_timescale_json_counts_r1_on_time(cli: Cli) -> None:
    done = cli("report", "timescale", "--format", "json", "--to", "2011-04-30", "--now", NOW_ISO)
    data = json.loads(done.stdout)
    assert data["format"] == 1
    assert data["report"] == "timescale"
    within = data["bases"]["implemented"]["within_original"]
    assert within["items"] == ["southend-iawg-scr-audit-2010/R1"]
    # R1, R2, R4, R7, R8, R9: not R6 (due 2011-05-31), nor R3 and R5 (start dates only)
    assert within["of"] == 6


def test_minutes_xlsx_keeps_a_reason_as_text(cli: Cli, tmp_path: Path) -> None:
    out = tmp_path / "minutes.xlsx"
    cli(
        "report",
        "minutes",
        "--meeting",
        "2011-01-20",
        "--format",
        "xlsx",
        "-o",
        str(out),
        "--now",
        NOW_ISO,
    )
    sheet = load_workbook(out)["decisions"]
    why = sheet.cell(row=3, column=7)
    assert (why.value, why.data_type) == ("'=seen", "s")


def test_board_pack_json_ends_with_the_chain_heads(cli: Cli) -> None:
    done = cli("report", "board-pack", "--format", "json", "--to", "2011-04-30", "--now", NOW_ISO)
    data = json.loads(done.stdout)
    assert sorted(data["reports"]) == ["high-risk", "overdue", "rag", "themes", "timescale"]
    assert data["period"]["to"] == "2011-04-30"
    assert data["period"] == data["reports"]["high-risk"]["period"]  # the same default quarter
    assert len(data["chain"]["heads_sha256"]) == 64
    assert data["chain"]["items"] == len(data["chain"]["heads"]) > 0


def test_pdf_needs_a_file_or_a_pipe_and_is_written(cli: Cli, tmp_path: Path) -> None:
    out = tmp_path / "rag.pdf"
    cli("report", "rag", "--format", "pdf", "-o", str(out), "--now", NOW_ISO)
    assert out.read_bytes().startswith(b"%PDF-")


@pytest.mark.parametrize("name", ["rag", "overdue", "high-risk", "themes", "board-pack"])
def test_each_report_renders_html_and_csv(cli: Cli, name: str) -> None:
    page = cli("report", name, "--format", "html", "--now", NOW_ISO).stdout
    assert "<caption>" in page
    assert 'scope="col"' in page
    sheet = cli("report", name, "--format", "csv", "--now", NOW_ISO).stdout
    assert sheet.lstrip("\ufeff").splitlines()[0]


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["rags"], "did you mean 'rag'"),
        (["rag", "--to", "2011-13-01"], "not a date"),
        (["timescale", "--from", "2011-05-01", "--to", "2011-04-01"], "after --to"),
        (["rag", "--from", "2011-01-01"], "one date"),
        (["themes", "--from", "2011-01-01"], "one date"),
        (["board-pack", "--meeting", "2011-01-20"], "only minutes takes a meeting"),
        (["board-pack", "--from", "2011-05-01", "--to", "2011-04-01"], "after --to"),
        (["rag", "--review", "southend"], "no such review"),
        (["rag", "--agency", "sep"], "did you mean 'sept'"),
        (["minutes"], "needs the panel meeting"),
        (["minutes", "--meeting", "20/01/2011"], "not a date"),
        (["rag", "--format", "docx"], "docx"),
    ],
    ids=[
        "name",
        "bad_date",
        "from_after_to",
        "from_on_rag",
        "from_on_themes",
        "meeting_on_board_pack",
        "board_pack_from_after_to",
        "review",
        "agency",
        "no_meeting",
        "meeting_date",
        "format",
    ],
)
def test_bad_input_is_a_usage_error(cli: Cli, tmp_path: Path, args: list[str], words: str) -> None:
    out = tmp_path / "never.json"
    if "--format" not in args:
        args = [*args, "--format", "json"]
    done = cli("report", *args, "-o", str(out), "--now", NOW_ISO, code=2)
    assert words in done.stderr
    assert not out.exists()
