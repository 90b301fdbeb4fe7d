"""A plan's status column imported as history (issue 12): each status is an event marked with
its source and "not verified by signoff", placing the item in the state its workflow's
``imported_status`` names; reports never count it as verified. SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from engine import queries, reports
from engine.evidence import EvidenceInput
from engine.findings import Severity
from engine.fire import FireRequest, fire
from engine.importer import ImportReport, import_files
from engine.services import Services
from engine.sheets import load_mapping
from engine.spec import load_spec_file
from engine.store import core
from engine.timeline import describe
from tests.conftest import AUDITOR, BM, NOW, WORKFLOWS

REVIEW = "statuses"
PLAN = (
    "Ref,Recommendation,Lead agency,Target date,RAG status\n"
    "S1,One.,NHS South East Essex,31/03/2011,Completed\n"
    "S2,Two.,NHS South East Essex,31/03/2011,no response\n"
    "S3,Three.,NHS South East Essex,31/03/2011,On-Track\n"
    "S4,Four.,NHS South East Essex,31/03/2011,BLUE\n"
    "S5,Five.,NHS South East Essex,31/03/2011,Evidence submitted\n"
    "S6,Six.,NHS South East Essex,31/03/2011,transferred\n"
    "S7,Seven.,NHS South East Essex,31/03/2011,Closed\n"
    "S8,Eight.,NHS South East Essex,31/03/2011,\n"
)


def _import(services: Services, tmp_path: Path, mapping: str | None = None) -> ImportReport:
    path = tmp_path / f"{REVIEW}.csv"
    path.write_text(PLAN, encoding="utf-8")
    given = None
    if mapping is not None:
        (tmp_path / "m.yaml").write_text(mapping, encoding="utf-8")
        given, problems = load_mapping(tmp_path / "m.yaml")
        assert problems == []
    with services.db.write() as conn:
        return import_files(
            conn,
            [path],
            specs=services.specs,
            actor=BM,
            now=NOW,
            calendar=services.calendar,
            mapping=given,
        )


def _states(services: Services) -> dict[str, tuple[Any, ...]]:
    """ref -> (state, the second event's trigger, from, to, reason, data)."""
    item, rec, event = core.item, core.recommendation, core.event
    with services.db.engine.connect() as conn:
        rows = conn.execute(
            sa.select(
                rec.c.ref,
                item.c.state,
                event.c.trigger,
                event.c.from_state,
                event.c.to_state,
                event.c.reason,
                event.c.data,
            )
            .join(item, item.c.recommendation_id == rec.c.id)
            .outerjoin(event, sa.and_(event.c.item_id == item.c.id, event.c.seq == 2))
            .where(rec.c.review_id == REVIEW)
            .order_by(rec.c.ref)
        ).all()
    return {r[0]: tuple(r[1:]) for r in rows}


def test_each_status_places_the_item_by_the_workflows_mapping(
    demo: Services, tmp_path: Path
) -> None:
    report = _import(demo, tmp_path)
    states = _states(demo)
    assert {ref: s[0] for ref, s in states.items()} == {
        "S1": "panel_signed_off",  # Completed
        "S2": "open",  # no response: still owed, and chased
        "S3": "open",  # On-Track: punctuation and case ignored
        "S4": "panel_signed_off",  # BLUE
        "S5": "evidence_submitted",
        "S6": "not_for_this_board",  # transferred
        "S7": "open",  # Closed: not in the mapping, warned
        "S8": "open",  # no status: no imported event
    }
    trigger, moved_from, moved_to, reason, data = states["S1"][1:]
    assert (trigger, moved_from, moved_to) == ("import_status", "open", "panel_signed_off")
    assert reason == (
        f"Status 'Completed' imported from {REVIEW}.csv, sheet '{REVIEW}' row 2; "
        "not verified by signoff"
    )
    assert data == {
        "imported_status": "Completed",
        "reported_status": "panel_signed_off",
        "status_source": f"{REVIEW}.csv, sheet '{REVIEW}' row 2",
        "verified": False,
    }
    assert states["S2"][1:4] == ("import_status", "open", "open")
    assert states["S8"][1] is None
    [warning] = [f for f in report.findings if f.severity is Severity.WARNING]
    assert (warning.row, warning.field) == (f"sheet '{REVIEW}' row 8", "column E (RAG status)")
    assert warning.message.startswith(
        "value 'Closed': status not in workflow 'recommendation''s imported_status, so the "
        "item stays in 'open'"
    )
    assert report.imported_statuses == [f"{REVIEW}/{r}" for r in ("S1", "S4", "S5", "S6")]
    outcomes = [(o["ref"], o["status"], o["state"]) for o in report.outcomes]
    assert outcomes[0] == ("S1", "Completed", "panel_signed_off")
    assert outcomes[6:] == [("S7", "Closed", "open"), ("S8", None, None)]


def test_another_workflow_places_the_same_words_in_its_own_states(
    demo: Services, tmp_path: Path
) -> None:
    report = _import(demo, tmp_path, mapping="workflow: imr_action\n")
    states = {ref: s[0] for ref, s in _states(demo).items()}
    assert states == {
        "S1": "completed",  # reported complete: awaits the safeguarding lead
        "S2": "in_progress",
        "S3": "in_progress",
        "S4": "completed",
        "S5": "in_progress",  # evidence submitted: not in imr_action's mapping
        "S6": "in_progress",
        "S7": "in_progress",
        "S8": "in_progress",
    }
    warned = sorted(f.row for f in report.findings if f.severity is Severity.WARNING)
    assert warned == [f"sheet '{REVIEW}' row {r}" for r in (6, 7, 8)]


def test_an_imported_status_is_never_reported_as_verified(demo: Services, tmp_path: Path) -> None:
    _import(demo, tmp_path)

    def build(name: str, day: dt.date, **kw: Any) -> dict[str, Any]:
        request = reports.ReportRequest(name=name, today=day, review=REVIEW, **kw)
        with demo.db.engine.connect() as conn:
            return reports.build(conn, demo.specs, demo.calendar, request).data

    timescale = build("timescale", dt.date(2011, 4, 30))
    apart = [u["key"] for u in timescale["unverified"]]
    assert apart == [f"{REVIEW}/{r}" for r in ("S1", "S4", "S5", "S6")]
    for basis in timescale["bases"].values():
        for figure in basis.values():
            assert figure["items"] == []
            assert not set(apart) & set(figure["of_items"])
    # the open items, imported as "on track" or "no response", count as what they are
    assert timescale["status"]["open"]["items"] == [
        f"{REVIEW}/{r}" for r in ("S2", "S3", "S7", "S8")
    ]
    # no decision was taken: the import is in no panel's minutes and no quarter's decisions
    high_risk = build("high-risk", dt.date(2011, 3, 31), day_from=dt.date(2011, 1, 1))
    assert high_risk["decisions"] == []
    minutes = build("minutes", NOW.date(), meeting=NOW.date())
    assert (minutes["count"], minutes["decisions"]) == (0, [])


def test_once_signoff_confirms_it_the_item_counts_from_then(demo: Services, tmp_path: Path) -> None:
    """The audit confirms an item the plan said was completed: it is verified from the audit,
    and counts as implemented (and assured) from that moment, not from the import."""
    _import(demo, tmp_path)
    audit_day = dt.datetime(2011, 3, 1, 10, 0, tzinfo=dt.UTC)
    fire(
        demo,
        FireRequest(
            item=f"{REVIEW}/S1",
            trigger="confirm_audit",
            actor=AUDITOR,
            now=audit_day,
            evidence=[EvidenceInput(statement="Audit report 2011/14")],
        ),
    )
    request = reports.ReportRequest(name="timescale", today=dt.date(2011, 4, 30), review=REVIEW)
    with demo.db.engine.connect() as conn:
        data = reports.build(conn, demo.specs, demo.calendar, request).data
    assert f"{REVIEW}/S1" not in [u["key"] for u in data["unverified"]]
    items = {i["key"]: i for i in data["items"]}
    assert items[f"{REVIEW}/S1"]["implemented_on"] == "2011-03-01"  # the audit, not 01-10
    assert items[f"{REVIEW}/S1"]["assured_on"] == "2011-03-01"
    assert data["bases"]["assured"]["within_original"]["items"] == [f"{REVIEW}/S1"]


def test_the_history_says_the_status_was_imported_and_not_verified(
    demo: Services, tmp_path: Path
) -> None:
    _import(demo, tmp_path)
    with demo.db.engine.connect() as conn:
        view = queries.show(conn, demo.specs, f"{REVIEW}/S1")
    spec = load_spec_file(WORKFLOWS / "recommendation.yaml")
    entry = describe(spec, view["items"][0]["history"][1], {})
    assert entry.text == (
        f"Status “Completed” imported on 10 January 2011 from {REVIEW}.csv, sheet '{REVIEW}' "
        "row 2, not verified by signoff. Now: Signed off by the panel, awaiting internal audit."
    )


@pytest.mark.parametrize(
    ("written", "state"),
    [("Completed", "panel_signed_off"), ("ON TRACK", "open"), ("on-track!", "open"), ("x", None)],
)
def test_the_mapping_ignores_case_and_punctuation(written: str, state: str | None) -> None:
    spec = load_spec_file(WORKFLOWS / "recommendation.yaml")
    assert spec.imported_state(written) == state
