"""Appending to an item's history: the one place events are written.

Callers hold the item's current ``seq`` and ``last_hash`` (read in the same
transaction) and move the item row on with a version check; this module writes the
event that chains onto it. Events are never updated or deleted.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa

from engine.hashchain import event_hash
from engine.store.tables import Event, Item

_event = Event.__table__  # type: ignore[attr-defined]
_insert = _event.insert()
_item = Item.__table__  # type: ignore[attr-defined]


def append(
    conn: sa.Connection,
    *,
    item_id: int,
    seq: int,
    prev_hash: str,
    at: dt.datetime,
    actor: str,
    trigger: str,
    from_state: str | None,
    to_state: str,
    reason: str | None = None,
    rag: str | None = None,
    data: dict[str, Any] | None = None,
) -> str:
    """Write event ``seq`` of ``item_id`` and return its hash.

    Raises:
        sqlalchemy.exc.IntegrityError: event ``seq`` already exists (a concurrent writer).
    """
    data = data or {}
    digest = event_hash(
        prev_hash,
        item_id=item_id,
        seq=seq,
        at=at,
        actor=actor,
        trigger=trigger,
        from_state=from_state,
        to_state=to_state,
        reason=reason,
        rag=rag,
        data=data,
    )
    conn.execute(
        _insert,
        {
            "item_id": item_id,
            "seq": seq,
            "at": at,
            "actor": actor,
            "trigger": trigger,
            "from_state": from_state,
            "to_state": to_state,
            "reason": reason,
            "rag": rag,
            "data": data,
            "prev_hash": prev_hash,
            "hash": digest,
        },
    )
    return digest


def note(
    conn: sa.Connection,
    *,
    item_id: int,
    at: dt.datetime,
    actor: str,
    trigger: str,
    data: dict[str, Any],
    reason: str | None = None,
) -> str:
    """Append an event that records something done to an item without moving it.

    Reads the item's head and moves it on with a condition on the seq read, inside the
    caller's transaction.

    Raises:
        sqlalchemy.exc.IntegrityError: a concurrent writer appended first (retry the
            transaction).
    """
    item = conn.execute(
        sa.select(_item.c.seq, _item.c.last_hash, _item.c.state).where(_item.c.id == item_id)
    ).one()
    seq = item.seq + 1
    digest = append(
        conn,
        item_id=item_id,
        seq=seq,
        prev_hash=item.last_hash,
        at=at,
        actor=actor,
        trigger=trigger,
        from_state=item.state,
        to_state=item.state,
        reason=reason,
        data=data,
    )
    conn.execute(
        _item.update()
        .where(_item.c.id == item_id, _item.c.seq == item.seq)
        .values(seq=seq, last_hash=digest)
    )
    return digest
