"""The forecast over ``[T, T + days)`` is exactly what sweeps over that window queue."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa

from engine import outbox
from engine.forecast import forecast
from engine.services import Services
from engine.store.tables import Item, Outbox
from engine.sweep import run_once

CHASING = ("reminder", "chase", "escalation")
CHAIR = "chair@southend-lscb.example.org"
_o = Outbox.__table__  # type: ignore[attr-defined]
_i = Item.__table__  # type: ignore[attr-defined]


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


def queued(services: Services) -> set[tuple[str, str, str, dt.datetime]]:
    query = sa.select(_o.c.dedupe_key, _o.c.kind, _o.c.recipient, _o.c.next_attempt_at).where(
        _o.c.kind.in_(CHASING)
    )
    with services.db.engine.connect() as conn:
        return {tuple(row) for row in conn.execute(query)}  # type: ignore[misc]


def rows_of(emails: list[dict[str, Any]]) -> list[tuple[str, str, str, dt.datetime]]:
    return [
        (key, e["kind"], to, at(e["at"]))
        for e in emails
        for to, key in zip(e["to"], e["dedupe_keys"], strict=True)
    ]


def next_attention(services: Services) -> dt.datetime | None:
    with services.db.engine.connect() as conn:
        found: dt.datetime | None = conn.execute(sa.func.min(_i.c.next_attention_at)).scalar()
    return found


def sweep_through(services: Services, start: dt.datetime, end: dt.datetime) -> int:
    """Sweep at ``start`` and then at every moment an item next needs attention before
    ``end``: the same as sweeping continuously, since nothing new falls due in between."""
    sweeps = 0
    t: dt.datetime | None = start
    while t is not None and t < end:
        run_once(services, t)
        sweeps += 1
        after = next_attention(services)
        assert after is None or after > t
        t = after
    return sweeps


def test_forecast_equals_sweeps_over_60_days(demo: Services) -> None:
    start = at("2011-03-10T09:30+00:00")  # 22 days before R1's due date: reminders, chases,
    end = start + dt.timedelta(days=60)  # escalations (and Easter) all fall in the window
    before = queued(demo)
    expected = rows_of(forecast(demo, start, 60))
    assert len(expected) == len(set(expected))
    assert {k for k, *_ in expected} & {k for k, *_ in before} == set()
    assert sweep_through(demo, start, end) > 3
    got = queued(demo) - before
    assert got == set(expected)
    assert {kind for _k, kind, *_ in got} == set(CHASING)
    # and nothing more is left to forecast inside the window that was swept
    assert forecast(demo, start, 60) == []


def test_forecast_shows_digests_as_the_sweeps_queue_them(demo: Services) -> None:
    """The shipped workflow gathers chasing into digests: the forecast says which entries go
    into one, and a recipient's digest rows of one sweep and kind share one send time."""
    start = at("2011-03-10T09:30+00:00")
    ahead = forecast(demo, start, 60)
    assert ahead
    assert all(e["digest"] for e in ahead)
    times: dict[tuple[str, str, str], set[str]] = {}
    for e in ahead:
        for to in e["to"]:
            times.setdefault((e["decided_at"], e["kind"], to), set()).add(e["at"])
    assert all(len(t) == 1 for t in times.values())


def test_an_urgent_step_brings_the_rest_of_its_digest_with_it(demo: Services) -> None:
    """Sunday night, first sweep: R1, R2, R4, R7, R8 and R9, long overdue, reach the chair's
    urgent step; R6 (due 31 May) its first step (the LSCB's ladder: the chair too, not
    urgent). One digest, sent at once. (R3 and R5 have only start dates: never chased.)"""
    night = at("2011-06-13T02:00+00:00")
    now = [e for e in forecast(demo, night, 1) if e["decided_at"] == night.isoformat()]
    run_once(demo, night)
    got = queued(demo)
    assert got == set(rows_of(now))
    to_chair = [(k.split(":")[1], t) for k, kind, to, t in got if to == CHAIR]
    assert len(to_chair) == 7  # one escalation each, the long-overdue six only their top step
    assert {t for _item, t in to_chair} == {night}


def test_forecast_windows_add_up(demo: Services) -> None:
    start = at("2011-03-10T09:30+00:00")
    whole = rows_of(forecast(demo, start, 30))
    first = rows_of(forecast(demo, start, 12))
    sweep_through(demo, start, start + dt.timedelta(days=12))
    assert queued(demo) >= set(first)
    rest = rows_of(forecast(demo, start + dt.timedelta(days=12), 18))
    assert sorted(first + rest) == sorted(whole)


def test_the_window_includes_now_and_excludes_its_end(demo: Services) -> None:
    # R1's reminder 14 days before 1 April is decided at 2011-03-19 00:00 (a Saturday)
    # and sent when the office opens on Monday 21 March
    reminder = at("2011-03-19T00:00+00:00")
    r1 = [e for e in forecast(demo, reminder - dt.timedelta(days=1), 1) if "/R1" in e["key"]]
    assert r1 == []
    r1 = [e for e in forecast(demo, reminder, 1) if "/R1" in e["key"]]
    assert [(e["kind"], e["at"], e["decided_at"]) for e in r1] == [
        ("reminder", "2011-03-21T09:00:00+00:00", reminder.isoformat())
    ]


def test_what_was_queued_and_sent_is_not_forecast_again(demo: Services) -> None:
    # 24 days overdue: a chase and escalations go out; the forecast no longer lists them
    now = at("2011-04-25T10:00+01:00")
    ahead = forecast(demo, now, 10)
    assert {e["kind"] for e in ahead if e["decided_at"] == now.isoformat()} >= {
        "chase",
        "escalation",
    }
    report = run_once(demo, now)
    assert report.queued >= 3
    keys = {d["dedupe_key"] for d in report.decided}
    assert keys == {
        k for e in ahead if e["decided_at"] == now.isoformat() for k in e["dedupe_keys"]
    }
    rows = outbox.claim(demo.db, now + dt.timedelta(days=1), "test", 1000, dt.timedelta(minutes=5))
    sent = [outbox.Outcome(row_id=r.id, result=outbox.Result.SENT) for r in rows]
    outbox.settle(demo.db, rows, sent, "test", now + dt.timedelta(days=1))
    after = forecast(demo, now, 10)
    assert not keys & {k for e in after for k in e["dedupe_keys"]}
    assert not [e for e in after if e["decided_at"] == now.isoformat()]
    assert run_once(demo, now, dry_run=True).queued == 0


def _open_and_challenged() -> tuple[Any, Any]:
    from engine.spec import load_spec_file
    from notifications.templates import available
    from tests.conftest import WORKFLOWS

    spec = load_spec_file(WORKFLOWS / "recommendation.yaml", available())
    return spec.states["open"], spec.states["challenged"]


def test_a_cached_plan_is_the_plan() -> None:
    """Due on the item's date ('open'), items entered at different times share one plan;
    due 20 working days after entry ('challenged'), they do not."""
    from engine.calendar import Calendar
    from engine.deadlines import PlanCache, plan

    calendar = Calendar()
    cache = PlanCache(calendar)
    opened, challenged = _open_and_challenged()
    due = dt.date(2011, 4, 1)
    early, late = at("2011-01-10T09:00+00:00"), at("2011-02-14T15:30+00:00")
    for state in (opened, challenged):
        for entered in (early, late):
            fresh = plan(state, item_due=due, entered_at=entered, entered_seq=3, calendar=calendar)
            cached = cache.plan(state, item_due=due, entered_at=entered, entered_seq=3)
            assert cached == fresh
    shared = cache.plan(opened, item_due=due, entered_at=early, entered_seq=3)
    assert cache.plan(opened, item_due=due, entered_at=late, entered_seq=3) is shared
    first = cache.plan(challenged, item_due=due, entered_at=early, entered_seq=3)
    assert cache.plan(challenged, item_due=due, entered_at=late, entered_seq=3) != first
    assert cache.plan(opened, item_due=due, entered_at=early, entered_seq=4) != shared


def test_the_forecast_leaves_the_collector_as_it_found_it(demo: Services) -> None:
    import gc

    start = at("2011-03-10T09:30+00:00")
    assert gc.isenabled()
    ahead = forecast(demo, start, 30)
    assert gc.isenabled()
    gc.disable()
    try:
        assert forecast(demo, start, 30) == ahead
        assert not gc.isenabled()
    finally:
        gc.enable()
