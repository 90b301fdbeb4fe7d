"""A report as CSV: each table in turn (its caption, headings and rows), then each figure's
items, so every count can be traced in the same file. Text cells are neutralised."""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

from engine.reports import Cell, Figure, Report, Table
from reports.cells import neutralise


def _value(cell: Cell) -> str:
    if cell is None:
        return ""
    if isinstance(cell, Figure):
        return str(cell.count)
    if isinstance(cell, dt.date | int | float):
        return cell.isoformat() if isinstance(cell, dt.date) else str(cell)
    return neutralise(cell)


def _table(writer: Any, table: Table) -> None:
    writer.writerow([])
    writer.writerow([neutralise(table.caption)])
    writer.writerow([neutralise(c) for c in table.columns])
    for row in table.rows:
        writer.writerow([_value(c) for c in row])


def render_csv(report: Report) -> bytes:
    """UTF-8 CSV (with a byte order mark, so spreadsheets read the encoding right)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([neutralise(report.title)])
    for table in report.tables:
        _table(writer, table)
    figures = report.figures()
    if figures:
        writer.writerow([])
        writer.writerow(["Items behind each figure"])
        writer.writerow(["Figure", "Count", "Item"])
        for f in figures:
            for key in f.keys:
                writer.writerow([neutralise(f.label), str(f.count), neutralise(key)])
    for table in report.closing:
        _table(writer, table)
    return ("\ufeff" + out.getvalue()).encode("utf-8")
