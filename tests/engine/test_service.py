"""fire(): every rule, on SQLite and PostgreSQL, reloading from the database between steps."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError

from engine import errors
from engine.evidence import EvidenceInput
from engine.fire import Fired, FireRequest, fire
from engine.hashchain import verify
from engine.importer import import_files
from engine.queries import list_items, show
from engine.services import Services
from engine.store.tables import Rag
from tests.conftest import AUDITOR, BM, NOW, OTHER_AGENCY, PANEL, PANEL_CHAIR, R1

DAY = dt.timedelta(days=1)


def go(services: Services, trigger: str, actor: str, key: str = R1, **kw: Any) -> Fired:
    kw.setdefault("now", NOW)
    return fire(services, FireRequest(item=key, trigger=trigger, actor=actor, **kw))


def submit(services: Services, key: str = R1, actor: str = BM, **kw: Any) -> Fired:
    return go(
        services,
        "submit_evidence",
        actor,
        key,
        evidence=[EvidenceInput(statement="Terms of reference revised and agreed")],
        **kw,
    )


def item(services: Services, key: str = R1) -> dict[str, Any]:
    with services.db.engine.connect() as conn:
        return show(conn, services.specs, key)["items"][0]  # type: ignore[no-any-return]


def counts(services: Services) -> dict[str, int]:
    with services.db.engine.connect() as conn:
        return {
            t: conn.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar_one()
            for t in ("event", "evidence", "outbox")
        }


def test_full_path_to_closed_with_reaudit(demo: Services) -> None:
    submit(demo)
    assert item(demo)["state"] == "evidence_submitted"
    go(demo, "challenge", PANEL, reason="No minutes attached", meeting_date=NOW.date())
    assert item(demo)["state"] == "challenged"
    submit(demo, now=NOW + DAY)
    go(
        demo,
        "sign_off",
        PANEL,
        reason="Minutes show the new ToR",
        rag=Rag.GREEN,
        meeting_date=(NOW + DAY).date(),
        now=NOW + 2 * DAY,
    )
    go(
        demo,
        "confirm_audit",
        AUDITOR,
        evidence=[EvidenceInput(statement="Audit report 12")],
        now=NOW + 3 * DAY,
    )
    go(demo, "require_reaudit", BM, reason="Practice change", now=NOW + 4 * DAY)
    go(
        demo,
        "confirm_embedded",
        AUDITOR,
        evidence=[EvidenceInput(statement="Re-audit")],
        now=NOW + 200 * DAY,
    )
    view = item(demo)
    assert (view["state"], view["outcome"], view["rag"]) == ("closed", "implemented", "green")
    assert [h["trigger"] for h in view["history"]] == [
        "create",
        "submit_evidence",
        "challenge",
        "submit_evidence",
        "sign_off",
        "confirm_audit",
        "require_reaudit",
        "confirm_embedded",
    ]
    assert view["allowed"] == []
    with demo.db.engine.connect() as conn:
        assert verify(conn).ok


def test_history_records_who_when_why_and_rag(demo: Services) -> None:
    submit(demo)
    go(
        demo,
        "sign_off",
        PANEL,
        reason="Evidence sufficient",
        rag=Rag.AMBER,
        meeting_date=NOW.date(),
        now=NOW + DAY,
    )
    last = item(demo)["history"][-1]
    assert last["actor"] == PANEL
    assert last["at"] == (NOW + DAY).isoformat()
    assert (last["from"], last["to"], last["reason"], last["rag"]) == (
        "evidence_submitted",
        "panel_signed_off",
        "Evidence sufficient",
        "amber",
    )
    assert last["data"]["meeting_date"] == NOW.date().isoformat()


def test_decision_records_the_evidence_it_was_taken_on(demo: Services, tmp_path: Path) -> None:
    report = tmp_path / "minutes.pdf"
    report.write_bytes(b"%PDF-1.4 minutes")
    done = go(demo, "submit_evidence", BM, evidence=[EvidenceInput(path=report)])
    go(demo, "challenge", PANEL, reason="Unsigned", meeting_date=NOW.date())
    view = item(demo)
    digest = hashlib.sha256(b"%PDF-1.4 minutes").hexdigest()
    assert view["evidence"][0]["sha256"] == digest
    assert view["evidence"][0]["filename"] == "minutes.pdf"
    assert view["history"][-1]["data"]["evidence_on_file"] == [
        {"id": done.evidence_ids[0], "sha256": digest}
    ]
    assert (demo.data_dir / "evidence" / digest[:2] / digest).read_bytes() == b"%PDF-1.4 minutes"


def test_evidence_is_versioned_never_overwritten(demo: Services) -> None:
    submit(demo)
    go(demo, "challenge", PANEL, reason="More needed", meeting_date=NOW.date())
    submit(demo, now=NOW + DAY)
    assert len(item(demo)["evidence"]) == 2


def test_transition_not_allowed_says_what_is(demo: Services) -> None:
    before = counts(demo)
    with pytest.raises(errors.TransitionNotAllowed) as info:
        go(demo, "sign_off", PANEL, reason="x", rag=Rag.GREEN, meeting_date=NOW.date())
    assert "cannot 'sign_off' from 'open'" in str(info.value)
    assert "submit_evidence" in info.value.allowed
    assert counts(demo) == before
    assert item(demo)["version"] == 1


def test_unknown_trigger_suggests_a_close_one(demo: Services) -> None:
    with pytest.raises(errors.UnknownTrigger, match="did you mean 'sign_off'"):
        go(demo, "sign_of", PANEL)


def test_role_not_allowed_for_another_agency(demo: Services) -> None:
    before = counts(demo)
    with pytest.raises(errors.RoleNotAllowed) as info:
        submit(demo, actor=OTHER_AGENCY)
    assert info.value.roles == ["agency"]
    assert counts(demo) == before


def test_unknown_person_is_refused(demo: Services) -> None:
    with pytest.raises(errors.RoleNotAllowed):
        submit(demo, actor="stranger@example.org")


def test_only_the_panel_sets_rag(demo: Services) -> None:
    with pytest.raises(errors.RoleNotAllowed):
        go(demo, "set_rag", BM, rag=Rag.RED, reason="late")
    with pytest.raises(errors.MissingInput, match="requires reason"):
        go(demo, "set_rag", PANEL, rag=Rag.RED)
    go(demo, "set_rag", PANEL, rag=Rag.RED, reason="No response in 3 months")
    view = item(demo)
    assert (view["state"], view["rag"]) == ("open", "red")
    assert view["history"][-1]["reason"] == "No response in 3 months"


def test_blank_reason_counts_as_missing(demo: Services) -> None:
    submit(demo)
    with pytest.raises(errors.MissingInput, match="requires reason") as caught:
        go(demo, "challenge", PANEL, reason="   ", meeting_date=NOW.date())
    assert caught.value.requirement == "reason"


def test_missing_evidence_names_the_requirement(demo: Services) -> None:
    """The engine names what is missing; each interface says how to give it (tests/test_cli.py)."""
    with pytest.raises(errors.MissingInput, match="'submit_evidence' requires evidence$") as caught:
        go(demo, "submit_evidence", BM)
    assert caught.value.requirement == "evidence"


def test_missing_meeting_date(demo: Services) -> None:
    submit(demo)
    with pytest.raises(errors.MissingInput, match="meeting date"):
        go(demo, "challenge", PANEL, reason="why")


def test_input_the_transition_does_not_take_is_refused(demo: Services) -> None:
    with pytest.raises(errors.BadInput, match="does not take rag"):
        go(demo, "submit_evidence", BM, rag=Rag.GREEN, evidence=[EvidenceInput(statement="done")])


def test_meeting_date_in_the_future_is_refused(demo: Services) -> None:
    submit(demo)
    with pytest.raises(errors.BadInput, match="in the future"):
        go(demo, "challenge", PANEL, reason="x", meeting_date=(NOW + 2 * DAY).date())


def test_naive_now_is_refused(demo: Services) -> None:
    with pytest.raises(errors.BadInput, match="timezone"):
        submit(demo, now=NOW.replace(tzinfo=None))


def _import_contacts(services: Services, tmp_path: Path, text: str) -> None:
    path = tmp_path / "more_contacts.yaml"
    path.write_text(text)
    with services.db.write() as conn:
        import_files(conn, [path], specs=services.specs, actor="test", now=NOW)


DUAL = "dual@southend-lscb.example.org"
DUAL_ROLES = f"""
agencies:
  southend-lscb:
    contacts:
      - {{role: business_manager, name: BM, email: {BM}}}
      - {{role: panel_member, name: Panel, email: {PANEL}}}
      - {{role: panel_member, name: Dual, email: {DUAL}}}
      - {{role: internal_auditor, name: Dual, email: {DUAL}}}
      - {{role: business_manager, name: Dual, email: {DUAL}}}
    ladder: [business_manager]
"""


def test_submitter_cannot_sign_off(demo: Services, tmp_path: Path) -> None:
    _import_contacts(demo, tmp_path, DUAL_ROLES)
    submit(demo, actor=DUAL)
    with pytest.raises(errors.SeparationOfDuties, match="someone else must 'sign_off'"):
        go(demo, "sign_off", DUAL, reason="ok", rag=Rag.GREEN, meeting_date=NOW.date())


def test_panel_signatory_cannot_confirm_audit(demo: Services, tmp_path: Path) -> None:
    _import_contacts(demo, tmp_path, DUAL_ROLES)
    submit(demo)
    go(demo, "sign_off", DUAL, reason="ok", rag=Rag.GREEN, meeting_date=NOW.date())
    with pytest.raises(errors.SeparationOfDuties) as info:
        go(demo, "confirm_audit", DUAL, evidence=[EvidenceInput(statement="audit")])
    assert info.value.earlier == "sign_off"
    go(demo, "confirm_audit", AUDITOR, evidence=[EvidenceInput(statement="audit")])
    assert item(demo)["state"] == "audit_confirmed"


def test_extension_keeps_original_and_every_revised_due_date(demo: Services) -> None:
    go(demo, "request_extension", BM, reason="Panel meets in May", due_date=dt.date(2011, 5, 31))
    assert item(demo)["pending_due"] == "2011-05-31"
    go(demo, "grant_extension", PANEL, reason="Agreed", now=NOW + DAY)
    go(
        demo,
        "request_extension",
        BM,
        reason="Again",
        due_date=dt.date(2011, 7, 31),
        now=NOW + 2 * DAY,
    )
    go(demo, "grant_extension", PANEL, reason="Last time", now=NOW + 3 * DAY)
    view = item(demo)
    assert view["due"] == "2011-07-31"
    assert view["due_history"] == ["2011-04-01", "2011-05-31", "2011-07-31"]
    assert view["pending_due"] is None
    assert view["history"][-1]["data"]["due_from"] == "2011-05-31"
    assert view["state"] == "open"


def test_refused_extension_leaves_due_date(demo: Services) -> None:
    go(demo, "request_extension", BM, reason="Busy", due_date=dt.date(2011, 9, 30))
    go(demo, "refuse_extension", PANEL, reason="No")
    view = item(demo)
    assert (view["due"], view["pending_due"], view["due_history"]) == (
        "2011-04-01",
        None,
        ["2011-04-01"],
    )


def test_grant_without_request_fails_its_guard(demo: Services) -> None:
    with pytest.raises(errors.GuardFailed, match="extension_pending"):
        go(demo, "grant_extension", PANEL, reason="?")


def test_second_request_while_one_is_pending_is_refused(demo: Services) -> None:
    go(demo, "request_extension", BM, reason="a", due_date=dt.date(2011, 5, 31))
    with pytest.raises(errors.GuardFailed, match="no_extension_pending"):
        go(demo, "request_extension", BM, reason="b", due_date=dt.date(2011, 6, 30))


def test_extension_must_move_the_date_later(demo: Services) -> None:
    with pytest.raises(errors.BadInput, match="must be later than the current one, 2011-04-01"):
        go(demo, "request_extension", BM, reason="a", due_date=dt.date(2011, 3, 1))


def test_requester_cannot_grant_own_extension(demo: Services, tmp_path: Path) -> None:
    _import_contacts(demo, tmp_path, DUAL_ROLES)
    go(demo, "request_extension", DUAL, reason="a", due_date=dt.date(2011, 5, 31))
    with pytest.raises(errors.SeparationOfDuties):
        go(demo, "grant_extension", DUAL, reason="mine")


def test_closure_without_assurance_is_not_implemented(demo: Services) -> None:
    go(demo, "close_without_assurance", PANEL_CHAIR, reason="No further assurance received")
    go(demo, "transfer", BM, key=R1.replace("R1", "R7"), reason="For the Trust's own board")
    with demo.db.engine.connect() as conn:
        rows = {i["ref"]: i for i in list_items(conn, demo.specs)}
    assert (rows["R1"]["state"], rows["R1"]["outcome"]) == ("closed_no_assurance", "no_assurance")
    assert (rows["R7"]["state"], rows["R7"]["outcome"]) == ("not_for_this_board", "transferred")
    assert rows["R2"]["outcome"] is None


def test_terminal_state_allows_nothing(demo: Services) -> None:
    go(demo, "close_without_assurance", PANEL, reason="No further assurance received")
    with pytest.raises(errors.TransitionNotAllowed) as info:
        submit(demo)
    assert info.value.allowed == []


def test_decision_enqueues_notification_in_same_transaction(demo: Services) -> None:
    submit(demo)
    done = go(demo, "challenge", PANEL, reason="More", meeting_date=NOW.date())
    with demo.db.engine.connect() as conn:
        rows = conn.execute(
            sa.text("SELECT dedupe_key, recipient, template, status FROM outbox ORDER BY id")
        ).all()
    # submit_evidence tells the business manager; the challenge tells the agency (BM for LSCB)
    # and, entering 'challenged' (request_on_entry), asks it for evidence again
    assert [tuple(r) for r in rows[:2]] == [
        (f"event:{done.item_id}:2:decision:{BM}", BM, "decision", "pending"),
        (f"event:{done.item_id}:3:decision:{BM}", BM, "decision", "pending"),
    ]
    assert len(rows) == 3
    assert rows[2].dedupe_key.startswith("request:")
    assert rows[2].dedupe_key.endswith(":1")
    assert tuple(rows[2])[1:] == (BM, "request", "pending")
    assert done.notifications == 2


def test_stale_expected_version_is_a_conflict(demo: Services) -> None:
    submit(demo)
    with pytest.raises(errors.ConcurrentUpdate, match="reload it and try again"):
        go(
            demo,
            "sign_off",
            PANEL,
            reason="ok",
            rag=Rag.GREEN,
            meeting_date=NOW.date(),
            expected_version=1,
        )


def _break_outbox(services: Services) -> None:
    with services.db.write() as conn:
        if services.db.is_sqlite:
            conn.exec_driver_sql(
                "CREATE TRIGGER boom BEFORE INSERT ON outbox BEGIN SELECT RAISE(ABORT, 'boom'); END"
            )
        else:
            conn.exec_driver_sql(
                "CREATE FUNCTION boom() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'boom'; END $$ "
                "LANGUAGE plpgsql"
            )
            conn.exec_driver_sql(
                "CREATE TRIGGER boom BEFORE INSERT ON outbox FOR EACH ROW EXECUTE FUNCTION boom()"
            )


def test_failure_at_the_last_write_leaves_nothing_half_written(demo: Services) -> None:
    """The outbox insert is the last statement of a fire; a real database error there
    (a trigger that raises) must roll back the evidence, the event and the state change."""
    _break_outbox(demo)
    before = counts(demo)
    with pytest.raises(DBAPIError, match="boom"):
        submit(demo)
    assert counts(demo) == before
    view = item(demo)
    assert (view["state"], view["version"], len(view["history"])) == ("open", 1, 1)
    with demo.db.engine.connect() as conn:
        assert verify(conn).ok
