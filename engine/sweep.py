"""The sweep: due deadlines -> outbox rows, each exactly once.

``run_once(services, now)`` reads only items whose ``next_attention_at`` has passed (an
indexed column that ``fire`` keeps current), asks each item's deadline plan what is due
at ``now``, and inserts one outbox row per notification and recipient under a unique
dedupe key (kind, item, state entry and due date, step, recipient) with
``ON CONFLICT DO NOTHING``. Two sweeps at once, a repeated sweep, a crash or downtime
therefore never send anything twice; after downtime or an import only the latest chase and
the highest escalation step reached are sent (``engine.deadlines``).

Digests. Where an item's deadline rule gathers a kind into digests (``digest:`` in the
workflow), its rows say so in their context and the dispatcher sends one message per
recipient and kind listing every item (``notifications.compose``); each row is still its
own (item, step, recipient), recorded as sent once. A sweep gives all of a recipient's
digest rows of one kind the earliest send time among them, so an urgent step brings the
rest of that digest with it rather than splitting it in two.

Nobody reachable. A notification whose target has nobody reachable, the business manager's
fallback included (``Directory.unreachable``), is recorded once as failed to ``nobody:ROLE``
(``outbox.record_unreachable``) for the daily summary (``engine.failures``).
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

Failed deliveries are summarised for the business manager once a day (``engine.failures``),
and with that daily check the ``absent`` flag of contacts whose absence has dates is set
from them (``engine.contacts.refresh_absences``: who may act as a deputy); recipients are
resolved for the day's directory, dates included, whatever the flags say;
the probe and its connections are ``engine.probe``; compiling a statement once per dialect
is ``engine.store.compiled``.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from engine import contacts, deadlines, failures, outbox, probe
from engine.calendar import Calendar
from engine.contacts import Directory, Recipient
from engine.items import item_key
from engine.services import Services
from engine.spec import WorkflowSpec
from engine.store.compiled import Compiled, reader, time_binder
from engine.store.tables import Item, Recommendation

_item = Item.__table__  # type: ignore[attr-defined]
_rec = Recommendation.__table__  # type: ignore[attr-defined]

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


@dataclass
class SweepReport:
    """What one sweep decided."""

    now: dt.datetime
    items: int = 0
    queued: int = 0
    decided: list[dict[str, Any]] = field(default_factory=list)
    unreachable: list[dict[str, Any]] = field(default_factory=list)  # nobody to send to


# --- statements, compiled once per dialect -----------------------------------------------


@dataclass(frozen=True)
class _Sql:
    """Everything the sweep sends, for one dialect."""

    probe: Compiled
    due: Compiled  # in the write transaction (FOR UPDATE SKIP LOCKED on PostgreSQL)
    set_next: Compiled
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
            probe=Compiled.of(probe.PROBE, dialect),
            due=Compiled.of(_DUE_LIMITED if sqlite else _DUE_LOCKED, dialect),
            set_next=Compiled.of(_SET_NEXT, dialect),
            arrays=dialect.name == "postgresql",
            time=time_binder(_item.c.next_attention_at.type, dialect),
            date_of=reader(_item.c.due.type, dialect),
            time_of=reader(_item.c.entered_at.type, dialect),
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
    items_due, failures_due = probe.ask(db, sql.probe, bound_now)
    if dry_run:
        failures_due = False
    if not items_due and not failures_due:
        return report
    calendar = services.calendar
    with db.write() as conn:
        if failures_due:  # once a day: absences with dates start and end with it
            contacts.refresh_absences(conn, calendar.local(now).date())
            report.queued += failures.summarise_failures(
                conn, db.is_sqlite, sql.time, now, calendar
            )
        if not items_due:
            return report
        with _page_cache(conn, db.is_sqlite):
            rows = conn.exec_driver_sql(
                sql.due.sql, sql.due.params({"now": bound_now, "limit": limit})
            ).all()
            if not rows:
                return report
            decided, params, moves, unreachable = _decide(conn, services, sql, rows, now)
            report.items = len(rows)
            report.decided = decided
            report.unreachable = unreachable
            if dry_run:
                conn.rollback()
                return report
            if decided:
                report.queued += outbox.enqueue_new(conn, params)
            outbox.record_unreachable(conn, unreachable, now)
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
    digest: bool  # goes into its recipient's digest of its kind


@dataclass(frozen=True)
class _Decision:
    """What one distinct (workflow version, state, due, state entry) calls for at ``now``."""

    dues: tuple[tuple[deadlines.Due, deadlines.Plan, str, dt.datetime], ...]
    next_at: Any  # the driver's value for next_attention_at


def _decide(
    conn: sa.Connection, services: Services, sql: _Sql, rows: Sequence[Any], now: dt.datetime
) -> tuple[list[dict[str, Any]], list[Any], list[Any], list[dict[str, Any]]]:
    """The outbox rows: as dicts for the report, and as the driver binds them (in
    ``outbox.COLUMNS`` order); the moves: (item id, version, next_attention_at); and the
    notifications nobody is reachable for (``outbox.record_unreachable``'s rows)."""
    calendar = services.calendar
    directory = Directory.load(conn, on=calendar.local(now).date())
    bound_now = sql.time(now)
    office = calendar.next_office_time(now)
    times = {now: bound_now, office: sql.time(office)}
    decisions: dict[tuple[Any, ...], _Decision] = {}
    specs: dict[int, WorkflowSpec] = {}
    slots: dict[tuple[Any, ...], tuple[list[_Slot], list[str]]] = {}
    decided: list[dict[str, Any]] = []
    params: list[Any] = []
    moves: list[Any] = []
    unreachable: list[dict[str, Any]] = []
    digested: list[tuple[int, str, str, dt.datetime]] = []  # (row, kind, recipient, send)
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
            for number, (d, plan, day, send) in enumerate(decision.dues):
                slot_key = (memo, number, agency)
                found = slots.get(slot_key)
                if found is None:
                    item_spec = specs[wv_id]
                    up = d.kind == outbox.Kind.ESCALATION
                    who = directory.resolve(item_spec, d.targets, agency, d.step, escalation=up)
                    found = slots[slot_key] = (
                        [_slot(d, plan, r, state, day, send, times[send]) for r in who],
                        directory.unreachable(item_spec, d.targets, agency, d.step, escalation=up),
                    )
                for role in found[1]:
                    unreachable.append(
                        {
                            "dedupe_key": dedupe_key(d, plan, item_id, outbox.NOBODY + role),
                            "item_id": item_id,
                            "kind": d.kind,
                            "template": d.template,
                            "role": role,
                            "context": {"key": key, "state": state, "step": d.step, "due": day},
                        }
                    )
                for slot in found[0]:
                    if slot.digest:
                        digested.append((len(params), slot.kind, slot.email, slot.send))
                    row_key = slot.pre + str(item_id) + slot.post
                    values = (
                        row_key,
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
                            "dedupe_key": row_key,
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
    if digested:
        _send_digests_together(digested, params, decided, times)
    return decided, params, moves, unreachable


def _send_digests_together(
    digested: list[tuple[int, str, str, dt.datetime]],
    params: list[Any],
    decided: list[dict[str, Any]],
    times: dict[dt.datetime, Any],
) -> None:
    """Give each recipient's digest rows of one kind the earliest send time among them."""
    first: dict[tuple[str, str], dt.datetime] = {}
    for _, kind, email, send in digested:
        group = (kind, email)
        if group not in first or send < first[group]:
            first[group] = send
    for index, kind, email, send in digested:
        earliest = first[(kind, email)]
        if earliest != send:
            row = params[index]
            params[index] = (*row[:8], times[earliest], *row[9:])
            decided[index]["next_attempt_at"] = earliest


def dedupe_key(d: deadlines.Due, plan: deadlines.Plan, item_id: int, email: str) -> str:
    """The outbox dedupe key of notification ``d`` of ``plan`` to ``email`` (as ``_slot``
    builds it in two halves around the item id)."""
    return f"{d.kind}:{item_id}:{plan.cycle}:{d.step}:{email}"


def _slot(
    d: deadlines.Due,
    plan: deadlines.Plan,
    r: Recipient,
    state: str,
    day: str,
    send: dt.datetime,
    bound_send: Any,
) -> _Slot:
    # no day count: it depends on the day the email goes, so the composer works it out then
    context = {
        "state": state,
        "step": d.step,
        "via": r.via,
        "fallback": r.fallback,
        "due": day,
        "digest": d.kind in plan.digest,
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
        digest=d.kind in plan.digest,
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
    dues = tuple(
        (d, plan, due_day.isoformat(), now if d.urgent else office)
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
