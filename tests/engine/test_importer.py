"""Importing action plans and contacts: the example, bad rows (nothing written), schemas."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import sqlalchemy as sa

from engine.errors import ImportErrors, RecommendationNotFound
from engine.evidence import EvidenceInput
from engine.fire import FireRequest, fire
from engine.importer import ImportReport, import_files, json_schemas
from engine.queries import list_items, show
from engine.services import Services
from engine.spec import reader as yamlio
from tests.conftest import CONTACTS, NOW, PLAN, REVIEW, ROOT

GOOD_PLAN = """\
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
  priority: H
  due: [2024-09-30]
- ref: '2'
  agency: [council, police]
  text: Joint training on disguised compliance.
  due: [2024-12-31]
"""
GOOD_CONTACTS = """\
agencies:
  council:
    contacts:
      - {role: lead_officer, name: Head of Service, email: hos@council.example.org}
      - {role: senior_contact, name: Director, email: director@council.example.org}
    ladder: [lead_officer, senior_contact]
  police:
    contacts:
      - {role: lead_officer, name: DCI, email: dci@police.example.org}
    ladder: [lead_officer]
"""


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def _import(services: Services, *paths: Path, dry_run: bool = False) -> ImportReport:
    with services.db.write() as conn:
        return import_files(
            conn, list(paths), specs=services.specs, actor="test", now=NOW, dry_run=dry_run
        )


def _counts(services: Services) -> dict[str, int]:
    with services.db.engine.connect() as conn:
        return {
            t: conn.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar_one()
            for t in ("review", "agency", "contact", "recommendation", "item", "event")
        }


def _problems(services: Services, *paths: Path) -> list[str]:
    before = _counts(services)
    with pytest.raises(ImportErrors) as info:
        _import(services, *paths)
    assert _counts(services) == before, "a failed import wrote something"
    return info.value.problems


def test_example_plan_and_contacts_import(published: Services) -> None:
    report = _import(published, PLAN, CONTACTS)
    assert (len(report.added), report.contacts, len(report.agencies)) == (9, 28, 8)
    with published.db.engine.connect() as conn:
        items = {i["ref"]: i for i in list_items(conn, published.specs)}
        r8 = show(conn, published.specs, f"{REVIEW}/R8")
    assert {i["state"] for i in items.values()} == {"open"}
    assert r8["due_dates"] == ["2011-06-30", "2011-01-31"]  # source order kept
    assert items["R8"]["due"] == "2011-01-31"  # the earliest is chased
    # 'From January 2011' and 'From April 2011' are starts, not deadlines: kept, never chased
    assert (items["R3"]["due"], items["R3"]["starts"]) == (None, "2011-01-01")
    assert (items["R5"]["due"], items["R5"]["starts"]) == (None, "2011-04-01")


def test_reimport_leaves_existing_items_unchanged(published: Services) -> None:
    _import(published, PLAN, CONTACTS)
    fire(
        published,
        FireRequest(
            item=f"{REVIEW}/R1",
            trigger="submit_evidence",
            actor="business.manager@southend-lscb.example.org",
            now=NOW,
            evidence=[EvidenceInput(statement="x")],
        ),
    )
    report = _import(published, PLAN, CONTACTS)
    assert report.added == []
    assert len(report.unchanged) == 9
    with published.db.engine.connect() as conn:
        assert show(conn, published.specs, f"{REVIEW}/R1")["items"][0]["state"] == (
            "evidence_submitted"
        )


def test_dry_run_writes_nothing(published: Services) -> None:
    before = _counts(published)
    report = _import(published, PLAN, CONTACTS, dry_run=True)
    assert len(report.added) == 9
    assert _counts(published) == before


def test_several_agencies_make_one_item_each_with_a_rollup(
    published: Services, tmp_path: Path
) -> None:
    _import(
        published, _write(tmp_path, "p.yaml", GOOD_PLAN), _write(tmp_path, "c.yaml", GOOD_CONTACTS)
    )
    fire(
        published,
        FireRequest(
            item="baby-t-scr-2024/2@police",
            trigger="submit_evidence",
            actor="dci@police.example.org",
            now=NOW,
            evidence=[EvidenceInput(statement="Training delivered")],
        ),
    )
    with published.db.engine.connect() as conn:
        view = show(conn, published.specs, "baby-t-scr-2024/2")
    assert [(i["agency"], i["state"]) for i in view["items"]] == [
        ("council", "open"),
        ("police", "evidence_submitted"),
    ]
    assert (view["rollup"]["status"], view["rollup"]["open"], view["rollup"]["of"]) == (
        "open",
        2,
        2,
    )


def test_ambiguous_key_names_each_agency(published: Services, tmp_path: Path) -> None:
    _import(published, _write(tmp_path, "p.yaml", GOOD_PLAN))
    with pytest.raises(RecommendationNotFound) as info:
        fire(
            published,
            FireRequest(
                item="baby-t-scr-2024/2",
                trigger="submit_evidence",
                actor="dci@police.example.org",
                now=NOW,
            ),
        )
    assert "baby-t-scr-2024/2@council, baby-t-scr-2024/2@police" in str(info.value)


def test_unknown_ref_suggests_a_close_one(published: Services) -> None:
    _import(published, PLAN)
    with pytest.raises(RecommendationNotFound, match="did you mean 'R1'"):
        fire(published, FireRequest(item=f"{REVIEW}/r1", trigger="x", actor="y", now=NOW))


BAD_PLANS: dict[str, tuple[str, str]] = {
    "bad_date": (
        GOOD_PLAN.replace("due: [2024-12-31]", "due: [31/12/2024]"),
        "line 19: recommendations[1] (2).due[0]: '31/12/2024' is not a date; write it "
        "as YYYY-MM-DD",
    ),
    "impossible_date": (
        GOOD_PLAN.replace("2024-09-30", "2024-09-31"),
        "recommendations[0] (1).due[0]: '2024-09-31' is not a date",
    ),
    "unknown_agency": (
        GOOD_PLAN.replace("agency: council\n", "agency: counsil\n"),
        "line 12: recommendations[0] (1).agency: unknown agency 'counsil'; did you mean 'council'?",
    ),
    "unknown_agency_in_list": (
        GOOD_PLAN.replace("[council, police]", "[council, polise]"),
        "recommendations[1] (2).agency[1]: unknown agency 'polise'",
    ),
    "duplicate_ref": (
        GOOD_PLAN.replace("- ref: '2'", "- ref: '1'"),
        "recommendations[1] (1).ref: ref '1' is already used by recommendations[0]",
    ),
    "typo_field": (
        GOOD_PLAN.replace("priority: H", "priorty: H"),
        "recommendations[0] (1).priorty: unknown field",
    ),
    "bad_priority": (
        GOOD_PLAN.replace("priority: H", "priority: High"),
        "recommendations[0] (1).priority: 'High' is not allowed; allowed: 'H', 'M' or 'L'",
    ),
    "missing_text": (
        GOOD_PLAN.replace("  text: Review the threshold document.\n", ""),
        "recommendations[0] (1).text: required field is missing",
    ),
    "bad_kind": (
        GOOD_PLAN.replace("kind: serious_case_review", "kind: scr"),
        "review.kind: 'scr' is not allowed",
    ),
    "bad_review_slug": (
        GOOD_PLAN.replace("id: baby-t-scr-2024", "id: Baby T"),
        "review.id: 'Baby T' must be a slug",
    ),
    "duplicate_agency": (
        GOOD_PLAN.replace("id: police", "id: council"),
        "agencies[1].id: agency 'council' is listed twice",
    ),
    "unknown_workflow": (
        GOOD_PLAN.replace("  priority: H\n", "  priority: H\n  workflow: imr\n"),
        "recommendations[0] (1).workflow: no published workflow 'imr'",
    ),
    "no_recommendations": (
        GOOD_PLAN.split("recommendations:")[0] + "recommendations: []\n",
        "recommendations: List should have at least 1 item",
    ),
    "malformed_yaml": ("review: [unclosed\n", "line 2: not valid YAML"),
    "not_a_plan": ("- just\n- a list\n", "not an import file"),
    "duplicate_key": (
        GOOD_PLAN.replace("  priority: H\n", "  priority: H\n  priority: M\n"),
        "key 'priority' appears twice",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_PLANS))
def test_bad_plan_row_is_named_and_nothing_is_written(
    published: Services, tmp_path: Path, case: str
) -> None:
    text, expected = BAD_PLANS[case]
    problems = _problems(published, _write(tmp_path, "plan.yaml", text))
    assert any(expected in p for p in problems), problems


BAD_CONTACTS: dict[str, tuple[str, str]] = {
    "unknown_agency": (
        GOOD_CONTACTS.replace("  police:", "  polic:"),
        "agencies.polic: unknown agency 'polic'; did you mean 'police'?",
    ),
    "ladder_role_without_contact": (
        GOOD_CONTACTS.replace(
            "ladder: [lead_officer, senior_contact]", "ladder: [lead_officer, safeguarding_lead]"
        ),
        "agencies.council.ladder[1]: no contact of 'council' has the role 'safeguarding_lead'",
    ),
    "invalid_email": (
        GOOD_CONTACTS.replace("dci@police.example.org", "dci-at-police"),
        "agencies.police.contacts[0].email: 'dci-at-police': ",
    ),
    "duplicate_contact": (
        GOOD_CONTACTS.replace(
            "      - {role: senior_contact, name: Director, email: director@council.example.org}",
            "      - {role: lead_officer, name: Head of Service, email: hos@council.example.org}",
        ),
        "agencies.council.contacts[1]: hos@council.example.org is listed twice",
    ),
    "ladder_with_no_contacts": (  # an agency may have none yet (issue 11), not a ladder
        GOOD_CONTACTS.split("  police:")[0]
        + "  police:\n    contacts: []\n    ladder: [lead_officer]\n",
        "agencies.police.ladder[0]: no contact of 'police' has the role 'lead_officer'",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_CONTACTS))
def test_bad_contacts_are_named_and_nothing_is_written(
    published: Services, tmp_path: Path, case: str
) -> None:
    _import(published, _write(tmp_path, "plan.yaml", GOOD_PLAN))
    text, expected = BAD_CONTACTS[case]
    problems = _problems(published, _write(tmp_path, "contacts.yaml", text))
    assert any(expected in p for p in problems), problems


def test_a_bad_second_file_stops_the_first(published: Services, tmp_path: Path) -> None:
    bad = _write(tmp_path, "c.yaml", GOOD_CONTACTS.replace("dci@police.example.org", "nope"))
    problems = _problems(published, _write(tmp_path, "p.yaml", GOOD_PLAN), bad)
    assert problems


def test_every_problem_in_a_file_is_reported(published: Services, tmp_path: Path) -> None:
    text = GOOD_PLAN.replace("2024-09-30", "soon").replace("2024-12-31", "later")
    assert len(_problems(published, _write(tmp_path, "p.yaml", text))) == 2


@pytest.mark.parametrize("name", sorted(json_schemas()))
def test_import_schema_is_in_sync(name: str) -> None:
    committed = json.loads((ROOT / "config" / name).read_text())
    assert committed == json_schemas()[name], f"regenerate config/{name} (see README)"


@pytest.mark.parametrize(
    ("name", "example"), [("action-plan.schema.json", PLAN), ("contacts.schema.json", CONTACTS)]
)
def test_examples_validate_against_the_schema(name: str, example: Path) -> None:
    data: Any = yamlio.load(example.read_text()).data
    schema = json.loads((ROOT / "config" / name).read_text())
    jsonschema.validate(json.loads(json.dumps(data, default=str)), schema)


def test_contacts_given_before_their_plan_still_import(published: Services) -> None:
    report = _import(published, CONTACTS, PLAN)
    assert (len(report.added), report.contacts) == (9, 28)
