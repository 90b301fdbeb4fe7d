"""``board-pack``: the board's reports for one period in one document, ending with the
hash-chain heads at the end of the period.

The pack holds ``rag``, ``overdue`` and ``themes`` as at ``--to``, and ``timescale`` and
``high-risk`` over ``--from``..``--to`` (``--from`` defaults to the quarter before), each
built exactly as on its own. Its last part prints every item's chain head at the end of
``--to`` (the seq and hash of its newest event then) and the SHA-256 of them all, in the
form a checkpoint signs (``engine.hashchain.heads_digest``), with the checkpoints sealed
during the period. Built again later for the same ``--to``, an unchanged history gives the
same digest: a changed one does not, and the printed pack is the witness.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from engine import indicators
from engine.calendar import Calendar
from engine.hashchain import canonical_time, heads_at, heads_digest
from engine.reports import high_risk, overdue, rag, themes, timescale
from engine.reports.figures import FORMAT, Cell, Chart, Figure, Report, Table
from engine.reports.lives import Life, Scope, Specs, end_of
from engine.store import core

PARTS = ("rag", "overdue", "timescale", "high-risk", "themes")
CHAIN_SECTION = "Hash-chain heads at the end of the period"
_cp = core.checkpoint


def _parts(
    lives: list[Life],
    specs: Specs,
    calendar: Calendar,
    *,
    scope: Scope,
    day_from: dt.date,
    day: dt.date,
    indicators: list[dict[str, Any]],
) -> list[Report]:
    builders: dict[str, Callable[[], Report]] = {
        "rag": lambda: rag.build(lives, specs, calendar, scope=scope, day=day),
        "overdue": lambda: overdue.build(lives, specs, calendar, scope=scope, day=day),
        "timescale": lambda: timescale.build(
            lives, specs, calendar, scope=scope, day_from=day_from, day=day, indicators=indicators
        ),
        "high-risk": lambda: high_risk.build(
            lives, specs, calendar, scope=scope, day_from=day_from, day=day
        ),
        "themes": lambda: themes.build(lives, specs, calendar, scope=scope, day=day),
    }
    return [builders[name]() for name in PARTS]


def stated_indicators(
    conn: sa.Connection, scope: Scope, day_from: dt.date | None, day: dt.date
) -> list[dict[str, Any]]:
    """The performance indicators a report beside the figures shows: those of the reviews in
    scope dated in the period; none for one agency's report (they are the board's)."""
    if scope.agency is not None:
        return []
    return indicators.stated(conn, scope.review, day_from, day)


def _titled(rows: tuple[tuple[Cell, ...], ...], title: str) -> tuple[tuple[Cell, ...], ...]:
    """``rows`` with each figure's label led by its part's title: in one pack, "sept: red" of
    the RAG part and "sept: all" of the themes part are told apart wherever the label is read
    (the drill-down's headings, a figure's sheet, a screen reader's link text)."""
    return tuple(
        tuple(Figure.of(f"{title}: {c.label}", c.keys) if isinstance(c, Figure) else c for c in row)
        for row in rows
    )


def _chain(
    conn: sa.Connection, lives: list[Life], *, moment: dt.datetime, since: dt.datetime
) -> tuple[dict[str, Any], tuple[Table, ...]]:
    key_of = {life.id: life.key for life in lives}
    heads = [h for h in heads_at(conn, moment) if h.item_id in key_of]
    digest = heads_digest((h.item_id, h.seq, h.hash) for h in heads)
    seals = conn.execute(
        sa.select(_cp.c.number, _cp.c.taken_at, _cp.c.heads_sha256, _cp.c.key_id, _cp.c.signature)
        .where(_cp.c.taken_at >= since, _cp.c.taken_at < moment)
        .order_by(_cp.c.number)
    ).all()
    until = canonical_time(moment)
    checkpoints = [
        {
            "number": s.number,
            "taken_at": canonical_time(s.taken_at),
            "heads_sha256": s.heads_sha256,
            "key_id": s.key_id,
            "signature": s.signature,
        }
        for s in seals
    ]
    data: dict[str, Any] = {
        "until": until,
        "items": len(heads),
        "events": sum(h.seq for h in heads),
        "heads_sha256": digest,
        "heads": [
            {"item": key_of[h.item_id], "id": h.item_id, "seq": h.seq, "hash": h.hash}
            for h in heads
        ],
        "checkpoints": checkpoints,
    }
    summary = Table(
        name="chain-summary",
        caption="The history at the end of the period",
        columns=("What", "Value"),
        rows=(
            ("Up to (UTC)", until),
            ("Items", len(heads)),
            ("Events", sum(h.seq for h in heads)),
            ("SHA-256 of all heads", digest),
        ),
        section=CHAIN_SECTION,
    )
    head_rows: tuple[tuple[Cell, ...], ...] = tuple(
        (key_of[h.item_id], h.item_id, h.seq, h.hash) for h in heads
    )
    head_table = Table(
        name="chain-heads",
        caption="Each item's newest event: its number and hash",
        columns=("Item", "Item id", "Events", "Head hash (SHA-256)"),
        rows=head_rows,
        section=CHAIN_SECTION,
    )
    seal_table = Table(
        name="chain-checkpoints",
        caption="Checkpoints sealed in the period",
        columns=("Checkpoint", "Taken at (UTC)", "SHA-256 of heads", "Signature (HMAC-SHA256)"),
        rows=tuple(
            (str(c["number"]), c["taken_at"], c["heads_sha256"], c["signature"])
            for c in checkpoints
        ),
        section=CHAIN_SECTION,
    )
    return data, (summary, head_table, seal_table)


def build(
    conn: sa.Connection,
    lives: list[Life],
    specs: Specs,
    calendar: Calendar,
    *,
    scope: Scope,
    day_from: dt.date,
    day: dt.date,
) -> Report:
    moment = end_of(day, calendar)
    stated = stated_indicators(conn, scope, day_from, day)
    parts = _parts(
        lives, specs, calendar, scope=scope, day_from=day_from, day=day, indicators=stated
    )
    tables: list[Table] = []
    charts: list[Chart] = []
    notes: list[str] = []
    for part in parts:
        renamed = {t.name: f"{part.name}-{t.name}" for t in part.tables}
        tables.extend(
            dataclasses.replace(
                t, name=renamed[t.name], section=part.title, rows=_titled(t.rows, part.title)
            )
            for t in part.tables
        )
        charts.extend(dataclasses.replace(c, table=renamed[c.table]) for c in part.charts)
        notes.extend(f"{part.title}: {n}" for n in part.notes)
    since = end_of(day_from - dt.timedelta(days=1), calendar)
    chain, chain_tables = _chain(conn, lives, moment=moment, since=since)
    data = {
        "format": FORMAT,
        "report": "board-pack",
        "period": {"from": day_from.isoformat(), "to": day.isoformat()},
        "scope": {"review": scope.review, "agency": scope.agency},
        "reports": {part.name: part.data for part in parts},
        "chain": chain,
    }
    return Report(
        name="board-pack",
        title="Board pack",
        data=data,
        tables=tuple(tables),
        closing=chain_tables,
        notes=tuple(notes),
        charts=tuple(charts),
    )
