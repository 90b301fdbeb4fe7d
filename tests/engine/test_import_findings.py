"""The importer on both databases: kept sections stored as JSON either accepts, start dates,
agencies created by a contacts file, findings collected in one list, dry runs that write."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from engine.errors import ImportErrors
from engine.findings import Severity
from engine.importer import ImportReport, import_files
from engine.queries import list_items, show
from engine.services import Services
from engine.store import core
from tests.conftest import NOW
from tests.engine.test_importer import GOOD_CONTACTS, GOOD_PLAN


def _import(services: Services, *paths: Path, dry_run: bool = False) -> ImportReport:
    with services.db.write() as conn:
        return import_files(
            conn, list(paths), specs=services.specs, actor="test", now=NOW, dry_run=dry_run
        )


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_kept_sections_are_stored_on_both_databases(published: Services, tmp_path: Path) -> None:
    text = GOOD_PLAN.replace("serious_case_review", "annual_report") + (
        "budget_summary:\n"
        "- {line: Plans reviewed on time, value: 97.5, target: .inf, spread: .nan}\n"
        "- {1: numeric key, null: null key}\n"
    )
    report = _import(published, _write(tmp_path, "p.yaml", text))
    [note] = report.findings
    assert (note.severity, note.row, note.line) == (Severity.NOTE, "budget_summary", 20)
    assert note.message == "kept, not used: budget_summary"
    with published.db.engine.connect() as conn:
        source = conn.execute(sa.select(core.review.c.source)).scalar_one()
    kept = source["kept_not_used"]["budget_summary"]
    assert kept[0] == {
        "line": "Plans reviewed on time",
        "value": 97.5,
        "target": "inf",
        "spread": "nan",
    }
    assert kept[1] == {"1": "numeric key", "None": "null key"}


def test_start_dates_are_kept_and_are_not_the_due_date(published: Services, tmp_path: Path) -> None:
    text = GOOD_PLAN.replace("  due: [2024-09-30]\n", "  starts: [2024-01-01, 2024-02-01]\n")
    _import(published, _write(tmp_path, "p.yaml", text))
    with published.db.engine.connect() as conn:
        view = show(conn, published.specs, "baby-t-scr-2024/1")
        items = {i["ref"]: i for i in list_items(conn, published.specs)}
        attention = conn.execute(
            sa.select(core.item.c.next_attention_at, core.item.c.due).where(
                core.item.c.agency_id == "council"
            )
        ).all()
    assert (view["due_dates"], view["start_dates"]) == ([], ["2024-01-01", "2024-02-01"])
    assert (items["1"]["due"], items["1"]["starts"]) == (None, "2024-01-01")
    # item 1 has nothing to chase; item 2 (due 2024-12-31) has
    assert sorted((a is None, d is None) for a, d in attention) == [(False, False), (True, True)]


def test_a_contacts_file_alone_creates_its_agencies(published: Services, tmp_path: Path) -> None:
    text = GOOD_CONTACTS.replace(
        "  council:\n", "  council:\n    name: Council Children's Services\n"
    ).replace("  police:\n", "  police:\n    name: Example Police\n")
    report = _import(published, _write(tmp_path, "c.yaml", text))
    assert (sorted(report.agencies), report.contacts) == (["council", "police"], 3)
    _import(published, _write(tmp_path, "p.yaml", GOOD_PLAN))  # the plan finds them
    with published.db.engine.connect() as conn:
        ladders = dict(conn.execute(sa.select(core.agency.c.id, core.agency.c.ladder)).all())
    assert ladders["council"] == ["lead_officer", "senior_contact"]


def test_problems_of_every_kind_and_file_come_in_one_list(
    published: Services, tmp_path: Path
) -> None:
    plan = GOOD_PLAN.replace("2024-12-31", "2024-13-01").replace(
        "agency: council\n", "agency: counsil\n"
    )
    contacts = GOOD_CONTACTS.replace("dci@police.example.org", "dci-at-police")
    with pytest.raises(ImportErrors) as info:
        _import(published, _write(tmp_path, "p.yaml", plan), _write(tmp_path, "c.yaml", contacts))
    found = [(Path(f.file).name, f.row, f.field) for f in info.value.findings]
    assert found == [
        ("p.yaml", "recommendations[0] (1)", "agency"),
        ("p.yaml", "recommendations[1] (2)", "due[0]"),
        ("c.yaml", "agencies.police", "contacts[0].email"),
    ]


def test_a_dry_run_runs_the_writes_and_leaves_nothing(published: Services, tmp_path: Path) -> None:
    paths = (_write(tmp_path, "p.yaml", GOOD_PLAN), _write(tmp_path, "c.yaml", GOOD_CONTACTS))
    dry = _import(published, *paths, dry_run=True)
    with published.db.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(core.item)).scalar_one() == 0
        assert conn.execute(sa.select(sa.func.count()).select_from(core.agency)).scalar_one() == 0
    real = _import(published, *paths)
    assert (dry.added, dry.agencies, dry.contacts) == (real.added, real.agencies, real.contacts)


def test_a_file_full_of_problems_lists_a_bounded_number(
    published: Services, tmp_path: Path
) -> None:
    rows = "".join(f"- {{ref: 'x{i}', agency: nobody, text: t, due: [soon]}}\n" for i in range(300))
    with pytest.raises(ImportErrors) as info:
        _import(published, _write(tmp_path, "p.yaml", GOOD_PLAN + rows))
    findings = info.value.findings
    assert len(findings) == 201
    assert any("more than 200 problems; fix these and check again" in f.message for f in findings)
