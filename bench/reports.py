"""What the ``timescale`` report costs on a large history, against raw SQL aggregates.

The report (``engine.reports.build``) reads every item's decisions from the events and
replays them in Python. The baseline computes the same figures (for the implemented and the
assured basis, the count within the original and within the agreed due date, and how many
were due) with two ``GROUP BY`` passes over the event table and one over the items, sent
through the raw driver (``sqlite3`` / ``psycopg``). Both run in the same process on the same
database, and their figures must be equal. Target: the report takes at most 3x the raw
queries, and grows linearly from 1,000 to 10,000 recommendations.

The raw queries know what the engine reads from the workflow (which states count as
implemented or assured) and take dates in UTC: every event here is at 10:00 UTC, whose
London date is the UTC date. They leave out what this history never has (imported
unverified statuses, workflow migrations), which makes the baseline cheaper, not dearer.

The database (SQLite in a temporary folder; PostgreSQL in a private schema, dropped at the
end, unless --no-postgres) is built the engine's way: migrations, the published workflow,
the Southend example; then N recommendations with one item each and 20 events per item
(about 200,000 at 10,000): decisions in ten patterns (sign-off on time or late, audit
confirmation, one and two extensions, a challenge, an audit that could not confirm, RAG
red, closure without assurance, transfer, re-audit to closed) with the "notified" events
that mail delivery writes, hash-chained as ``engine.history`` chains them.

    .venv/bin/python bench/reports.py            # 1,000 and 10,000 recommendations
    .venv/bin/python bench/reports.py --quick    # 1,000 and 5,000, 3 rounds
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
import sqlalchemy as sa
from common import import_examples, migrate_and_publish, raw_sqlite

from engine import reports
from engine.calendar import Calendar
from engine.hashchain import GENESIS, event_hash
from engine.spec import CountsAs
from engine.store import core
from engine.store.db import Database
from engine.versions import SpecCache

NOW = dt.datetime(2011, 1, 10, 10, 0, tzinfo=dt.UTC)
AS_OF = dt.date(2011, 12, 31)
PG_URL = os.environ.get("SIGNOFF_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
LIMIT = 3.0
EVENTS_PER_ITEM = 20
_BATCH = 5000
BM = "business.manager@southend-lscb.example.org"
PANEL = "panel.member@southend-lscb.example.org"
AUDIT = "internal.audit@nhs-see.example.org"


def _day(d: dt.date) -> dt.datetime:
    return dt.datetime.combine(d, dt.time(10, 0), tzinfo=dt.UTC)


def story(i: int, due: dt.date) -> list[tuple[str, str, str | None, dict[str, Any], int]]:
    """Item ``i``'s decisions: (trigger, to_state, rag, data, days after NOW), in order."""
    ev = [{"id": i, "sha256": "0" * 64}]
    start = (due - NOW.date()).days
    kind = i % 10
    if kind <= 3:  # signed off on time (odd) or late (even), then audited
        signed = start - 5 if i % 2 else start + 5
        return [
            ("submit_evidence", "evidence_submitted", None, {"evidence": ev}, 10),
            ("sign_off", "panel_signed_off", "green", {"evidence_on_file": ev}, signed),
            ("confirm_audit", "audit_confirmed", None, {"evidence": ev}, signed + 20),
        ]
    if kind == 4:  # two extensions, then signed off inside the second
        first, second = due + dt.timedelta(days=30), due + dt.timedelta(days=60)
        return [
            ("request_extension", "open", None, {"due_date": first.isoformat()}, 5),
            (
                "grant_extension",
                "open",
                None,
                {"due_from": due.isoformat(), "due_to": first.isoformat()},
                6,
            ),
            ("request_extension", "open", None, {"due_date": second.isoformat()}, start + 20),
            (
                "grant_extension",
                "open",
                None,
                {"due_from": first.isoformat(), "due_to": second.isoformat()},
                start + 21,
            ),
            ("submit_evidence", "evidence_submitted", None, {"evidence": ev}, start + 30),
            ("sign_off", "panel_signed_off", "amber", {"evidence_on_file": ev}, start + 40),
        ]
    if kind == 5:  # challenged, signed off on time, then the audit could not confirm it
        return [
            ("submit_evidence", "evidence_submitted", None, {"evidence": ev}, 10),
            ("challenge", "challenged", None, {"evidence_on_file": ev}, 12),
            ("submit_evidence", "evidence_submitted", None, {"evidence": ev}, 20),
            ("sign_off", "panel_signed_off", "green", {"evidence_on_file": ev}, start - 1),
            ("audit_not_confirmed", "challenged", None, {"evidence_on_file": ev}, start + 30),
        ]
    if kind == 6:
        return [("set_rag", "open", "red", {}, 15)]
    if kind == 7:
        return [("close_without_assurance", "closed_no_assurance", None, {}, start + 10)]
    if kind == 8:
        return [("transfer", "not_for_this_board", None, {}, 20)]
    later = due + dt.timedelta(days=20)  # one extension, signed off, audited, re-audited
    return [
        ("request_extension", "open", None, {"due_date": later.isoformat()}, 5),
        (
            "grant_extension",
            "open",
            None,
            {"due_from": due.isoformat(), "due_to": later.isoformat()},
            6,
        ),
        ("submit_evidence", "evidence_submitted", None, {"evidence": ev}, 10),
        ("sign_off", "panel_signed_off", "green", {"evidence_on_file": ev}, start + 10),
        ("confirm_audit", "audit_confirmed", None, {"evidence": ev}, start + 15),
        ("require_reaudit", "embedded_reaudit", None, {}, start + 16),
        ("confirm_embedded", "closed", None, {"evidence": ev}, start + 40),
    ]


def build(db: Database, items: int) -> None:
    """``items`` recommendations with one item each and ``EVENTS_PER_ITEM`` events each."""
    version_id = migrate_and_publish(db, NOW)
    with db.write() as conn:
        import_examples(conn, NOW)
        review = conn.execute(sa.select(core.review.c.id)).scalar_one()
        first = int(conn.execute(sa.select(sa.func.max(core.recommendation.c.id))).scalar_one())
        first_item = int(conn.execute(sa.select(sa.func.max(core.item.c.id))).scalar_one())
        recs, rows, events = [], [], []
        for n in range(1, items + 1):
            due = dt.date(2011, 3, 1) + dt.timedelta(days=n % 120)
            rec_id, item_id = first + n, first_item + n
            recs.append(
                {
                    "id": rec_id,
                    "review_id": review,
                    "ref": f"B{n}",
                    "text": "bench",
                    "priority": "H" if n % 3 == 0 else "M",
                    "due_dates": [due.isoformat()],
                    "themes": [],
                    "source": {},
                }
            )
            steps = [("create", "open", None, {}, 0), *story(n, due)]
            state, prev, history, seq = None, GENESIS, [due.isoformat()], 0
            for trigger, to_state, rag, extra, days in steps:
                seq += 1
                data = {"workflow_version_id": version_id, **extra}
                if "due_to" in extra:
                    history.append(extra["due_to"])
                at = _day(NOW.date() + dt.timedelta(days=days))
                actor = {"sign_off": PANEL, "challenge": PANEL, "set_rag": PANEL}.get(trigger, BM)
                events.append(
                    _event(item_id, seq, at, actor, trigger, state, to_state, rag, data, prev)
                )
                prev, state = events[-1]["hash"], to_state
                seq += 1  # each decision is mailed: a "notified" event after it
                events.append(
                    _event(
                        item_id,
                        seq,
                        at + dt.timedelta(minutes=5),
                        "dispatcher",
                        "notified",
                        state,
                        state,
                        None,
                        {"outbox_id": seq},
                        prev,
                    )
                )
                prev = events[-1]["hash"]
            while seq < EVENTS_PER_ITEM:  # reminders and chases delivered
                seq += 1
                at = _day(NOW.date() + dt.timedelta(days=300 + seq))
                events.append(
                    _event(
                        item_id,
                        seq,
                        at,
                        "dispatcher",
                        "notified",
                        state,
                        state,
                        None,
                        {"outbox_id": seq},
                        prev,
                    )
                )
                prev = events[-1]["hash"]
            rows.append(
                {
                    "id": item_id,
                    "recommendation_id": rec_id,
                    "agency_id": "southend-lscb",
                    "workflow_version_id": version_id,
                    "state": state,
                    "version": seq,
                    "seq": seq,
                    "last_hash": prev,
                    "due": dt.date.fromisoformat(history[-1]),
                    "due_history": history,
                    "actors": {},
                    "entered_at": NOW,
                    "entered_seq": 1,
                    "updated_at": NOW,
                }
            )
        for start in range(0, items, _BATCH):
            conn.execute(core.recommendation.insert(), recs[start : start + _BATCH])
            conn.execute(core.item.insert(), rows[start : start + _BATCH])
        for start in range(0, len(events), _BATCH):
            conn.execute(core.event.insert(), events[start : start + _BATCH])


def _event(
    item_id: int,
    seq: int,
    at: dt.datetime,
    actor: str,
    trigger: str,
    from_state: str | None,
    to_state: str,
    rag: str | None,
    data: dict[str, Any],
    prev: str,
) -> dict[str, Any]:
    row = {
        "item_id": item_id,
        "seq": seq,
        "at": at,
        "actor": actor,
        "trigger": trigger,
        "from_state": from_state,
        "to_state": to_state,
        "reason": None,
        "rag": rag,
        "data": data,
        "prev_hash": prev,
    }
    row["hash"] = event_hash(prev, **{k: v for k, v in row.items() if k != "prev_hash"})
    return row


# --- the baseline: the same figures from SQL aggregates ---------------------------------------


def raw_sql(sqlite: bool, implemented: list[str], assured: list[str]) -> str:
    """The raw figures: one row (basis, within original, of, within agreed, of) per basis."""

    def quoted(names: list[str]) -> str:
        return ", ".join(f"'{n}'" for n in names)

    due_to = "json_extract(e.data, '$.due_to')" if sqlite else "e.data->>'due_to'"
    first_due = "json_extract(i.due_history, '$[0]')" if sqlite else "i.due_history->>0"
    moved = "(e.from_state IS NULL OR e.from_state <> e.to_state)"
    until = "?" if sqlite else "%(until)s"
    day = "?" if sqlite else "%(day)s"
    as_date = "date({})" if sqlite else "({})::date"
    return f"""
WITH heads AS (
  SELECT e.item_id,
    MAX(CASE WHEN {moved} THEN e.seq END) AS last_moved,
    MAX(CASE WHEN {moved} AND e.to_state NOT IN ({quoted(implemented)}) THEN e.seq END)
      AS last_out,
    MAX(CASE WHEN {moved} AND e.to_state NOT IN ({quoted(assured)}) THEN e.seq END)
      AS last_unassured,
    MAX(CASE WHEN {due_to} IS NOT NULL THEN e.seq END) AS last_due
  FROM event e WHERE e.at < {until} GROUP BY e.item_id
), lives AS (
  SELECT h.item_id,
    MIN(CASE WHEN {moved} AND e.seq > h.last_out THEN e.at END) AS implemented_since,
    MIN(CASE WHEN {moved} AND e.seq > h.last_unassured THEN e.at END) AS assured_since,
    MAX(CASE WHEN e.seq = h.last_due THEN {due_to} END) AS agreed
  FROM heads h JOIN event e ON e.item_id = h.item_id AND e.at < {until}
  GROUP BY h.item_id
), dues AS (
  SELECT l.*, {as_date.format(first_due)} AS original,
         {as_date.format(f"COALESCE(l.agreed, {first_due})")} AS agreed_due
  FROM lives l JOIN item i ON i.id = l.item_id
)
SELECT
  SUM(CASE WHEN original <= {day} AND {as_date.format("implemented_since")} <= original
      THEN 1 ELSE 0 END),
  SUM(CASE WHEN original <= {day} THEN 1 ELSE 0 END),
  SUM(CASE WHEN agreed_due <= {day} AND {as_date.format("implemented_since")} <= agreed_due
      THEN 1 ELSE 0 END),
  SUM(CASE WHEN agreed_due <= {day} THEN 1 ELSE 0 END),
  SUM(CASE WHEN original <= {day} AND {as_date.format("assured_since")} <= original
      THEN 1 ELSE 0 END),
  SUM(CASE WHEN agreed_due <= {day} AND {as_date.format("assured_since")} <= agreed_due
      THEN 1 ELSE 0 END)
FROM dues
"""


def figures_of(data: dict[str, Any]) -> tuple[int, ...]:
    b = data["bases"]
    return (
        b["implemented"]["within_original"]["count"],
        b["implemented"]["within_original"]["of"],
        b["implemented"]["within_agreed"]["count"],
        b["implemented"]["within_agreed"]["of"],
        b["assured"]["within_original"]["count"],
        b["assured"]["within_agreed"]["count"],
    )


def timed(run: Callable[[], Any]) -> float:
    started = time.perf_counter()
    run()
    return time.perf_counter() - started


def spread(values: list[float]) -> str:
    med = statistics.median(values)
    return f"median {med:7.3f} s (min {min(values):.3f}, max {max(values):.3f})"


def measure(
    name: str,
    db: Database,
    raw: Callable[[str, dict[str, Any]], tuple[int, ...]],
    items: int,
    rounds: int,
) -> float:
    started = time.perf_counter()
    build(db, items)
    calendar, specs = Calendar(), SpecCache()
    until = calendar.due_moment(AS_OF)
    with db.engine.connect() as conn:
        n_events = conn.execute(sa.select(sa.func.count()).select_from(core.event)).scalar_one()
        version = conn.execute(sa.select(sa.func.max(core.workflow_version.c.id))).scalar_one()
        states = specs.get(conn, version).states
    implemented = [n for n, s in states.items() if s.counted_as is not None]
    assured = [n for n, s in states.items() if s.counted_as is CountsAs.ASSURED]
    sql = raw_sql(db.is_sqlite, implemented, assured)
    request = reports.ReportRequest(name="timescale", today=AS_OF, review=None)
    print(
        f"\n{name}: {items:,} recommendations, {n_events:,} events "
        f"(built in {time.perf_counter() - started:.0f} s)"
    )
    engine_figures: list[tuple[int, ...]] = []
    raw_figures: list[tuple[int, ...]] = []

    def engine_side() -> None:
        with db.engine.connect() as conn:
            built = reports.build(conn, specs, calendar, request)
        engine_figures.append(figures_of(built.data))

    def raw_side() -> None:
        raw_figures.append(raw(sql, {"until": until, "day": AS_OF}))

    base, mine = [], []
    for r in range(rounds):  # alternate which side goes first
        pair = [("raw", raw_side), ("engine", engine_side)]
        for label, run in pair if r % 2 == 0 else reversed(pair):
            (base if label == "raw" else mine).append(timed(run))
    same = set(engine_figures) == set(raw_figures) and len(set(engine_figures)) == 1
    ratio = statistics.median(mine) / statistics.median(base)
    verdict = "ok" if ratio <= LIMIT else "OVER"
    print(
        f"  figures {engine_figures[0]} (implemented within original, of; within agreed, of;"
        f" assured within original, within agreed): {'EQUAL' if same else 'DIFFERENT'}"
        + ("" if same else f" raw {raw_figures[0]}")
    )
    print(f"  {'raw SQL aggregates (baseline)':<36}{spread(base)}")
    print(
        f"  {'engine.reports timescale':<36}{spread(mine)}  {ratio:5.2f}x (limit {LIMIT}x) "
        f"{verdict}"
    )
    return statistics.median(mine)


def sqlite_raw(path: Path) -> Callable[[str, dict[str, Any]], tuple[int, ...]]:
    def run(sql: str, values: dict[str, Any]) -> tuple[int, ...]:
        conn = raw_sqlite(path)
        try:
            until = values["until"].astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
            day = values["day"].isoformat()
            args = [until, until, *([day] * (sql.count("?") - 2))]  # until twice, then days
            return tuple(int(v or 0) for v in conn.execute(sql, args).fetchone())
        finally:
            conn.close()

    return run


def pg_raw(url: str, schema: str) -> Callable[[str, dict[str, Any]], tuple[int, ...]]:
    def run(sql: str, values: dict[str, Any]) -> tuple[int, ...]:
        with psycopg.connect(url, options=f"-csearch_path={schema}") as conn:
            until = values["until"].astimezone(dt.UTC).replace(tzinfo=None)
            row = conn.execute(sql, {"until": until, "day": values["day"]}).fetchone()
            assert row is not None
            return tuple(int(v or 0) for v in row)

    return run


@contextmanager
def postgres() -> Iterator[tuple[Database, str, str] | None]:
    url = PG_URL.replace("postgresql+psycopg://", "postgresql://")
    try:
        admin = psycopg.connect(url, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        print(f"\nPostgreSQL: skipped, unreachable at {PG_URL}: {exc}".rstrip())
        yield None
        return
    schema = f"bench_reports_{uuid.uuid4().hex[:10]}"
    admin.execute(f'CREATE SCHEMA "{schema}"')
    db = Database(url, connect_args={"options": f"-csearch_path={schema}"})
    try:
        yield db, url, schema
    finally:
        db.dispose()
        admin.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        admin.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="1,000 and 5,000; 3 rounds")
    parser.add_argument("--sizes", type=int, nargs="+", help="recommendations (default 1000 10000)")
    parser.add_argument("--rounds", type=int, help="rounds per measurement (default 5; 3 quick)")
    parser.add_argument("--no-postgres", action="store_true", help="skip PostgreSQL")
    args = parser.parse_args()
    sizes = args.sizes or ([1000, 5000] if args.quick else [1000, 10_000])
    rounds = args.rounds or (3 if args.quick else 5)
    for backend in ("SQLite", "PostgreSQL"):
        if backend == "PostgreSQL" and args.no_postgres:
            continue
        took: list[tuple[int, float]] = []
        for size in sizes:
            with tempfile.TemporaryDirectory() as tmp:
                if backend == "SQLite":
                    path = Path(tmp) / "bench.db"
                    db = Database(f"sqlite:///{path}")
                    try:
                        took.append((size, measure(backend, db, sqlite_raw(path), size, rounds)))
                    finally:
                        db.dispose()
                    continue
                with postgres() as pg:
                    if pg is None:
                        break
                    db, url, schema = pg
                    took.append((size, measure(backend, db, pg_raw(url, schema), size, rounds)))
        if len(took) >= 2:
            (small, t_small), (large, t_large) = took[0], took[-1]
            growth = (t_large / t_small) / (large / small)
            print(
                f"  {backend} growth {small:,} -> {large:,}: {t_large / t_small:.1f}x the time "
                f"for {large / small:.0f}x the items ({growth:.2f} of linear)"
            )


if __name__ == "__main__":
    main()
