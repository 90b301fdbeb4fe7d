"""Builds config/examples/southend_scr_action_plan.xlsx: an action plan as a board keeps it
in Excel (a fictional one, no real people), for `signoff import` and the tests.

Two sheets of recommendations with different headings and heading rows, a title merged
across the top, group headings merged over two columns, headings merged down two rows, an
agency cell merged down two rows, a blank and a hidden row, dates as Excel dates and as
text in the forms boards write, a RAG column, and a notes sheet with no table.

    python config/examples/build_sheet_example.py
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

from openpyxl import Workbook

HERE = Path(__file__).parent
NAME = "southend_scr_action_plan.xlsx"


def build(path: Path) -> Path:
    book = Workbook()
    ws = book.active
    assert ws is not None
    ws.title = "SCR actions"
    ws["A1"] = "Serious Case Review action plan (fictional example)"
    ws.merge_cells("A1:I1")
    # row 2: group headings; row 3: the headings (some merged down from row 2)
    for col, heading in zip(
        "ABCDE", ["Ref", "Recommendation", "Action", "Lead agency", "Lead officer"], strict=True
    ):
        ws[f"{col}2"] = heading
        ws.merge_cells(f"{col}2:{col}3")
    ws["F2"] = "Timescales"
    ws.merge_cells("F2:G2")
    ws["F3"], ws["G3"] = "Target date", "Priority"
    ws["H2"] = "Progress"
    ws.merge_cells("H2:I2")
    ws["H3"], ws["I3"] = "RAG", "Update"
    rows: list[list[str | dt.date | None]] = [
        [
            "1",
            "Agencies to review the threshold guidance with front-line staff.",
            "Run briefings for all teams.",
            "Southend Local Safeguarding Children Board",
            "LSCB Business Manager",
            dt.date(2011, 1, 31),
            "High",
            "Green",
            "Briefings delivered to most teams.",
        ],
        [
            "2",
            "Health partners to share records of missed appointments.",
            "Agree a protocol for sharing missed appointment information.",
            "NHS South East Essex / SEPT",
            "Designated Nurse",
            "31/01/2011; 1st April 2011",
            "H",
            "Amber",
            "Protocol drafted.",
        ],
        [
            "3",
            "Maternity staff to be trained in recognising hidden adults.",
            "Training programme for midwives.",
            "nhs-south-east-essex",
            "Head of Midwifery",
            "June 2011",
            "Medium",
            "completed",
            None,
        ],
        [None] * 9,  # a blank row
        [
            "4",
            "Probation to check for children in the household at assessment.",
            "Amend assessment checklist.",
            "Essex Probation Service",
            "Safeguarding Lead",
            "Summer 2010",
            "M",
            "no response",
            None,
        ],
        [
            "5",
            "Audit of referrals to be repeated.",
            "Repeat the audit.",
            "Essex Probation Service",
            None,
            "within six months of publication of this Review",
            "L",
            "on track",
            None,
        ],
    ]
    for r, row in enumerate(rows, start=4):
        for c, value in enumerate(row, start=1):
            if value is not None:
                ws.cell(r, c, value)
                if isinstance(value, dt.date):
                    ws.cell(r, c).number_format = "DD/MM/YYYY"
    hidden = 4 + len(rows)
    for c, value in enumerate(["5b", "A withdrawn row kept hidden.", None, "sept"], start=1):
        if value is not None:
            ws.cell(hidden, c, value)
    ws.row_dimensions[hidden].hidden = True
    ws.column_dimensions["B"].width = 60

    audit = book.create_sheet("Audit follow-up")
    audit["A1"] = "Actions from the section 11 audit"
    audit.append(["Rec No", "Recommendations", "Agency", "Timescale", "Status", "Evidence"])
    audit.append(
        [
            "A1",
            "Named nurses to attend strategy meetings.",
            "SEPT",
            "From January 2011",
            "on track",
            "Attendance log",
        ]
    )
    audit.append(
        [
            "A2",
            "Staff supervision to include safeguarding cases.",
            None,
            "January 09 onwards; March 2010",
            "red",
            None,
        ]
    )
    audit.merge_cells("C3:C4")  # one agency for both rows
    audit.append(
        [
            "A3",
            "Hospital to publish its safeguarding policy.",
            "sept",
            "Immediate",
            "Completed",
            "Policy on intranet",
        ]
    )

    notes = book.create_sheet("Notes")
    notes["A1"] = "Updated quarterly for the executive group."
    book.save(path)
    return path


if __name__ == "__main__":
    out = build(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE / NAME)
