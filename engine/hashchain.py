"""The tamper-evident history: each event carries the hash of the one before it.

The chain is per item: event ``seq`` n stores ``prev_hash`` = hash of event n-1 (the
genesis value for n = 1) and ``hash`` = SHA-256 of ``prev_hash`` and a canonical JSON
of its own fields. The item row keeps the last hash and count, so deleting the newest
event is detected as well as editing or removing any other.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from engine.store.tables import Event, Item

GENESIS = "0" * 64


def canonical_time(at: dt.datetime) -> str:
    return at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def event_hash(
    prev_hash: str,
    *,
    item_id: int,
    seq: int,
    at: dt.datetime,
    actor: str,
    trigger: str,
    from_state: str | None,
    to_state: str,
    reason: str | None,
    rag: str | None,
    data: dict[str, Any],
) -> str:
    """The hash an event with these fields must carry."""
    payload = json.dumps(
        [item_id, seq, canonical_time(at), actor, trigger, from_state, to_state, reason, rag, data],
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256((prev_hash + payload).encode()).hexdigest()


def row_hash(prev_hash: str, row: Any) -> str:
    """The hash an event row (with the ``event`` table's columns) must carry after
    ``prev_hash``."""
    return event_hash(
        prev_hash,
        item_id=row.item_id,
        seq=row.seq,
        at=row.at,
        actor=row.actor,
        trigger=row.trigger,
        from_state=row.from_state,
        to_state=row.to_state,
        reason=row.reason,
        rag=row.rag,
        data=row.data,
    )


@dataclass(frozen=True, kw_only=True)
class BrokenLink:
    """The first place the history does not verify."""

    item_id: int
    seq: int
    problem: str

    def __str__(self) -> str:
        return f"item {self.item_id}, event {self.seq}: {self.problem}"


@dataclass(frozen=True, kw_only=True)
class Verification:
    items: int
    events: int
    broken: BrokenLink | None

    @property
    def ok(self) -> bool:
        return self.broken is None


def verify(conn: sa.Connection) -> Verification:
    """Walk every item's chain in order and report the first broken link."""
    ev = Event.__table__  # type: ignore[attr-defined]
    it = Item.__table__  # type: ignore[attr-defined]
    heads = {
        r.id: (r.seq, r.last_hash)
        for r in conn.execute(sa.select(it.c.id, it.c.seq, it.c.last_hash))
    }
    n_items, count = len(heads), 0

    def result(broken: BrokenLink | None) -> Verification:
        return Verification(items=n_items, events=count, broken=broken)

    def finish(item_id: int, seen: int, last_hash: str) -> BrokenLink | None:
        seq, head = heads.pop(item_id, (0, GENESIS))
        if seq == seen and head == last_hash:
            return None
        return BrokenLink(
            item_id=item_id,
            seq=seen + 1,
            problem=f"the item records {seq} events, the log holds {seen} that verify: "
            "its newest events were removed or replaced",
        )

    # on the statement: Connection.execution_options would change the caller's connection
    stream = conn.execute(
        sa.select(ev).order_by(ev.c.item_id, ev.c.seq).execution_options(yield_per=2000)
    )
    current: int | None = None
    prev, expected = GENESIS, 1
    with stream as rows:  # closes the server-side cursor on early return
        for row in rows:
            count += 1
            if row.item_id != current:
                if current is not None and (broken := finish(current, expected - 1, prev)):
                    return result(broken)
                current, prev, expected = row.item_id, GENESIS, 1
            problem = None
            if row.seq != expected:
                problem = f"expected event {expected} next, found {row.seq}: an event is missing"
            elif row.prev_hash != prev:
                problem = "its prev_hash does not match the hash of the event before it"
            elif row.hash != row_hash(prev, row):
                problem = "its content was changed after it was written (hash mismatch)"
            if problem:
                return result(BrokenLink(item_id=row.item_id, seq=row.seq, problem=problem))
            prev, expected = row.hash, expected + 1
    if current is not None and (broken := finish(current, expected - 1, prev)):
        return result(broken)
    for item_id, (seq, _head) in heads.items():
        if seq:
            return result(
                BrokenLink(
                    item_id=item_id,
                    seq=1,
                    problem=(f"the item records {seq} events but the log holds none"),
                )
            )
    return result(None)


@dataclass(frozen=True, kw_only=True, slots=True)
class Head:
    """The newest event of one item's chain at some moment: the chain up to it is fixed by
    its hash."""

    item_id: int
    seq: int
    hash: str


def heads_at(conn: sa.Connection, until: dt.datetime) -> list[Head]:
    """Every item's chain head just before ``until`` (its last event at an earlier time), in
    item order. Items with no event before ``until`` have none."""
    ev = Event.__table__  # type: ignore[attr-defined]
    last = (
        sa.select(ev.c.item_id, sa.func.max(ev.c.seq).label("seq"))
        .where(ev.c.at < until)
        .group_by(ev.c.item_id)
        .subquery()
    )
    rows = conn.execute(
        sa.select(ev.c.item_id, ev.c.seq, ev.c.hash)
        .join(last, sa.and_(last.c.item_id == ev.c.item_id, last.c.seq == ev.c.seq))
        .order_by(ev.c.item_id)
    )
    return [Head(item_id=r.item_id, seq=r.seq, hash=r.hash) for r in rows]


def heads_digest(heads: Iterable[tuple[int, int, str]]) -> str:
    """The SHA-256 of heads given in item order, one ``item seq hash`` line each (what a
    checkpoint signs, ``engine.checkpoints``; what a board pack prints)."""
    h = hashlib.sha256()
    for item_id, seq, digest in heads:
        h.update(f"{item_id} {seq} {digest}\n".encode())
    return h.hexdigest()
