"""Exactly-once delivery under restarts, kill -9 and concurrent dispatchers."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from app import scheduler
from engine.services import Services
from engine.store.db import Database
from engine.sweep import run_once
from notifications.dispatcher import LEASE, dispatch
from notifications.templates import Templates
from tests.conftest import (
    CONTACTS,
    NOW,
    PLAN,
    ROOT,
    make_database,
    publish_shipped,
    without_digests,
)
from tests.notifications.test_dispatcher import SECRET, settings_for
from tests.smtpd import SmtpServer

OVERDUE = dt.datetime(2011, 6, 1, 10, tzinfo=dt.UTC)  # every R item overdue, a Wednesday


def _queue(services: Services) -> int:
    run_once(services, OVERDUE)
    with services.db.engine.connect() as conn:
        return int(conn.execute(sa.text("SELECT count(*) FROM outbox")).scalar_one())


def _statuses(services: Services) -> dict[str, int]:
    with services.db.engine.connect() as conn:
        return dict(
            conn.execute(
                sa.text(  # type: ignore[arg-type]
                    "SELECT status, count(*) FROM outbox GROUP BY status"
                )
            ).all()
        )


def test_scheduler_jobs_have_fixed_ids(demo: Services, smtp: SmtpServer) -> None:
    jobs = scheduler.build(demo, settings_for(smtp.port), Templates(), clock=lambda: OVERDUE)
    jobs.start(paused=True)  # jobs added before start are only deduplicated on start
    try:
        scheduler.build(
            demo, settings_for(smtp.port), Templates(), clock=lambda: OVERDUE, scheduler=jobs
        )
        assert sorted(j.id for j in jobs.get_jobs()) == ["dispatch", "sweep"]
    finally:
        jobs.shutdown(wait=False)


def test_scheduler_sweeps_and_dispatches(demo: Services, smtp: SmtpServer) -> None:
    jobs = scheduler.build(
        demo,
        settings_for(smtp.port),
        Templates(),
        clock=lambda: OVERDUE,
        sweep_every=0.2,
        dispatch_every=0.2,
    )
    jobs.start()
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not smtp.messages:
            time.sleep(0.1)
        time.sleep(1)
    finally:
        jobs.shutdown(wait=True)
    queued = _statuses(demo)
    assert smtp.messages
    assert set(queued) == {"sent"}
    assert len({m["Message-ID"] for m in smtp.messages}) == len(smtp.messages)


def test_kill_9_mid_batch_loses_nothing(tmp_path: Path) -> None:
    """A dispatcher process is killed with SIGKILL while a slow server accepts mail; a later
    dispatch, once the lease has run out, sends the rest: every row ends sent, and the only
    repeats are resends under the same Message-ID. (SQLite: the killed process is a real
    ``signoff dispatch`` reading SIGNOFF_DATABASE_URL.)"""
    for database in make_database("sqlite", tmp_path):
        _kill_9_mid_batch(Services(db=database, data_dir=tmp_path / "data"), tmp_path)


def _kill_9_mid_batch(services: Services, tmp_path: Path) -> None:
    publish_shipped(services)
    from engine.importer import import_files

    with services.db.write() as conn:
        import_files(conn, [PLAN, CONTACTS], specs=services.specs, actor="t", now=NOW)
    without_digests(services)  # one message per row: enough of them to kill mid-batch
    total = _queue(services)
    with SmtpServer() as server:
        server.recorder.delay = 0.15
        env = {
            **os.environ,
            "SIGNOFF_DATABASE_URL": services.db.url,
            "SIGNOFF_SMTP_PORT": str(server.port),
            "SIGNOFF_SMTP_HOST": "127.0.0.1",
            "SIGNOFF_DATA_DIR": str(tmp_path / "data"),
            "SIGNOFF_MAIL_FROM": settings_for(server.port).mail_from,
            "SIGNOFF_SECRET_KEY": SECRET,  # resends' Message-IDs are HMACs under the same key
        }
        proc = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "signoff"),
                "dispatch",
                "--now",
                OVERDUE.isoformat(),
            ],
            env=env,
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and len(server.messages) < 3:
            time.sleep(0.02)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        before = len(server.messages)
        assert 0 < before < total, "the kill must land mid-batch"
        assert _statuses(services).get("sending") == total
        server.recorder.delay = 0
        later = OVERDUE + LEASE + dt.timedelta(minutes=1)
        while dispatch(
            services, settings_for(server.port), Templates(), later, owner="second"
        ).claimed:
            pass
        ids = [m["Message-ID"].strip() for m in server.messages]
    assert _statuses(services) == {"sent": total}
    assert len(ids) >= total
    assert len(set(ids)) == total


@pytest.mark.postgres
def test_two_dispatchers_on_postgres_send_each_message_once(pg: Database, tmp_path: Path) -> None:
    services = Services(db=pg, data_dir=tmp_path / "data")
    publish_shipped(services)
    from engine.importer import import_files

    with pg.write() as conn:
        import_files(conn, [PLAN, CONTACTS], specs=services.specs, actor="t", now=NOW)
    without_digests(services)  # one message per row, as the count below expects
    total = _queue(services)
    errors: list[BaseException] = []
    with SmtpServer() as server:

        def work(owner: str) -> None:
            try:
                while dispatch(
                    services, settings_for(server.port), Templates(), OVERDUE, owner=owner, batch=3
                ).claimed:
                    pass
            except BaseException as exc:  # noqa: BLE001 - asserted below
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(f"d{i}",)) for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        ids = [m["Message-ID"] for m in server.messages]
    assert errors == []
    assert len(ids) == len(set(ids)) == total
    assert _statuses(services) == {"sent": total}


@pytest.mark.postgres
def test_two_sweepers_on_postgres_over_many_sweeps_make_no_duplicates(
    tmp_path: Path,
) -> None:
    """1,000 sweeps (500 moments, two sweepers each) against the queue one sweeper makes."""
    results = []
    for run in ("single", "double"):
        for database in make_database("postgres", tmp_path / run):
            services = Services(db=database, data_dir=tmp_path / run / "data")
            publish_shipped(services)
            from engine.importer import import_files

            with database.write() as conn:
                import_files(conn, [PLAN, CONTACTS], specs=services.specs, actor="t", now=NOW)
            moments = [NOW + dt.timedelta(hours=6 * i) for i in range(500)]
            workers = 1 if run == "single" else 2

            def sweep_all(svc: Services = services, times: list[dt.datetime] = moments) -> None:
                for now in times:
                    run_once(svc, now)

            threads = [threading.Thread(target=sweep_all) for _ in range(workers)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(timeout=600)
            with database.engine.connect() as conn:
                keys = list(conn.execute(sa.text("SELECT dedupe_key FROM outbox")).scalars())
            results.append(keys)
    single, double = results
    assert len(double) == len(set(double))
    assert set(double) == set(single)
