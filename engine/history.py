"""Appending to an item's history: the one place events are written.

``append`` writes one event for a caller that holds the item's current ``seq`` and
``last_hash`` (read in the same transaction) and moves the item row on itself with a
version check (``fire``). ``note`` and ``append_many`` read the head and move the item
on themselves, for events that record something done to an item without moving it.
The hash chain is computed here and nowhere else. Events are never updated or deleted.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from engine import hashchain
from engine.errors import ChainMoved
from engine.store.bulk import execute_many
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
    digest = hashchain.event_hash(
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


@dataclass(frozen=True, kw_only=True)
class Entry:
    """One event to append with ``append_many``: the item stays in its state."""

    item_id: int
    trigger: str
    data: dict[str, Any]


_BATCH = 1000  # ids per statement: well inside every driver's parameter limit
_HEADS = sa.select(_item.c.id, _item.c.seq, _item.c.last_hash, _item.c.state)
_MOVE_ITEM = (
    _item.update()
    .where(_item.c.id == sa.bindparam("b_id"), _item.c.seq == sa.bindparam("b_seq"))
    .values(seq=sa.bindparam("b_new_seq"), last_hash=sa.bindparam("b_hash"))
)
_EVENT_VALUES = ("item_id", "seq", "trigger", "from_state", "to_state", "data", "prev_hash", "hash")


def append_many(
    conn: sa.Connection, entries: Sequence[Entry], *, at: dt.datetime, actor: str
) -> None:
    """Append one event per entry, in the order given, inside the caller's transaction.

    Each item is read once; its new events are chained onto its last hash, all events are
    inserted with one statement (sorted by item and seq, so two transactions lock in the
    same order) and each item is moved on once, on condition that its seq is still the one
    read. The events are the ones ``append`` would write, one by one.

    Raises:
        sqlalchemy.exc.IntegrityError: a concurrent writer took one of the seqs.
        ChainMoved: an item's seq changed since it was read (retry in a savepoint).
    """
    if not entries:
        return
    item_ids = sorted({e.item_id for e in entries})
    heads: dict[int, Any] = {}
    for start in range(0, len(item_ids), _BATCH):
        chunk = item_ids[start : start + _BATCH]
        heads.update((r.id, r) for r in conn.execute(_HEADS.where(_item.c.id.in_(chunk))))
    chain = {item_id: (heads[item_id].seq, heads[item_id].last_hash) for item_id in item_ids}
    rows: list[tuple[Any, ...]] = []
    for entry in entries:
        state = heads[entry.item_id].state
        seq, prev_hash = chain[entry.item_id]
        seq += 1
        digest = hashchain.event_hash(
            prev_hash,
            item_id=entry.item_id,
            seq=seq,
            at=at,
            actor=actor,
            trigger=entry.trigger,
            from_state=state,
            to_state=state,
            reason=None,
            rag=None,
            data=entry.data,
        )
        rows.append(
            (entry.item_id, seq, entry.trigger, state, state, entry.data, prev_hash, digest)
        )
        chain[entry.item_id] = (seq, digest)
    rows.sort(key=lambda r: (r[0], r[1]))
    shared = {"at": at, "actor": actor, "reason": None, "rag": None}
    for start in range(0, len(rows), _BATCH):
        execute_many(conn, _insert, shared, _EVENT_VALUES, rows[start : start + _BATCH])
    moves = [
        {"b_id": item_id, "b_seq": heads[item_id].seq, "b_new_seq": seq, "b_hash": digest}
        for item_id, (seq, digest) in chain.items()
    ]
    for start in range(0, len(moves), _BATCH):
        part = moves[start : start + _BATCH]
        done = conn.execute(_MOVE_ITEM, part)
        if conn.dialect.supports_sane_multi_rowcount and done.rowcount != len(part):
            raise ChainMoved([m["b_id"] for m in part])
