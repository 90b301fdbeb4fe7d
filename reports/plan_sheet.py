"""An action plan written back as a spreadsheet (``signoff export``), in the layout it was
imported in (``engine.sheets.export_plan``): the same sheets, rows above the headings and
headings, each row's cells as imported, then signoff's columns (``signoff: state`` ...),
which a re-import leaves out. Every text cell goes through ``reports.cells.neutralise``;
dates and numbers are written as such."""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

from engine.sheets import MAPPING_SHEET, ExportPlan, ExportSheet
from reports.cells import neutralise


class OneSheetOnly(ValueError):
    """CSV holds one sheet; the plan has several."""


def _cell(value: Any) -> Any:
    if isinstance(value, str):
        return neutralise(value)
    return value


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.date):
        return value.strftime("%d/%m/%Y")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return neutralise(str(value))


def _grid(sheet: ExportSheet) -> list[list[Any]]:
    rows = [list(r) for r in sheet.above]
    while len(rows) < sheet.header_row - 1:
        rows.append([])
    return [*rows, sheet.headings, *sheet.rows]


def render_plan_xlsx(plan: ExportPlan) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    first = book.active
    if first is not None:
        book.remove(first)
    for sheet in plan.sheets:
        ws = book.create_sheet(sheet.name[:31])
        for r, row in enumerate(_grid(sheet), start=1):
            for c, value in enumerate(row, start=1):
                cell = ws.cell(r, c, _cell(value))
                if isinstance(value, dt.date):
                    cell.number_format = "DD/MM/YYYY"
                if r == sheet.header_row:
                    cell.font = Font(bold=True)
    import yaml

    carried = book.create_sheet(MAPPING_SHEET)
    carried["A1"] = "The mapping signoff import reads this workbook with (README: mapping file)."
    carried["A2"] = yaml.safe_dump(plan.mapping, sort_keys=False, allow_unicode=True)
    carried.sheet_state = "hidden"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def render_plan_csv(plan: ExportPlan) -> bytes:
    if len(plan.sheets) > 1:
        raise OneSheetOnly(
            f"the plan has {len(plan.sheets)} sheets "
            f"({', '.join(s.name for s in plan.sheets)}); CSV holds one: use --format xlsx"
        )
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    for sheet in plan.sheets:
        for row in _grid(sheet):
            writer.writerow([_csv_cell(v) for v in row])
    return ("\ufeff" + out.getvalue()).encode("utf-8")
