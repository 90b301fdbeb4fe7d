"""Deadlines in Europe/London: clock changes neither skip nor double a reminder or chase;
working-day deadlines skip weekends and bank holidays; unresolvable recipients fall back."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import sqlalchemy as sa

from engine import deadlines
from engine.importer import import_files
from engine.services import Services
from engine.store.tables import Outbox, Recommendation
from engine.sweep import run_once
from engine.versions import require_latest
from tests.conftest import BM, NOW, make_item

_rec = Recommendation.__table__  # type: ignore[attr-defined]
_outbox = Outbox.__table__  # type: ignore[attr-defined]
HOUR = dt.timedelta(hours=1)


def _item(
    services: Services,
    due: dt.date,
    now: dt.datetime,
    agency: str = "southend-lscb",
    ref: str = "X1",
) -> int:
    return make_item(services, ref=ref, due=due, now=now, agency=agency)


def _sweep_hourly(services: Services, start: dt.datetime, end: dt.datetime) -> None:
    now = start
    while now <= end:
        run_once(services, now)
        now += HOUR


def _rows(services: Services, item_id: int) -> list[tuple[str, int, dt.datetime]]:
    with services.db.engine.connect() as conn:
        return [
            (r.kind, r.context["step"], r.created_at)
            for r in conn.execute(
                sa.select(_outbox).where(_outbox.c.item_id == item_id).order_by(_outbox.c.id)
            )
        ]


@pytest.mark.parametrize(
    ("due", "start", "expected"),
    [
        pytest.param(
            dt.date(2026, 4, 5),
            dt.datetime(2026, 3, 22, tzinfo=dt.UTC),
            dt.datetime(2026, 3, 23, 0, tzinfo=dt.UTC),
            id="spring_forward",
        ),
        pytest.param(
            dt.date(2026, 11, 4),
            dt.datetime(2026, 10, 20, tzinfo=dt.UTC),
            dt.datetime(2026, 10, 22, 0, tzinfo=dt.UTC),
            id="autumn_back",
        ),
    ],
)
def test_reminder_across_a_clock_change_is_sent_once_on_time(
    demo: Services, due: dt.date, start: dt.datetime, expected: dt.datetime
) -> None:
    """14 days before local midnight after the due day, whatever the offset did between."""
    item_id = _item(demo, due, start - dt.timedelta(days=1))
    _sweep_hourly(demo, start, start + dt.timedelta(days=4))
    reminders = [r for r in _rows(demo, item_id) if r[0] == "reminder"]
    # autumn: 2026-10-22 00:00 BST is 2026-10-21 23:00 UTC, so the 23:00Z sweep finds it
    first_due = expected if due.month == 4 else expected - HOUR
    assert reminders == [("reminder", 0, first_due)]


def test_weekly_chases_across_autumn_back_are_neither_skipped_nor_doubled(
    demo: Services,
) -> None:
    due = dt.date(2026, 10, 20)  # overdue from 2026-10-21 00:00 BST = 2026-10-20 23:00Z
    item_id = _item(demo, due, dt.datetime(2026, 10, 1, tzinfo=dt.UTC))
    _sweep_hourly(
        demo, dt.datetime(2026, 10, 20, 12, tzinfo=dt.UTC), dt.datetime(2026, 11, 5, tzinfo=dt.UTC)
    )
    chases = [(step, at) for kind, step, at in _rows(demo, item_id) if kind == "chase"]
    assert chases == [
        (0, dt.datetime(2026, 10, 20, 23, tzinfo=dt.UTC)),  # 00:00 BST
        (1, dt.datetime(2026, 10, 28, 0, tzinfo=dt.UTC)),  # 00:00 GMT, a week later
        (2, dt.datetime(2026, 11, 4, 0, tzinfo=dt.UTC)),
    ]


def test_working_day_deadline_skips_easter_and_the_may_bank_holiday(demo: Services) -> None:
    with demo.db.engine.connect() as conn:
        spec = demo.specs.get(conn, require_latest(conn, "recommendation"))
    entered = dt.datetime(2026, 4, 2, 9, tzinfo=dt.UTC)  # Thursday 10:00 BST before Easter
    plan = deadlines.plan(
        spec.states["evidence_submitted"],
        item_due=None,
        entered_at=entered,
        entered_seq=2,
        calendar=demo.calendar,
    )
    assert plan is not None
    london = demo.calendar.zone
    # 20 working days: Good Friday, Easter Monday and Monday 4 May are not counted
    assert plan.due_at == dt.datetime(2026, 5, 5, 10, tzinfo=london)
    assert [r.at for r in plan.reminders] == [dt.datetime(2026, 4, 27, 10, tzinfo=london)]


def test_role_nobody_holds_falls_back_to_the_business_manager(
    demo: Services, tmp_path: Path
) -> None:
    contacts = tmp_path / "probation.yaml"
    contacts.write_text(
        "agencies:\n  essex-probation:\n    contacts:\n"
        "      - {role: internal_auditor, name: Audit, email: audit@probation.example.org}\n"
    )
    with demo.db.write() as conn:
        import_files(conn, [contacts], specs=demo.specs, actor="t", now=NOW)
    start = dt.datetime(2011, 3, 1, tzinfo=dt.UTC)
    item_id = _item(demo, dt.date(2011, 3, 10), start, agency="essex-probation", ref="P1")
    run_once(demo, start + dt.timedelta(days=6, hours=10))  # 3 days before: a reminder
    with demo.db.engine.connect() as conn:
        [row] = conn.execute(sa.select(_outbox).where(_outbox.c.item_id == item_id)).all()
    assert (row.kind, row.recipient, row.context["fallback"], row.context["via"]) == (
        "reminder",
        BM,
        True,
        "agency",
    )
