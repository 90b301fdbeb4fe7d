"""Who the directory sends to, with conflicts of interest, assigned auditors and dated absences
(issue 11): the sweep, ``fire`` and the forecast all follow the same ``Directory``."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa

from engine import contacts, directory, permissions
from engine.directory import edits
from engine.fire import FireRequest, fire
from engine.forecast import forecast
from engine.permissions import Permission
from engine.services import Services
from engine.spec import load_spec_file
from engine.store.tables import Contact, Outbox
from engine.sweep import run_once
from tests.conftest import AUDITOR, NOW, PANEL, PANEL_CHAIR, REVIEW, WORKFLOWS, make_item

CHAIR = "chair@southend-lscb.example.org"
SEPT_LEAD = "named.nurse@sept.example.org"
SEPT_DIRECTOR = "director.nursing@sept.example.org"
SEPT_CHIEF = "chief.executive@sept.example.org"
SEPT_AUDITOR = "internal.audit@sept.example.org"
DUE = dt.date(2011, 2, 1)  # escalations: 8 Feb (ladder), 22 Feb (ladder), 15 Mar (the chair)
_outbox = Outbox.__table__  # type: ignore[attr-defined]
_contact = Contact.__table__  # type: ignore[attr-defined]


def change(services: Services, edit: directory.Edit, now: dt.datetime = NOW) -> None:
    directory.edit(services, edit, actor="test", now=now)


def escalations(emails: list[dict[str, Any]], agency: str, step: int) -> list[list[str]]:
    return [e["to"] for e in emails if e["agency"] == agency and e["kind"] == "escalation"
            and e["step"] == step]  # fmt: skip


def test_a_conflicted_chair_s_escalations_about_that_agency_go_to_the_alternate(
    demo: Services,
) -> None:
    make_item(demo, ref="S1", due=DUE, agency="sept")
    make_item(demo, ref="N1", due=DUE, agency="nhs-south-east-essex")
    start = dt.datetime(2011, 3, 1, 9, tzinfo=dt.UTC)
    assert escalations(forecast(demo, start, 30), "sept", 2) == [[CHAIR]]
    change(demo, edits.add_conflict("sept", CHAIR, PANEL_CHAIR))
    ahead = forecast(demo, start, 30)
    assert escalations(ahead, "sept", 2) == [[PANEL_CHAIR]]
    assert escalations(ahead, "nhs-south-east-essex", 2) == [[CHAIR]]  # only that agency
    # the sweep at that moment sends what the forecast said
    [when] = {
        e["decided_at"]
        for e in ahead
        if e["kind"] == "escalation" and e["step"] == 2 and e["agency"] == "sept"
    }
    report = run_once(demo, dt.datetime.fromisoformat(when))
    sent = {(d["context"]["key"], d["recipient"]) for d in report.decided
            if d["kind"] == "escalation"}  # fmt: skip
    assert {r for k, r in sent if k == f"{REVIEW}/S1"} == {PANEL_CHAIR}
    assert {r for k, r in sent if k == f"{REVIEW}/N1"} == {CHAIR}


def test_a_conflicted_rung_without_an_alternate_is_skipped_up_the_ladder(
    demo: Services,
) -> None:
    make_item(demo, ref="S1", due=DUE, agency="sept")
    start = dt.datetime(2011, 2, 7, 9, tzinfo=dt.UTC)
    assert escalations(forecast(demo, start, 3), "sept", 0) == [[SEPT_DIRECTOR]]
    change(demo, edits.add_conflict("sept", SEPT_DIRECTOR, None))
    assert escalations(forecast(demo, start, 3), "sept", 0) == [[SEPT_CHIEF]]


def test_a_conflicted_contact_is_still_chased_as_the_agency_s_own(demo: Services) -> None:
    """A conflict bars oversight, not the agency's own work: chases to its lead officer go."""
    make_item(demo, ref="S1", due=DUE, agency="sept")
    change(demo, edits.add_conflict("sept", SEPT_LEAD, None))
    ahead = forecast(demo, dt.datetime(2011, 2, 1, 9, tzinfo=dt.UTC), 10)
    chases = [e["to"] for e in ahead if e["kind"] == "chase" and e["agency"] == "sept"]
    assert chases
    assert all(to == [SEPT_LEAD] for to in chases)


def test_fire_tells_the_panel_without_a_member_conflicted_for_that_agency(
    demo: Services,
) -> None:
    """A decision notice through a board role (the panel) skips a member barred from the
    agency; about another agency's item they are told as before."""
    change(demo, edits.add_conflict("sept", PANEL_CHAIR, None))
    told = {}
    for ref, agency, lead in (("S1", "sept", SEPT_LEAD),
                              ("N1", "nhs-south-east-essex",
                               "designated.nurse@nhs-see.example.org")):  # fmt: skip
        item = make_item(demo, ref=ref, due=DUE, agency=agency)
        fire(demo, FireRequest(item=item, trigger="request_extension", actor=lead, now=NOW,
                               reason="Staff away", due_date=dt.date(2011, 3, 1)))  # fmt: skip
        with demo.db.engine.connect() as conn:
            told[ref] = set(
                conn.execute(
                    sa.select(_outbox.c.recipient).where(
                        _outbox.c.item_id == item, _outbox.c.kind == "decision"
                    )
                ).scalars()
            )
    assert told["S1"] == {PANEL}
    assert told["N1"] == {PANEL, PANEL_CHAIR}


def test_an_assigned_auditor_receives_the_agency_s_audit_mail_and_may_see_its_items(
    demo: Services,
) -> None:
    spec = load_spec_file(WORKFLOWS / "recommendation.yaml")
    with demo.db.engine.connect() as conn:
        before = contacts.Directory.load(conn).workflow_role(spec, "auditor", "sept")
        person = permissions.person(conn, AUDITOR)
    assert before == [SEPT_AUDITOR]
    assert person is not None
    assert not person.may(Permission.VIEW_ITEMS, "sept")
    change(demo, edits.assign_auditor("sept", AUDITOR))
    with demo.db.engine.connect() as conn:
        loaded = contacts.Directory.load(conn)
        person = permissions.person(conn, AUDITOR)
        [who] = loaded.resolve(spec, ["auditor"], "sept")
        others = loaded.workflow_role(spec, "auditor", "nhs-south-east-essex")
    assert (who.email, who.fallback) == (AUDITOR, False)
    assert others == [AUDITOR]  # their own agency's, as before
    assert person is not None
    assert person.may(Permission.VIEW_ITEMS, "sept")
    assert not person.may(Permission.VIEW_ITEMS, "essex-probation")


def test_an_assigned_auditor_who_bounces_leaves_the_agency_s_own(demo: Services) -> None:
    spec = load_spec_file(WORKFLOWS / "recommendation.yaml")
    change(demo, edits.assign_auditor("sept", AUDITOR))
    with demo.db.write() as conn:
        contacts.mark_failing(conn, AUDITOR)
        assert contacts.Directory.load(conn).workflow_role(spec, "auditor", "sept") == [
            SEPT_AUDITOR
        ]


def away_with_deputy(services: Services, start: dt.date | None, end: dt.date | None) -> None:
    def absent(s: directory.Snapshot) -> directory.Snapshot:
        entry = s["sept"]
        lead = entry.person(SEPT_LEAD)
        assert lead is not None
        person = directory.Person(
            name=lead.name, email=lead.email, roles=lead.roles, absent=True,
            absent_from=start, absent_until=end, deputy=SEPT_DIRECTOR,
        )  # fmt: skip
        return edits.save_contact("sept", person, was=SEPT_LEAD)(s)

    change(services, absent)


def test_a_dated_absence_sends_the_contact_s_mail_to_the_deputy_on_those_days_only(
    demo: Services,
) -> None:
    spec = load_spec_file(WORKFLOWS / "recommendation.yaml")
    away_with_deputy(demo, dt.date(2011, 1, 17), dt.date(2011, 1, 21))
    with demo.db.engine.connect() as conn:
        loaded = contacts.Directory.load(conn, on=NOW.date())
        flag = conn.execute(
            sa.select(_contact.c.absent).where(_contact.c.email == SEPT_LEAD)
        ).scalar_one()
    assert flag is False  # saved on 10 January: not away yet
    for day, expected in ((dt.date(2011, 1, 16), SEPT_LEAD), (dt.date(2011, 1, 17), SEPT_DIRECTOR),
                          (dt.date(2011, 1, 21), SEPT_DIRECTOR),
                          (dt.date(2011, 1, 22), SEPT_LEAD)):  # fmt: skip
        assert loaded.at(day).workflow_role(spec, "agency", "sept") == [expected], day


def test_the_day_s_first_sweep_sets_the_absent_flag_from_the_dates(demo: Services) -> None:
    """``held_by`` (who may act as a deputy) reads the flag: it follows the dates."""
    away_with_deputy(demo, dt.date(2011, 1, 17), None)

    def flag() -> bool:
        with demo.db.engine.connect() as conn:
            return bool(
                conn.execute(
                    sa.select(_contact.c.absent).where(_contact.c.email == SEPT_LEAD)
                ).scalar_one()
            )

    run_once(demo, dt.datetime(2011, 1, 16, 9, tzinfo=dt.UTC))
    assert not flag()
    run_once(demo, dt.datetime(2011, 1, 17, 0, 5, tzinfo=dt.UTC))
    assert flag()
    with demo.db.engine.connect() as conn:
        assert contacts.answers_for(conn, SEPT_DIRECTOR, "sept")
        assert "lead_officer" in contacts.roles_of(conn, SEPT_DIRECTOR)


def test_the_forecast_follows_an_absence_that_starts_in_the_window(demo: Services) -> None:
    make_item(demo, ref="S1", due=DUE, agency="sept")
    away_with_deputy(demo, dt.date(2011, 2, 10), dt.date(2011, 2, 20))
    ahead = forecast(demo, dt.datetime(2011, 2, 1, 9, tzinfo=dt.UTC), 28)
    chases = {
        e["at"][:10]: e["to"] for e in ahead if e["kind"] == "chase" and e["agency"] == "sept"
    }
    assert chases, ahead
    for day, to in chases.items():
        inside = "2011-02-10" <= day <= "2011-02-20"
        assert to == ([SEPT_DIRECTOR] if inside else [SEPT_LEAD]), (day, to)
    assert any("2011-02-10" <= d <= "2011-02-20" for d in chases)
