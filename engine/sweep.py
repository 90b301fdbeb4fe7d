"""The sweep: due deadlines -> outbox rows, each exactly once.

``run_once(services, now)`` reads only items whose ``next_attention_at`` has passed (an
indexed column that ``fire`` keeps current), asks each item's deadline plan what is due
at ``now``, and inserts one outbox row per notification and recipient under a unique
dedupe key (kind, item, state entry and due date, step, recipient) with
``ON CONFLICT DO NOTHING``. Two sweeps at once, a repeated sweep, a crash or downtime
therefore never send anything twice; after downtime only the latest chase is sent.
On PostgreSQL concurrent sweepers split the due items with ``FOR UPDATE SKIP LOCKED``.
The scheduler only calls this; correctness never depends on it.

Cost. The sweep runs every few minutes and usually finds nothing, so it first sends one
statement outside any transaction (on SQLite through a connection each thread keeps for
it): is any item due, and is the day's failure check due (``sweep_state``, one row)? Only
when one of them is does it open the write transaction, read the due items again there
(locking them on PostgreSQL) and decide. Items created together share their state, due
date and state entry, so their plans, what is due and when to look next are worked out
once per sweep; recipients once per target list and agency. The statements are compiled
once per dialect and sent to the driver with values it can bind as they are. Outbox rows
and ``next_attention_at`` go in with one ``executemany`` each on SQLite (under a larger
page cache for the transaction) and with one statement over ``unnest`` of arrays on
PostgreSQL; the driver's row count says how many outbox rows were new.

Failed deliveries are summarised for the business manager once a day: the first sweep
of each local day (kept in ``sweep_state``, so every process sees it) lists what failed
since the previous check, and at least in the last 24 hours.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import weakref
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.sql.compiler import SQLCompiler

from engine import contacts, deadlines, outbox
from engine.calendar import Calendar
from engine.contacts import Directory, Recipient
from engine.items import item_key
from engine.services import Services
from engine.spec import WorkflowSpec
from engine.store.db import Database
from engine.store.tables import Item, Recommendation, SweepState

_item = Item.__table__  # type: ignore[attr-defined]
_rec = Recommendation.__table__  # type: ignore[attr-defined]
_state = SweepState.__table__  # type: ignore[attr-defined]

DUE_ITEMS = (  # items needing attention by :now (the forecast passes its horizon)
    sa.select(
        _item.c.id,
        _item.c.state,
        _item.c.version,
        _item.c.workflow_version_id,
        _item.c.agency_id,
        _item.c.due,
        _item.c.entered_at,
        _item.c.entered_seq,
        _rec.c.review_id,
        _rec.c.ref,
    )
    .join(_rec, _rec.c.id == _item.c.recommendation_id)
    .where(_item.c.next_attention_at <= sa.bindparam("now"))
    .order_by(_item.c.next_attention_at)
)
_DUE_LIMITED = DUE_ITEMS.limit(sa.bindparam("limit", type_=sa.Integer))
_DUE_LOCKED = _DUE_LIMITED.with_for_update(skip_locked=True, of=_item)
# one row: is anything due, and is the day's failure check due (no sweep_state row yet, or
# its next check has come)? Both are index lookups; nothing due costs this one statement.
# (On PostgreSQL an EXISTS over "next_attention_at <= $1" gets a sequential scan once the
# statement is prepared with a generic plan; min() is always the first index entry.)
PROBE = sa.select(  # min() reads one end of the index, whatever plan a generic 'now' gets
    (
        sa.select(sa.func.min(_item.c.next_attention_at)).scalar_subquery() <= sa.bindparam("now")
    ).label("items_due"),
    sa.not_(sa.exists().where(_state.c.failures_next_check_at > sa.bindparam("now"))).label(
        "failures_due"
    ),
)
_SET_NEXT = (
    _item.update()
    .where(_item.c.id == sa.bindparam("b_id"), _item.c.version == sa.bindparam("b_version"))
    .values(next_attention_at=sa.bindparam("b_next"))
)
_PG_SET_NEXT = (
    "UPDATE item SET next_attention_at = m.next_at "
    "FROM unnest(%b::integer[], %b::integer[], %b::timestamp[]) AS m(id, version, next_at) "
    "WHERE item.id = m.id AND item.version = m.version"
)
_STATE_ID = 1
_READ_STATE = sa.select(_state.c.failures_checked_at, _state.c.failures_next_check_at).where(
    _state.c.id == _STATE_ID
)


@dataclass
class SweepReport:
    """What one sweep decided."""

    now: dt.datetime
    items: int = 0
    queued: int = 0
    decided: list[dict[str, Any]] = field(default_factory=list)


# --- statements, compiled once per dialect -----------------------------------------------


@dataclass(frozen=True)
class _Compiled:
    """A statement's SQL text and how to lay out its values for the driver."""

    sql: str
    order: tuple[str, ...] | None  # positional drivers: bind names in order
    fixed: dict[str, Any]  # values SQLAlchemy supplies itself (e.g. SQLite's OFFSET 0)

    @classmethod
    def of(cls, statement: sa.ClauseElement, dialect: sa.Dialect) -> _Compiled:
        compiled = statement.compile(dialect=dialect)
        assert isinstance(compiled, SQLCompiler)
        order = tuple(compiled.positiontup or ()) if compiled.positional else None
        fixed = {k: v for k, v in compiled.params.items() if v is not None}
        return cls(compiled.string, order, fixed)

    def params(self, values: dict[str, Any]) -> Any:
        if self.order is None:
            return {**self.fixed, **values} if self.fixed else values
        return tuple(values[n] if n in values else self.fixed[n] for n in self.order)

    def params_now(self, bound_now: Any) -> Any:
        """The values of a statement whose only parameter is ``now`` (the probe)."""
        if self.order is None:
            return {"now": bound_now}
        return (bound_now,) * len(self.order)


def _identity(value: Any) -> Any:
    return value


def _binder(type_: Any, dialect: sa.Dialect) -> Callable[[Any], Any]:
    process = type_.dialect_impl(dialect).bind_processor(dialect)
    return process or _identity


def _sqlite_time(value: dt.datetime) -> str:
    """What UTCDateTime binds on SQLite (naive UTC, SQLAlchemy's text), a few times faster."""
    if value.tzinfo is None:
        raise ValueError("naive datetime given to the store; pass an aware 'now'")
    return value.astimezone(dt.UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


def _time_binder(dialect: sa.Dialect) -> Callable[[Any], Any]:
    """The driver's value of an aware datetime for a UTCDateTime column."""
    process = _binder(_item.c.next_attention_at.type, dialect)
    if dialect.name == "sqlite":
        samples = [
            dt.datetime(2011, 3, 27, 1, 30, 0, 5, tzinfo=ZoneInfo("Europe/London")),
            dt.datetime(2026, 10, 25, 1, 59, 59, 999_999, tzinfo=dt.UTC),
            dt.datetime(1999, 12, 31, 23, 0, tzinfo=dt.timezone(dt.timedelta(hours=-5))),
        ]
        if all(_sqlite_time(t) == process(t) for t in samples):
            return _sqlite_time  # None never reaches it: the sweep binds only real times
    return process


def _reader(type_: Any, dialect: sa.Dialect) -> Callable[[Any], Any]:
    process = type_.dialect_impl(dialect).result_processor(dialect, None)
    return process or _identity


@dataclass(frozen=True)
class _Sql:
    """Everything the sweep sends, for one dialect."""

    probe: _Compiled
    due: _Compiled  # in the write transaction (FOR UPDATE SKIP LOCKED on PostgreSQL)
    set_next: _Compiled
    arrays: bool  # PostgreSQL: write many rows in one statement over unnest(arrays)
    time: Callable[[Any], Any]  # aware datetime -> the driver's value for UTCDateTime
    date_of: Callable[[Any], Any]  # the driver's value of item.due -> date
    time_of: Callable[[Any], Any]  # the driver's value of a UTCDateTime -> aware datetime


_SQL: dict[tuple[str, str, str], _Sql] = {}


def _sql_for(dialect: sa.Dialect) -> _Sql:
    key = (dialect.name, dialect.driver, dialect.paramstyle)
    found = _SQL.get(key)
    if found is None:
        sqlite = dialect.name == "sqlite"
        found = _SQL[key] = _Sql(
            probe=_Compiled.of(PROBE, dialect),
            due=_Compiled.of(_DUE_LIMITED if sqlite else _DUE_LOCKED, dialect),
            set_next=_Compiled.of(_SET_NEXT, dialect),
            arrays=dialect.name == "postgresql",
            time=_time_binder(dialect),
            date_of=_reader(_item.c.due.type, dialect),
            time_of=_reader(_item.c.entered_at.type, dialect),
        )
        if sqlite:  # _set_next lays out its rows in this order
            assert found.set_next.order == ("b_next", "b_id", "b_version"), found.set_next.order
    return found


def probe_sql(dialect: sa.Dialect) -> str:
    """The text of the statement every sweep sends first (for benchmarks and diagnostics)."""
    return _sql_for(dialect).probe.sql


def due_sql(dialect: sa.Dialect) -> str:
    """The text of the due-items query the sweep sends in its write transaction."""
    return _sql_for(dialect).due.sql


# --- the sweep ---------------------------------------------------------------------------


def run_once(
    services: Services, now: dt.datetime, *, dry_run: bool = False, limit: int = 50_000
) -> SweepReport:
    """Queue every notification due at ``now``; return what was decided.

    With ``dry_run`` the decisions are reported and nothing is written.

    Raises:
        ValueError: ``now`` is naive.
    """
    if now.tzinfo is None:
        raise ValueError("sweep needs an aware 'now'")
    db = services.db
    sql = _sql_for(db.engine.dialect)
    bound_now = sql.time(now)
    report = SweepReport(now=now)
    items_due, failures_due = _probe(db, sql, bound_now)
    if dry_run:
        failures_due = False
    if not items_due and not failures_due:
        return report
    calendar = services.calendar
    with db.write() as conn:
        if failures_due:
            report.queued += _summarise_failures(conn, db.is_sqlite, sql, now, calendar)
        if not items_due:
            return report
        with _page_cache(conn, db.is_sqlite):
            rows = conn.exec_driver_sql(
                sql.due.sql, sql.due.params({"now": bound_now, "limit": limit})
            ).all()
            if not rows:
                return report
            decided, params, moves = _decide(conn, services, sql, rows, now)
            report.items = len(rows)
            report.decided = decided
            if dry_run:
                conn.rollback()
                return report
            if decided:
                report.queued += outbox.enqueue_new(conn, params)
            _set_next(conn, sql, moves)
    return report


_SWEEP_CACHE_KIB = 65_536


@contextmanager
def _page_cache(conn: sa.Connection, is_sqlite: bool) -> Iterator[None]:
    """SQLite: a 64 MiB page cache while the sweep writes, the connection's own after.

    A sweep of thousands of due items dirties a page of ``item`` per item plus the outbox
    and its indexes; with SQLite's default 2 MiB cache those pages spill to the WAL before
    the commit, some of them more than once.
    """
    if not is_sqlite:
        yield
        return
    driver = conn.connection.driver_connection
    (previous,) = driver.execute("PRAGMA cache_size").fetchone()  # type: ignore[union-attr]
    driver.execute(f"PRAGMA cache_size=-{_SWEEP_CACHE_KIB}")  # type: ignore[union-attr]
    try:
        yield
    finally:
        driver.execute(f"PRAGMA cache_size={int(previous)}")  # type: ignore[union-attr]


def _probe(db: Database, sql: _Sql, bound_now: Any) -> tuple[bool, bool]:
    """(items due, failure check due), from one statement sent outside any transaction."""
    params = sql.probe.params_now(bound_now)
    if db.is_sqlite:
        driver = _probe_connection(db.engine)
        try:  # autocommit; fetchall ends the statement, so no read transaction stays open
            (row,) = driver.execute(sql.probe.sql, params).fetchall()
        except BaseException:
            _forget_probe_connection(db.engine)
            raise
        return bool(row[0]), bool(row[1])
    pooled = db.engine.raw_connection()
    try:  # autocommit: one round trip, no BEGIN and no ROLLBACK
        conn = pooled.driver_connection
        was = conn.autocommit  # type: ignore[union-attr]
        conn.autocommit = True  # type: ignore[union-attr]
        try:
            found = conn.execute(sql.probe.sql, params).fetchone()  # type: ignore[union-attr]
        finally:
            conn.autocommit = was  # type: ignore[union-attr]
    finally:
        pooled.close()
    assert found is not None
    return bool(found[0]), bool(found[1])


class _ProbeConnection(threading.local):
    """This thread's SQLite connection for the probe: (engine generation, connection)."""

    held: tuple[int, Any] | None = None


@dataclass
class _ProbeConnections:
    """Per engine: each thread's probe connection, and every one opened, to close on dispose.

    The nothing-due sweep is one ~10 µs SQLite query; taking a connection from the pool and
    giving it back would cost as much again. So each thread keeps one autocommit connection
    (opened through the engine, with its pragmas, and detached from the pool) for the probe.
    ``Engine.dispose()`` closes them; the next probe opens a new one.
    """

    local: _ProbeConnection = field(default_factory=_ProbeConnection)
    generation: int = 0
    opened: list[Any] = field(default_factory=list)


_PROBES: dict[int, _ProbeConnections] = {}  # by id(engine); an entry goes with its engine
_PROBES_LOCK = threading.Lock()


def _probe_connection(engine: sa.Engine) -> Any:
    probes = _PROBES.get(id(engine))
    if probes is None:
        with _PROBES_LOCK:
            probes = _PROBES.get(id(engine))
            if probes is None:
                probes = _PROBES[id(engine)] = _ProbeConnections()
                weakref.finalize(engine, _PROBES.pop, id(engine), None)
                sa.event.listen(engine, "engine_disposed", _close_probe_connections)
    held = probes.local.held
    if held is not None and held[0] == probes.generation:
        return held[1]
    pooled = engine.raw_connection()
    driver = pooled.driver_connection
    pooled.detach()  # ours now: the pool neither counts nor resets it
    with _PROBES_LOCK:
        probes.opened.append((pooled, driver))
        probes.local.held = (probes.generation, driver)
    return driver


def _forget_probe_connection(engine: sa.Engine) -> None:
    probes = _PROBES.get(id(engine))
    if probes is not None and probes.local.held is not None:
        driver = probes.local.held[1]
        probes.local.held = None
        with _PROBES_LOCK:
            for opened in [o for o in probes.opened if o[1] is driver]:
                probes.opened.remove(opened)
                opened[0].close()


def _close_probe_connections(engine: sa.Engine) -> None:
    probes = _PROBES.get(id(engine))
    if probes is None:
        return
    with _PROBES_LOCK:
        probes.generation += 1
        opened, probes.opened = probes.opened, []
    for pooled, _driver in opened:
        pooled.close()


@dataclass(frozen=True)
class _Slot:
    """One outbox row a decision calls for, less what depends on the item."""

    pre: str  # dedupe key up to the item id: "kind:"
    post: str  # dedupe key after it: ":cycle:step:email"
    kind: str
    template: str
    email: str
    context: dict[str, Any]  # without "key", which comes first
    tail: str  # the JSON of ``context`` after the "key" member, closing brace included
    send: dt.datetime
    bound_send: Any


@dataclass(frozen=True)
class _Decision:
    """What one distinct (workflow version, state, due, state entry) calls for at ``now``."""

    dues: tuple[tuple[deadlines.Due, deadlines.Plan, str, int, dt.datetime], ...]
    next_at: Any  # the driver's value for next_attention_at


def _decide(
    conn: sa.Connection, services: Services, sql: _Sql, rows: Sequence[Any], now: dt.datetime
) -> tuple[list[dict[str, Any]], list[Any], list[Any]]:
    """The outbox rows: as dicts for the report, and as the driver binds them (in
    ``outbox.COLUMNS`` order); and the moves: (item id, version, next_attention_at)."""
    calendar = services.calendar
    directory = Directory.load(conn)
    bound_now = sql.time(now)
    office = calendar.next_office_time(now)
    times = {now: bound_now, office: sql.time(office)}
    decisions: dict[tuple[Any, ...], _Decision] = {}
    specs: dict[int, WorkflowSpec] = {}
    slots: dict[tuple[Any, ...], list[_Slot]] = {}
    decided: list[dict[str, Any]] = []
    params: list[Any] = []
    moves: list[Any] = []
    dumps = json.dumps
    for item_id, state, version, wv_id, agency, due, entered_at, seq, review_id, ref in rows:
        memo = (wv_id, state, due, entered_at, seq)
        decision = decisions.get(memo)
        if decision is None:
            spec = specs.get(wv_id)
            if spec is None:
                spec = specs[wv_id] = services.specs.get(conn, wv_id)
            decision = decisions[memo] = _decision(
                spec.states[state],
                sql.date_of(due),
                sql.time_of(entered_at),
                seq,
                now,
                office,
                calendar,
                sql,
            )
        if decision.dues:
            key = item_key(review_id, ref)
            head = '{"key": ' + dumps(key)
            for number, (d, plan, day, overdue, send) in enumerate(decision.dues):
                slot_key = (memo, number, agency)
                found = slots.get(slot_key)
                if found is None:
                    who = directory.resolve(specs[wv_id], d.targets, agency, d.step)
                    found = slots[slot_key] = [
                        _slot(d, plan, r, state, day, overdue, send, times[send]) for r in who
                    ]
                for slot in found:
                    dedupe_key = slot.pre + str(item_id) + slot.post
                    values = (
                        dedupe_key,
                        item_id,
                        slot.kind,
                        slot.template,
                        slot.email,
                        head + slot.tail,
                        outbox.PENDING,
                        0,
                        slot.bound_send,
                        bound_now,
                    )
                    params.append(values)
                    decided.append(
                        {
                            "dedupe_key": dedupe_key,
                            "item_id": item_id,
                            "kind": slot.kind,
                            "template": slot.template,
                            "recipient": slot.email,
                            "context": {"key": key, **slot.context},
                            "status": outbox.PENDING,
                            "attempts": 0,
                            "next_attempt_at": slot.send,
                            "created_at": now,
                        }
                    )
        moves.append((item_id, version, decision.next_at))
    return decided, params, moves


def _slot(
    d: deadlines.Due,
    plan: deadlines.Plan,
    r: Recipient,
    state: str,
    day: str,
    overdue: int,
    send: dt.datetime,
    bound_send: Any,
) -> _Slot:
    context = {
        "state": state,
        "step": d.step,
        "via": r.via,
        "fallback": r.fallback,
        "due": day,
        "days_overdue": overdue,
        "digest": plan.digest,
        "urgent": d.urgent,
    }
    # json.dumps({"key": k, **context}) == '{"key": ' + json.dumps(k) + ", " + this without "{"
    tail = ", " + json.dumps(context)[1:]
    return _Slot(
        pre=f"{d.kind}:",
        post=f":{plan.cycle}:{d.step}:{r.email}",
        kind=d.kind,
        template=d.template,
        email=r.email,
        context=context,
        tail=tail,
        send=send,
        bound_send=bound_send,
    )


def _decision(
    state: Any,
    due: dt.date | None,
    entered_at: dt.datetime,
    entered_seq: int,
    now: dt.datetime,
    office: dt.datetime,
    calendar: Calendar,
    sql: _Sql,
) -> _Decision:
    plan = deadlines.plan(
        state, item_due=due, entered_at=entered_at, entered_seq=entered_seq, calendar=calendar
    )
    if plan is None:
        return _Decision((), None)
    due_day = calendar.local(plan.due_at - dt.timedelta(microseconds=1)).date()
    overdue = calendar.days_overdue(due_day, now)
    dues = tuple(
        (d, plan, due_day.isoformat(), overdue, now if d.urgent else office)
        for d in deadlines.due_now(plan, now, calendar)
    )
    after = deadlines.next_after(plan, now, calendar)
    return _Decision(dues, None if after is None else sql.time(after))


def _set_next(conn: sa.Connection, sql: _Sql, moves: list[tuple[Any, Any, Any]]) -> None:
    """Set each item's next_attention_at, if its version is still the one read."""
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        if sql.arrays:
            cursor.execute(_PG_SET_NEXT, [list(c) for c in zip(*moves, strict=True)])
        else:
            cursor.executemany(sql.set_next.sql, [(n, i, v) for i, v, n in moves])
    finally:
        cursor.close()


# --- the daily failure summary -----------------------------------------------------------


def _summarise_failures(
    conn: sa.Connection, is_sqlite: bool, sql: _Sql, now: dt.datetime, calendar: Calendar
) -> int:
    """The day's first sweep: queue each business manager's summary; return rows queued.

    Checked again under the write lock (SQLite's write transaction, PostgreSQL's row lock),
    so of several sweepers only the first does the work; the dedupe key would stop a
    second summary anyway.
    """
    query = _READ_STATE if is_sqlite else _READ_STATE.with_for_update()
    state = conn.execute(query).first()
    if state is not None and state.failures_next_check_at > now:
        return 0
    since = now - dt.timedelta(days=1)
    if state is not None:
        since = min(since, state.failures_checked_at)
    summaries = _failure_summaries(conn, now, calendar, since)
    # JSON as SQLAlchemy's JSON type writes it with the default serializer (json.dumps)
    bind = {"context": json.dumps, "next_attempt_at": sql.time, "created_at": sql.time}
    params = [
        tuple(bind[c](r[c]) if c in bind else r[c] for c in outbox.COLUMNS) for r in summaries
    ]
    queued = outbox.enqueue_new(conn, params)
    next_check = calendar.start_of_day(calendar.local(now).date() + dt.timedelta(days=1))
    values = {"failures_checked_at": now, "failures_next_check_at": next_check}
    upsert = (sqlite_insert if is_sqlite else pg_insert)(_state).values(id=_STATE_ID, **values)
    conn.execute(upsert.on_conflict_do_update(index_elements=["id"], set_=values))
    return queued


def _failure_summaries(
    conn: sa.Connection, now: dt.datetime, calendar: Calendar, since: dt.datetime
) -> list[dict[str, Any]]:
    """Tell each business manager which deliveries failed after ``since``."""
    failed = outbox.failed_since(conn, since)
    if not failed:
        return []
    managers = contacts.fallback_addresses(conn)
    listed = [
        {
            "ref": (f.context.get("key") or "/").split("/", 1)[1],
            "review_ref": (f.context.get("key") or "/").split("/", 1)[0],
            "kind": f.kind,
            "recipient": f.recipient,
            "error": (f.last_error or "unknown")[:200],
        }
        for f in failed
    ]
    day = calendar.local(now).date().isoformat()
    office = calendar.next_office_time(now)
    return [
        outbox.Notice(
            dedupe_key=f"failures:{day}:{email}",
            item_id=None,
            kind=outbox.Kind.FAILURES,
            template="failures",
            recipient=email,
            context={"count": len(listed), "failures": listed},
            send_at=office,
        ).row(now)
        for email in managers
    ]
