"""The directory as a spreadsheet (``signoff directory export``, ``/admin/directory``): the
rows ``engine.directory.table`` lays out, as xlsx or CSV. Every text cell goes through
``reports.cells.neutralise``; dates are written as dates (xlsx) or YYYY-MM-DD (CSV), which
the import reads back."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Sequence
from typing import Any

from reports.cells import neutralise

SHEET = "Directory"


def _cell(value: Any) -> Any:
    return neutralise(value) if isinstance(value, str) else value


def render_directory_xlsx(rows: Sequence[Sequence[Any]]) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    first = book.active
    if first is not None:
        book.remove(first)
    ws = book.create_sheet(SHEET)
    for r, row in enumerate(rows, start=1):
        for c, value in enumerate(row, start=1):
            cell = ws.cell(r, c, _cell(value))
            if isinstance(value, dt.date):
                cell.number_format = "YYYY-MM-DD"
            if r == 1:
                cell.font = Font(bold=True)
    ws.freeze_panes = "A2"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def render_directory_csv(rows: Sequence[Sequence[Any]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    for row in rows:
        writer.writerow(
            [
                "" if v is None else v.isoformat() if isinstance(v, dt.date) else _cell(str(v))
                for v in row
            ]
        )
    return ("\ufeff" + out.getvalue()).encode("utf-8")
