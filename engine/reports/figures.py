"""What a report is, as data: figures that carry the items behind them, tables of them.

A report module computes a ``Report``: its stable JSON (``data``) and the same figures laid
out as ``Table``\\ s for people. Every count shown is a ``Figure`` holding the keys of the
items it counts, so each rendering can lead from the number to the items (a drill-down list
in HTML, a sheet per figure in xlsx, the keys in JSON). Rendering lives above the engine.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

FORMAT = 1  # of every report's JSON: fields are only added; this changes if one is removed


@dataclass(frozen=True, kw_only=True, slots=True)
class Figure:
    """A count and the items behind it (their keys, in report order)."""

    keys: tuple[str, ...]
    label: str  # what is counted, in words: "southend-lscb: red"

    @property
    def count(self) -> int:
        return len(self.keys)

    @classmethod
    def of(cls, label: str, keys: Sequence[str]) -> Figure:
        return cls(label=label, keys=tuple(keys))


Cell = str | int | float | dt.date | Figure | None


@dataclass(frozen=True, kw_only=True, slots=True)
class Table:
    """One table of a report: a caption, column headings, and rows whose first cell heads the
    row (``scope="row"`` in HTML)."""

    name: str  # short and unique in the report: a sheet name, an HTML id
    caption: str
    columns: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...]
    section: str | None = None  # a heading above it, where a report has parts (board-pack)

    def figures(self) -> list[Figure]:
        return [c for row in self.rows for c in row if isinstance(c, Figure)]


@dataclass(frozen=True, kw_only=True, slots=True)
class Chart:
    """A picture of one table's counts (a heat map: rows by columns). The table stays the
    text alternative; ``title`` and ``description`` are what a screen reader announces."""

    table: str  # the name of the Table it draws
    title: str
    description: str


@dataclass(frozen=True, kw_only=True)
class Report:
    """A built report: its stable JSON and the tables people read."""

    name: str
    title: str
    data: dict[str, Any]  # the stable JSON (README, "Reports"; config/report.schema.json)
    tables: tuple[Table, ...]
    notes: tuple[str, ...] = field(default=())
    charts: tuple[Chart, ...] = field(default=())
    # tables printed last, after the items behind each figure (a board pack's chain heads);
    # they hold no figures
    closing: tuple[Table, ...] = field(default=())

    def table(self, name: str) -> Table:
        """The table called ``name``.

        Raises:
            KeyError: no such table.
        """
        for t in (*self.tables, *self.closing):
            if t.name == name:
                return t
        raise KeyError(name)

    def figures(self) -> list[Figure]:
        """Every figure with items behind it, once each, in table order. Two cells that count
        the same items under the same label (the number due, on two bases) are one figure:
        one list of items, one sheet, one anchor (``Figure`` compares by label and keys)."""
        seen: dict[Figure, None] = {}
        for table in self.tables:
            for f in table.figures():
                if f.count:
                    seen.setdefault(f, None)
        return list(seen)


def percent(count: int, of: int) -> float | None:
    """``count`` of ``of`` as a percentage to one decimal place; None when ``of`` is 0."""
    return round(100 * count / of, 1) if of else None
