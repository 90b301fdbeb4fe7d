"""Changing the directory (issue 11): each edit is stored and each bad one refused with the
agency, contact and field named, and nothing changed; on both databases."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest

from engine import directory
from engine.directory import DirectoryRefused, Person, edits
from engine.services import Services
from tests.conftest import AUDITOR, NOW, PANEL_CHAIR, make_item

CHAIR = "chair@southend-lscb.example.org"
SEPT_LEAD = "named.nurse@sept.example.org"
SEPT_DIRECTOR = "director.nursing@sept.example.org"
SEPT_CHIEF = "chief.executive@sept.example.org"
SEPT_AUDITOR = "internal.audit@sept.example.org"


def snapshot(services: Services) -> directory.Snapshot:
    with services.db.engine.connect() as conn:
        return directory.read(conn)


def apply(services: Services, edit: directory.Edit) -> list[directory.Change]:
    return directory.edit(services, edit, actor="bm@test", now=NOW)


def refused(services: Services, edit: directory.Edit) -> directory.Problem:
    """The one problem ``edit`` is refused with; the directory is unchanged."""
    before = snapshot(services)
    with pytest.raises(DirectoryRefused) as caught:
        apply(services, edit)
    assert snapshot(services) == before
    [problem] = caught.value.problems
    return problem


def lead(services: Services, **changes: object) -> Person:
    found = snapshot(services)["sept"].person(SEPT_LEAD)
    assert found is not None
    return replace(found, **changes)  # type: ignore[arg-type]


def test_an_agency_is_added_renamed_and_removed(demo: Services) -> None:
    [added] = apply(demo, edits.add_agency("essex-police", "Essex Police"))
    assert (added.kind, added.action, added.subject) == ("agency", "added", "essex-police")
    [renamed] = apply(demo, edits.rename_agency("essex-police", "Essex Police Force"))
    assert renamed.before == {"name": "Essex Police"}
    assert renamed.after == {"name": "Essex Police Force"}
    assert snapshot(demo)["essex-police"].name == "Essex Police Force"
    [removed] = apply(demo, edits.remove_agency("essex-police"))
    assert removed.action == "removed"
    assert "essex-police" not in snapshot(demo)


def test_a_contact_is_added_edited_and_removed_keeping_its_address(demo: Services) -> None:
    person = Person(name="Deputy Director", email="deputy.director@sept.example.org",
                    roles=("safeguarding_lead", "senior_contact"))  # fmt: skip
    [added] = apply(demo, edits.save_contact("sept", person, was=None))
    assert added.text.endswith("added (safeguarding_lead, senior_contact)")
    stored = snapshot(demo)["sept"].person(person.email)
    assert stored == person
    assert stored is not None
    assert stored.id is not None
    changed = replace(person, roles=("safeguarding_lead",), name="Deputy Chief Executive")
    [edited] = apply(demo, edits.save_contact("sept", changed, was=person.email))
    assert "roles safeguarding_lead, senior_contact to safeguarding_lead" in edited.text
    again = snapshot(demo)["sept"].person(person.email)
    assert again == changed
    assert again is not None
    assert again.id == stored.id  # the row of a role kept stays: the editor's address
    [removed] = apply(demo, edits.remove_contact("sept", person.email))
    assert removed.before == changed.as_json()
    assert snapshot(demo)["sept"].person(person.email) is None


def test_the_ladder_moves_up_and_down_and_rungs_come_and_go(demo: Services) -> None:
    assert snapshot(demo)["sept"].ladder == ("lead_officer", "safeguarding_lead", "senior_contact")
    [moved] = apply(demo, edits.move_rung("sept", 2, "senior_contact", -1))
    assert moved.after == ["lead_officer", "senior_contact", "safeguarding_lead"]
    apply(demo, edits.move_rung("sept", 0, "lead_officer", +1))
    assert snapshot(demo)["sept"].ladder == ("senior_contact", "lead_officer", "safeguarding_lead")
    apply(demo, edits.remove_rung("sept", 2, "safeguarding_lead"))
    apply(demo, edits.add_rung("sept", "internal_auditor"))
    assert snapshot(demo)["sept"].ladder == ("senior_contact", "lead_officer", "internal_auditor")


def test_a_rung_cannot_move_past_either_end(demo: Services) -> None:
    problem = refused(demo, edits.move_rung("sept", 0, "lead_officer", -1))
    assert problem.message == "lead_officer is already the top rung of the ladder"
    problem = refused(demo, edits.move_rung("sept", 2, "senior_contact", +1))
    assert problem.message == "senior_contact is already the bottom rung of the ladder"


def test_a_ladder_changed_since_the_page_was_loaded_is_not_edited_blindly(demo: Services) -> None:
    problem = refused(demo, edits.move_rung("sept", 1, "senior_contact", -1))
    assert "changed since this page was loaded" in problem.message
    assert (problem.agency, problem.field) == ("sept", "ladder")


def test_a_ladder_naming_a_role_no_contact_of_the_agency_holds_is_refused(demo: Services) -> None:
    problem = refused(demo, edits.add_rung("sept", "chair"))
    assert (problem.agency, problem.field) == ("sept", "ladder")
    assert problem.message == (
        "South Essex Partnership Foundation NHS Trust (SEPT) (sept): the escalation ladder "
        "names the role chair, which no contact of South Essex Partnership Foundation NHS "
        "Trust (SEPT) (sept) holds; give a contact that role or take the rung off (roles "
        "held there: internal_auditor, lead_officer, safeguarding_lead, senior_contact)"
    )


def test_removing_the_only_holder_of_a_rung_is_refused_naming_the_ladder(demo: Services) -> None:
    problem = refused(demo, edits.remove_contact("sept", SEPT_CHIEF))
    assert (problem.agency, problem.field, problem.contact) == ("sept", "roles", SEPT_CHIEF)
    assert problem.message == (
        "Chief Executive is the only senior_contact of South Essex Partnership Foundation NHS "
        "Trust (SEPT) (sept), a rung of its escalation ladder (lead_officer → "
        "safeguarding_lead → senior_contact): give another contact that role, or take the "
        "rung off the ladder, first"
    )


def test_unticking_the_last_holder_s_ladder_role_is_refused_too(demo: Services) -> None:
    problem = refused(
        demo, edits.save_contact("sept", lead(demo, roles=("senior_contact",)), was=SEPT_LEAD)
    )
    assert "the only lead_officer of" in problem.message


def test_a_deputy_who_is_not_a_contact_is_refused(demo: Services) -> None:
    person = lead(demo, absent=True, deputy="cover.nurse@sept.example.org")
    problem = refused(demo, edits.save_contact("sept", person, was=SEPT_LEAD))
    assert (problem.field, problem.contact) == ("deputy", SEPT_LEAD)
    assert "the deputy cover.nurse@sept.example.org is not a contact in the directory" in (
        problem.message
    )


def test_a_contact_cannot_deputise_for_themselves(demo: Services) -> None:
    problem = refused(
        demo, edits.save_contact("sept", lead(demo, absent=True, deputy=SEPT_LEAD), was=SEPT_LEAD)
    )
    assert problem.field == "deputy"
    assert "cannot be their own deputy" in problem.message


def test_an_absence_ending_before_it_starts_is_refused(demo: Services) -> None:
    person = lead(demo, absent=True, absent_from=dt.date(2011, 2, 10),
                  absent_until=dt.date(2011, 2, 1), deputy=SEPT_DIRECTOR)  # fmt: skip
    problem = refused(demo, edits.save_contact("sept", person, was=SEPT_LEAD))
    assert problem.field == "absent_until"
    assert "the last day away (1 February 2011) is before the first (10 February 2011)" in (
        problem.message
    )


def test_an_email_already_a_contact_of_the_agency_is_refused(demo: Services) -> None:
    person = Person(name="Someone Else", email=SEPT_LEAD, roles=("lead_officer",))
    problem = refused(demo, edits.save_contact("sept", person, was=None))
    assert (problem.field, problem.contact) == ("email", SEPT_LEAD)
    assert "named.nurse@sept.example.org is already a contact of South Essex" in problem.message
    # another agency may list the same person (one auditor serves two departments)
    apply(demo, edits.save_contact("essex-probation", person, was=None))


def test_changing_an_address_to_another_contact_s_is_refused(demo: Services) -> None:
    person = lead(demo, email=SEPT_DIRECTOR)
    problem = refused(demo, edits.save_contact("sept", person, was=SEPT_LEAD))
    assert problem.field == "email"


def test_a_bad_address_name_or_role_is_refused(demo: Services) -> None:
    for person, field, words in (
        (Person(name="X", email="not-an-address", roles=("lead_officer",)), "email",
         "'not-an-address' is not an email address"),
        (Person(name=" ", email="x@sept.example.org", roles=("lead_officer",)), "name",
         "Enter the contact's name"),
        (Person(name="X\u202eY", email="x@sept.example.org", roles=("lead_officer",)), "name",
         "U+202E"),
        (Person(name="X", email="x@sept.example.org", roles=()), "roles",
         "choose at least one role"),
        (Person(name="X", email="x@sept.example.org", roles=("Lead Officer",)), "roles",
         "is not a role name"),
    ):  # fmt: skip
        problem = refused(demo, edits.save_contact("sept", person, was=None))
        assert problem.field == field, person
        assert words in problem.message, problem.message


def test_a_contact_named_elsewhere_cannot_be_removed(demo: Services) -> None:
    apply(demo, edits.save_contact("sept", lead(demo, deputy=SEPT_CHIEF), was=SEPT_LEAD))
    apply(demo, edits.add_rung("sept", "internal_auditor"))
    apply(demo, edits.assign_auditor("essex-probation", SEPT_AUDITOR))
    apply(demo, edits.remove_rung("sept", 3, "internal_auditor"))
    problem = refused(demo, edits.remove_contact("sept", SEPT_AUDITOR))
    assert problem.message.endswith("its assigned internal auditor; change that first")
    assert "Essex Probation Service" in problem.message


def test_conflicts_name_contacts_and_a_fitting_alternate(demo: Services) -> None:
    problem = refused(demo, edits.add_conflict("sept", "stranger@example.org", None))
    assert problem.field == "contact"
    assert "names stranger@example.org, who is not a contact" in problem.message
    problem = refused(demo, edits.add_conflict("sept", CHAIR, "stranger@example.org"))
    assert problem.field == "alternate"
    assert "the alternate stranger@example.org is not a contact" in problem.message
    problem = refused(demo, edits.add_conflict("sept", CHAIR, CHAIR))
    assert "cannot be their own alternate" in problem.message
    apply(demo, edits.add_conflict("sept", PANEL_CHAIR, None))
    problem = refused(demo, edits.add_conflict("sept", CHAIR, PANEL_CHAIR))
    assert "has a conflict of interest about" in problem.message
    problem = refused(demo, edits.add_conflict("sept", PANEL_CHAIR, CHAIR))
    assert "is already barred" in problem.message
    [removed] = apply(demo, edits.remove_conflict("sept", PANEL_CHAIR))
    assert removed.before == {"contact": PANEL_CHAIR, "alternate": None}


def test_only_an_internal_auditor_can_be_assigned(demo: Services) -> None:
    problem = refused(demo, edits.assign_auditor("sept", CHAIR))
    assert problem.field == "auditor"
    assert "only a contact with the role internal_auditor can be assigned" in problem.message
    apply(demo, edits.assign_auditor("sept", AUDITOR))
    problem = refused(demo, edits.assign_auditor("sept", AUDITOR))
    assert "already assigned" in problem.message
    [removed] = apply(demo, edits.unassign_auditor("sept", AUDITOR))
    assert removed.kind == "auditor"


def test_an_agency_with_items_cannot_be_removed(demo: Services) -> None:
    make_item(demo, ref="S1", due=dt.date(2011, 2, 1), agency="sept")
    problem = refused(demo, edits.remove_agency("sept"))
    assert problem.message.endswith("cannot be removed: 1 items belong to it")


def test_a_new_agency_needs_a_good_id_and_a_name(demo: Services) -> None:
    problem = refused(demo, edits.add_agency("Essex Police", "Essex Police"))
    assert problem.field == "id"
    assert "'Essex Police' cannot be an agency id" in problem.message
    problem = refused(demo, edits.add_agency("sept", "Again"))
    assert "there is already an agency" in problem.message
    problem = refused(demo, edits.add_agency("essex-police", ""))
    assert (problem.field, problem.message) == ("name", "essex-police: Enter the agency's name")


def test_a_changed_address_moves_what_names_it(demo: Services) -> None:
    apply(demo, edits.add_conflict("sept", CHAIR, PANEL_CHAIR))
    chair = snapshot(demo)["southend-lscb"].person(CHAIR)
    assert chair is not None
    moved = replace(chair, email="interim.chair@southend-lscb.example.org")
    apply(demo, edits.save_contact("southend-lscb", moved, was=CHAIR))
    [conflict] = snapshot(demo)["sept"].conflicts
    assert conflict.email == "interim.chair@southend-lscb.example.org"


def test_a_bounced_address_stays_marked_when_the_contact_is_edited(demo: Services) -> None:
    from engine import contacts

    with demo.db.write() as conn:
        contacts.mark_failing(conn, SEPT_LEAD)
    apply(demo, edits.save_contact("sept", lead(demo, name="Named Nurse (acting)"), was=SEPT_LEAD))
    again = snapshot(demo)["sept"].person(SEPT_LEAD)
    assert again is not None
    assert again.failing


def test_each_change_is_logged_with_before_and_after_and_a_refusal_logs_nothing(
    demo: Services,
) -> None:
    from engine import adminlog

    def logged() -> list[adminlog.Entry]:
        with demo.db.engine.connect() as conn:
            found, _total = adminlog.entries(conn, action_prefix="directory.")
        return list(found)

    before = len(logged())
    apply(demo, edits.move_rung("sept", 2, "senior_contact", -1))
    [entry, *_] = logged()
    assert (entry.actor, entry.action, entry.subject) == (
        "bm@test", "directory.ladder.changed", "sept"
    )  # fmt: skip
    assert entry.before == ["lead_officer", "safeguarding_lead", "senior_contact"]
    assert entry.after == ["lead_officer", "senior_contact", "safeguarding_lead"]
    assert entry.label == "Escalation ladder changed"
    refused(demo, edits.remove_contact("sept", SEPT_CHIEF))
    assert len(logged()) == before + 1
    with demo.db.engine.connect() as conn:
        assert adminlog.verify(conn).ok
