"""CSV: a cell that a spreadsheet would run as a formula is refused.

Excel and its kind take a cell that starts with ``=``, ``+``, ``-`` or ``@`` (spaces, tabs
or line breaks before it ignored) as a formula; ``=cmd|' /C calc'!A0`` starts a program and
``=HYPERLINK(...)`` sends whoever clicks it, with the sheet's data, elsewhere. Numbers,
phone numbers and dates that start with a sign (``-3.5``, ``+44 (0)20 7946 0000``) and
text after a dash (``- done``) cannot act, and are kept. Cells are read with each of the
separators spreadsheets guess (comma, semicolon, tab), as any of them may be used.
"""

from __future__ import annotations

import csv
import re

from engine.uploads.policy import BadContent

_SEPARATORS = (",", ";", "\t")
_SIGNED_NUMBER = re.compile(r"[+-][\d\s.,:/()%+-]*")
_CALLS = frozenset("(|!=")  # a function call, DDE, a sheet reference or a comparison


def check_csv(text: str) -> None:
    """Refuse CSV text with a cell a spreadsheet would run as a formula.

    Raises:
        BadContent: naming the first such cell's row and content.
    """
    if not any(mark in text for mark in "=+-@"):
        return
    for separator in _SEPARATORS:
        if separator != "," and separator not in text:
            continue
        rows = csv.reader(text.splitlines(), delimiter=separator, strict=False)
        try:
            for number, row in enumerate(rows, 1):
                for cell in row:
                    if _is_formula(cell):
                        shown = cell.strip()
                        shown = shown[:40] + "…" if len(shown) > 40 else shown
                        raise BadContent(
                            f"has a cell that a spreadsheet would run as a formula (row "
                            f"{number}: {shown!r}); formulas can start programs or send data "
                            "elsewhere when the file is opened. Put an apostrophe (') before "
                            "it, or save the sheet as .xlsx, and upload that."
                        )
        except csv.Error:
            raise BadContent(
                "cannot be read as CSV (a cell is too long or broken). Save it again as "
                "'CSV UTF-8' and upload that."
            ) from None


def _is_formula(cell: str) -> bool:
    value = cell.lstrip(" \t\r\n")
    if not value or value[0] not in "=+-@":
        return False
    if value[0] == "=":
        return len(value) > 1
    if _SIGNED_NUMBER.fullmatch(value):
        return False
    return any(ch in _CALLS for ch in value[1:])
