"""Spreadsheet imports and the directory (issue 12), on SQLite and PostgreSQL: agencies the
directory lacks are created as a YAML plan's are (a likely slip is refused instead), lead
officers are matched per row, and a column mapping is saved per board and used again for
a file with the same headings. Bad input writes nothing."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from engine import adminlog, saved_mappings
from engine.errors import ImportErrors
from engine.findings import Severity
from engine.importer import ImportReport, import_files
from engine.services import Services
from engine.sheets import SheetMappingFile, load_mapping
from engine.store import core
from tests.conftest import BM, NOW

BOARD = "Southend Local Safeguarding Children Board"  # the agency holding the manager
HEADINGS = "Number,What we said,Who,Lead,When,Progress\n"
MAPPING = (
    "columns: {Number: ref, What we said: text, Who: agency, Lead: lead, When: due, "
    "Progress: status}\n"
)


def _write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def _mapping(tmp_path: Path, text: str) -> SheetMappingFile:
    found, problems = load_mapping(_write(tmp_path, "m.yaml", text))
    assert problems == []
    assert found is not None
    return found


def _import(services: Services, path: Path, **options: Any) -> ImportReport:
    with services.db.write() as conn:
        return import_files(
            conn,
            [path],
            specs=services.specs,
            actor=BM,
            now=NOW,
            calendar=services.calendar,
            **options,
        )


def _count(services: Services, table: str) -> int:
    with services.db.engine.connect() as conn:
        return int(conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one())


def _agencies(services: Services) -> dict[str, str]:
    with services.db.engine.connect() as conn:
        return dict(conn.execute(sa.select(core.agency.c.id, core.agency.c.name)).all())


# --- agencies the directory lacks ------------------------------------------------------------


def test_an_agency_the_directory_lacks_is_created_and_said_once(
    demo: Services, tmp_path: Path
) -> None:
    plan = _write(
        tmp_path,
        "plan.csv",
        "Ref,Recommendation,Lead agency\n"
        "1,One.,Southend Youth Offending Service\n"
        "2,Two.,SEPT / Southend Youth Offending Service\n",
    )
    report = _import(demo, plan)
    assert report.created_agencies == ["southend-youth-offending-service"]
    assert _agencies(demo)["southend-youth-offending-service"] == "Southend Youth Offending Service"
    [said] = [f for f in report.findings if "new agency" in f.message]
    assert (said.severity, said.row, said.field) == (
        Severity.WARNING,
        "sheet 'plan' row 2",
        "column C (Lead agency)",
    )
    assert "added to the directory as 'southend-youth-offending-service'" in said.message
    with demo.db.engine.connect() as conn:
        owners = conn.execute(
            sa.select(core.recommendation.c.ref, core.item.c.agency_id)
            .join(core.item, core.item.c.recommendation_id == core.recommendation.c.id)
            .where(core.recommendation.c.review_id == "plan")
            .order_by(core.recommendation.c.ref, core.item.c.agency_id)
        ).all()
    assert [tuple(o) for o in owners] == [
        ("1", "southend-youth-offending-service"),
        ("2", "sept"),
        ("2", "southend-youth-offending-service"),
    ]


def test_a_name_close_to_a_directory_agency_is_refused_not_created(
    demo: Services, tmp_path: Path
) -> None:
    plan = _write(
        tmp_path, "plan.csv", "Ref,Recommendation,Lead agency\n1,One.,Essex Probation Servce\n"
    )
    before = _agencies(demo)
    with pytest.raises(ImportErrors) as refused:
        _import(demo, plan)
    [error] = [f for f in refused.value.findings if f.severity is Severity.ERROR]
    assert (error.row, error.field) == ("sheet 'plan' row 2", "column C (Lead agency)")
    assert (
        "unknown agency 'Essex Probation Servce'; did you mean 'Essex Probation Service'? If it "
        "is that agency, map it under 'agencies' in a mapping file"
    ) in error.message
    assert "map it there to a new id (it is then created)" in error.message
    assert _agencies(demo) == before


def test_the_mapping_can_give_a_new_agency_its_id(demo: Services, tmp_path: Path) -> None:
    plan = _write(
        tmp_path, "plan.csv", "Ref,Recommendation,Lead agency\n1,One.,Essex Probation Servce\n"
    )
    mapping = _mapping(tmp_path, "agencies: {Essex Probation Servce: essex-probation-ss}\n")
    dry = _import(demo, plan, mapping=mapping, dry_run=True)
    assert dry.created_agencies == ["essex-probation-ss"]
    assert "essex-probation-ss" not in _agencies(demo)  # a dry run writes nothing
    _import(demo, plan, mapping=mapping)
    assert _agencies(demo)["essex-probation-ss"] == "Essex Probation Servce"


# --- lead officers ---------------------------------------------------------------------------


def test_lead_officers_are_matched_per_row_and_kept_with_the_recommendation(
    demo: Services, tmp_path: Path
) -> None:
    plan = _write(
        tmp_path,
        "plan.csv",
        "Ref,Recommendation,Lead agency,Lead officer\n"
        "1,One.,Essex Probation Service,Safeguarding Lead\n"  # shared name: the row's agency's
        "2,Two.,SEPT,NAMED.NURSE@sept.example.org\n"
        "3,Three.,SEPT,Named Nurse Safeguarding Childen\n"
        "4,Four.,SEPT,Head of Midwifery\n",
    )
    report = _import(demo, plan)
    contacts = {o["ref"]: o["lead_contact"] for o in report.outcomes}
    assert contacts["1"] == {
        "name": "Safeguarding Lead",
        "email": "safeguarding.lead@essex-probation.example.org",
        "agency": "essex-probation",
    }
    assert contacts["2"] is not None
    assert contacts["2"]["email"] == "named.nurse@sept.example.org"
    assert contacts["3"] is None
    assert contacts["4"] is None
    warned = {f.row: f.message for f in report.findings if f.field.startswith("column D")}
    assert set(warned) == {"sheet 'plan' row 4", "sheet 'plan' row 5"}
    assert (
        "did you mean Named Nurse Safeguarding Children <named.nurse@sept.example.org> (sept)"
        in (warned["sheet 'plan' row 4"])
    )
    assert "did you mean" not in warned["sheet 'plan' row 5"]
    with demo.db.engine.connect() as conn:
        sources = dict(
            conn.execute(
                sa.select(core.recommendation.c.ref, core.recommendation.c.source).where(
                    core.recommendation.c.review_id == "plan"
                )
            ).all()
        )
    assert sources["2"]["lead_contact"]["email"] == "named.nurse@sept.example.org"
    assert "lead_contact" not in sources["4"]


# --- mappings saved per board ----------------------------------------------------------------


def _q(tmp_path: Path, name: str, rows: str, headings: str = HEADINGS) -> Path:
    return _write(tmp_path / name.split(".")[0], name, headings + rows)


ROWS = "1,One.,SEPT,Named Nurse Safeguarding Children,30/06/2011,on track\n"


def test_a_saved_mapping_reads_the_next_file_with_the_same_headings(
    demo: Services, tmp_path: Path
) -> None:
    first = _q(tmp_path, "q1.csv", ROWS)
    mapping = _mapping(tmp_path, "review: {id: q1-2011, title: First quarter}\n" + MAPPING)
    done = _import(demo, first, mapping=mapping, mapping_given_as="m.yaml", save_mapping=True)
    assert (
        done.saved_mapping == f"the mapping for {BOARD}, to read files with the headings of q1.csv"
    )
    with demo.db.engine.connect() as conn:
        [saved] = saved_mappings.all_saved(conn)
    assert (saved.board, saved.saved_by) == (BOARD, BM)
    assert saved.mapping["review"] == {"board": BOARD, "kind": "serious_case_review"}
    assert saved.headings == {
        "q1": {
            "header_row": 1,
            "headings": ["number", "what we said", "who", "lead", "when", "progress"],
        }
    }
    # next quarter's file: another name, other rows, the same headings
    second = _q(tmp_path, "q2.csv", ROWS + "2,Two.,Essex Probation Service,,31/07/2011,Completed\n")
    again = _import(demo, second)
    assert again.mapping_from[str(second)] == (
        f"the mapping saved for {BOARD} by {BM} on 10 January 2011"
    )
    assert again.reviews == ["q2"]  # its own review: a saved mapping names none
    assert again.added == ["q2/1", "q2/2"]
    assert again.imported_statuses == ["q2/2"]


def test_a_file_with_other_headings_is_not_read_with_a_saved_mapping(
    demo: Services, tmp_path: Path
) -> None:
    mapping = _mapping(tmp_path, MAPPING)
    _import(demo, _q(tmp_path, "q1.csv", ROWS), mapping=mapping, save_mapping=True)
    other = _q(
        tmp_path, "q2.csv", ROWS, headings="Number,What we said,Who leads,Lead,When,Progress\n"
    )
    before = _count(demo, "item")
    with pytest.raises(ImportErrors) as refused:
        _import(demo, other)
    assert any("no Recommendation column" in f.message for f in refused.value.findings)
    assert _count(demo, "item") == before


def test_a_mapping_given_wins_over_the_saved_one(demo: Services, tmp_path: Path) -> None:
    _import(
        demo, _q(tmp_path, "q1.csv", ROWS), mapping=_mapping(tmp_path, MAPPING), save_mapping=True
    )
    ignoring = _mapping(tmp_path, MAPPING.replace("Lead: lead", "Lead: ignore"))
    done = _import(
        demo, _q(tmp_path, "q2.csv", ROWS), mapping=ignoring, mapping_given_as="the file m.yaml"
    )
    assert list(done.mapping_from.values()) == ["the file m.yaml"]
    assert done.outcomes[0]["lead"] is None


def test_saving_again_replaces_and_a_dry_run_or_a_refused_import_saves_nothing(
    demo: Services, tmp_path: Path
) -> None:
    first = _q(tmp_path, "q1.csv", ROWS)
    _import(demo, first, mapping=_mapping(tmp_path, MAPPING), dry_run=True, save_mapping=True)
    assert _count(demo, "sheet_mapping") == 0
    bad = _q(tmp_path, "bad.csv", "1,One.,SEPT,,soonish,on track\n")
    with pytest.raises(ImportErrors):
        _import(demo, bad, mapping=_mapping(tmp_path, MAPPING), save_mapping=True)
    assert _count(demo, "sheet_mapping") == 0
    _import(demo, first, mapping=_mapping(tmp_path, MAPPING), save_mapping=True)
    changed = MAPPING.replace("Lead: lead", "Lead: note")
    _import(demo, first, mapping=_mapping(tmp_path, changed), save_mapping=True)
    with demo.db.engine.connect() as conn:
        [saved] = saved_mappings.all_saved(conn)
    assert saved.mapping["sheets"]["q1"]["columns"]["Lead"] == "note"


def test_a_saved_mapping_from_an_older_signoff_is_looked_past(
    demo: Services, tmp_path: Path
) -> None:
    _import(
        demo, _q(tmp_path, "q1.csv", ROWS), mapping=_mapping(tmp_path, MAPPING), save_mapping=True
    )
    with demo.db.write() as conn:
        conn.execute(
            sa.update(core.sheet_mapping).values(
                mapping={"sheets": {"q1": {"columns": {"Number": "reference_number"}}}}
            )
        )
    with pytest.raises(ImportErrors):  # read with the common headings: no Recommendation
        _import(demo, _q(tmp_path, "q2.csv", ROWS))
    assert dt.date  # the saved row is kept, not deleted
    assert _count(demo, "sheet_mapping") == 1


# --- the administrators' log -----------------------------------------------------------------


def _log(services: Services) -> list[adminlog.Entry]:
    with services.db.engine.connect() as conn:
        found, _total = adminlog.entries(conn)
        assert adminlog.verify(conn).ok
    return list(reversed(found))


def test_an_import_and_its_directory_changes_are_in_the_administrators_log(
    demo: Services, tmp_path: Path
) -> None:
    before = len(_log(demo))
    plan = _q(tmp_path, "q1.csv", ROWS.replace("SEPT", "Southend Youth Offending Service"))
    mapping = _mapping(tmp_path, MAPPING)
    _import(demo, plan, mapping=mapping, dry_run=True, save_mapping=True)
    assert len(_log(demo)) == before  # a dry run changes nothing, and logs nothing
    _import(demo, plan, mapping=mapping, save_mapping=True)
    created, imported, saved = _log(demo)[before:]
    assert (created.action, created.actor, created.subject, created.before) == (
        "directory.agency.create",
        BM,
        "southend-youth-offending-service",
        None,
    )
    assert created.after["name"] == "Southend Youth Offending Service"
    assert (saved.action, saved.subject, saved.before) == (
        "import.mapping.save",
        f"{BOARD}: q1.csv",
        None,
    )
    assert saved.after["mapping"]["sheets"]["q1"]["columns"]["What we said"] == "text"
    assert (imported.action, imported.subject) == ("import.plan", "q1.csv")
    assert imported.after["added"] == ["q1/1"]
    assert imported.after["created_agencies"] == ["southend-youth-offending-service"]
    assert imported.label == "Action plan or contacts imported"
    # saving again for the same headings: the mapping it replaced is the entry's before
    changed = _mapping(tmp_path, MAPPING.replace("Lead: lead", "Lead: note"))
    _import(demo, plan, mapping=changed, save_mapping=True)
    again = [e for e in _log(demo) if e.action == "import.mapping.save"][-1]
    assert again.before == saved.after["mapping"]


def test_a_refused_import_logs_nothing(demo: Services, tmp_path: Path) -> None:
    before = len(_log(demo))
    with pytest.raises(ImportErrors):
        _import(
            demo,
            _q(tmp_path, "bad.csv", "1,One.,SEPT,,soonish,\n"),
            mapping=_mapping(tmp_path, MAPPING),
        )
    assert len(_log(demo)) == before
