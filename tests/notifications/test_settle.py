"""Batched settling: a transition that takes an item's next seq mid-settle is chained onto."""

from __future__ import annotations

import datetime as dt
import random
import threading
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from engine import hashchain, history, outbox
from engine.hashchain import verify
from engine.importer import import_files
from engine.services import Services
from engine.store.db import Database
from engine.store.tables import Event, Item
from notifications.dispatcher import dispatch
from notifications.templates import Templates
from tests.conftest import CONTACTS, NOW, PLAN, publish_shipped, submit_r1
from tests.notifications.test_dispatcher import settings_for
from tests.smtpd import SmtpServer

_item = Item.__table__  # type: ignore[attr-defined]
_event = Event.__table__  # type: ignore[attr-defined]


def _concurrent_transition(services: Services, item_id: int) -> None:
    """Another writer appends an event to the item and commits (its own connection)."""
    with services.db.write() as conn:
        item = conn.execute(
            sa.select(_item.c.seq, _item.c.last_hash, _item.c.state).where(_item.c.id == item_id)
        ).one()
        digest = history.append(
            conn,
            item_id=item_id,
            seq=item.seq + 1,
            prev_hash=item.last_hash,
            at=NOW,
            actor="someone@example.org",
            trigger="note",
            from_state=item.state,
            to_state=item.state,
        )
        conn.execute(
            _item.update().where(_item.c.id == item_id).values(seq=item.seq + 1, last_hash=digest)
        )


@pytest.mark.postgres
def test_a_transition_taking_the_seq_mid_settle_is_retried(
    pg: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    services = Services(db=pg, data_dir=tmp_path / "data")
    publish_shipped(services)
    with pg.write() as conn:
        import_files(conn, [PLAN, CONTACTS], specs=services.specs, actor="t", now=NOW)
    fired = submit_r1(services)
    real = hashchain.event_hash
    raced: list[int] = []

    def racing_hash(prev_hash: str, **fields: Any) -> str:
        # settle has read the item's seq; before it inserts, another writer commits
        if not raced:
            raced.append(fields["item_id"])
            worker = threading.Thread(
                target=_concurrent_transition, args=(services, fields["item_id"])
            )
            worker.start()
            worker.join(timeout=30)
        return real(prev_hash, **fields)

    monkeypatch.setattr(hashchain, "event_hash", racing_hash)
    with SmtpServer() as server:
        report = dispatch(
            services,
            settings_for(server.port),
            Templates(),
            NOW + dt.timedelta(minutes=1),
            owner="t",
            rng=random.Random(1),
        )
    assert report.sent == len(server.messages) >= 1
    assert raced == [fired.item_id]
    with pg.engine.connect() as conn:
        triggers = list(
            conn.execute(
                sa.select(_event.c.trigger)
                .where(_event.c.item_id == fired.item_id)
                .order_by(_event.c.seq)
            ).scalars()
        )
        assert verify(conn).ok
    assert triggers[-1 - report.sent :] == ["note"] + ["notified"] * report.sent
    assert outbox._ATTEMPTS > 1
