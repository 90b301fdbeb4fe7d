"""What signed checkpoints cost on a large history, against walking the hash chain.

The baseline is ``engine.hashchain.verify``: what ``signoff verify-log`` did before
checkpoints, reading every event once. Against it, on the same database:

* the first ``take`` (it walks every event, to seal only a chain that verifies, and writes
  one head per item; once in a database's life): limit 2x;
* a daily ``take`` after 1% of the items gained one event (it reads those items' events
  only): limit 0.25x;
* ``verify-log`` now, ``verify`` plus ``checkpoints.check`` with the checkpoints taken
  above: limit 1.5x.

The database (SQLite in a temporary folder; PostgreSQL in a private schema, dropped at the
end, unless --no-postgres) is built the engine's way: migrations, the published workflow,
the Southend example; then N recommendations with one item each, bulk-loaded, and their
events appended through ``engine.history.append_many`` (the real chaining code).

    .venv/bin/python bench/checkpoint.py            # 100,000 items, 5 events each
    .venv/bin/python bench/checkpoint.py --quick    # 20,000 items
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
from common import import_examples, migrate_and_publish

from engine.checkpoints import check, take
from engine.hashchain import GENESIS, verify
from engine.history import Entry, append_many
from engine.services import Services
from engine.store import core
from engine.store.db import Database

NOW = dt.datetime(2011, 1, 10, 9, 0, tzinfo=dt.UTC)
KEY = os.urandom(32)
PG_URL = os.environ.get("SIGNOFF_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
LIMITS = {"first": 2.0, "daily": 0.25, "verify-log": 1.5}
_BATCH = 5000


def build(db: Database, items: int, events: int) -> None:
    """``items`` recommendations with one item each, ``events`` events per item."""
    version_id = migrate_and_publish(db, NOW)
    with db.write() as conn:
        import_examples(conn, NOW)
        review = conn.execute(sa.select(core.review.c.id)).scalar_one()
        agency = conn.execute(sa.select(core.agency.c.id).order_by(core.agency.c.id)).scalar()
        first = int(conn.execute(sa.select(sa.func.max(core.recommendation.c.id))).scalar_one())
        recs = [
            {
                "id": first + n,
                "review_id": review,
                "ref": f"B{n}",
                "text": "bench",
                "due_dates": [],
                "themes": [],
                "source": {},
            }
            for n in range(1, items + 1)
        ]
        for start in range(0, items, _BATCH):
            conn.execute(core.recommendation.insert(), recs[start : start + _BATCH])
        rows = [
            {
                "recommendation_id": r["id"],
                "agency_id": agency,
                "workflow_version_id": version_id,
                "state": "open",
                "version": 1,
                "seq": 0,
                "last_hash": GENESIS,
                "due_history": [],
                "actors": {},
                "entered_at": NOW,
                "entered_seq": 0,
                "updated_at": NOW,
            }
            for r in recs
        ]
        for start in range(0, items, _BATCH):
            conn.execute(core.item.insert(), rows[start : start + _BATCH])
        ids = list(conn.execute(sa.select(core.item.c.id).order_by(core.item.c.id)).scalars())
    for k in range(events):
        for start in range(0, len(ids), _BATCH):
            with db.write() as conn:
                append_many(
                    conn,
                    [
                        Entry(item_id=i, trigger="note", data={"n": k})
                        for i in ids[start : start + _BATCH]
                    ],
                    at=NOW + dt.timedelta(minutes=k),
                    actor="bench",
                )


def timed(run: Callable[[], Any]) -> float:
    started = time.perf_counter()
    run()
    return time.perf_counter() - started


def spread(values: list[float]) -> str:
    med = statistics.median(values)
    return f"median {med:7.3f} s (min {min(values):.3f}, max {max(values):.3f})"


def measure(name: str, db: Database, data_dir: Path, items: int, events: int, rounds: int) -> None:
    started = time.perf_counter()
    build(db, items, events)
    services = Services(db=db, data_dir=data_dir)
    with db.engine.connect() as conn:
        total = verify(conn)
    assert total.ok, total.broken
    print(
        f"\n{name}: {total.items:,} items, {total.events:,} events "
        f"(built in {time.perf_counter() - started:.0f} s)"
    )

    def walk() -> None:
        with db.engine.connect() as conn:
            assert verify(conn).ok

    def verify_log() -> None:
        with db.engine.connect() as conn:
            assert verify(conn).ok
            assert check(conn, KEY).ok

    def clear() -> None:
        with db.write() as conn:
            conn.execute(core.checkpoint_head.delete())
            conn.execute(core.checkpoint.delete())

    base, first, daily = [], [], []
    for r in range(rounds):  # alternate which side goes first
        clear()
        pair = [("base", walk), ("first", lambda: take(services, KEY, now=NOW, actor="b"))]
        for label, run in pair if r % 2 == 0 else reversed(pair):
            (base if label == "base" else first).append(timed(run))
    with db.engine.connect() as conn:
        every = list(conn.execute(sa.select(core.item.c.id).order_by(core.item.c.id)).scalars())
    ids = every[::100]  # 1% of the items
    for r in range(rounds):
        with db.write() as conn:
            append_many(
                conn,
                [Entry(item_id=i, trigger="note", data={"day": r}) for i in ids],
                at=NOW + dt.timedelta(days=r + 1),
                actor="bench",
            )
        later = NOW + dt.timedelta(days=r + 1)
        daily.append(timed(lambda at=later: take(services, KEY, now=at, actor="b")))
    now_base, now_log = [], []
    for r in range(rounds):
        pair = [("base", walk), ("log", verify_log)]
        for label, run in pair if r % 2 == 0 else reversed(pair):
            (now_base if label == "base" else now_log).append(timed(run))
    with db.engine.connect() as conn:
        heads = conn.execute(sa.select(sa.func.count()).select_from(core.checkpoint_head))
        n_heads = heads.scalar_one()
    med = statistics.median
    rows = [
        ("first", "first take (every event)", first, med(first) / med(base)),
        ("daily", f"daily take ({len(ids):,} items moved)", daily, med(daily) / med(base)),
        (
            "verify-log",
            f"verify + check ({rounds + 1} checkpoints, {n_heads:,} heads)",
            now_log,
            med(now_log) / med(now_base),
        ),
    ]
    print(f"  {'hashchain.verify (baseline)':<48}{spread(base)}")
    for key, label, values, ratio in rows:
        verdict = "ok" if ratio <= LIMITS[key] else "OVER"
        print(f"  {label:<48}{spread(values)}  {ratio:5.2f}x (limit {LIMITS[key]}x) {verdict}")


@contextmanager
def postgres() -> Iterator[Database | None]:
    url = PG_URL.replace("postgresql+psycopg://", "postgresql://")
    try:
        admin = psycopg.connect(url, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        print(f"\nPostgreSQL: skipped, unreachable at {PG_URL}: {exc}".rstrip())
        yield None
        return
    schema = f"bench_checkpoint_{uuid.uuid4().hex[:10]}"
    admin.execute(f'CREATE SCHEMA "{schema}"')
    db = Database(url, connect_args={"options": f"-csearch_path={schema}"})
    try:
        yield db
    finally:
        db.dispose()
        admin.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        admin.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="20,000 items, 3 rounds")
    parser.add_argument("--items", type=int, help="items (default 100,000; 20,000 quick)")
    parser.add_argument("--events", type=int, default=5, help="events per item (default 5)")
    parser.add_argument("--rounds", type=int, help="rounds per measurement (default 5; 3 quick)")
    parser.add_argument("--no-postgres", action="store_true", help="skip PostgreSQL")
    args = parser.parse_args()
    items = args.items or (20_000 if args.quick else 100_000)
    rounds = args.rounds or (3 if args.quick else 5)
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(f"sqlite:///{tmp}/bench.db")
        try:
            measure("SQLite", db, Path(tmp) / "data", items, args.events, rounds)
        finally:
            db.dispose()
        if not args.no_postgres:
            with postgres() as pg:
                if pg is not None:
                    measure("PostgreSQL", pg, Path(tmp) / "pgdata", items, args.events, rounds)


if __name__ == "__main__":
    main()
