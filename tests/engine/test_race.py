"""Concurrent sign-offs of one item: exactly one succeeds, the rest get a clear refusal."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
import sqlalchemy as sa

from engine.errors import ConcurrentUpdate, FireError, TransitionNotAllowed
from engine.fire import FireRequest, fire
from engine.hashchain import verify
from engine.importer import import_files
from engine.services import Services
from engine.store.db import Database
from engine.store.tables import Rag
from tests.conftest import (
    CONTACTS,
    NOW,
    PANEL,
    PANEL_CHAIR,
    PLAN,
    R1,
    publish_shipped,
    submit_r1,
)

N = 12


def _race(services: Services, seen_version: bool = False) -> list[object]:
    """N sign-offs at once; with ``seen_version`` each carries the version its signer saw
    (as a page does), so every loser must get a conflict, whenever it reads."""
    submitted = submit_r1(services, "ToR agreed")
    barrier = threading.Barrier(N)
    outcomes: list[object] = [None] * N

    def sign(i: int) -> None:
        barrier.wait()
        try:
            outcomes[i] = fire(
                services,
                FireRequest(
                    item=R1,
                    trigger="sign_off",
                    actor=(PANEL, PANEL_CHAIR)[i % 2],
                    now=NOW,
                    reason="Evidence sufficient",
                    rag=Rag.GREEN,
                    meeting_date=NOW.date(),
                    expected_version=submitted.version if seen_version else None,
                ),
            )
        except FireError as exc:
            outcomes[i] = exc

    threads = [threading.Thread(target=sign, args=(i,)) for i in range(N)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return outcomes


def _check(services: Services, outcomes: list[object]) -> None:
    errors = [o for o in outcomes if isinstance(o, FireError)]
    assert len(errors) == N - 1, outcomes
    assert all(isinstance(e, ConcurrentUpdate | TransitionNotAllowed) for e in errors), errors
    with services.db.engine.connect() as conn:
        signed = conn.execute(
            sa.text("SELECT count(*) FROM event WHERE trigger = 'sign_off'")
        ).scalar_one()
        outbox = conn.execute(sa.text("SELECT count(*) FROM outbox")).scalar_one()
        assert verify(conn).ok
    assert signed == 1
    assert outbox == 2  # one for the submission, one for the single sign-off


@pytest.mark.postgres
def test_concurrent_sign_offs_on_postgres_give_one_success(pg: Database, tmp_path: Path) -> None:
    services = Services(db=pg, data_dir=tmp_path / "data")
    publish_shipped(services)
    with pg.write() as conn:
        import_files(conn, [PLAN, CONTACTS], specs=services.specs, actor="test", now=NOW)
    outcomes = _race(services, seen_version=True)
    _check(services, outcomes)
    assert sum(isinstance(o, ConcurrentUpdate) for o in outcomes) == N - 1


def test_concurrent_sign_offs_give_one_success(demo: Services) -> None:
    _check(demo, _race(demo))
