"""``signoff workflow preview`` through the command line, on SQLite and PostgreSQL: what
publishing a changed file would do, and nothing written."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import BM, PANEL, WORKFLOWS
from tests.conftest import R1 as R1_REF
from tests.test_cli_checkpoint import Board
from tests.test_cli_checkpoint import board as board  # the fixture

SHIPPED = (WORKFLOWS / "recommendation.yaml").read_text()
WHEN = ("--now", "2011-03-10T09:30Z")
R1 = "southend-iawg-scr-audit-2010/R1@southend-lscb"


def challenge_r1(board: Board) -> None:
    board("fire", R1_REF, "submit_evidence", "--actor", BM, "--statement", "ToR", *WHEN)
    board("fire", R1_REF, "challenge", "--actor", PANEL, "--reason", "thin",
          "--meeting-date", "2011-03-10", *WHEN)  # fmt: skip


def draft(tmp_path: Path, text: str, name: str = "draft.yaml") -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def written(board: Board) -> tuple[int, int, int]:
    """Versions, events and outbox rows: what a preview must leave as they are."""
    counts = [
        board.sql(f"SELECT count(*) FROM {table}")[0][0]
        for table in ("workflow_version", "event", "outbox")
    ]
    return counts[0], counts[1], counts[2]


def test_preview_json_counts_the_forecasts_emails(board: Board, tmp_path: Path) -> None:
    """Chasing every 14 days in 'open': fewer emails; 'current' is what `forecast` lists."""
    text = SHIPPED.replace(
        "chase_every: 7 days\n      # 'ladder'", "chase_every: 14 days\n      # 'ladder'"
    )
    before = written(board)
    data = json.loads(board("workflow", "preview", draft(tmp_path, text), *WHEN, "--json").stdout)
    ahead = json.loads(board("forecast", "--days", "30", *WHEN, "--json").stdout)["emails"]
    assert data["current"] == sum(len(e["to"]) for e in ahead)
    assert data["difference"] == data["new"] - data["current"] < 0
    assert data["removed"] > 0
    changed = [e for r in data["recipients"] for e in r["removed"] + r["moved"]]
    assert {e["kind"] for e in changed} == {"chase"}
    assert data["publishable"] is True
    assert written(board) == before
    shown = board("workflow", "preview", draft(tmp_path, text), *WHEN).stdout
    assert f"({-data['difference']} fewer;" in shown
    assert "  removed  chase" in shown


def test_preview_lists_stranded_items_then_their_move(board: Board, tmp_path: Path) -> None:
    challenge_r1(board)
    renamed = draft(tmp_path, SHIPPED.replace("challenged", "returned"))
    shown = board("workflow", "preview", renamed, *WHEN).stdout
    assert "stranded: 1 item(s) in a state the new version lacks; publishing is refused" in shown
    assert "--map challenged=STATE" in shown
    assert f"  {R1}: in 'challenged'" in shown
    mapped = board("workflow", "preview", renamed, "--map", "challenged=returned", *WHEN).stdout
    assert f"  {R1}: challenged -> returned" in mapped
    assert "stranded" not in mapped


def test_preview_refuses_bad_input_and_writes_nothing(board: Board, tmp_path: Path) -> None:
    before = written(board)
    renamed = draft(tmp_path, SHIPPED.replace("challenged", "returned"))
    bad_map = board("workflow", "preview", renamed, "--map", "challenged=retuned", code=1)
    assert "unknown state 'retuned'; did you mean 'returned'?" in bad_map.stderr
    no_equals = board("workflow", "preview", renamed, "--map", "challenged", code=2)
    assert "write OLD=NEW" in no_equals.stderr
    other = draft(tmp_path, SHIPPED.replace("name: recommendation", "name: recommendations"))
    unknown = board("workflow", "preview", other, code=1)
    assert "no published workflow \"recommendations (did you mean 'recommendation'?" in (
        unknown.stderr
    )
    assert written(board) == before
