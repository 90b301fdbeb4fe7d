"""engine.store.conflicts tells races from faults on both databases, from real driver errors."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError, IntegrityError

from engine.services import Services
from engine.store.conflicts import is_race, unique_violated
from engine.store.db import Database
from engine.store.tables import Event, Outbox
from tests.conftest import NOW, make_item

_event = Event.__table__  # type: ignore[attr-defined]
_outbox = Outbox.__table__  # type: ignore[attr-defined]


def _raised(db: Database, statement: sa.Executable, params: dict[str, object]) -> DBAPIError:
    with pytest.raises(DBAPIError) as caught, db.write() as conn:
        conn.execute(statement, params)
    return caught.value


def _event_row(item_id: int, seq: int) -> dict[str, object]:
    return {
        "item_id": item_id,
        "seq": seq,
        "at": NOW,
        "actor": "test",
        "trigger": "note",
        "from_state": "open",
        "to_state": "open",
        "data": {},
        "prev_hash": "0" * 64,
        "hash": "1" * 64,
    }


def test_a_taken_event_seq_is_named_as_that_unique_violation(demo: Services) -> None:
    item_id = make_item(demo, ref="X1", due=None)
    exc = _raised(demo.db, _event.insert(), _event_row(item_id, 1))
    assert isinstance(exc, IntegrityError)
    assert unique_violated(exc, "event", ("item_id", "seq"))
    assert not unique_violated(exc, "outbox", ("dedupe_key",))
    assert not unique_violated(exc, "event", ("seq",))
    assert not is_race(exc)


def test_a_foreign_key_violation_is_not_a_unique_violation(demo: Services) -> None:
    exc = _raised(demo.db, _event.insert(), _event_row(999_999, 1))
    if demo.db.is_sqlite and not isinstance(exc, IntegrityError):
        pytest.fail(f"expected an IntegrityError, got {exc!r}")
    assert not unique_violated(exc, "event", ("item_id", "seq"))
    assert not is_race(exc)


def test_a_locked_database_or_row_is_a_race(demo: Services) -> None:
    item_id = make_item(demo, ref="X2", due=None)
    db = demo.db
    with db.write() as holder:
        holder.execute(
            sa.text("SELECT id FROM item WHERE id = :id" + ("" if db.is_sqlite else " FOR UPDATE")),
            {"id": item_id},
        )
        holder.execute(_outbox.delete().where(_outbox.c.item_id == item_id))
        with db.engine.connect() as other:
            if db.is_sqlite:
                other.exec_driver_sql("PRAGMA busy_timeout = 0")
            try:
                take = (
                    sa.text("BEGIN IMMEDIATE")
                    if db.is_sqlite
                    else sa.text("SELECT id FROM item WHERE id = :id FOR UPDATE NOWAIT")
                )
                with pytest.raises(DBAPIError) as caught:
                    other.execute(take, {"id": item_id})
                other.rollback()
            finally:
                if db.is_sqlite:
                    other.exec_driver_sql("PRAGMA busy_timeout = 30000")
    assert is_race(caught.value)
    assert not unique_violated(caught.value, "event", ("item_id", "seq"))
