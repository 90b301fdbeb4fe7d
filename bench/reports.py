"""What the board reports cost on a large history, each against a limit measured in the
same run on the same machine.

1. **The timescale figures** (``engine.reports.build``, which replays every item's decisions
   in Python) against raw SQL aggregates that compute the same figures (for the implemented
   and the assured basis, the count within the original and within the agreed due date, and
   how many were due): two ``GROUP BY`` passes over the events and one over the items, sent
   through the raw driver (``sqlite3`` / ``psycopg``). Target: at most 3x.
2. **The board pack's figures** (the five reports and the hash-chain heads, built from one
   load of the history) against the same timescale aggregates plus one more ``GROUP BY``
   pass that gives each item's agency, priority, state, RAG at both ends of the period and
   chain head, counted in Python: RAG and state by agency, the high-risk items open at the
   end and those whose RAG changed, and the chain heads' count, events and SHA-256. Target:
   at most 3x. The raw side leaves out what SQL cannot fairly compute (overdue needs each
   state's deadline in working days, the decisions need each transition's meaning in the
   workflow, the themes their own pass), so it does less than the pack: a cheaper baseline,
   never a dearer one.
3. **The board pack as HTML** (the page and the download: every row of every table and
   every item behind every figure, the themes chart drawn by matplotlib) against the same
   built report written as CSV, which holds the same tables and the same items a line each:
   the cheapest rendering of the same content. Target: at most 5x.
4. **The board pack as PDF** (WeasyPrint, tagged; the PDF prints at most 100 rows a table
   and 100 items a list and names the xlsx sheet that holds the rest, ``reports.document``)
   against the timescale report's PDF built from the same history, in seconds a page: the
   same renderer on a simpler document, so a page of the pack must cost no more than twice
   a page of a plain report (no pathological layout). Target: at most 2x. The pages and the
   size are printed, and how the time grew with the history (it should not: the PDF is
   capped, so 10,000 items print about as many pages as 1,000).

Every figure of both sides is printed and must be ``EQUAL``. The figures and the timings
are printed for SQLite and PostgreSQL; the HTML and PDF (which do not touch the database)
for SQLite only. Each measurement runs several rounds, alternating which side goes first;
the verdict is on the medians, and the ratio of the best rounds is printed beside it (on a
shared machine the median carries the load of the moment; the best round is closer to the
work itself). The growth from the smallest size to the largest is printed against linear.

The raw queries know what the engine reads from the workflow (which states count as
implemented or assured, which are terminal) and take dates in UTC: every event here is at
10:00 UTC, whose London date is the UTC date. They leave out what this history never has
(imported unverified statuses, workflow migrations), which makes the baseline cheaper, not
dearer.

The database (SQLite in a temporary folder; PostgreSQL in a private schema, dropped at the
end, unless --no-postgres) is built the engine's way: migrations, the published workflow,
the Southend example; then N recommendations with one item each and 20 events per item
(about 200,000 at 10,000): decisions in ten patterns (sign-off on time or late, audit
confirmation, one and two extensions, a challenge, an audit that could not confirm, RAG
red, closure without assurance, transfer, re-audit to closed) with the "notified" events
that mail delivery writes, hash-chained as ``engine.history`` chains them. The period runs
from 2010-01-01 (before every due date, so the pack's timescale part is the timescale
report) to 2011-12-31.

    .venv/bin/python bench/reports.py            # 1,000 and 10,000 recommendations
    .venv/bin/python bench/reports.py --quick    # 1,000 and 5,000, 3 rounds

The file shares its name with the ``reports`` package, so it takes its own directory off
``sys.path`` once ``common`` is imported (as ``bench/web.py`` does).
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
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
LIMIT = 3.0  # the figures: at most 3x the raw aggregates
HTML_LIMIT = 5.0  # the board pack's HTML: at most 5x writing the same report as CSV
PDF_LIMIT = 2.0  # the board pack's PDF: at most 2x the timescale PDF's seconds a page
PACK_FROM = dt.date(2010, 1, 1)  # before every due date: the pack's timescale is the report's
EVENTS_PER_ITEM = 20
_BATCH = 5000
# Run as a script, bench/ comes first on sys.path and this file would shadow the reports
# package (imported to render); ``common`` is imported already.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
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
    until = ":until" if sqlite else "%(until)s"
    day = ":day" if sqlite else "%(day)s"
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


def pack_sql(sqlite: bool) -> str:
    """Each item's agency, priority, state, RAG (at the end of the day and at the start of the
    period) and chain head, one row an item in item order: what the board pack's RAG-and-state
    part, its high-risk summary and its hash-chain heads count."""
    until, start = (":until", ":start") if sqlite else ("%(until)s", "%(start)s")
    return f"""
WITH last AS (
  SELECT e.item_id, MAX(e.seq) AS seq,
    MAX(CASE WHEN e.rag IS NOT NULL THEN e.seq END) AS rag_seq,
    MAX(CASE WHEN e.rag IS NOT NULL AND e.at < {start} THEN e.seq END) AS rag_start_seq
  FROM event e WHERE e.at < {until} GROUP BY e.item_id
)
SELECT l.item_id, i.agency_id, c.priority, h.to_state, r.rag, s.rag, h.seq, h.hash
FROM last l
JOIN item i ON i.id = l.item_id
JOIN recommendation c ON c.id = i.recommendation_id
JOIN event h ON h.item_id = l.item_id AND h.seq = l.seq
LEFT JOIN event r ON r.item_id = l.item_id AND r.seq = l.rag_seq
LEFT JOIN event s ON s.item_id = l.item_id AND s.seq = l.rag_start_seq
ORDER BY l.item_id
"""


def raw_pack_figures(rows: list[tuple[Any, ...]], terminal: set[str]) -> dict[str, Any]:
    """The pack's figures from ``pack_sql``'s rows: items by agency and RAG and by agency and
    state; the high-risk items (priority H, or red at either end of the period) open at the
    end, and those whose RAG changed; the chain heads' count, events and digest
    (``engine.hashchain.heads_digest``)."""
    rag: Counter[tuple[str, str]] = Counter()
    state: Counter[tuple[str, str]] = Counter()
    high = changed = events = 0
    digest = hashlib.sha256()
    for item_id, agency, priority, to_state, rag_end, rag_start, seq, head in rows:
        rag[(agency, rag_end or "none")] += 1
        state[(agency, to_state)] += 1
        if priority == "H" or "red" in (rag_start, rag_end):
            high += to_state not in terminal
            changed += rag_start != rag_end
        digest.update(f"{item_id} {seq} {head}\n".encode())
        events += seq
    return {
        "rag": dict(sorted(rag.items())),
        "state": dict(sorted(state.items())),
        "high-risk": (high, changed),
        "chain": (len(rows), events, digest.hexdigest()),
    }


def pack_figures_of(data: dict[str, Any]) -> dict[str, Any]:
    """The same figures, read from the board pack's JSON."""
    by_agency = data["reports"]["rag"]["by_agency"]
    rag = {
        (a, r): v["count"] for a, g in by_agency.items() for r, v in g["rag"].items() if v["count"]
    }
    state = {(a, s): v["count"] for a, g in by_agency.items() for s, v in g["state"].items()}
    high = data["reports"]["high-risk"]
    chain = data["chain"]
    return {
        "rag": dict(sorted(rag.items())),
        "state": dict(sorted(state.items())),
        "high-risk": (len(high["items"]), len(high["rag_changes"])),
        "chain": (chain["items"], chain["events"], chain["heads_sha256"]),
    }


def timed(run: Callable[[], Any]) -> float:
    started = time.perf_counter()
    run()
    return time.perf_counter() - started


def spread(values: list[float]) -> str:
    med = statistics.median(values)
    return f"median {med:7.3f} s (min {min(values):.3f}, max {max(values):.3f})"


Raw = Callable[[str, dict[str, Any]], list[tuple[Any, ...]]]


def compare(
    label: str,
    base_label: str,
    sides: dict[str, Callable[[], Any]],
    rounds: int,
    limit: float,
) -> tuple[float, float]:
    """Time two sides ``rounds`` times, alternating which goes first; print both spreads and
    the ratio of the medians against ``limit``. Returns (median of the first, of the base)."""
    (mine_name, mine_run), (base_name, base_run) = sides.items()
    mine: list[float] = []
    base: list[float] = []
    pair = [(mine, mine_run), (base, base_run)]
    for r in range(rounds):
        for into, run in pair if r % 2 else reversed(pair):
            into.append(timed(run))
    ratio = statistics.median(mine) / statistics.median(base)
    print(f"  {base_label:<40}{spread(base)}")
    print(
        f"  {label:<40}{spread(mine)}  {ratio:5.2f}x (limit {limit}x) "
        f"{'ok' if ratio <= limit else 'OVER'}; best of each {min(mine) / min(base):.2f}x"
    )
    return statistics.median(mine), statistics.median(base)


def same(name: str, engine_side: list[Any], raw_side: list[Any], shown: str) -> None:
    equal = all(e == engine_side[0] for e in engine_side) and all(
        r == engine_side[0] for r in raw_side
    )
    print(f"  {name} {shown}: {'EQUAL' if equal else 'DIFFERENT'}")
    if not equal:
        print(f"    engine {engine_side[0]!r}\n    raw    {raw_side[0]!r}")


def measure(
    name: str, db: Database, raw: Raw, items: int, rounds: int, *, documents: bool
) -> dict[str, float]:
    """Build the history, then time the figures (and, with ``documents``, the board pack's
    HTML and PDF). Returns the medians by what was measured."""
    import reports as rendering  # the package: bench/ is off sys.path (see the top)
    from reports.document import render_pdf

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
    timescale_sql = raw_sql(db.is_sqlite, implemented, assured)
    heads_sql = pack_sql(db.is_sqlite)
    terminal = {n for n, s in states.items() if s.terminal}
    values = {"until": until, "day": AS_OF, "start": calendar.start_of_day(PACK_FROM)}
    print(
        f"\n{name}: {items:,} recommendations, {n_events:,} events "
        f"(built in {time.perf_counter() - started:.0f} s)"
    )
    took: dict[str, float] = {}

    # the timescale report against its raw aggregates
    engine_figures: list[tuple[int, ...]] = []
    raw_figures: list[tuple[int, ...]] = []

    def timescale() -> reports.Report:
        request = reports.ReportRequest(name="timescale", today=AS_OF, day_from=PACK_FROM)
        with db.engine.connect() as conn:
            return reports.build(conn, specs, calendar, request)

    def raw_timescale() -> tuple[int, ...]:
        return tuple(int(v or 0) for v in raw(timescale_sql, values)[0])

    took["timescale"], took["timescale raw"] = compare(
        "engine.reports timescale",
        "raw SQL aggregates (baseline)",
        {
            "engine": lambda: engine_figures.append(figures_of(timescale().data)),
            "raw": lambda: raw_figures.append(raw_timescale()),
        },
        rounds,
        LIMIT,
    )
    same(
        "timescale figures",
        engine_figures,
        raw_figures,
        f"{engine_figures[0]} (implemented within original, of; within agreed, of; assured "
        "within original, within agreed)",
    )

    # the board pack's figures against raw aggregates of the figures they share
    packs: list[reports.Report] = []
    engine_pack: list[dict[str, Any]] = []
    raw_pack: list[dict[str, Any]] = []

    def pack() -> None:
        request = reports.ReportRequest(name="board-pack", today=AS_OF, day_from=PACK_FROM)
        with db.engine.connect() as conn:
            packs.append(reports.build(conn, specs, calendar, request))
        engine_pack.append(
            {
                **pack_figures_of(packs[-1].data),
                "timescale": figures_of(packs[-1].data["reports"]["timescale"]),
            }
        )

    def raw_board() -> None:
        rows = raw(heads_sql, values)
        raw_pack.append({**raw_pack_figures(rows, terminal), "timescale": raw_timescale()})

    took["pack"], took["pack raw"] = compare(
        "engine.reports board-pack",
        "raw SQL aggregates of its figures",
        {"engine": pack, "raw": raw_board},
        rounds,
        LIMIT,
    )
    chain = engine_pack[0]["chain"]
    same(
        "board-pack figures",
        engine_pack,
        raw_pack,
        f"(timescale as above; {len(engine_pack[0]['rag'])} agency x RAG and "
        f"{len(engine_pack[0]['state'])} agency x state counts; high-risk open at the end, RAG "
        f"changed {engine_pack[0]['high-risk']}; chain heads of {chain[0]:,} items, "
        f"{chain[1]:,} events, sha256 {chain[2][:16]}...)",
    )
    if not documents:
        return took

    # the board pack as a page (every row and item) against the same report as CSV
    built = packs[-1]
    html_size: list[int] = []
    took["html"], took["csv"] = compare(
        "board-pack HTML (every row and item)",
        "the same report as CSV (baseline)",
        {
            "html": lambda: html_size.append(len(rendering.render(built, "html"))),
            "csv": lambda: rendering.render(built, "csv"),
        },
        max(rounds - 2, 3),
        HTML_LIMIT,
    )
    print(f"  HTML: {html_size[0] / 1e6:.1f} MB")

    # the board pack's PDF against the timescale report's, by the page
    alone = timescale()
    pdfs: dict[str, bytes] = {}

    def pdf(report: reports.Report) -> Callable[[], None]:
        def run() -> None:
            pdfs[report.name] = render_pdf(report)

        return run

    pdf_rounds = max(rounds - 2, 3)
    pack_pdf, one_pdf = [], []
    for r in range(pdf_rounds):
        for into, report in ((pack_pdf, built), (one_pdf, alone))[:: 1 if r % 2 else -1]:
            into.append(timed(pdf(report)))
    pages = {n: _pages(b) for n, b in pdfs.items()}
    per_page = statistics.median(pack_pdf) / pages["board-pack"]
    per_page_one = statistics.median(one_pdf) / pages["timescale"]
    ratio = per_page / per_page_one
    print(f"  {'timescale PDF (baseline)':<40}{spread(one_pdf)}, {pages['timescale']} pages")
    print(
        f"  {'board-pack PDF':<40}{spread(pack_pdf)}, {pages['board-pack']} pages, "
        f"{len(pdfs['board-pack']) / 1e6:.1f} MB"
    )
    best = (min(pack_pdf) / pages["board-pack"]) / (min(one_pdf) / pages["timescale"])
    print(
        f"  {'board-pack PDF, seconds a page':<40}{per_page:.3f} s against {per_page_one:.3f} s "
        f" {ratio:5.2f}x (limit {PDF_LIMIT}x) {'ok' if ratio <= PDF_LIMIT else 'OVER'}; "
        f"best of each {best:.2f}x"
    )
    took["pdf"], took["pdf pages"] = statistics.median(pack_pdf), float(pages["board-pack"])
    return took


def _pages(pdf: bytes) -> int:
    import io

    import pikepdf

    with pikepdf.open(io.BytesIO(pdf)) as doc:
        return len(doc.pages)


def _sqlite_time(at: dt.datetime) -> str:
    """A moment as SQLAlchemy stores it in SQLite (UTC, no zone)."""
    return at.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def sqlite_raw(path: Path) -> Raw:
    def run(sql: str, values: dict[str, Any]) -> list[tuple[Any, ...]]:
        conn = raw_sqlite(path)
        try:
            named = {
                "until": _sqlite_time(values["until"]),
                "start": _sqlite_time(values["start"]),
                "day": values["day"].isoformat(),
            }
            return conn.execute(sql, named).fetchall()
        finally:
            conn.close()

    return run


def pg_raw(url: str, schema: str) -> Raw:
    def run(sql: str, values: dict[str, Any]) -> list[tuple[Any, ...]]:
        with psycopg.connect(url, options=f"-csearch_path={schema}") as conn:
            named = {
                "until": values["until"].astimezone(dt.UTC).replace(tzinfo=None),
                "start": values["start"].astimezone(dt.UTC).replace(tzinfo=None),
                "day": values["day"],
            }
            return conn.execute(sql, named).fetchall()

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


def growth(backend: str, took: list[tuple[int, dict[str, float]]]) -> None:
    """How each measure grew from the smallest size to the largest, against linear."""
    if len(took) < 2:
        return
    (small, first), (large, last) = took[0], took[-1]
    print(f"\n{backend}: growth from {small:,} to {large:,} ({large / small:.0f}x the items)")
    for what in ("timescale", "pack", "html", "pdf", "pdf pages"):
        if what in first and what in last:
            grew = last[what] / first[what]
            print(f"  {what:<12}{grew:6.1f}x the time ({grew / (large / small):.2f} of linear)")


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
        took: list[tuple[int, dict[str, float]]] = []
        for size in sizes:
            with tempfile.TemporaryDirectory() as tmp:
                if backend == "SQLite":
                    path = Path(tmp) / "bench.db"
                    db = Database(f"sqlite:///{path}")
                    try:
                        medians = measure(
                            backend, db, sqlite_raw(path), size, rounds, documents=True
                        )
                        took.append((size, medians))
                    finally:
                        db.dispose()
                    continue
                with postgres() as pg:
                    if pg is None:
                        break
                    db, url, schema = pg
                    medians = measure(
                        backend, db, pg_raw(url, schema), size, rounds, documents=False
                    )
                    took.append((size, medians))
        growth(backend, took)


if __name__ == "__main__":
    main()
