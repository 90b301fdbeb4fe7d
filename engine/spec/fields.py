"""Bounded value types for the files administrators hand in (workflow files, action plans,
contacts files): how long a value may be, which characters it may hold, which dates are
believable.

A ``line`` is one line of text: it may end up in an email header (a ref, a name, a review
title, a state label), so line breaks (CR, LF, NEL, U+2028, U+2029), other control
characters and the bidirectional overrides that disguise text are refused. ``text`` is
free text over several lines: tabs and line feeds are allowed, other control characters
are not. A ``Date`` lies between :data:`FIRST_DATE` and :data:`LAST_DATE`: a plan dated
9999-12-31 or 0001-01-01 is a typo, and a date near either end of the calendar cannot
have deadlines computed from it.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from typing import Annotated, Any

from pydantic import AfterValidator, Field

FIRST_DATE = dt.date(1990, 1, 1)
LAST_DATE = dt.date(2100, 12, 31)

# C0 and C1 controls, DEL, the Unicode line and paragraph separators, bidi overrides
_NOT_IN_LINE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_NOT_IN_TEXT = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
LINE_PATTERN = "^[^\\u0000-\\u001f\\u007f-\\u009f\\u2028\\u2029\\u202a-\\u202e\\u2066-\\u2069]*$"


class OutOfBounds(ValueError):
    """A value outside its bounds; its message follows the value ("9999-12-31 is outside...")."""


_CONTROLS = {"\r": "CARRIAGE RETURN", "\n": "LINE FEED", "\t": "TAB", "\x85": "NEXT LINE"}


def _named(char: str) -> str:
    name = _CONTROLS.get(char) or unicodedata.name(char, "a control character")
    return f"U+{ord(char):04X} ({name})"


def _one_line(value: str) -> str:
    bad = _NOT_IN_LINE.search(value)
    if bad:
        raise OutOfBounds(
            f"contains {_named(bad.group())} at character {bad.start() + 1}; "
            "write it on one line, without line breaks or control characters"
        )
    return value


def single_line(value: str) -> str:
    """``value`` if it is one line without control characters.

    Raises:
        OutOfBounds: naming the first character refused and where it is.
    """
    return _one_line(value)


def plain_text(value: str) -> str:
    """``value`` if it has no control characters but tabs and line feeds.

    Raises:
        OutOfBounds: naming the first character refused and where it is.
    """
    return _plain_text(value)


def words(text: str) -> str:
    """Text compared as people mean it: case, punctuation and spacing ignored, '&' read as
    'and' ("On-track " and "on track" are the same words). Status words in a workflow's
    ``imported_status`` and headings, agencies and people in a spreadsheet are matched so."""
    text = text.lower().replace("&", " and ")
    return " ".join(re.sub(r"[^a-z0-9]+", " ", text).split())


def _plain_text(value: str) -> str:
    bad = _NOT_IN_TEXT.search(value)
    if bad:
        raise OutOfBounds(
            f"contains {_named(bad.group())} at character {bad.start() + 1}; "
            "remove the control character"
        )
    return value


def _believable(value: dt.date) -> dt.date:
    if not FIRST_DATE <= value <= LAST_DATE:
        raise OutOfBounds(
            f"is outside {FIRST_DATE.year}-{LAST_DATE.year}; check the year (dates must lie "
            f"between {FIRST_DATE.isoformat()} and {LAST_DATE.isoformat()})"
        )
    return value


def _line(max_length: int) -> Any:
    return Field(max_length=max_length, json_schema_extra={"pattern": LINE_PATTERN})


Ref = Annotated[str, _line(50), AfterValidator(_one_line)]
"""A recommendation's reference as printed ("R1", "4.2"), or an identifier."""
Name = Annotated[str, _line(200), AfterValidator(_one_line)]
"""A name: a person, an agency, a board, a role, a state's label."""
Title = Annotated[str, _line(500), AfterValidator(_one_line)]
"""A review's title, a source document."""
Text = Annotated[str, Field(max_length=20_000), AfterValidator(_plain_text)]
"""Free text over several lines: a recommendation, an agreed action, a note."""
Date = Annotated[
    dt.date,
    AfterValidator(_believable),
    Field(
        json_schema_extra={
            "formatMinimum": FIRST_DATE.isoformat(),
            "formatMaximum": LAST_DATE.isoformat(),
        }
    ),
]
"""A date between FIRST_DATE and LAST_DATE."""
