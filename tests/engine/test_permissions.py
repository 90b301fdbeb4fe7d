"""The roles table: what each role may do and where, and fire/request asking it (issue 10)."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from engine import permissions
from engine.errors import NotPermitted, RequestRefused, RoleNotAllowed
from engine.evidence import EvidenceInput
from engine.fire import Fired, FireRequest, fire
from engine.permissions import TABLE, Permission, Person, Role, Scope
from engine.requests import issue
from engine.services import Services
from engine.spec.loader import load_spec_file
from engine.store.tables import Rag
from engine.versions import publish
from tests.conftest import AUDITOR, BM, NOW, PANEL, REVIEW, ROOT, make_item

SEPT_AUDITOR = "internal.audit@sept.example.org"
COUNCIL_AUDITOR = "internal.audit@sbc.example.org"  # audits two council departments
VIEWER = "board.member@southend-lscb.example.org"
SEPT_LEAD = "named.nurse@sept.example.org"


def add_viewer(services: Services) -> None:
    with services.db.write() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO contact (agency_id, name, email, role, absent, failing) "
                "VALUES ('southend-lscb', 'Board member', :e, 'board_member', false, false)"
            ),
            {"e": VIEWER},
        )


def who(services: Services, email: str) -> Person:
    with services.db.engine.connect() as conn:
        found = permissions.person(conn, email)
    assert found is not None
    return found


def go(services: Services, key: str, trigger: str, actor: str, **kw: Any) -> Fired:
    return fire(services, FireRequest(item=key, trigger=trigger, actor=actor, now=NOW, **kw))


def signed_off(services: Services, ref: str, agency: str) -> str:
    """A new item of ``agency`` taken to panel_signed_off (awaiting internal audit)."""
    make_item(services, ref=ref, due=dt.date(2011, 3, 4), agency=agency)
    key = f"{REVIEW}/{ref}"
    lead = {"sept": SEPT_LEAD, "southend-lscb": BM}[agency]
    go(services, key, "submit_evidence", lead, evidence=[EvidenceInput(statement="Done")])
    go(
        services,
        key,
        "sign_off",
        PANEL,
        reason="Seen",
        rag=Rag.GREEN,
        meeting_date=NOW.date(),
    )
    return key


def test_the_directory_roles_map_onto_the_table(demo: Services) -> None:
    add_viewer(demo)
    assert who(demo, BM).roles == {Role.BUSINESS_MANAGER}
    assert who(demo, PANEL).roles == {Role.PANEL_MEMBER}
    assert who(demo, "chair@southend-lscb.example.org").roles == {Role.CHAIR}
    assert who(demo, AUDITOR).roles == {Role.INTERNAL_AUDITOR}
    assert who(demo, VIEWER).roles == {Role.BOARD_VIEWER}
    assert who(demo, SEPT_LEAD).roles == {Role.AGENCY_CONTACT}
    assert who(demo, "chief.executive@sept.example.org").roles == {Role.AGENCY_CONTACT}
    with demo.db.engine.connect() as conn:
        assert permissions.person(conn, "stranger@elsewhere.example") is None


def test_an_auditor_reaches_their_agencies_and_the_boards_own_items_only(demo: Services) -> None:
    council = who(demo, COUNCIL_AUDITOR).access(Permission.DOWNLOAD_EVIDENCE)
    assert council.agencies == {
        "sbc-children-and-learning",
        "sbc-adult-and-community-services",
        "southend-lscb",
    }
    nhs = who(demo, AUDITOR)
    assert nhs.may(Permission.DOWNLOAD_EVIDENCE, "nhs-south-east-essex")
    assert nhs.may(Permission.DOWNLOAD_EVIDENCE, "southend-lscb")
    assert not nhs.may(Permission.DOWNLOAD_EVIDENCE, "sept")
    assert not nhs.may(Permission.MANAGE_QUARANTINE)
    assert not nhs.may(Permission.REQUEST_EVIDENCE)


def test_a_board_viewer_reads_everything_and_does_nothing(demo: Services) -> None:
    add_viewer(demo)
    viewer = who(demo, VIEWER)
    assert viewer.may(Permission.VIEW_ITEMS, "sept")
    assert viewer.may(Permission.VIEW_REPORTS)
    for permission in set(Permission) - {Permission.VIEW_ITEMS, Permission.VIEW_REPORTS}:
        assert not viewer.may(permission), permission


def test_reports_are_for_roles_that_see_every_agency(demo: Services) -> None:
    """A report counts every partner's items: an agency contact or auditor would learn other
    agencies' figures, so neither reads them."""
    assert not who(demo, SEPT_LEAD).may(Permission.VIEW_REPORTS)
    assert not who(demo, AUDITOR).may(Permission.VIEW_REPORTS)
    assert who(demo, PANEL).may(Permission.VIEW_REPORTS)


def test_an_agency_contact_reaches_only_their_agency(demo: Services) -> None:
    lead = who(demo, SEPT_LEAD)
    assert lead.access(Permission.VIEW_ITEMS).agencies == {"sept"}
    assert not lead.may(Permission.VIEW_ITEMS, "southend-lscb")
    assert not lead.may(Permission.MANAGE_SESSIONS)


def test_the_business_manager_has_every_permission_everywhere() -> None:
    assert set(TABLE[Role.BUSINESS_MANAGER]) == set(Permission)
    assert set(TABLE[Role.BUSINESS_MANAGER].values()) == {Scope.ALL}


def test_a_deputy_holds_the_absent_colleagues_reach(demo: Services) -> None:
    with demo.db.write() as conn:
        conn.execute(
            sa.text(
                "UPDATE contact SET absent = true, deputy_email = 'cover@elsewhere.example' "
                "WHERE email = :e"
            ),
            {"e": SEPT_LEAD},
        )
    cover = who(demo, "cover@elsewhere.example")
    assert cover.access(Permission.VIEW_ITEMS).agencies == {"sept"}


def test_the_fingerprint_changes_with_the_roles(demo: Services) -> None:
    before = who(demo, PANEL).digest()
    with demo.db.write() as conn:
        conn.execute(sa.text("UPDATE contact SET role = 'chair' WHERE email = :e"), {"e": PANEL})
    assert who(demo, PANEL).digest() != before


def test_an_auditor_cannot_confirm_another_agencys_item(demo: Services) -> None:
    """The workflow's auditor role has scope any; the table keeps each auditor to their own."""
    key = signed_off(demo, "T1", "sept")
    evidence = [EvidenceInput(statement="Audited")]
    with pytest.raises(NotPermitted, match="may not act on sept's items"):
        go(demo, key, "confirm_audit", AUDITOR, evidence=evidence)
    done = go(demo, key, "confirm_audit", SEPT_AUDITOR, evidence=evidence)
    assert done.to_state == "audit_confirmed"


def test_an_auditor_confirms_the_boards_own_item(demo: Services) -> None:
    key = signed_off(demo, "T2", "southend-lscb")
    done = go(demo, key, "confirm_audit", AUDITOR, evidence=[EvidenceInput(statement="Audited")])
    assert done.to_state == "audit_confirmed"


def test_a_board_viewer_acts_on_nothing_even_when_a_workflow_names_their_role(
    demo: Services, tmp_path: Path
) -> None:
    """Give board_member a workflow role: the table still says a viewer only reads."""
    add_viewer(demo)
    source = (ROOT / "workflows" / "recommendation.yaml").read_text()
    widened = source.replace(
        "contact_roles: [panel_member, chair]", "contact_roles: [panel_member, chair, board_member]"
    ).replace(
        "business_manager, chair, panel_member]",
        "business_manager, chair, panel_member,\n  board_member]",
    )
    assert widened != source
    path = tmp_path / "recommendation.yaml"
    path.write_text(widened)
    make_item(demo, ref="T3", due=dt.date(2011, 3, 4), agency="sept")
    key = f"{REVIEW}/T3"
    go(demo, key, "submit_evidence", SEPT_LEAD, evidence=[EvidenceInput(statement="Done")])
    with demo.db.write() as conn:
        publish(conn, load_spec_file(path), actor=BM, now=NOW, migrate=True)
    with pytest.raises(NotPermitted):
        go(demo, key, "challenge", VIEWER, reason="Why", meeting_date=NOW.date())


def test_an_agency_contact_of_another_agency_is_refused_by_the_workflow_first(
    demo: Services,
) -> None:
    make_item(demo, ref="T4", due=dt.date(2011, 3, 4), agency="sept")
    with pytest.raises(RoleNotAllowed):
        go(
            demo,
            f"{REVIEW}/T4",
            "submit_evidence",
            "designated.nurse@nhs-see.example.org",
            evidence=[EvidenceInput(statement="x")],
        )


def test_only_roles_the_table_lets_ask_may_request_evidence(demo: Services) -> None:
    make_item(demo, ref="T5", due=dt.date(2011, 3, 4), agency="sept")
    with pytest.raises(RequestRefused, match="needs one of the board's roles"):
        issue(demo, f"{REVIEW}/T5", actor=AUDITOR, now=NOW)
    assert issue(demo, f"{REVIEW}/T5", actor=PANEL, now=NOW).public_id


def test_the_readme_prints_the_table() -> None:
    """The README's roles table says what TABLE says, cell by cell."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split("### Roles and what they may do", 1)[1]
    table = section[section.index("| role |") :].split("\n\n", 1)[0]
    rows = [line for line in table.splitlines() if "---" not in line]
    header = [c.strip() for c in rows[0].strip("|").split("|")]
    assert header[1:] == [p.value for p in Permission]
    printed = {}
    for line in rows[1:]:
        cells = [c.strip() for c in line.strip("|").split("|")]
        printed[cells[0]] = cells[1:]
    words = {Scope.ALL: "all", Scope.OWN: "own", Scope.OWN_AND_BOARD: "own + board"}
    expected = {
        role.value: [words[TABLE[role][p]] if p in TABLE[role] else "-" for p in Permission]
        for role in Role
    }
    assert printed == expected
    assert re.search(r"`board_member`", readme)
