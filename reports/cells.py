"""The one rule for text put into a spreadsheet cell: it is never run as a formula.

A spreadsheet takes a cell that starts with ``=``, ``+``, ``-`` or ``@`` (or a tab or a
carriage return before one) as a formula, which can start programs or send the sheet's data
elsewhere (OWASP: CSV injection). Text from the history (reasons, titles, keys) is written
with an apostrophe before such a first character, which spreadsheets show as text. Numbers
and dates are written as numbers and dates, never through here.
"""

from __future__ import annotations

_ACTIVE = ("=", "+", "-", "@", "\t", "\r")


def neutralise(text: str) -> str:
    """``text`` as a spreadsheet will show it and never run it."""
    return "'" + text if text.startswith(_ACTIVE) else text
