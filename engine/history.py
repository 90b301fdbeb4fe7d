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
from engine.store.tables import Event

_event = Event.__table__  # type: ignore[attr-defined]
_insert = _event.insert()


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
