"""Benchmark: the deadline sweep, ``engine.sweep.run_once``, over 100,000 and 1,000,000 items.

Not a test: it prints figures with their targets beside them. Run it as a script,
``.venv/bin/python bench/sweep.py`` (``--quick`` for 100,000 items only and fewer rounds,
``--no-postgres``, ``--rounds N``, ``--profile`` to add a cProfile of one sweep on SQLite).

Each database is built the way the engine builds one (``migrate.upgrade``, the published
``recommendation`` workflow, the Southend plan and contacts through ``import_files``) and is
then filled in bulk (``executemany`` on SQLite, ``COPY`` on PostgreSQL) with open items of
agency ``southend-lscb``: one recommendation and one item each, a due date, ``entered_at``,
``entered_seq=1`` and the ``next_attention_at`` that ``engine.deadlines`` gives for that due
date. A pool of 4,000 items spread evenly over the ids has due dates around the sweep's
``now`` (Monday 21 March 2011, 10:00): "due", their ``next_attention_at`` is the point the
sweep a day earlier said to look again (<= now); "not due", it is the point the sweep itself
would set (> now). Every other item's first reminder is weeks to years ahead. Items are
never fired here, so their history is not written (``seq=0``, genesis hash): the sweep only
reads items and writes outbox rows and ``next_attention_at``.

Measured, several rounds each, on every database size:

  * the sweep with nothing due (the every-minute case), per call;
  * the sweep with 400 and with 4,000 items due (0.4% of 1,000,000), end to end: the select,
    the deadline plans, the recipients, the outbox inserts and the ``next_attention_at``
    updates, in one transaction;
  * the raw baseline: the due-items SELECT the sweep sends in its write transaction (same
    text, checked), through ``sqlite3`` / ``psycopg``: on its own, and inside a write
    transaction. With nothing due the sweep sends only its probe (one statement outside any
    transaction: the smallest ``next_attention_at`` against now, and whether the day's
    failure check is due) and returns; the raw query finds the same (zero) rows.

Between runs, outside the timing, the outbox is emptied and the pool's ``next_attention_at``
is put back (PostgreSQL then VACUUMs ``item`` and ``outbox``, so dead index entries left by
earlier rounds do not slow later ones). The largest database of each backend also gets a
breakdown of one 4,000-item sweep by phase: it wraps the functions ``run_once`` calls (the SQL
statements, ``deadlines.plan``, ``Directory.resolve``, ``_insert_new`` ...) in timers and
runs it once; the same for the nothing-due sweep.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import gc
import io
import os
import platform
import pstats
import re
import sqlite3
import statistics
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import common
import psycopg
import sqlalchemy as sa
from common import ROOT, WORKFLOW

from engine import deadlines, failures, outbox, probe, sweep
from engine.calendar import Calendar
from engine.contacts import Directory
from engine.hashchain import GENESIS
from engine.services import Services
from engine.spec import State, load_spec_file
from engine.store.db import Database
from engine.sweep import SweepReport, run_once
from notifications.templates import available

PG_URL = os.environ.get("SIGNOFF_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")

IMPORTED_AT = dt.datetime(2011, 1, 10, 9, 0, tzinfo=dt.UTC)  # the plan's import; items entered
NOW = dt.datetime(2011, 3, 21, 10, 0, tzinfo=dt.UTC)  # a Monday morning, GMT
LAST_LOOK = dt.timedelta(days=1)  # the pool's due items were last swept a day before NOW
REVIEW = "southend-iawg-scr-audit-2010"
AGENCY = "southend-lscb"
POOL = 4_000  # items whose due dates are around NOW; 4,000 of 1,000,000 is 0.4%
DUE_COUNTS = (400, 4_000)
LIMIT = 50_000  # run_once's default
CALENDAR = Calendar()  # the default, as in Services: Europe/London, GB-ENG bank holidays

TARGETS = {"idle_ratio": 2.0, "sqlite_ms": 500.0, "postgres_ms": 1000.0}


@dataclass(frozen=True)
class Sizes:
    rounds: int
    items: tuple[int, ...]
    idle_calls: int  # nothing-due sweeps (and raw queries) timed per round


FULL = Sizes(rounds=5, items=(100_000, 1_000_000), idle_calls=200)
QUICK = Sizes(rounds=3, items=(100_000,), idle_calls=100)


# --- the items ---------------------------------------------------------------------------


@dataclass(frozen=True)
class DueProfile:
    """A due date around NOW and the two values of next_attention_at the pool uses for it."""

    due: dt.date
    before: dt.datetime  # set by the previous sweep, a day ago: <= NOW, so the item is due
    after: dt.datetime  # what this sweep sets: > NOW, so the item waits
    kinds: tuple[str, ...]  # what is due at NOW


def due_profiles(state: State) -> list[DueProfile]:
    """Every due date in NOW-70 .. NOW+30 days with something falling due in the last day."""
    out = []
    for days in range(-70, 31):
        due = NOW.date() + dt.timedelta(days=days)
        plan = deadlines.plan(
            state, item_due=due, entered_at=IMPORTED_AT, entered_seq=1, calendar=CALENDAR
        )
        assert plan is not None
        before = deadlines.next_after(plan, NOW - LAST_LOOK, CALENDAR)
        after = deadlines.next_after(plan, NOW, CALENDAR)
        kinds = tuple(d.kind for d in deadlines.due_now(plan, NOW, CALENDAR))
        if before is not None and before <= NOW and after is not None and after > NOW and kinds:
            out.append(DueProfile(due, before, after, kinds))
    return out


def future_profiles(state: State) -> list[tuple[dt.date, dt.datetime]]:
    """Due dates 30 .. 1,029 days after NOW, with next_attention_at as create_item sets it."""
    out = []
    for days in range(30, 1030):
        due = NOW.date() + dt.timedelta(days=days)
        plan = deadlines.plan(
            state, item_due=due, entered_at=IMPORTED_AT, entered_seq=1, calendar=CALENDAR
        )
        at = deadlines.attention(plan, IMPORTED_AT, CALENDAR)
        assert at is not None
        assert at > NOW
        out.append((due, at))
    return out


def stored(t: dt.datetime) -> str:
    """A datetime as the engine's UTCDateTime stores it (naive UTC; SQLAlchemy's SQLite text)."""
    return t.astimezone(dt.UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


@dataclass
class Layout:
    """The bulk rows of one database, and the pool of items whose due state is switched."""

    n: int
    rec_base: int
    item_base: int
    version_id: int
    profiles: list[DueProfile]
    future: list[tuple[dt.date, dt.datetime]]

    @property
    def stride(self) -> int:
        return self.n // POOL

    def pool(self) -> list[tuple[int, DueProfile]]:
        """(item id, profile) of each pool item, in pool order."""
        return [
            (self.item_base + p * self.stride, self.profiles[p % len(self.profiles)])
            for p in range(POOL)
        ]

    def rows(self, start: int, stop: int) -> Iterator[tuple[tuple[Any, ...], tuple[Any, ...]]]:
        """(recommendation, item) rows ``start .. stop-1``; pool items start not due."""
        entered = stored(IMPORTED_AT)
        stride = self.stride
        for j in range(start, stop):
            p, off = divmod(j, stride)
            if off == 0 and p < POOL:
                profile = self.profiles[p % len(self.profiles)]
                due, at = profile.due, profile.after
            else:
                due, at = self.future[j % len(self.future)]
            iso = due.isoformat()
            rec_id = self.rec_base + j
            yield (
                (rec_id, REVIEW, f"B{j:07d}", f"Benchmark recommendation {j}.", f'["{iso}"]')
                + ("[]", "{}"),
                (self.item_base + j, rec_id, AGENCY, self.version_id, "open", 1, 0, GENESIS)
                + (iso, f'["{iso}"]', "{}", entered, 1, stored(at), entered),
            )


REC_COLUMNS = "id, review_id, ref, text, due_dates, themes, source"
ITEM_COLUMNS = (
    "id, recommendation_id, agency_id, workflow_version_id, state, version, seq, last_hash, "
    "due, due_history, actors, entered_at, entered_seq, next_attention_at, updated_at"
)
CHUNK = 50_000


# --- the raw side ------------------------------------------------------------------------

_COLUMNS = (
    "SELECT item.id, item.state, item.version, item.workflow_version_id, item.agency_id, "
    "item.due, item.entered_at, item.entered_seq, recommendation.review_id, recommendation.ref "
    "\nFROM item JOIN recommendation ON recommendation.id = item.recommendation_id \n"
)
# the texts SQLAlchemy renders for engine.sweep's query (checked against what it sends)
SQLITE_DUE = (
    _COLUMNS
    + "WHERE item.next_attention_at <= ? ORDER BY item.next_attention_at\n LIMIT ? OFFSET ?"
)
POSTGRES_DUE = (
    _COLUMNS + "WHERE item.next_attention_at <= %s::TIMESTAMP WITHOUT TIME ZONE "
    "ORDER BY item.next_attention_at \n LIMIT %s::INTEGER FOR UPDATE OF item SKIP LOCKED"
)


class Backend:
    """One database under test: the engine's Services and raw connections to the same data."""

    name: str
    services: Services
    sql: str

    def select(self, in_transaction: bool) -> list[Any]:
        raise NotImplementedError

    def probe(self) -> Any:
        """The sweep's probe through the raw driver, outside any transaction."""
        raise NotImplementedError

    def execute_script(self, statements: list[tuple[str, list[tuple[Any, ...]]]]) -> None:
        raise NotImplementedError

    def after_reset(self) -> None:
        raise NotImplementedError

    def param(self, t: dt.datetime) -> Any:
        raise NotImplementedError

    def load(self, layout: Layout) -> None:
        raise NotImplementedError

    def plan(self) -> str:
        raise NotImplementedError

    def probe_plan(self) -> str:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError


class SqliteBackend(Backend):
    def __init__(self, path: Path) -> None:
        self.name, self.path = "SQLite", path
        self.services = Services(db=Database(f"sqlite:///{path}"), data_dir=path.parent / "data")
        self.sql = SQLITE_DUE
        self.conn: sqlite3.Connection | None = None

    def connect(self) -> None:
        self.conn = common.raw_sqlite(self.path)

    @property
    def raw(self) -> sqlite3.Connection:
        assert self.conn is not None
        return self.conn

    def select(self, in_transaction: bool) -> list[Any]:
        params = (stored(NOW), LIMIT, 0)
        if not in_transaction:
            return self.raw.execute(self.sql, params).fetchall()
        self.raw.execute("BEGIN IMMEDIATE")  # as Database.write() begins on SQLite
        rows = self.raw.execute(self.sql, params).fetchall()
        self.raw.execute("COMMIT")
        return rows

    def execute_script(self, statements: list[tuple[str, list[tuple[Any, ...]]]]) -> None:
        self.raw.execute("BEGIN IMMEDIATE")
        for sql, params in statements:
            self.raw.executemany(sql, params) if params else self.raw.execute(sql)
        self.raw.execute("COMMIT")

    def after_reset(self) -> None:
        # every round starts from an empty WAL, as the first one does
        self.raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def param(self, t: dt.datetime) -> Any:
        return stored(t)

    def load(self, layout: Layout) -> None:
        conn = self.raw
        conn.execute("PRAGMA cache_size=-262144")  # 256 MiB while loading
        for start in range(0, layout.n, CHUNK):
            recs, items = zip(*layout.rows(start, min(start + CHUNK, layout.n)), strict=True)
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany(
                f"INSERT INTO recommendation ({REC_COLUMNS}) VALUES (?{',?' * 6})", recs
            )
            conn.executemany(f"INSERT INTO item ({ITEM_COLUMNS}) VALUES (?{',?' * 14})", items)
            conn.execute("COMMIT")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.execute("PRAGMA cache_size=-2000")  # back to SQLite's default

    def plan(self) -> str:
        rows = self.raw.execute("EXPLAIN QUERY PLAN " + self.sql, (stored(NOW), LIMIT, 0))
        return " / ".join(r[3] for r in rows.fetchall())

    def probe(self) -> Any:
        probe = sweep.probe_sql(self.services.db.engine.dialect)
        return self.raw.execute(probe, (stored(NOW), stored(NOW))).fetchall()

    def probe_plan(self) -> str:
        probe = sweep.probe_sql(self.services.db.engine.dialect)
        rows = self.raw.execute("EXPLAIN QUERY PLAN " + probe, (stored(NOW), stored(NOW)))
        return " / ".join(r[3] for r in rows.fetchall())

    def size(self) -> str:
        return f"{self.path.stat().st_size / 2**20:,.0f} MiB file"

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
        self.services.db.dispose()


class PostgresBackend(Backend):
    def __init__(self, admin: psycopg.Connection, schema: str) -> None:
        self.name, self.schema, self.admin = "PostgreSQL", schema, admin
        options = f"-csearch_path={schema}"
        self.services = Services(
            db=Database(PG_URL, connect_args={"options": options}),
            data_dir=Path(tempfile.gettempdir()),
        )
        self.sql = POSTGRES_DUE
        url = PG_URL.replace("postgresql+psycopg://", "postgresql://")
        self.auto = psycopg.connect(url, options=options, autocommit=True)
        self.tx = psycopg.connect(url, options=options)

    def connect(self) -> None:
        pass

    def select(self, in_transaction: bool) -> list[Any]:
        params = (NOW.astimezone(dt.UTC).replace(tzinfo=None), LIMIT)
        if not in_transaction:  # autocommit: the statement is its own transaction
            return self.auto.execute(self.sql, params).fetchall()
        rows = self.tx.execute(self.sql, params).fetchall()  # psycopg sends BEGIN first
        self.tx.commit()
        return rows

    def execute_script(self, statements: list[tuple[str, list[tuple[Any, ...]]]]) -> None:
        with self.tx.cursor() as cur:
            for sql, params in statements:
                pg = sql.replace("?", "%s")
                cur.executemany(pg, params) if params else cur.execute(pg)
        self.tx.commit()

    def after_reset(self) -> None:
        # clear the dead rows and index entries this round's updates left (autovacuum would,
        # sooner or later), so every round reads the same indexes
        self.auto.execute("VACUUM item, outbox")

    def param(self, t: dt.datetime) -> Any:
        return t.astimezone(dt.UTC).replace(tzinfo=None)

    def load(self, layout: Layout) -> None:
        with self.tx.cursor() as cur:
            for table, columns, index in (
                ("recommendation", REC_COLUMNS, 0),
                ("item", ITEM_COLUMNS, 1),
            ):
                with cur.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                    for start in range(0, layout.n, CHUNK):
                        buf = io.StringIO()
                        for pair in layout.rows(start, min(start + CHUNK, layout.n)):
                            buf.write("\t".join(map(str, pair[index])))
                            buf.write("\n")
                        copy.write(buf.getvalue())
            for table in ("recommendation", "item"):
                cur.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), max(id)) FROM {table}"
                )
        self.tx.commit()
        self.auto.execute("VACUUM (ANALYZE) recommendation, item")

    def probe(self) -> Any:
        probe = sweep.probe_sql(self.services.db.engine.dialect)
        now = NOW.astimezone(dt.UTC).replace(tzinfo=None)
        return self.auto.execute(probe, {"now": now}).fetchall()

    def probe_plan(self) -> str:
        probe = sweep.probe_sql(self.services.db.engine.dialect)
        now = NOW.astimezone(dt.UTC).replace(tzinfo=None)
        rows = self.auto.execute("EXPLAIN " + probe, {"now": now}).fetchall()
        return " / ".join(r[0].strip(" ->") for r in rows if "Scan" in r[0] or "Result" in r[0])

    def plan(self) -> str:
        params = (NOW.astimezone(dt.UTC).replace(tzinfo=None), LIMIT)
        rows = self.tx.execute("EXPLAIN " + self.sql, params).fetchall()
        self.tx.rollback()
        return " / ".join(r[0].strip(" ->") for r in rows if "Scan" in r[0] or "Limit" in r[0])

    def size(self) -> str:
        row = self.auto.execute(
            "SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class c JOIN pg_namespace n "
            "ON n.oid = c.relnamespace WHERE n.nspname = %s AND c.relkind = 'r'",
            (self.schema,),
        ).fetchone()
        return f"{(row[0] if row else 0) / 2**20:,.0f} MiB of tables and indexes"

    def close(self) -> None:
        self.auto.close()
        self.tx.close()
        self.services.db.dispose()


# --- building ----------------------------------------------------------------------------


def build(backend: Backend, n: int, state: State) -> tuple[Layout, str]:
    """Migrate, publish, import the examples, park them, bulk-load ``n`` items."""
    db = backend.services.db
    started = time.perf_counter()
    version_id = common.migrate_and_publish(db, IMPORTED_AT)
    spec = load_spec_file(WORKFLOW, available())
    with db.write() as conn:
        common.import_examples(conn, IMPORTED_AT, calendar=CALENDAR)
    # the imported items fall due before NOW: one sweep moves them past it, then it is as if
    # their reminders had been sent, and only the pool can be due at NOW
    caught_up = run_once(backend.services, NOW)
    with db.write() as conn:
        conn.exec_driver_sql("DELETE FROM outbox")
        rec_base = conn.exec_driver_sql("SELECT max(id) + 1 FROM recommendation").scalar_one()
        item_base = conn.exec_driver_sql("SELECT max(id) + 1 FROM item").scalar_one()
    backend.connect()
    layout = Layout(
        n, rec_base, item_base, version_id, due_profiles(spec.states["open"]),
        future_profiles(spec.states["open"]),
    )  # fmt: skip
    prepared = time.perf_counter()
    backend.load(layout)
    loaded = time.perf_counter()
    return layout, (
        f"schema, workflow and examples {prepared - started:.1f} s (caught up "
        f"{caught_up.items} imported items); {n:,} recommendations + {n:,} items loaded in "
        f"{loaded - prepared:.1f} s ({2 * n / (loaded - prepared):,.0f} rows/s)"
    )


def reset(backend: Backend, layout: Layout, due: int) -> set[int]:
    """Empty the outbox; make ``due`` pool items (spread evenly) due at NOW, the rest not.

    Returns the ids of the due items.
    """
    every = POOL // due if due else 0
    chosen = {item_id for p, (item_id, _) in enumerate(layout.pool()) if every and p % every == 0}
    params = [
        (backend.param(prof.before if item_id in chosen else prof.after), item_id)
        for item_id, prof in layout.pool()
    ]
    backend.execute_script(
        [("DELETE FROM outbox", []), ("UPDATE item SET next_attention_at = ? WHERE id = ?", params)]
    )
    backend.after_reset()
    return chosen


# --- measuring ---------------------------------------------------------------------------


def _elapsed(run: Callable[[], Any]) -> tuple[float, Any]:
    """Seconds ``run()`` takes, from a collected heap, and what it returned."""
    gc.collect()
    start = time.perf_counter()
    out = run()
    return time.perf_counter() - start, out


@dataclass
class Figures:
    """Milliseconds per round for one database size."""

    sweep: dict[int, list[float]]  # due count -> sweep ms
    raw: dict[int, list[float]]  # due count -> raw query ms
    raw_tx: dict[int, list[float]]  # due count -> raw query in a write transaction, ms
    raw_probe: list[float] = field(default_factory=list)  # the sweep's probe, raw, ms

    @classmethod
    def empty(cls) -> Figures:
        return cls(defaultdict(list), defaultdict(list), defaultdict(list))


def spread(values: list[float], digits: int = 1) -> str:
    return (
        f"{statistics.median(values):,.{digits}f} ({min(values):,.{digits}f}–"
        f"{max(values):,.{digits}f})"
    )


def check_statement(backend: Backend) -> str:
    """The SELECT text the sweep sends, against the raw side's."""
    seen: list[str] = []

    def record(_c: Any, _cur: Any, statement: str, *_rest: Any) -> None:
        seen.append(re.sub(r"%\(\w+\)s", "%s", statement))

    engine = backend.services.db.engine
    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        run_once(backend.services, NOW)
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)
    selects = [s for s in seen if s.startswith("SELECT item.id")]
    return "the same text" if selects == [backend.sql] else f"DIFFERENT: {selects}"


def measure(backend: Backend, layout: Layout, sizes: Sizes) -> Figures:
    """Every round: nothing due, then 400 and 4,000 due; sweep and raw, alternating first."""
    figures = Figures.empty()
    services = backend.services
    for due in (0, *DUE_COUNTS):  # warm-up: compiled statements, caches, the file's pages
        reset(backend, layout, due)
        backend.select(False)
        backend.select(True)
        run_once(services, NOW)
    for n in range(sizes.rounds):
        reset(backend, layout, 0)

        def idle_sweeps(calls: int = sizes.idle_calls) -> None:
            for _ in range(calls):
                if run_once(services, NOW).items:
                    raise AssertionError("something was due in the nothing-due case")

        def idle_raw(in_transaction: bool, calls: int = sizes.idle_calls) -> None:
            for _ in range(calls):
                backend.select(in_transaction)

        def idle_probe(calls: int = sizes.idle_calls) -> None:
            for _ in range(calls):
                backend.probe()

        sides: list[tuple[str, Callable[[], Any]]] = [
            ("sweep", idle_sweeps),
            ("raw", lambda: idle_raw(False)),
            ("raw_tx", lambda: idle_raw(True)),
            ("raw_probe", idle_probe),
        ]
        for side, run in sides[:: 1 if n % 2 == 0 else -1]:
            took = _elapsed(run)[0] / sizes.idle_calls * 1e3
            if side == "raw_probe":
                figures.raw_probe.append(took)
            else:
                getattr(figures, side)[0].append(took)
        for due in DUE_COUNTS:
            order = ["raw", "raw_tx", "sweep"]
            for side in order[:: 1 if n % 2 == 0 else -1]:
                chosen = reset(backend, layout, due)
                if side == "sweep":
                    took, report = _elapsed(lambda: run_once(services, NOW))
                    assert isinstance(report, SweepReport)
                    swept = {d["item_id"] for d in report.decided}
                    if (
                        report.items != due
                        or swept != chosen
                        or report.queued != len(report.decided)
                    ):
                        raise AssertionError(f"the sweep did something else: {report.items}")
                else:
                    took, rows = _elapsed(lambda s=side: backend.select(s == "raw_tx"))
                    if {r[0] for r in rows} != chosen:
                        raise AssertionError("the raw query found other rows")
                getattr(figures, side)[due].append(took * 1e3)
        print(
            f"  round {n + 1}: nothing due: sweep {figures.sweep[0][-1]:.3f} ms, raw "
            f"{figures.raw[0][-1]:.3f} ms ({figures.raw_tx[0][-1]:.3f} in a write txn), "
            f"{figures.sweep[0][-1] / figures.raw[0][-1]:.1f}×"
            + "".join(
                f"; {due:,} due: sweep {figures.sweep[due][-1]:,.1f} ms, raw "
                f"{figures.raw[due][-1]:.1f} ms ({figures.raw_tx[due][-1]:.1f})"
                for due in DUE_COUNTS
            )
        )
    return figures


def summarise(backend: Backend, n: int, f: Figures) -> list[str]:
    idle_ratios = [s / r for s, r in zip(f.sweep[0], f.raw[0], strict=True)]
    tx_ratios = [s / r for s, r in zip(f.sweep[0], f.raw_tx[0], strict=True)]
    ratio = statistics.median(idle_ratios)
    verdict = "meets" if ratio <= TARGETS["idle_ratio"] else "MISSES"
    lines = [
        f"  nothing due: sweep {spread(f.sweep[0], 3)} ms, raw query {spread(f.raw[0], 3)} ms, "
        f"in a write txn {spread(f.raw_tx[0], 3)} ms; the sweep's probe alone, raw "
        f"{spread(f.raw_probe, 3)} ms (sweep ÷ raw probe "
        f"{statistics.median(s / p for s, p in zip(f.sweep[0], f.raw_probe, strict=True)):.2f}×)",
        f"    sweep ÷ raw query {spread(idle_ratios, 2)}×; target ≤ 2×: {verdict}. "
        f"sweep ÷ raw query in a write txn {spread(tx_ratios, 2)}×",
    ]
    for due in DUE_COUNTS:
        ratios = [s / r for s, r in zip(f.sweep[due], f.raw[due], strict=True)]
        lines.append(
            f"  {due:,} due: sweep {spread(f.sweep[due])} ms "
            f"({statistics.median(f.sweep[due]) / due * 1e3:.0f} µs per due item), raw query "
            f"{spread(f.raw[due])} ms, in a write txn {spread(f.raw_tx[due])} ms; sweep ÷ raw "
            f"{statistics.median(ratios):.0f}×"
        )
    if n >= 1_000_000:
        target = TARGETS["sqlite_ms" if backend.name == "SQLite" else "postgres_ms"]
        ms = statistics.median(f.sweep[POOL])
        lines.append(
            f"    {n:,} items, {POOL:,} due: target ≤ {target:,.0f} ms: "
            f"{'meets' if ms <= target else 'MISSES'} ({ms / target:.2f} of the limit)"
        )
    return lines


# --- where the time goes -----------------------------------------------------------------


class Phases:
    """Time the calls ``run_once`` makes, by patching the names it looks up at call time.

    Only the outermost patched call is timed, so nothing is counted twice (a statement run
    inside ``outbox.enqueue_new`` counts as ``outbox.enqueue_new``). What is left of
    ``run_once``'s own time (the transaction, its loop, building the report) is reported as
    the rest.
    """

    def __init__(self) -> None:
        self.took: dict[str, float] = defaultdict(float)
        self.calls: Counter[str] = Counter()
        self.depth = 0

    def wrap(self, label: str | Callable[[tuple[Any, ...]], str], fn: Any) -> Any:
        def timed(*args: Any, **kwargs: Any) -> Any:
            if self.depth:
                return fn(*args, **kwargs)
            name = label if isinstance(label, str) else label(args)
            self.depth += 1
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.took[name] += time.perf_counter() - start
                self.calls[name] += 1
                self.depth -= 1

        return timed

    @contextmanager
    def patched(self, services: Services) -> Iterator[None]:
        def statement(args: tuple[Any, ...]) -> str:
            text = str(args[1])
            if text.startswith("UPDATE item"):
                return "update next_attention_at (executemany)"
            if text.startswith("SELECT item.id"):
                return "select the due items (in the write transaction)"
            return "other statements (BEGIN IMMEDIATE, sweep_state ...)"

        def defining(cls: type, name: str) -> type:
            return next(k for k in cls.__mro__ if name in vars(k))

        targets: list[tuple[Any, str, Any]] = [
            (sa.engine.Connection, "execute", statement),
            (sa.engine.Connection, "exec_driver_sql", statement),
            (defining(sa.engine.Result, "all"), "all", "fetch the due rows (Result.all)"),
            (probe, "ask", "the probe: anything due? failure check due? (autocommit)"),
            (services.specs, "get", "per distinct plan: spec lookup"),
            (sweep, "item_key", "per item: item_key"),
            (deadlines, "plan", "per distinct plan: deadlines.plan"),
            (deadlines, "due_now", "per distinct plan: deadlines.due_now"),
            (deadlines, "next_after", "per distinct plan: deadlines.next_after"),
            (Directory, "resolve", "per distinct recipients: Directory.resolve"),
            (outbox, "enqueue_new", "insert outbox rows (ON CONFLICT DO NOTHING)"),
            (sweep, "_set_next", "update next_attention_at"),
            (failures, "summarise_failures", "daily failure check (sweep_state, outbox)"),
        ]
        saved = []
        for owner, name, label in targets:
            if owner is services.specs:
                original = owner.get  # an instance attribute shadows the method until deleted
            elif name in vars(owner):
                original = vars(owner)[name]
            else:
                raise AssertionError(
                    f"{owner!r} has no {name!r}: point the hook at what does the work"
                )
            saved.append((owner, name, original))
            setattr(owner, name, self.wrap(label, original))
        load = vars(Directory)["load"]
        saved.append((Directory, "load", load))
        Directory.load = classmethod(self.wrap("Directory.load", load.__func__))
        try:
            yield
        finally:
            for owner, name, original in reversed(saved):
                if owner is services.specs:
                    delattr(owner, name)
                else:
                    setattr(owner, name, original)


def breakdown(backend: Backend, layout: Layout, figures: Figures, idle_calls: int) -> None:
    """Where one 4,000-item sweep and the nothing-due sweeps spend their time."""
    for due in (POOL, 0):
        chosen = reset(backend, layout, due)
        phases = Phases()
        calls = 1 if due else idle_calls
        with phases.patched(backend.services):
            start = time.perf_counter()
            for _ in range(calls):
                report = run_once(backend.services, NOW)
            total = time.perf_counter() - start
        if report.items != len(chosen):
            raise AssertionError("the instrumented sweep found other items")
        rest = total - sum(phases.took.values())
        median = statistics.median(figures.sweep[due]) * (1 if due else 1e3)
        unit = "ms" if due else "µs"
        scale = 1e3 if due else 1e6 / calls
        what = (
            f"one {due:,}-item sweep ({report.queued:,} outbox rows)"
            if due
            else f"{calls} nothing-due sweeps, per call"
        )
        print(
            f"\n  where the time goes: {what}, instrumented: {total * scale:,.1f} {unit} "
            f"(uninstrumented median {median:,.1f} {unit})"
        )
        rows = sorted(phases.took.items(), key=lambda kv: -kv[1])
        rows.append(("the rest: transaction (checkout, BEGIN, COMMIT), run_once's own code", rest))
        print(f"    {'time':>12} {'share':>6} {'per due item':>14} {'calls':>7}  what")
        for name, secs in rows:
            per = (
                f"{secs / report.items * 1e6:6.1f} µs/item"
                if due and name.startswith("per ")
                else " " * 14
            )
            print(
                f"    {secs * scale:9.1f} {unit} {secs / total:6.1%} {per} "
                f"{phases.calls[name] // calls or '':>6}×  {name}"
            )


def profile_sweep(backend: Backend, layout: Layout) -> None:
    reset(backend, layout, POOL)
    profiler = cProfile.Profile()
    profiler.runcall(run_once, backend.services, NOW)
    stats = pstats.Stats(profiler)
    rows = []
    for (file, line, func), (_cc, calls, own, cum, _callers) in stats.stats.items():
        where = file.split("site-packages/")[-1].removeprefix(str(ROOT) + "/")
        rows.append((own, cum, calls, f"{where}:{line}({func})" if line else func))
    print(
        f"\n  cProfile of one {POOL:,}-item run_once on {backend.name}: "
        f"{stats.total_tt * 1e3:,.0f} ms under the profiler (which inflates Python-heavy code); "
        f"top 15 by own time, per due item:\n  {'own µs':>8} {'cum µs':>8} {'calls':>6}"
    )
    for own, cum, calls, name in sorted(rows, reverse=True)[:15]:
        print(f"  {own / POOL * 1e6:8.1f} {cum / POOL * 1e6:8.1f} {calls / POOL:6.1f}  {name}")


# --- the backends ------------------------------------------------------------------------


@contextmanager
def postgres_schema() -> Iterator[tuple[psycopg.Connection, str] | None]:
    url = PG_URL.replace("postgresql+psycopg://", "postgresql://")
    try:
        admin = psycopg.connect(url, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        print(f"\nPostgreSQL: skipped, unreachable at {PG_URL}: {exc}".rstrip())
        yield None
        return
    row = admin.execute("SELECT current_setting('server_version')").fetchone()
    print(f"\nPostgreSQL {row[0] if row else '?'} at {PG_URL}")
    schema = f"bench_sweep_{uuid.uuid4().hex[:10]}"
    admin.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield admin, schema
    finally:
        admin.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        admin.close()


def run_backend(
    make: Callable[[int], Any], name: str, sizes: Sizes, args: Any
) -> dict[int, Figures]:
    """Build, measure and summarise each database size for one backend."""
    spec = load_spec_file(WORKFLOW, available())
    results: dict[int, Figures] = {}
    for n in sizes.items:
        with make(n) as backend:
            if backend is None:
                return results
            layout, built = build(backend, n, spec.states["open"])
            mix = Counter(k for _, prof in layout.pool() for k in prof.kinds)
            print(
                f"\n{name}, {n:,} open items ({backend.size()}): {built}\n"
                f"  due at NOW when all {POOL:,} pool items are due: "
                + ", ".join(f"{c:,} {k}s" for k, c in sorted(mix.items()))
                + f" over {len(layout.profiles)} due dates\n"
                f"  SELECT: {check_statement_fresh(backend, layout)}\n"
                f"  plan: {backend.plan()}\n"
                "  nothing due, the sweep sends one statement outside any transaction (is any "
                "next_attention_at <= now? is the day's failure check due?), plan: "
                f"{backend.probe_plan()}"
            )
            results[n] = figures = measure(backend, layout, sizes)
            print("\n".join(summarise(backend, n, figures)))
            if n == sizes.items[-1]:
                breakdown(backend, layout, figures, sizes.idle_calls)
                if args.profile and name.startswith("SQLite"):
                    profile_sweep(backend, layout)
    return results


def check_statement_fresh(backend: Backend, layout: Layout) -> str:
    reset(backend, layout, POOL)
    return "sweep and raw side send " + check_statement(backend)


def scaling(name: str, results: dict[int, Figures]) -> list[str]:
    """Sweep cost against due items and against total items."""
    if not results:
        return []
    sizes = sorted(results)
    lines = [
        f"{name}: sweep ms, median (min–max)    " + "   ".join(f"{n:>22,} items" for n in sizes)
    ]
    for due in (0, *DUE_COUNTS):
        label = "nothing due" if due == 0 else f"{due:,} due"
        cells = [spread(results[n].sweep[due], 3 if due == 0 else 1) for n in sizes]
        lines.append(f"  {label:<32}" + "   ".join(f"{c:>28}" for c in cells))
    for n in sizes:
        f = results[n]
        small, big = (statistics.median(f.sweep[d]) for d in DUE_COUNTS)
        lines.append(
            f"  {n:,} items: {DUE_COUNTS[1]:,} due ÷ {DUE_COUNTS[0]:,} due = {big / small:.1f}× "
            f"(due items ×{DUE_COUNTS[1] // DUE_COUNTS[0]}); marginal "
            f"{(big - small) / (DUE_COUNTS[1] - DUE_COUNTS[0]) * 1e3:.0f} µs per due item"
        )
    if len(sizes) > 1:
        a, b = (results[n] for n in sizes[:2])
        for due in (0, *DUE_COUNTS):
            ratio = statistics.median(b.sweep[due]) / statistics.median(a.sweep[due])
            lines.append(
                f"  {sizes[1]:,} ÷ {sizes[0]:,} items, {'nothing' if due == 0 else f'{due:,}'} "
                f"due: {ratio:.2f}× (items ×{sizes[1] // sizes[0]})"
            )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="100,000 items only, 3 rounds")
    parser.add_argument("--rounds", type=int, help="rounds per measurement (default 5; 3 quick)")
    parser.add_argument("--no-postgres", action="store_true", help="skip PostgreSQL")
    parser.add_argument("--profile", action="store_true", help="add a cProfile of one sweep")
    parser.add_argument(
        "--items", type=int, nargs="+", help=f"database sizes (default 100000 1000000; ≥ {POOL})"
    )
    args = parser.parse_args()
    sizes = QUICK if args.quick else FULL
    if args.rounds:
        sizes = replace(sizes, rounds=args.rounds)
    if args.items:
        sizes = replace(sizes, items=tuple(sorted(max(n, POOL) for n in args.items)))
    print(
        f"signoff sweep benchmark: Python {platform.python_version()}, SQLAlchemy "
        f"{sa.__version__}, SQLite {sqlite3.sqlite_version}, psycopg {psycopg.__version__}, "
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}; "
        f"{'quick' if args.quick else 'full'} run, {sizes.rounds} rounds (a shared machine: "
        "read the median and the spread)\n"
        f"now = {NOW.isoformat()}; the pool's due items were last swept "
        f"{LAST_LOOK.days} day before; nothing-due figures are per call, averaged over "
        f"{sizes.idle_calls} calls"
    )
    summary: list[str] = []
    with tempfile.TemporaryDirectory(prefix="signoff-bench-sweep-") as tmp:

        @contextmanager
        def sqlite_backend(n: int) -> Iterator[SqliteBackend]:
            backend = SqliteBackend(Path(tmp) / f"sweep-{n}.db")
            try:
                yield backend
            finally:
                backend.close()
                for suffix in ("", "-wal", "-shm"):
                    Path(f"{backend.path}{suffix}").unlink(missing_ok=True)

        summary += scaling("SQLite", run_backend(sqlite_backend, "SQLite", sizes, args))

    if not args.no_postgres:

        @contextmanager
        def postgres_backend(n: int) -> Iterator[PostgresBackend | None]:
            with postgres_schema() as found:
                if found is None:
                    yield None
                    return
                backend = PostgresBackend(*found)
                try:
                    yield backend
                finally:
                    backend.close()

        summary += scaling("PostgreSQL", run_backend(postgres_backend, "PostgreSQL", sizes, args))
    print("\nSummary\n" + "\n".join(summary))


if __name__ == "__main__":
    main()
