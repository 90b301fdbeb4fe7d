"""Claiming and settling outbox rows: the database half of the dispatcher.

A dispatcher claims pending rows whose time has come (or ``sending`` rows whose lease
ran out, left by a dispatcher that died) by marking them ``sending`` with its name and
a lease, in one short transaction. On PostgreSQL claims use ``FOR UPDATE SKIP LOCKED``
so several dispatchers split the work; on SQLite the claim is one ``BEGIN IMMEDIATE``
write, so two dispatchers can never hold the same row. Each row ends ``sent`` or
``failed`` (or goes back to ``pending`` with a later ``next_attempt_at``), and every
settled row is also an event in its item's history.

Settling is batched: a settle of any number of rows is one transaction of a few
statements. The events are the ones ``engine.history.append`` would write (same fields,
same hash chain), written many at a time.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from engine import hashchain
from engine.services import Services
from engine.store.tables import Event, Item, Outbox

_outbox = Outbox.__table__  # type: ignore[attr-defined]
_item = Item.__table__  # type: ignore[attr-defined]
_event = Event.__table__  # type: ignore[attr-defined]
ACTOR = "system:mail"


class Result(StrEnum):
    SENT = "sent"
    RETRY = "retry"
    FAILED = "failed"


@dataclass(frozen=True, kw_only=True)
class Outcome:
    """How one row's delivery went."""

    row_id: int
    result: Result
    error: str | None = None
    message_id: str | None = None
    template_version: str | None = None
    retry_at: dt.datetime | None = None


def claim(
    services: Services, now: dt.datetime, owner: str, limit: int, lease: dt.timedelta
) -> list[Any]:
    """Claim up to ``limit`` rows for ``owner`` until ``now + lease``; return them."""
    claimable = sa.or_(
        sa.and_(_outbox.c.status == "pending", _outbox.c.next_attempt_at <= now),
        sa.and_(_outbox.c.status == "sending", _outbox.c.lease_until < now),
    )
    ids = sa.select(_outbox.c.id).where(claimable).order_by(_outbox.c.id).limit(limit)
    with services.db.write() as conn:
        if not services.db.is_sqlite:
            ids = ids.with_for_update(skip_locked=True)
        chosen = list(conn.execute(ids).scalars())
        if not chosen:
            return []
        conn.execute(
            _outbox.update()
            .where(_outbox.c.id.in_(chosen))
            .values(
                status="sending",
                lease_owner=owner,
                lease_until=now + lease,
                attempts=_outbox.c.attempts + 1,
            )
        )
        return list(conn.execute(_CLAIMED.where(_outbox.c.id.in_(chosen))).all())


# what composing, sending and settling a claimed row read of it
_CLAIMED = sa.select(
    _outbox.c.id,
    _outbox.c.dedupe_key,
    _outbox.c.item_id,
    _outbox.c.kind,
    _outbox.c.template,
    _outbox.c.recipient,
    _outbox.c.context,
    _outbox.c.attempts,
).order_by(_outbox.c.id)


_SETTLE_BATCH = 1000  # ids per statement: well inside every driver's parameter limit
_SETTLED: dict[Result, dict[str, Any]] = {
    Result.SENT: {
        "status": "sent",
        "sent_at": sa.bindparam("b_now", type_=_outbox.c.sent_at.type),
        "message_id": sa.bindparam("b_message_id", type_=_outbox.c.message_id.type),
    },
    Result.FAILED: {
        "status": "failed",
        "failed_at": sa.bindparam("b_now", type_=_outbox.c.failed_at.type),
    },
    Result.RETRY: {
        "status": "pending",
        "next_attempt_at": sa.bindparam("b_retry_at", type_=_outbox.c.next_attempt_at.type),
    },
}
_SETTLE = {
    result: _outbox.update()
    .where(
        _outbox.c.id == sa.bindparam("b_id"),
        _outbox.c.lease_owner == sa.bindparam("b_owner"),
        _outbox.c.status == "sending",
    )
    .values(
        lease_owner=None,
        lease_until=None,
        last_error=sa.bindparam("b_error", type_=_outbox.c.last_error.type),
        **values,
    )
    for result, values in _SETTLED.items()
}
# what each row of a settle gives each statement (the owner and the time are shared)
_SETTLE_VALUES = {
    Result.SENT: ("b_id", "b_error", "b_message_id"),
    Result.FAILED: ("b_id", "b_error"),
    Result.RETRY: ("b_id", "b_error", "b_retry_at"),
}
_HEADS = sa.select(_item.c.id, _item.c.seq, _item.c.last_hash, _item.c.state)
_MOVE_ITEM = (
    _item.update()
    .where(_item.c.id == sa.bindparam("b_id"), _item.c.seq == sa.bindparam("b_seq"))
    .values(seq=sa.bindparam("b_new_seq"), last_hash=sa.bindparam("b_hash"))
)
_INSERT_EVENT = _event.insert()
_EVENT_VALUES = (
    "item_id",
    "seq",
    "trigger",
    "from_state",
    "to_state",
    "data",
    "prev_hash",
    "hash",
)
_ATTEMPTS = 5


_Plan = tuple[str, tuple[tuple[int, str, Any], ...]]
_PLANS: dict[tuple[int, sa.Dialect, tuple[str, ...]], _Plan] = {}
_ROW, _SHARED, _CONSTANT = 0, 1, 2


def _plan(
    dialect: sa.Dialect, stmt: Any, shared: tuple[str, ...], varying: tuple[str, ...]
) -> _Plan:
    """``stmt`` compiled for ``dialect``: its SQL, and where each positional value comes from
    (a row's tuple, the values shared by every row, or a constant of the statement), with the
    bind processor SQLAlchemy would apply to it."""
    keys = shared + varying
    compiled = stmt.compile(
        dialect=dialect, column_keys=list(keys) if isinstance(stmt, sa.Insert) else None
    )
    slots = []
    for name in compiled.positiontup or ():
        bind = compiled.binds[name]
        process = bind.type.dialect_impl(dialect).bind_processor(dialect)
        if name in varying:
            slots.append((_ROW, name, process))
        elif name in shared:
            slots.append((_SHARED, name, process))
        elif bind.required:
            raise ValueError(f"no value for {name!r} in {stmt}")
        else:
            value = compiled.params[name]
            slots.append((_CONSTANT, name, process(value) if process else value))
    return str(compiled), tuple(slots)


def _execute_many(
    conn: sa.Connection,
    stmt: Any,
    shared: dict[str, Any],
    varying: tuple[str, ...],
    rows: Sequence[tuple[Any, ...]],
) -> None:
    """``conn.execute(stmt, [{**shared, **dict(zip(varying, row))} for row in rows])``, faster.

    On a dialect with positional parameters (SQLite) the statement is compiled once and
    the values go to the DBAPI's ``executemany`` with the same bind processing, done per
    value rather than by SQLAlchemy per row (most of a settle's time, otherwise).
    """
    dialect = conn.dialect
    if not rows:
        return
    if not dialect.positional:
        conn.execute(stmt, [{**shared, **dict(zip(varying, row, strict=True))} for row in rows])
        return
    key = (id(stmt), dialect, (*sorted(shared), *varying))
    plan = _PLANS.get(key)
    if plan is None:
        plan = _PLANS[key] = _plan(dialect, stmt, tuple(sorted(shared)), varying)
    sql, slots = plan
    index = {name: i for i, name in enumerate(varying)}
    # per position: (index in a row, its processor, None), or (-1, None, the value)
    picks: list[tuple[int, Any, Any]] = []
    for source, name, extra in slots:
        if source == _ROW:
            picks.append((index[name], extra, None))
        elif source == _SHARED:
            value = shared[name]
            picks.append((-1, None, extra(value) if extra else value))
        else:
            picks.append((-1, None, extra))
    params = [
        tuple(
            [
                value if i < 0 else process(row[i]) if process else row[i]
                for i, process, value in picks
            ]
        )
        for row in rows
    ]
    conn.exec_driver_sql(sql, params)


class _Moved(Exception):
    """An item's seq changed between reading it and moving it on."""


def settle(
    services: Services,
    rows: Sequence[Any],
    outcomes: Sequence[Outcome],
    owner: str,
    now: dt.datetime,
) -> None:
    """Record every outcome (only for rows this owner still holds) and the history events.

    One transaction, a handful of statements whatever the number of rows: the rows this
    owner still holds are read (and locked, on PostgreSQL), each kind of result is one
    ``executemany``, and the events of every item are chained in Python and written with
    one more (see :func:`_record_all`).
    """
    if not outcomes:
        return
    by_id = {r.id: r for r in rows}
    with services.db.write() as conn:
        held: set[int] = set()
        ids = sorted({o.row_id for o in outcomes})
        for start in range(0, len(ids), _SETTLE_BATCH):
            mine = (
                sa.select(_outbox.c.id)
                .where(
                    _outbox.c.id.in_(ids[start : start + _SETTLE_BATCH]),
                    _outbox.c.lease_owner == owner,
                    _outbox.c.status == "sending",
                )
                .order_by(_outbox.c.id)
            )
            if not services.db.is_sqlite:  # no other dispatcher may reclaim them meanwhile
                mine = mine.with_for_update()
            held.update(conn.execute(mine).scalars())
        params: dict[Result, list[tuple[Any, ...]]] = {r: [] for r in Result}
        events: list[tuple[Any, Outcome]] = []
        for outcome in outcomes:
            if outcome.row_id not in held:
                continue
            held.discard(outcome.row_id)  # one outcome per row
            values: tuple[Any, ...]
            if outcome.result is Result.SENT:
                values = (outcome.row_id, outcome.error, outcome.message_id)
            elif outcome.result is Result.FAILED:
                values = (outcome.row_id, outcome.error)
            else:
                values = (outcome.row_id, outcome.error, outcome.retry_at)
            params[outcome.result].append(values)
            row = by_id[outcome.row_id]
            if outcome.result is not Result.RETRY and row.item_id:
                events.append((row, outcome))
        shared = {"b_owner": owner, "b_now": now}
        for result, settled in params.items():
            for start in range(0, len(settled), _SETTLE_BATCH):
                part = settled[start : start + _SETTLE_BATCH]
                _execute_many(conn, _SETTLE[result], shared, _SETTLE_VALUES[result], part)
        if events:
            _record_retrying(conn, events, now)


def _record_retrying(
    conn: sa.Connection, events: Sequence[tuple[Any, Outcome]], now: dt.datetime
) -> None:
    # a transition committed on an item between our read and our append takes a seq we
    # chose; read again and chain onto it (the savepoint keeps the outbox updates)
    for attempt in range(_ATTEMPTS):
        try:
            with conn.begin_nested():
                _record_all(conn, events, now)
            return
        except (IntegrityError, _Moved):
            if attempt == _ATTEMPTS - 1:
                raise
        except sa.exc.OperationalError as exc:  # PostgreSQL: two settles crossed
            if getattr(exc.orig, "sqlstate", None) != "40P01" or attempt == _ATTEMPTS - 1:
                raise


def _record_all(
    conn: sa.Connection, events: Sequence[tuple[Any, Outcome]], now: dt.datetime
) -> None:
    """Append a ``notified`` / ``notification_failed`` event per (row, outcome).

    Each item is read once; its new events are chained onto its last hash in the order
    given, all events are inserted with one statement (sorted by item and seq, so two
    transactions lock in the same order) and each item is moved on once, on condition
    that its seq is still the one read.

    Raises:
        IntegrityError: a concurrent writer took one of the seqs.
        _Moved: an item's seq changed since it was read.
    """
    item_ids = sorted({row.item_id for row, _ in events})
    heads: dict[int, Any] = {}
    for start in range(0, len(item_ids), _SETTLE_BATCH):
        chunk = item_ids[start : start + _SETTLE_BATCH]
        heads.update((r.id, r) for r in conn.execute(_HEADS.where(_item.c.id.in_(chunk))))
    chain = {item_id: (heads[item_id].seq, heads[item_id].last_hash) for item_id in item_ids}
    rows: list[tuple[Any, ...]] = []
    for row, outcome in events:
        state = heads[row.item_id].state
        seq, prev_hash = chain[row.item_id]
        seq += 1
        trigger = "notified" if outcome.result is Result.SENT else "notification_failed"
        data = {
            "kind": row.kind,
            "recipient": row.recipient,
            "template": row.template,
            "template_version": outcome.template_version,
            "status": outcome.result.value,
            "message_id": outcome.message_id,
            "error": outcome.error,
            "dedupe_key": row.dedupe_key,
        }
        digest = hashchain.event_hash(
            prev_hash,
            item_id=row.item_id,
            seq=seq,
            at=now,
            actor=ACTOR,
            trigger=trigger,
            from_state=state,
            to_state=state,
            reason=None,
            rag=None,
            data=data,
        )
        rows.append((row.item_id, seq, trigger, state, state, data, prev_hash, digest))
        chain[row.item_id] = (seq, digest)
    rows.sort(key=lambda r: (r[0], r[1]))
    shared = {"at": now, "actor": ACTOR, "reason": None, "rag": None}
    for start in range(0, len(rows), _SETTLE_BATCH):
        _execute_many(
            conn, _INSERT_EVENT, shared, _EVENT_VALUES, rows[start : start + _SETTLE_BATCH]
        )
    moves = [
        {"b_id": item_id, "b_seq": heads[item_id].seq, "b_new_seq": seq, "b_hash": digest}
        for item_id, (seq, digest) in chain.items()
    ]
    for start in range(0, len(moves), _SETTLE_BATCH):
        part = moves[start : start + _SETTLE_BATCH]
        done = conn.execute(_MOVE_ITEM, part)
        if conn.dialect.supports_sane_multi_rowcount and done.rowcount != len(part):
            raise _Moved
