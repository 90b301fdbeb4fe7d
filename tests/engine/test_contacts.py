"""engine.contacts: the board's roles, who holds what, and who stands in, on both databases."""

from __future__ import annotations

from pathlib import Path

from engine import contacts
from engine.services import Services
from engine.spec import load_spec_file
from tests.conftest import (
    AUDITOR,
    BM,
    DEPUTY,
    OTHER_AGENCY,
    PANEL,
    WORKFLOWS,
    sept_lead_officer,
)


def test_board_roles_are_the_contact_roles_of_roles_scoped_to_any_agency() -> None:
    spec = load_spec_file(WORKFLOWS / "recommendation.yaml")
    expected = {
        cr
        for role in spec.model.roles.values()
        if role.scope.value == "any"
        for cr in role.contact_roles
    }
    assert contacts.board_roles([spec]) == expected
    assert "lead_officer" not in expected
    assert contacts.board_roles([]) == set()


def test_published_board_roles_cover_every_published_workflow(demo: Services) -> None:
    with demo.db.engine.connect() as conn:
        published = contacts.published_board_roles(conn, demo.specs)
    shipped = [load_spec_file(p) for p in sorted(WORKFLOWS.glob("*.yaml"))]
    assert published == contacts.board_roles(shipped)
    assert {"business_manager"} <= published


def test_roles_of_an_address_ignore_case_and_spaces(demo: Services) -> None:
    with demo.db.engine.connect() as conn:
        assert "business_manager" in contacts.roles_of(conn, f"  {BM.upper()} ")
        assert contacts.roles_of(conn, PANEL) & contacts.published_board_roles(conn, demo.specs)
        assert not contacts.roles_of(conn, OTHER_AGENCY) & {"business_manager"}
        assert contacts.roles_of(conn, "nobody@example.org") == set()
        assert contacts.roles_of(conn, AUDITOR)


def test_fallback_addresses_are_the_business_managers(demo: Services) -> None:
    with demo.db.engine.connect() as conn:
        assert contacts.fallback_addresses(conn) == [BM]


def test_a_deputy_holds_an_absent_contacts_roles_only_while_they_are_absent(
    demo: Services, tmp_path: Path
) -> None:
    sept_lead_officer(demo, tmp_path, absent=True)
    with demo.db.engine.connect() as conn:
        assert contacts.roles_of(conn, DEPUTY) == {"lead_officer"}
        assert contacts.answers_for(conn, DEPUTY, "sept")
        assert not contacts.answers_for(conn, DEPUTY, "nhs-south-east-essex")
    sept_lead_officer(demo, tmp_path, absent=False)
    with demo.db.engine.connect() as conn:
        assert contacts.roles_of(conn, DEPUTY) == set()
        assert not contacts.answers_for(conn, DEPUTY, "sept")


def test_an_escalation_to_a_named_contact_reaches_them_or_their_deputy(
    demo: Services, tmp_path: Path
) -> None:
    """A contact named by address in an escalation step receives it, whatever the item's
    agency; while absent their deputy does; an address nobody holds falls back to the BM."""
    spec = load_spec_file(WORKFLOWS / "recommendation.yaml")
    with demo.db.engine.connect() as conn:
        present = contacts.Directory.load(conn)
    named = present.resolve(spec, [f" {OTHER_AGENCY.upper()} ".strip()], "southend-lscb", 0)
    assert [(r.email, r.fallback) for r in named] == [(OTHER_AGENCY, False)]
    nobody = present.resolve(spec, ["nobody@example.org"], "southend-lscb", 0)
    assert [(r.email, r.fallback) for r in nobody] == [(BM, True)]
    sept_lead_officer(demo, tmp_path, absent=True)
    with demo.db.engine.connect() as conn:
        absent = contacts.Directory.load(conn)
    assert [r.email for r in absent.resolve(spec, [OTHER_AGENCY], "southend-lscb", 0)] == [DEPUTY]
