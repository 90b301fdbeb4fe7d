"""Checkpoints taken by the clock: once a day, decided by the database (issue 9)."""

from __future__ import annotations

import datetime as dt
import threading
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from app import scheduler
from engine.checkpoints import Seal, check, log_path, take, take_if_due
from engine.errors import CheckpointRefused
from engine.services import Services
from engine.store.db import Database
from notifications.templates import Templates
from tests.conftest import NOW, challenge_r1, submit_r1
from tests.notifications.test_dispatcher import settings_for

KEY = b"k" * 16 + b"0123456789abcdef"
DAY = dt.timedelta(days=1)


def _numbers(services: Services) -> list[int]:
    with services.db.engine.connect() as conn:
        return list(
            conn.execute(sa.text("SELECT number FROM checkpoint ORDER BY number")).scalars()
        )


def test_take_if_due_takes_one_a_day(demo: Services) -> None:
    first = take_if_due(demo, KEY, now=NOW, actor="t", every=DAY)
    assert first is not None
    assert first.seal.number == 1
    assert take_if_due(demo, KEY, now=NOW, actor="t", every=DAY) is None
    assert (
        take_if_due(demo, KEY, now=NOW + DAY - dt.timedelta(minutes=1), actor="t", every=DAY)
        is None
    )
    submit_r1(demo, now=NOW + DAY)
    second = take_if_due(demo, KEY, now=NOW + DAY, actor="t", every=DAY)
    assert second is not None
    assert (second.seal.number, second.seal.heads, second.seal.events) == (2, 1, 10)
    assert _numbers(demo) == [1, 2]


def test_the_scheduler_takes_the_daily_checkpoint(demo: Services) -> None:
    jobs = scheduler.build(
        demo, settings_for(1025), Templates(), clock=lambda: NOW, checkpoint_key=KEY
    )
    jobs.start(paused=True)
    try:
        assert sorted(j.id for j in jobs.get_jobs()) == ["checkpoint", "dispatch", "sweep"]
        job = jobs.get_job("checkpoint")
        job.func()
        job.func()  # the same day: the database says one is already there
    finally:
        jobs.shutdown(wait=False)
    assert _numbers(demo) == [1]
    with demo.db.engine.connect() as conn:
        assert check(conn, KEY, log_file=log_path(demo.data_dir)).ok


def test_a_scheduler_without_the_key_takes_none(demo: Services) -> None:
    jobs = scheduler.build(demo, settings_for(1025), Templates(), clock=lambda: NOW)
    assert "checkpoint" not in {j.id for j in jobs.get_jobs()}


def test_removed_newest_events_are_refused_and_found(demo: Services) -> None:
    submit_r1(demo)
    item_id = challenge_r1(demo).item_id
    take(demo, KEY, now=NOW, actor="t")
    with demo.db.write() as conn:  # drop the challenge and point the item at event 2
        conn.execute(sa.text("DELETE FROM event WHERE item_id = :i AND seq = 3"), {"i": item_id})
        conn.execute(
            sa.text(
                "UPDATE item SET seq = 2, last_hash = "
                "(SELECT hash FROM event WHERE item_id = :i AND seq = 2) WHERE id = :i"
            ),
            {"i": item_id},
        )
    with pytest.raises(CheckpointRefused, match=rf"item {item_id}: its head \(event 2\)"):
        take(demo, KEY, now=NOW + DAY, actor="t")
    assert _numbers(demo) == [1]  # nothing written
    with demo.db.engine.connect() as conn:
        found = check(conn, KEY)
    assert [(p.item_id, p.seq, p.checkpoint) for p in found.problems] == [(item_id, 3, 1)]
    assert "event 3, which checkpoint #1 (taken 2011-01-10 09:00 UTC) sealed, is gone" in str(
        found.problems[0]
    )


@pytest.mark.parametrize(
    "record",
    [
        {"number": 1},
        {"number": 1, "extra": 2},
        "not an object",
    ],
)
def test_a_record_that_is_not_a_seal_is_refused(record: object) -> None:
    with pytest.raises((ValueError, TypeError)):
        Seal.from_record(record)  # type: ignore[arg-type]


@pytest.mark.postgres
def test_two_checkpoints_at_once_one_is_refused(pg: Database, tmp_path: Path) -> None:
    """On PostgreSQL two schedulers may race: the loser is refused and writes nothing."""
    services = Services(db=pg, data_dir=tmp_path / "data")
    outcome: list[BaseException | None] = []

    def second() -> None:
        try:
            take(services, KEY, now=NOW, actor="second")
            outcome.append(None)
        except CheckpointRefused as exc:
            outcome.append(exc)

    with pg.write() as conn:  # the first, not yet committed
        conn.execute(
            sa.text("INSERT INTO checkpoint VALUES (1, :at, 'first', '', 0, 0, 0, :d, :k, :s)"),
            {"at": NOW.replace(tzinfo=None), "d": "0" * 64, "k": "0" * 16, "s": "0" * 64},
        )
        racer = threading.Thread(target=second)
        racer.start()
        with pg.engine.connect() as watch:  # until the second waits on the first's row lock
            deadline = time.monotonic() + 30
            while (
                time.monotonic() < deadline
                and not watch.execute(
                    sa.text(
                        "SELECT count(*) FROM pg_stat_activity "
                        "WHERE wait_event_type = 'Lock' AND query LIKE 'INSERT INTO checkpoint %'"
                    )
                ).scalar_one()
            ):
                time.sleep(0.05)
    racer.join(timeout=30)
    (refused,) = outcome
    assert isinstance(refused, CheckpointRefused)
    assert "another checkpoint was taken at the same moment" in str(refused)
    assert _numbers(services) == [1]
    assert not log_path(services.data_dir).exists()
