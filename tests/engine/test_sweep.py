"""The sweep on SQLite and PostgreSQL: each reminder, chase and escalation exactly once."""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

import sqlalchemy as sa

from engine.evidence import EvidenceInput
from engine.fire import FireRequest, fire
from engine.forecast import forecast
from engine.services import Services
from engine.store.tables import Item, Outbox, Rag, Recommendation
from engine.sweep import run_once
from tests.conftest import BM, NOW, OTHER_AGENCY, PANEL, PANEL_CHAIR, R1, make_item, submit_r1


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


def outbox(services: Services, item_ref: str = "R1") -> list[tuple[Any, ...]]:
    o, i, r = (t.__table__ for t in (Outbox, Item, Recommendation))  # type: ignore[attr-defined]
    query = (
        sa.select(o.c.kind, o.c.recipient, o.c.status, o.c.next_attempt_at)
        .join(i, i.c.id == o.c.item_id)
        .join(r, r.c.id == i.c.recommendation_id)
        .where(r.c.ref == item_ref, o.c.kind != "decision")
        .order_by(o.c.id)
    )
    with services.db.engine.connect() as conn:
        return [tuple(row) for row in conn.execute(query)]


def test_reminder_before_due_is_queued_once(demo: Services) -> None:
    # R1 is due 2011-04-01: overdue from 2011-04-02 00:00; 14 days before is 2011-03-19 00:00
    run_once(demo, at("2011-03-18T23:00+00:00"))
    assert outbox(demo) == []
    first = run_once(demo, at("2011-03-21T10:00+00:00"))
    again = run_once(demo, at("2011-03-21T10:05+00:00"))
    assert outbox(demo) == [("reminder", BM, "pending", at("2011-03-21T10:00+00:00"))]
    assert first.queued >= 1
    assert again.queued == 0


def test_reminder_outside_office_hours_waits_for_the_office(demo: Services) -> None:
    run_once(demo, at("2011-03-19T08:00+00:00"))  # a Saturday
    assert outbox(demo) == [("reminder", BM, "pending", at("2011-03-21T09:00+00:00"))]


def test_catch_up_after_downtime_sends_one_chase_and_only_the_highest_step(
    demo: Services,
) -> None:
    # 2011-04-25 is Easter Monday; 24 days overdue: chases 0..3 missed, only chase 3 is sent;
    # escalation steps 0 (7 days) and 1 (21 days) were both reached: only step 1 goes, once
    # (issue 9: "This is step 1/2/3" for one item in one burst)
    run_once(demo, at("2011-04-25T10:00+01:00"))
    kinds = [(k, r) for k, r, _s, _t in outbox(demo)]
    assert kinds == [("chase", BM), ("escalation", "chair@southend-lscb.example.org")]
    with demo.db.engine.connect() as conn:
        item_id = conn.execute(
            sa.text(
                "SELECT i.id FROM item i JOIN recommendation r ON r.id = i.recommendation_id "
                "WHERE r.ref = 'R1'"
            )
        ).scalar_one()
        keys = (
            conn.execute(
                sa.text("SELECT dedupe_key FROM outbox WHERE kind = 'chase' AND item_id = :i"),
                {"i": item_id},
            )
            .scalars()
            .all()
        )
    assert [k.split(":")[4] for k in keys] == ["3"]


def test_urgent_escalation_is_not_held_for_office_hours(demo: Services) -> None:
    now = at("2011-05-14T22:00+01:00")  # 42 days overdue, a Saturday night
    run_once(demo, now)
    urgent = [
        row for row in outbox(demo) if row[1] == "chair@southend-lscb.example.org" and row[3] == now
    ]
    assert urgent  # the board chair's step (urgent) goes now; the others wait for Monday


def test_moving_on_cancels_pending_chasing_and_stops_agency_chases(demo: Services) -> None:
    run_once(demo, at("2011-04-02T06:00+01:00"))  # chase 0 queued for office hours
    submit_r1(demo, now=at("2011-04-02T07:00+01:00"))
    run_once(demo, at("2011-04-20T10:00+01:00"))
    rows = outbox(demo)
    assert rows[0][:3] == ("chase", BM, "cancelled")
    assert all(r[1] != BM or r[2] == "cancelled" for r in rows)


def test_granted_extension_starts_a_new_cycle(demo: Services) -> None:
    run_once(demo, at("2011-04-02T10:00+01:00"))
    fire(
        demo,
        FireRequest(
            item=R1,
            trigger="request_extension",
            actor=BM,
            reason="x",
            due_date=dt.date(2011, 6, 30),
            now=at("2011-04-02T11:00+01:00"),
        ),
    )
    fire(
        demo,
        FireRequest(
            item=R1,
            trigger="grant_extension",
            actor=PANEL,
            reason="ok",
            now=at("2011-04-02T12:00+01:00"),
        ),
    )
    run_once(demo, at("2011-04-20T10:00+01:00"))
    assert [r[2] for r in outbox(demo)] == ["cancelled"]  # nothing due until June
    run_once(demo, at("2011-06-17T10:00+01:00"))
    assert outbox(demo)[-1][:3] == ("reminder", BM, "pending")


def test_next_attention_only_reads_due_items(demo: Services) -> None:
    # imported on 2011-01-10: nothing is due yet (R3 'From January 2011' is a start date,
    # never chased), so the sweep reads no item
    assert run_once(demo, NOW + dt.timedelta(hours=1)).items == 0
    # 14 days before 31 January: only R8 and R9 need attention (their first reminder)
    assert run_once(demo, at("2011-01-18T10:00+00:00")).items == 2
    # their next point (the 3-day reminder) is days away, so nothing is read an hour later
    assert run_once(demo, at("2011-01-18T11:00+00:00")).items == 0


def test_two_concurrent_sweepers_queue_exactly_what_one_would(demo: Services) -> None:
    days = [at("2011-03-01T10:00+00:00") + dt.timedelta(days=d) for d in range(0, 90, 3)]
    errors: list[BaseException] = []

    def sweep() -> None:
        try:
            for now in days:
                run_once(demo, now)
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=sweep) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    with demo.db.engine.connect() as conn:
        keys = conn.execute(sa.text("SELECT dedupe_key FROM outbox")).scalars().all()
    assert len(keys) == len(set(keys)) > 0


SEPT_AUDITOR = "internal.audit@sept.example.org"


def _awaiting_audit(services: Services, agency: str, lead: str) -> None:
    """Item A1 of ``agency``, evidence from ``lead`` signed off by the panel at NOW."""
    item_id = make_item(services, ref="A1", due=dt.date(2011, 6, 1), agency=agency)
    for trigger, actor, extra in (
        ("submit_evidence", lead, {"evidence": [EvidenceInput(statement="done")]}),
        ("sign_off", PANEL, {"reason": "ok", "rag": Rag.GREEN, "meeting_date": NOW.date()}),
    ):
        fire(services, FireRequest(item=item_id, trigger=trigger, actor=actor, now=NOW, **extra))


def test_audit_reminder_reaches_only_the_items_agencys_auditor(demo: Services) -> None:
    # the auditor role has scope any, and seven agencies have an internal auditor: the
    # reminder about a SEPT item goes to SEPT's auditor alone
    _awaiting_audit(demo, "sept", OTHER_AGENCY)
    # signed off 2011-01-10: audit due 2011-04-10, reminded 14 days before (Monday 28 March)
    week = forecast(demo, at("2011-03-20T10:00+00:00"), 10)
    [planned] = [p for p in week if p["key"].endswith("/A1")]
    assert (planned["kind"], planned["to"], planned["fallback"]) == (
        "reminder",
        [SEPT_AUDITOR],
        False,
    )
    run_once(demo, at("2011-03-28T10:00+01:00"))
    assert [(k, r) for k, r, _s, _t in outbox(demo, "A1")] == [("reminder", SEPT_AUDITOR)]


def test_board_staff_roles_still_reach_the_board(demo: Services) -> None:
    # the panel (scope any, held only by the board's contacts) hears of a SEPT item's request
    item_id = make_item(demo, ref="A1", due=dt.date(2011, 6, 1), agency="sept")
    fired = fire(
        demo,
        FireRequest(
            item=item_id,
            trigger="request_extension",
            actor=OTHER_AGENCY,
            now=NOW,
            reason="busy",
            due_date=dt.date(2011, 7, 1),
        ),
    )
    assert fired.notifications == 2
    o = Outbox.__table__  # type: ignore[attr-defined]
    with demo.db.engine.connect() as conn:
        sent = conn.execute(sa.select(o.c.recipient).where(o.c.item_id == item_id)).scalars()
        assert sorted(sent) == [PANEL_CHAIR, PANEL]


def test_no_day_count_is_written_before_it_is_known(demo: Services) -> None:
    """Issue 9: the sweep wrote ``days_overdue: 0`` into a reminder's context 11 days before
    the due date; the count depends on the day the email goes, so the composer makes it."""
    report = run_once(demo, at("2011-03-21T10:00+00:00"))  # R1 due on 1 April
    [r1] = [d for d in report.decided if d["context"]["key"].endswith("/R1")]
    assert r1["kind"] == "reminder"
    assert "days_overdue" not in r1["context"]
    assert r1["context"]["due"] == "2011-04-01"
