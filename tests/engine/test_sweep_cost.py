"""What the sweep costs, and that its shortcuts change nothing it decides: one statement and
no write transaction when nothing is due, the failure check once a day (and no failure left
out of a summary), outbox rows exactly as the report says, and the probe's own connections
closed with the engine."""

from __future__ import annotations

import datetime as dt
import json
import re
import sqlite3
import tempfile
from collections.abc import Callable
from typing import Any

import psycopg
import pytest
import sqlalchemy as sa
from psycopg import pq

from engine import sweep
from engine.probe import thread_connection
from engine.services import Services
from engine.store.tables import Outbox, SweepState
from engine.sweep import run_once
from tests.conftest import BM, NOW, make_item

_outbox = Outbox.__table__  # type: ignore[attr-defined]
_state = SweepState.__table__  # type: ignore[attr-defined]


def _statements(services: Services) -> list[str]:
    """Every statement SQLAlchemy sends, recorded until the list is dropped."""
    seen: list[str] = []

    def record(_c: Any, _cur: Any, statement: str, *_rest: Any) -> None:
        seen.append(statement)

    sa.event.listen(services.db.engine, "before_cursor_execute", record)
    return seen


_EXTENDED = {"Parse", "Bind", "Describe", "Execute", "Sync"}  # no Query: no BEGIN, no COMMIT
_PROBE = "SELECT (SELECT min(item."
# 14 days before 31 January: R8 and R9 (the example's earliest deadlines) need their first
# reminder; before then nothing in the example is due (R3 and R5 have only start dates)
REMINDED = dt.datetime(2011, 1, 18, 10, tzinfo=dt.UTC)


def _sent_by_driver(services: Services, action: Callable[[], object]) -> list[str]:
    """What libpq sends while ``action`` runs: one line per frontend protocol message,
    ``F<tab>length<tab>type<tab>...``, the SQL of a Parse flattened onto its line. Automatic
    preparation is off meanwhile, so every statement executed is parsed, its text on the wire."""
    engine = services.db.engine
    thresholds: dict[int, int | None] = {}

    def trace(driver: Any, *_: Any) -> None:
        thresholds[id(driver)] = driver.prepare_threshold
        driver.prepare_threshold = None
        driver.pgconn.trace(log.fileno())
        driver.pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS | pq.Trace.REGRESS_MODE)

    def untrace(driver: Any, *_: Any) -> None:
        driver.pgconn.untrace()  # flushes the trace
        driver.prepare_threshold = thresholds.pop(id(driver))

    with tempfile.TemporaryFile("w+") as log:
        sa.event.listen(engine, "checkout", trace)
        sa.event.listen(engine, "checkin", untrace)
        try:
            action()
        finally:
            sa.event.remove(engine, "checkout", trace)
            sa.event.remove(engine, "checkin", untrace)
        log.seek(0)
        messages = re.split(r"\n(?=[FB]\t)", log.read().strip())
    return [m.replace("\n", " ") for m in messages if m.startswith("F\t")]


def _fail_one(services: Services, at: dt.datetime, ref: str = "R1") -> None:
    """Mark one decided row as a failed delivery at ``at``, as the dispatcher would."""
    with services.db.write() as conn:
        row_id = conn.execute(
            sa.select(_outbox.c.id)
            .where(_outbox.c.kind != "failures", _outbox.c.status == "pending")
            .order_by(_outbox.c.id)
            .limit(1)
        ).scalar_one()
        conn.execute(
            _outbox.update()
            .where(_outbox.c.id == row_id)
            .values(status="failed", failed_at=at, last_error=f"550 {ref}")
        )


def _summaries(services: Services) -> list[tuple[str, int]]:
    with services.db.engine.connect() as conn:
        return [
            (r.dedupe_key, r.context["count"])
            for r in conn.execute(
                sa.select(_outbox.c.dedupe_key, _outbox.c.context)
                .where(_outbox.c.kind == "failures")
                .order_by(_outbox.c.id)
            )
        ]


def test_nothing_due_sends_one_statement_and_opens_no_transaction(demo: Services) -> None:
    first = run_once(demo, REMINDED)  # R8 and R9 are due a reminder; the day's check runs
    assert first.items == 2
    seen = _statements(demo)
    for minutes in range(5):
        report = run_once(demo, REMINDED + dt.timedelta(hours=1, minutes=minutes))
        assert (report.items, report.queued, report.decided) == (0, 0, [])
    assert seen == []  # the probe goes straight to the driver: no BEGIN, no COMMIT, no SELECT
    if demo.db.is_sqlite:
        probe = thread_connection(demo.db.engine)
        traced: list[str] = []
        probe.set_trace_callback(traced.append)
        try:
            run_once(demo, REMINDED + dt.timedelta(hours=2))
        finally:
            probe.set_trace_callback(None)
        assert len(traced) == 1
        assert traced[0].startswith(_PROBE)
    else:  # what libpq sends: the probe, executed once, and nothing else
        sent = _sent_by_driver(demo, lambda: run_once(demo, REMINDED + dt.timedelta(hours=2)))
        kinds = [m.split("\t")[2] for m in sent]
        assert (kinds.count("Parse"), kinds.count("Execute")) == (1, 1), sent
        assert set(kinds) <= _EXTENDED, sent  # no simple Query: no BEGIN, no COMMIT
        (parsed,) = [m for m in sent if m.split("\t")[2] == "Parse"]
        assert parsed.split("\t")[3].startswith(f' "" "{_PROBE}'), parsed


def test_failures_are_checked_once_a_day_and_none_is_left_out(demo: Services) -> None:
    monday = dt.datetime(2011, 3, 21, 10, tzinfo=dt.UTC)
    run_once(demo, monday)  # reminders queued; the day's check finds no failure
    assert _summaries(demo) == []
    _fail_one(demo, monday + dt.timedelta(minutes=30))
    seen = _statements(demo)
    run_once(demo, monday + dt.timedelta(hours=1))  # checked today already: not again
    assert _summaries(demo) == []
    assert not any("failed_at" in s for s in seen)
    tuesday = monday + dt.timedelta(days=1, hours=-9)  # 01:00, the day's first sweep
    run_once(demo, tuesday)
    assert _summaries(demo) == [(f"failures:2011-03-22:{BM}", 1)]
    _fail_one(demo, tuesday + dt.timedelta(hours=1))
    run_once(demo, tuesday + dt.timedelta(hours=2))
    run_once(demo, tuesday + dt.timedelta(days=1))  # Wednesday 01:00: since Tuesday's check
    assert _summaries(demo) == [
        (f"failures:2011-03-22:{BM}", 1),
        (f"failures:2011-03-23:{BM}", 1),
    ]
    with demo.db.engine.connect() as conn:
        state = conn.execute(sa.select(_state)).one()
    assert state.failures_checked_at == tuesday + dt.timedelta(days=1)
    assert state.failures_next_check_at == dt.datetime(2011, 3, 24, tzinfo=dt.UTC)


def test_a_dry_run_writes_nothing_not_even_the_failure_check(demo: Services) -> None:
    report = run_once(demo, dt.datetime(2011, 3, 21, 10, tzinfo=dt.UTC), dry_run=True)
    assert report.decided
    assert report.queued == 0
    with demo.db.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(_outbox)).scalar_one() == 0
        assert conn.execute(sa.select(sa.func.count()).select_from(_state)).scalar_one() == 0


def test_outbox_rows_are_what_the_report_says(demo: Services) -> None:
    # several items created together share their plans; each still gets its own rows
    now = dt.datetime(2011, 3, 21, 10, tzinfo=dt.UTC)
    for n in range(5):
        make_item(demo, ref=f"S{n}", due=dt.date(2011, 3, 1))
    report = run_once(demo, now + dt.timedelta(days=30))
    assert report.queued == len(report.decided) > 10
    with demo.db.engine.connect() as conn:
        stored = {
            r.dedupe_key: r
            for r in conn.execute(sa.select(_outbox).where(_outbox.c.kind != "failures"))
        }
    assert set(stored) == {d["dedupe_key"] for d in report.decided}
    for d in report.decided:
        row = stored[d["dedupe_key"]]
        assert (row.item_id, row.kind, row.template, row.recipient) == (
            d["item_id"],
            d["kind"],
            d["template"],
            d["recipient"],
        )
        assert (row.status, row.attempts, row.created_at) == ("pending", 0, d["created_at"])
        assert row.next_attempt_at == d["next_attempt_at"]
        assert row.context == d["context"]
        assert list(row.context) == list(d["context"])  # key order as json.dumps gave it
        kind, item_id, *_ = d["dedupe_key"].split(":")
        assert (kind, int(item_id)) == (d["kind"], d["item_id"])
    again = run_once(demo, now + dt.timedelta(days=30, minutes=5))
    assert again.queued == 0


def test_the_context_json_is_what_json_dumps_writes() -> None:
    due = sweep.deadlines.Due(
        kind="chase", step=3, at=NOW, targets=("agency",), urgent=False, template="chase"
    )
    recipient = sweep.Recipient(email="a@b.example", via="agency", fallback=True)
    plan: Any = type("P", (), {"digest": frozenset({"chase"}), "cycle": "1:2011-04-02"})()
    slot = sweep._slot(due, plan, recipient, "open", "2011-04-01", NOW, None)
    key = 'rev/R"1\u00e9'
    assert '{"key": ' + json.dumps(key) + slot.tail == json.dumps({"key": key, **slot.context})


def test_the_probe_connections_close_with_the_engine(demo: Services) -> None:
    if not demo.db.is_sqlite:
        _the_pooled_probe_connections_close_with_the_engine(demo)
        return
    assert run_once(demo, NOW - dt.timedelta(hours=1)).items == 0
    probe = thread_connection(demo.db.engine)
    demo.db.engine.dispose()
    with pytest.raises(sqlite3.ProgrammingError, match="closed"):
        probe.execute("SELECT 1")
    assert run_once(demo, REMINDED).items == 2  # a new one is opened


def _the_pooled_probe_connections_close_with_the_engine(demo: Services) -> None:
    """PostgreSQL: the probe borrows a pooled connection and gives it back, so the engine's
    dispose closes it; nothing is held outside the pool."""
    engine = demo.db.engine
    run_once(demo, NOW - dt.timedelta(hours=1))  # the day's failure check: a write too
    borrowed: list[Any] = []
    sa.event.listen(engine, "checkout", lambda driver, *_: borrowed.append(driver))
    seen = _statements(demo)
    assert run_once(demo, NOW - dt.timedelta(minutes=30)).items == 0
    assert seen == []  # the probe alone, straight to the driver
    assert len(borrowed) == 1  # one connection for the probe, from the pool
    assert engine.pool.checkedout() == 0  # and back in it
    probe = borrowed[0]
    assert not probe.closed
    engine.dispose()
    assert probe.closed
    with pytest.raises(psycopg.OperationalError, match="closed"):
        probe.execute("SELECT 1")
    assert run_once(demo, REMINDED).items == 2  # a new one is opened
    assert len(borrowed) > 1  # from the new pool
    assert not any(d is probe for d in borrowed[1:])
