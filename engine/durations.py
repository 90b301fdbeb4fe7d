"""Durations as business managers write them: ``14 days``, ``20 working days``, ``6 months``."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

PATTERN = re.compile(r"^\s*([1-9]\d{0,3})\s+([Ww]orking [Dd]ay|[Dd]ay|[Ww]eek|[Mm]onth)s?\s*$")


class Unit(Enum):
    DAY = "day"
    WORKING_DAY = "working day"
    WEEK = "week"
    MONTH = "month"


@dataclass(frozen=True, slots=True)
class Duration:
    """A count of calendar days, working days, weeks or months."""

    count: int
    unit: Unit

    def __str__(self) -> str:
        return f"{self.count} {self.unit.value}{'' if self.count == 1 else 's'}"


EXAMPLES = "'14 days', '20 working days', '2 weeks' or '6 months'"


def parse_duration(text: object) -> Duration:
    """Parse ``text`` into a Duration.

    Raises:
        ValueError: the text is not a count followed by a unit; the message gives examples.
    """
    match = PATTERN.match(text) if isinstance(text, str) else None
    if match is None:
        raise ValueError(
            f"cannot read {text!r} as a duration; write a count of at least 1 and a unit, "
            f"like {EXAMPLES}"
        )
    return Duration(int(match.group(1)), Unit(match.group(2).lower()))
