"""Benchmark: the consequences preview of a workflow change against the forecast alone.

Not a test: it prints figures with their target beside them. Run it as a script,
``.venv/bin/python bench/admin.py`` (``--quick`` for fewer rounds, ``--items N``,
``--rounds N``, ``--no-postgres``, ``--profile`` to add a cProfile of one preview on SQLite).

The preview (``engine.consequences.preview``) reads the window once and runs the forecast's
code (``engine.forecast.emails``) twice, as things are and as the migration would leave them,
then compares the two per recipient. The baseline is ``engine.forecast.forecast`` over the
same items and window (30 days), in the same run. Target: the preview takes at most 2.5x the
forecast. The two candidates measured are the issue's: the chase interval of ``open`` from 7
to 14 days (every open item re-planned), and ``challenged`` renamed ``returned`` with the
mapping ``challenged=returned`` (those items move state and are entered afresh).

The database (SQLite in a temporary folder; PostgreSQL in a private schema, dropped at the
end) is built the engine's way: migrations, the published workflow, the Southend plan and
contacts; then N items in flight (default 10,000) are loaded in bulk, one recommendation each,
spread over the example's agencies and the workflow's states (half open, the rest awaiting
the panel, challenged, awaiting audit, confirmed, awaiting re-audit), with due dates and
state entries around ``now`` and the ``next_attention_at`` that ``engine.deadlines`` gives
on entry; then real sweeps, one a day over the 100 days before ``now`` (when every item
entered its state since), bring them to the steady state of a running service: what fell
due is in the outbox (the forecast skips it, and a re-planned item's chase periods already
sent stay sent; what the last sweep queued waits for the dispatcher, the rest is marked
sent), each item's next attention set. Each round alternates which side goes
first, after a full garbage collection, with neither side's last answer still held; read the
median and the spread. The CPU time of the process is printed too: on a shared machine it
moves less than the wall clock (on PostgreSQL it leaves out the server's share, which the
preview adds little to).
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import gc
import io
import os
import pstats
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
from common import WORKFLOW, import_examples, migrate_and_publish

from engine import deadlines
from engine.consequences import Consequences, preview
from engine.forecast import forecast
from engine.hashchain import GENESIS
from engine.services import Services
from engine.spec import WorkflowSpec, load_spec
from engine.store import core
from engine.store.db import Database
from engine.sweep import run_once

PG_URL = os.environ.get("SIGNOFF_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
NOW = dt.datetime(2011, 3, 21, 10, 0, tzinfo=dt.UTC)  # a Monday morning, GMT
DAYS = 30
HISTORY_DAYS = 100  # swept daily before NOW: every item entered its state since
LIMIT = 2.5
_BATCH = 5000
AGENCIES = (
    "southend-lscb",
    "nhs-south-east-essex",
    "sept",
    "southend-university-hospital-ft",
    "sbc-children-and-learning",
    "sbc-adult-and-community-services",
    "essex-probation",
    "south-essex-homes",
)
# (state, share in twentieths): half open, the rest along the workflow
STATES = (
    ("open", 10),
    ("evidence_submitted", 3),
    ("challenged", 3),
    ("panel_signed_off", 2),
    ("audit_confirmed", 1),
    ("embedded_reaudit", 1),
)
SHIPPED = WORKFLOW.read_text()


def candidates() -> list[tuple[str, WorkflowSpec, dict[str, str]]]:
    """(what changes, the candidate, the mapping): the two changes measured."""
    start, end = SHIPPED.index("  open:\n"), SHIPPED.index("  evidence_submitted:\n")
    chase = SHIPPED[:start] + SHIPPED[start:end].replace("every: 7 days", "every: 14 days")
    chase += SHIPPED[end:]
    renamed = SHIPPED.replace("challenged", "returned")
    return [
        ("open chased every 14 days, not 7", load_spec(chase, "chase14.yaml"), {}),
        (
            "challenged renamed returned, mapped",
            load_spec(renamed, "renamed.yaml"),
            {"challenged": "returned"},
        ),
    ]


def state_of(n: int) -> str:
    slot = n % 20
    for state, share in STATES:
        if slot < share:
            return state
        slot -= share
    raise AssertionError(n)


def build(services: Services, items: int) -> int:
    """The database with ``items`` items in flight, swept daily up to NOW; the outbox rows."""
    db, calendar = services.db, services.calendar
    version_id = migrate_and_publish(db, NOW)
    with db.write() as conn:
        import_examples(conn, NOW, specs=services.specs, calendar=calendar)
        spec = services.specs.get(conn, version_id)
        review = conn.execute(sa.select(core.review.c.id)).scalar_one()
        first_rec = int(conn.execute(sa.select(sa.func.max(core.recommendation.c.id))).scalar_one())
        first_item = int(conn.execute(sa.select(sa.func.max(core.item.c.id))).scalar_one())
        recs, rows = [], []
        for n in range(1, items + 1):
            state = state_of(n)
            due = NOW.date() + dt.timedelta(days=(n * 7) % 150 - 60)  # 60 days ago to 90 ahead
            entered = NOW - dt.timedelta(days=(n * 11) % 90, hours=n % 7)
            plan = deadlines.plan(
                spec.states[state], item_due=due, entered_at=entered, entered_seq=1,
                calendar=calendar,
            )  # fmt: skip
            recs.append(
                {
                    "id": first_rec + n,
                    "review_id": review,
                    "ref": f"B{n}",
                    "text": "bench",
                    "due_dates": [due.isoformat()],
                    "themes": [],
                    "source": {},
                }
            )
            rows.append(
                {
                    "id": first_item + n,
                    "recommendation_id": first_rec + n,
                    "agency_id": AGENCIES[n % len(AGENCIES)],
                    "workflow_version_id": version_id,
                    "state": state,
                    "version": 1,
                    "seq": 1,
                    "last_hash": GENESIS,
                    "due": due,
                    "due_history": [due.isoformat()],
                    "actors": {},
                    "entered_at": entered,
                    "entered_seq": 1,
                    "next_attention_at": deadlines.attention(plan, entered, calendar),
                    "updated_at": entered,
                }
            )
        for start in range(0, items, _BATCH):
            conn.execute(core.recommendation.insert(), recs[start : start + _BATCH])
            conn.execute(core.item.insert(), rows[start : start + _BATCH])
    queued = 0
    outbox = core.outbox
    for back in range(HISTORY_DAYS, -1, -1):  # as a service that sweeps daily would have
        day = NOW - dt.timedelta(days=back)
        queued += run_once(services, day, limit=items * 2).queued
        if back:  # and the dispatcher sent what was due; the last sweep's rows wait for it
            with db.write() as conn:
                conn.execute(
                    outbox.update()
                    .where(outbox.c.status == "pending", outbox.c.next_attempt_at <= day)
                    .values(status="sent", sent_at=day)
                )
    return queued


def timed(run: Callable[[], Any]) -> tuple[float, float, Any]:
    """Wall-clock and CPU seconds of ``run()`` (after a full collection, so neither side
    pays for the other's garbage), and what it returned."""
    gc.collect()
    started, cpu = time.perf_counter(), time.process_time()
    result = run()
    return time.perf_counter() - started, time.process_time() - cpu, result


def spread(values: list[float]) -> str:
    return (
        f"median {statistics.median(values):6.3f} s "
        f"(min {min(values):.3f}, max {max(values):.3f}, {len(values)} runs)"
    )


def measure(name: str, services: Services, items: int, rounds: int, profile: bool) -> None:
    started = time.perf_counter()
    queued = build(services, items)
    with services.db.engine.connect() as conn:
        in_flight = conn.execute(sa.select(sa.func.count()).select_from(core.item)).scalar_one()
    print(
        f"\n{name}: {in_flight:,} items in flight, {queued:,} emails queued by daily sweeps up to "
        f"{NOW:%Y-%m-%d %H:%M} (built in {time.perf_counter() - started:.0f} s); "
        f"window {DAYS} days"
    )
    for label, candidate, mapping in candidates():

        def baseline() -> list[dict[str, Any]]:
            return forecast(services, NOW, DAYS)

        def previewed(spec: WorkflowSpec = candidate, m: dict[str, str] = mapping) -> Consequences:
            return preview(
                services, workflow="recommendation", candidate=spec, mapping=m, now=NOW,
                days=DAYS,
            )  # fmt: skip

        base, mine, base_cpu, mine_cpu = [], [], [], []
        ahead: list[dict[str, Any]] = []
        result: Consequences | None = None
        for r in range(rounds):  # alternate which side goes first
            pair = [("forecast", baseline), ("preview", previewed)]
            for side, run in pair if r % 2 == 0 else reversed(pair):
                if side == "forecast":
                    ahead = []  # the last round's answer is not kept while this one runs
                    took, cpu, ahead = timed(run)
                    base.append(took)
                    base_cpu.append(cpu)
                else:
                    result = None
                    took, cpu, result = timed(run)
                    mine.append(took)
                    mine_cpu.append(cpu)
        assert result is not None
        same = result.before == ahead
        ratio = statistics.median(mine) / statistics.median(base)
        cpu_ratio = statistics.median(mine_cpu) / statistics.median(base_cpu)
        print(f"  {label}:")
        print(
            f"    {result.current:,} emails now, {result.new:,} once published "
            f"({result.difference:+,}: {result.added:,} added, {result.removed:,} removed, "
            f"{result.moved:,} moved, {len(result.recipients)} people); "
            f"{len(result.moves):,} items move, {len(result.state_changes)} state change(s); "
            f"the preview's own forecast and forecast(): {'EQUAL' if same else 'DIFFERENT'}"
        )
        print(f"    {'forecast alone (baseline)':<28}{spread(base)}")
        ratios = ", ".join(f"{m / b:.2f}" for m, b in zip(mine, base, strict=True))
        print(
            f"    {'consequences preview':<28}{spread(mine)}  {ratio:5.2f}x "
            f"(limit {LIMIT}x) {'ok' if ratio <= LIMIT else 'OVER'}; per round: {ratios}"
        )
        print(
            f"    CPU time of this process: forecast {spread(base_cpu)}, preview "
            f"{spread(mine_cpu)}: {cpu_ratio:.2f}x"
        )
        if profile and services.db.is_sqlite:
            profiler = cProfile.Profile()
            profiler.runcall(previewed)
            out = io.StringIO()
            pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(25)
            print(out.getvalue())


@contextmanager
def postgres() -> Iterator[Database | None]:
    url = PG_URL.replace("postgresql+psycopg://", "postgresql://")
    try:
        admin = psycopg.connect(url, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        print(f"\nPostgreSQL: skipped, unreachable at {PG_URL}: {exc}".rstrip())
        yield None
        return
    schema = f"bench_admin_{uuid.uuid4().hex[:10]}"
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
    parser.add_argument("--quick", action="store_true", help="3 rounds")
    parser.add_argument("--items", type=int, default=10_000, help="items in flight")
    parser.add_argument("--rounds", type=int, help="rounds per measurement (default 7; 3 quick)")
    parser.add_argument("--no-postgres", action="store_true", help="skip PostgreSQL")
    parser.add_argument("--profile", action="store_true", help="cProfile one preview (SQLite)")
    args = parser.parse_args()
    rounds = args.rounds or (3 if args.quick else 7)
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(f"sqlite:///{Path(tmp) / 'bench.db'}")
        try:
            measure("SQLite", Services(db=db, data_dir=Path(tmp)), args.items, rounds, args.profile)
        finally:
            db.dispose()
    if args.no_postgres:
        return
    with postgres() as pg, tempfile.TemporaryDirectory() as tmp:
        if pg is not None:
            measure("PostgreSQL", Services(db=pg, data_dir=Path(tmp)), args.items, rounds, False)


if __name__ == "__main__":
    main()
