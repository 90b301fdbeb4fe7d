"""The outbox: the only writer of outbox rows. Enqueue, claim, settle, cancel.

A notification is decided (by ``fire``, a request, the sweep) and enqueued in the same
transaction as the change that caused it; the dispatcher claims and settles it later.
Every row carries a unique ``dedupe_key``, so deciding the same notification twice
queues it once (``enqueue_new``).

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
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError

from engine import history
from engine.errors import ChainMoved
from engine.store.bulk import execute_many
from engine.store.conflicts import is_race
from engine.store.db import Database
from engine.store.tables import DeliveryStatus, Outbox

_outbox = Outbox.__table__  # type: ignore[attr-defined]
ACTOR = "system:mail"
PENDING, SENDING = DeliveryStatus.PENDING.value, DeliveryStatus.SENDING.value


class Kind(StrEnum):
    """What an email is for; each kind has its template family and its wording."""

    REQUEST = "request"  # the board asks an agency for evidence
    REMINDER = "reminder"  # before a deadline
    CHASE = "chase"  # after it, every so often
    ESCALATION = "escalation"  # a step up the ladder
    DECISION = "decision"  # a transition's notice
    RECEIPT = "receipt"  # to whoever answered a request
    FAILURES = "failures"  # the business manager's daily list of undelivered mail
    AUTO_ANSWER = "auto_answer"  # why a reply could not be used (at most one a sender a day)
    SIGN_IN = "sign_in"  # a sign-in link someone asked for (engine.signin)
    WORDING_TEST = "wording_test"  # an email's wording with sample values (engine.wording)


CHASING = (Kind.REMINDER, Kind.CHASE, Kind.ESCALATION)  # cancelled when the item moves on
NOBODY = "nobody:"  # the recipient of a notification nobody was reachable for: "nobody:ROLE"

COLUMNS = (
    "dedupe_key",
    "item_id",
    "kind",
    "template",
    "recipient",
    "context",
    "status",
    "attempts",
    "next_attempt_at",
    "created_at",
)
"""The columns of a new row, in the order ``enqueue_new`` takes its values."""


@dataclass(frozen=True, kw_only=True)
class Notice:
    """One email decided: a new outbox row."""

    dedupe_key: str
    item_id: int | None
    kind: Kind
    template: str
    recipient: str
    context: dict[str, Any]
    send_at: dt.datetime  # not before this

    def row(self, now: dt.datetime) -> dict[str, Any]:
        return {
            "dedupe_key": self.dedupe_key,
            "item_id": self.item_id,
            "kind": self.kind.value,
            "template": self.template,
            "recipient": self.recipient,
            "context": self.context,
            "status": PENDING,
            "attempts": 0,
            "next_attempt_at": self.send_at,
            "created_at": now,
        }


_INSERT = _outbox.insert()


def enqueue(conn: sa.Connection, notices: Sequence[Notice], now: dt.datetime) -> int:
    """Queue ``notices`` in the caller's transaction; return how many.

    Raises:
        sqlalchemy.exc.IntegrityError: a notice's dedupe key is already queued (the caller's
            transaction is then rolled back: decisions are keyed by the event they follow, so
            this means a concurrent writer, which ``fire`` reports as ConcurrentUpdate).
    """
    if notices:
        conn.execute(_INSERT, [n.row(now) for n in notices])
    return len(notices)


_INSERT_NEW = {
    "sqlite": sqlite_insert(_outbox)
    .values({c: sa.bindparam(c, type_=_outbox.c[c].type) for c in COLUMNS})
    .on_conflict_do_nothing(index_elements=["dedupe_key"]),
    "postgresql": pg_insert(_outbox)
    .values({c: sa.bindparam(c, type_=_outbox.c[c].type) for c in COLUMNS})
    .on_conflict_do_nothing(index_elements=["dedupe_key"]),
}
# PostgreSQL: one statement for the whole batch, one array per column, sent in binary (%b:
# psycopg's text format escapes every JSON string of an array, which costs more than the
# insert itself; bench/sweep.py)
_PG_INSERT_NEW = (
    "INSERT INTO outbox (" + ", ".join(COLUMNS) + ") "
    "SELECT * FROM unnest(%b::text[], %b::integer[], %b::text[], %b::text[], %b::text[], "
    "%b::text[]::json[], %b::text[], %b::integer[], %b::timestamp[], %b::timestamp[]) "
    "ON CONFLICT (dedupe_key) DO NOTHING"
)
_SQLITE_INSERT_NEW: dict[sa.Dialect, str] = {}


def enqueue_once(conn: sa.Connection, notice: Notice, now: dt.datetime) -> bool:
    """Queue ``notice`` unless its dedupe key is already queued; whether it was queued.

    For notices whose key states a limit (``auto-answer:<address>:<day>``: one a day): a
    second one inside the limit is silently not queued, and the caller's transaction goes on.
    """
    statement = _INSERT_NEW["postgresql" if conn.dialect.name == "postgresql" else "sqlite"]
    row = notice.row(now)
    return bool(conn.execute(statement, {c: row[c] for c in COLUMNS}).rowcount)


def enqueue_new(conn: sa.Connection, rows: Sequence[tuple[Any, ...]]) -> int:
    """Queue the rows whose dedupe key is new (``ON CONFLICT DO NOTHING``); return how many.

    The sweep's path, for thousands of rows at once: ``rows`` hold the driver's values
    (already bound: JSON as text, times as the store writes them) in ``COLUMNS`` order.
    SQLite: one ``executemany``, whose row count counts only the rows inserted.
    PostgreSQL: one statement over ``unnest`` of one array per column.
    """
    if not rows:
        return 0
    dialect = conn.dialect
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        if dialect.name == "postgresql":
            cursor.execute(_PG_INSERT_NEW, [list(c) for c in zip(*rows, strict=True)])
        else:
            sql = _SQLITE_INSERT_NEW.get(dialect)
            if sql is None:
                compiled = _INSERT_NEW["sqlite"].compile(dialect=dialect)
                if tuple(compiled.positiontup or ()) != COLUMNS:
                    raise RuntimeError(f"outbox insert binds {compiled.positiontup}")
                sql = _SQLITE_INSERT_NEW[dialect] = compiled.string
            cursor.executemany(sql, rows)
        return max(cursor.rowcount, 0)  # type: ignore[no-any-return]
    finally:
        cursor.close()


_CANCEL_CHASING = (
    _outbox.update()
    .where(
        _outbox.c.item_id == sa.bindparam("b_item_id"),
        _outbox.c.status == PENDING,
        _outbox.c.kind.in_([k.value for k in CHASING]),
    )
    .values(status=DeliveryStatus.CANCELLED.value)
)


def cancel_chasing(conn: sa.Connection, item_id: int) -> None:
    """Cancel the reminders, chases and escalations of ``item_id`` not yet sent.

    Called when the item moves on or its due date changes: what was decided for the old
    state or date no longer applies.
    """
    conn.execute(_CANCEL_CHASING, {"b_item_id": item_id})


def record_unreachable(
    conn: sa.Connection, rows: Sequence[dict[str, Any]], now: dt.datetime
) -> int:
    """Record notifications that nobody is reachable for; return how many were new.

    Each row (``dedupe_key``, ``item_id``, ``kind``, ``template``, ``role``, ``context``) is
    written once under its dedupe key, already ``failed`` (never sent, never claimed), to
    ``nobody:ROLE`` with the reason as its error: what was decided is kept, and the daily
    summary and ``unreachable_since`` tell the board which role had nobody for which items.
    """
    if not rows:
        return 0
    insert = (pg_insert if conn.dialect.name == "postgresql" else sqlite_insert)(_outbox)
    values = [
        {
            "dedupe_key": r["dedupe_key"],
            "item_id": r["item_id"],
            "kind": r["kind"],
            "template": r["template"],
            "recipient": NOBODY + r["role"],
            "context": r["context"],
            "status": DeliveryStatus.FAILED.value,
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
            "failed_at": now,
            "last_error": f"nobody reachable for {r['role']!r}: every holder is failing or "
            "absent without a deputy, and so is every business manager",
        }
        for r in rows
    ]
    new = 0
    for value in values:  # one at a time: the driver's row count then says what was new
        new += conn.execute(
            insert.values(value).on_conflict_do_nothing(index_elements=["dedupe_key"])
        ).rowcount
    return new


_UNREACHABLE = (
    sa.select(_outbox.c.recipient, _outbox.c.item_id, _outbox.c.context, _outbox.c.failed_at)
    .where(
        _outbox.c.status == DeliveryStatus.FAILED.value,
        _outbox.c.recipient.startswith(NOBODY, autoescape=True),
    )
    .order_by(_outbox.c.id)
)


def unreachable_since(conn: sa.Connection, since: dt.datetime | None = None) -> list[Any]:
    """Notifications recorded as having nobody reachable (at or after ``since``), oldest first.

    At, too: the sweep records them after the day's summary in the same sweep, so those of
    the sweep that last summarised carry its time. Each row: ``recipient`` (``nobody:ROLE``),
    ``item_id``, ``context`` (with the item's ``key``), ``failed_at``.
    """
    query = _UNREACHABLE if since is None else _UNREACHABLE.where(_outbox.c.failed_at >= since)
    return list(conn.execute(query).all())


def failed_since(conn: sa.Connection, since: dt.datetime, limit: int = 200) -> list[Any]:
    """Deliveries that failed after ``since`` (not failure summaries, not notifications
    nobody was reachable for: see ``unreachable_since``), oldest first."""
    return list(
        conn.execute(
            sa.select(_outbox.c.kind, _outbox.c.recipient, _outbox.c.context, _outbox.c.last_error)
            .where(
                _outbox.c.status == DeliveryStatus.FAILED.value,
                _outbox.c.failed_at > since,
                _outbox.c.kind != Kind.FAILURES.value,
                ~_outbox.c.recipient.startswith(NOBODY, autoescape=True),
            )
            .order_by(_outbox.c.id)
            .limit(limit)
        ).all()
    )


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


def claim(db: Database, now: dt.datetime, owner: str, limit: int, lease: dt.timedelta) -> list[Any]:
    """Claim up to ``limit`` rows for ``owner`` until ``now + lease``; return them.

    A row that goes into a digest (``context.digest``) brings every claimable row of the
    same kind and recipient with it, past ``limit`` if need be, so that the recipient's
    digest of that kind is one message listing all of them.
    """
    claimable = sa.or_(
        sa.and_(_outbox.c.status == PENDING, _outbox.c.next_attempt_at <= now),
        sa.and_(_outbox.c.status == SENDING, _outbox.c.lease_until < now),
    )
    ids = sa.select(_outbox.c.id).where(claimable).order_by(_outbox.c.id).limit(limit)
    with db.write() as conn:
        if not db.is_sqlite:
            ids = ids.with_for_update(skip_locked=True)
        chosen = list(conn.execute(ids).scalars())
        if not chosen:
            return []
        rows = _take(conn, chosen, owner, now + lease)
        digests = {(r.kind, r.recipient) for r in rows if (r.context or {}).get("digest")}
        if digests:  # the rest of each digest, claimable but past the limit
            taken = set(chosen)
            mates = [i for i in _digest_mates(conn, db, claimable, digests) if i not in taken]
            if mates:
                rows = sorted([*rows, *_take(conn, mates, owner, now + lease)], key=lambda r: r.id)
        return rows


def _take(conn: sa.Connection, ids: list[int], owner: str, until: dt.datetime) -> list[Any]:
    """Mark rows ``ids`` as being sent by ``owner`` until ``until``; return them."""
    conn.execute(
        _outbox.update()
        .where(_outbox.c.id.in_(ids))
        .values(
            status=SENDING,
            lease_owner=owner,
            lease_until=until,
            attempts=_outbox.c.attempts + 1,
        )
    )
    return list(conn.execute(_CLAIMED.where(_outbox.c.id.in_(ids))).all())


def _digest_mates(
    conn: sa.Connection, db: Database, claimable: Any, digests: set[tuple[str, str]]
) -> list[int]:
    """The claimable rows of each (kind, recipient) in ``digests``."""
    kinds = sorted({k for k, _ in digests})
    recipients = sorted({r for _, r in digests})
    query = sa.select(_outbox.c.id, _outbox.c.kind, _outbox.c.recipient).where(
        claimable, _outbox.c.kind.in_(kinds), _outbox.c.recipient.in_(recipients)
    )
    if not db.is_sqlite:
        query = query.with_for_update(skip_locked=True)
    return [r.id for r in conn.execute(query) if (r.kind, r.recipient) in digests]


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
        "status": DeliveryStatus.SENT.value,
        "sent_at": sa.bindparam("b_now", type_=_outbox.c.sent_at.type),
        "message_id": sa.bindparam("b_message_id", type_=_outbox.c.message_id.type),
    },
    Result.FAILED: {
        "status": DeliveryStatus.FAILED.value,
        "failed_at": sa.bindparam("b_now", type_=_outbox.c.failed_at.type),
    },
    Result.RETRY: {
        "status": PENDING,
        "next_attempt_at": sa.bindparam("b_retry_at", type_=_outbox.c.next_attempt_at.type),
    },
}
_SETTLE = {
    result: _outbox.update()
    .where(
        _outbox.c.id == sa.bindparam("b_id"),
        _outbox.c.lease_owner == sa.bindparam("b_owner"),
        _outbox.c.status == SENDING,
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
_ATTEMPTS = 5


def settle(
    db: Database,
    rows: Sequence[Any],
    outcomes: Sequence[Outcome],
    owner: str,
    now: dt.datetime,
) -> None:
    """Record every outcome (only for rows this owner still holds) and the history events.

    One transaction, a handful of statements whatever the number of rows: the rows this
    owner still holds are read (and locked, on PostgreSQL), each kind of result is one
    ``executemany``, and the events of every item are chained in Python and written with
    one more (``engine.history.append_many``).
    """
    if not outcomes:
        return
    by_id = {r.id: r for r in rows}
    with db.write() as conn:
        held: set[int] = set()
        ids = sorted({o.row_id for o in outcomes})
        for start in range(0, len(ids), _SETTLE_BATCH):
            mine = (
                sa.select(_outbox.c.id)
                .where(
                    _outbox.c.id.in_(ids[start : start + _SETTLE_BATCH]),
                    _outbox.c.lease_owner == owner,
                    _outbox.c.status == SENDING,
                )
                .order_by(_outbox.c.id)
            )
            if not db.is_sqlite:  # no other dispatcher may reclaim them meanwhile
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
                execute_many(conn, _SETTLE[result], shared, _SETTLE_VALUES[result], part)
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
                history.append_many(
                    conn, [_entry(row, o) for row, o in events], at=now, actor=ACTOR
                )
            return
        except (IntegrityError, ChainMoved):
            if attempt == _ATTEMPTS - 1:
                raise
        except sa.exc.OperationalError as exc:  # PostgreSQL: two settles crossed (deadlock)
            if not is_race(exc) or attempt == _ATTEMPTS - 1:
                raise


def _entry(row: Any, outcome: Outcome) -> history.Entry:
    """The ``notified`` / ``notification_failed`` event of one settled row."""
    return history.Entry(
        item_id=row.item_id,
        trigger="notified" if outcome.result is Result.SENT else "notification_failed",
        data={
            "kind": row.kind,
            "recipient": row.recipient,
            "template": row.template,
            "template_version": outcome.template_version,
            "status": outcome.result.value,
            "message_id": outcome.message_id,
            "error": outcome.error,
            "dedupe_key": row.dedupe_key,
        },
    )


@dataclass(frozen=True, kw_only=True)
class Delivery:
    """One outbox row as the business manager's outbox page lists it."""

    id: int
    item_id: int | None
    kind: str
    template: str
    recipient: str
    status: str
    attempts: int
    created_at: dt.datetime
    next_attempt_at: dt.datetime
    sent_at: dt.datetime | None
    failed_at: dt.datetime | None
    last_error: str | None
    context: dict[str, Any]


_LISTED = sa.select(
    _outbox.c.id,
    _outbox.c.item_id,
    _outbox.c.kind,
    _outbox.c.template,
    _outbox.c.recipient,
    _outbox.c.status,
    _outbox.c.attempts,
    _outbox.c.created_at,
    _outbox.c.next_attempt_at,
    _outbox.c.sent_at,
    _outbox.c.failed_at,
    _outbox.c.last_error,
    _outbox.c.context,
)


def deliveries(
    conn: sa.Connection, status: DeliveryStatus | None = None, limit: int = 200
) -> list[Delivery]:
    """The newest ``limit`` rows (of ``status`` when given), newest first."""
    query = _LISTED.order_by(_outbox.c.id.desc()).limit(limit)
    if status is not None:
        query = query.where(_outbox.c.status == status.value)
    return [Delivery(**r._asdict()) for r in conn.execute(query)]


def counts(conn: sa.Connection) -> dict[DeliveryStatus, int]:
    """How many rows are in each status."""
    found: dict[str, int] = {
        r.status: r.n
        for r in conn.execute(
            sa.select(_outbox.c.status, sa.func.count().label("n")).group_by(_outbox.c.status)
        )
    }
    return {s: int(found.get(s.value, 0)) for s in DeliveryStatus}


RETRIED = "notification_retried"


def retry(db: Database, row_id: int, *, by: str, now: dt.datetime) -> bool:
    """Send a failed row again: back to ``pending``, due ``now``, its attempts counted afresh.

    Its last error stays until the next attempt settles it. When the row is about an item, an
    event in the item's history says who asked. Returns False (and changes nothing) when there
    is no such row or it has not failed (sent, pending, or retried meanwhile by someone else).
    """
    with db.write() as conn:
        done = conn.execute(
            _outbox.update()
            .where(_outbox.c.id == row_id, _outbox.c.status == DeliveryStatus.FAILED.value)
            .values(status=PENDING, next_attempt_at=now, attempts=0, failed_at=None)
            .returning(_outbox.c.item_id, _outbox.c.kind, _outbox.c.recipient)
        ).one_or_none()
        if done is None:
            return False
        if done.item_id is not None:
            history.note(
                conn,
                item_id=done.item_id,
                at=now,
                actor=by,
                trigger=RETRIED,
                data={"kind": done.kind, "recipient": done.recipient, "outbox_id": row_id},
            )
        return True
