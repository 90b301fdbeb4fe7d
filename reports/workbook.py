"""A report as an xlsx workbook (openpyxl): a sheet per table, and a sheet per figure.

Each count in a table links to its own sheet (``F1``, ``F2`` ...) listing the items behind
it, and that sheet links back. Text cells are neutralised (``reports.cells``); numbers and
dates are written as such.
"""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

from engine.reports import Cell, Figure, Report
from reports.cells import neutralise


def figure_sheets(report: Report) -> dict[Figure, str]:
    """The sheet that lists each figure's items: ``F1``, ``F2`` ... in ``report.figures()``
    order (the PDF names them where it prints only the first items of a list)."""
    return {f: f"F{n}" for n, f in enumerate(report.figures(), start=1)}


def table_sheet(name: str) -> str:
    """The sheet a table is written to (a sheet name holds at most 31 characters)."""
    return name[:31]


def _plain(cell: Cell) -> Any:
    if isinstance(cell, str):
        return neutralise(cell)
    return cell


def render_xlsx(report: Report) -> bytes:
    """The workbook's bytes."""
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.worksheet.hyperlink import Hyperlink

    book = Workbook()
    first = book.active
    if first is not None:
        book.remove(first)
    bold, link = Font(bold=True), Font(color="1D70B8", underline="single")
    sheet_of = figure_sheets(report)
    home: dict[Figure, str] = {}  # the table sheet a figure's sheet links back to
    for table in report.tables:
        for f in table.figures():
            home.setdefault(f, table_sheet(table.name))
    for table in (*report.tables, *report.closing):
        sheet = book.create_sheet(table_sheet(table.name))
        sheet.append([neutralise(table.caption)])
        sheet["A1"].font = bold
        sheet.append([neutralise(c) for c in table.columns])
        for cell in sheet[2]:
            cell.font = bold
        for r, row in enumerate(table.rows, start=3):
            for c, value in enumerate(row, start=1):
                target = sheet.cell(row=r, column=c)
                if isinstance(value, Figure):
                    target.value = value.count
                    name = sheet_of.get(value)
                    if name:
                        # a link inside the workbook: a location, not an external target
                        target.hyperlink = Hyperlink(ref=target.coordinate, location=f"'{name}'!A1")
                        target.font = link
                else:
                    target.value = _plain(value)
                    if isinstance(value, dt.date):
                        target.number_format = "yyyy-mm-dd"
    for f, name in sheet_of.items():
        sheet = book.create_sheet(name)
        sheet.append([neutralise(f.label), f.count])
        sheet["A1"].font = bold
        sheet.append(["Item"])
        sheet["A2"].font = bold
        for key in f.keys:
            sheet.append([neutralise(key)])
        sheet["C1"] = "back to the report"
        sheet["C1"].hyperlink = Hyperlink(ref="C1", location=f"'{home[f]}'!A1")
        sheet["C1"].font = link
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
