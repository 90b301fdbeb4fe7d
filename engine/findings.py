"""What the checks of an import file found: one :class:`Finding` per problem, warning or
note, with the file, line, row and field it is about.

An import collects every finding of every file in one list before deciding anything:
errors stop the import (``engine.errors.ImportErrors`` carries the list), warnings and
notes are reported beside what was imported. Interfaces print ``str(finding)`` or
``finding.as_json()`` and never parse the text.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Severity(StrEnum):
    ERROR = "error"  # the import is refused
    WARNING = "warning"  # imported, but someone should look
    INFO = "info"  # imported; worth a look (e.g. personal data in text that stays behind links)
    NOTE = "note"  # imported; said for the record (e.g. a section kept but not used)


@dataclass(frozen=True, kw_only=True)
class Finding:
    """One thing found in one file.

    ``row`` is the record it is about (``review``, ``agencies[1]``, ``recommendations[3]
    (R4)``, ``agencies.council``, or a top-level section), ``field`` the field inside that
    row (``due[0]``; empty when the finding is about the whole row or file), ``line`` the
    1-based line when known.
    """

    file: str
    message: str
    line: int | None = None
    row: str = ""
    field: str = ""
    severity: Severity = Severity.ERROR
    value: str | None = None  # a spreadsheet cell's value as written (also in the message)

    @property
    def where(self) -> str:
        """``line 19: recommendations[1] (2).due[0]``, leaving out what is unknown."""
        joint = ", " if self.field.startswith("column ") else "."  # a spreadsheet's cell
        path = self.row + (f"{joint}{self.field}" if self.row and self.field else self.field)
        parts = [f"line {self.line}" if self.line else "", path]
        return ": ".join(p for p in parts if p)

    def __str__(self) -> str:
        return f"{self.where}: {self.message}" if self.where else self.message

    def as_json(self) -> dict[str, Any]:
        return {
            "severity": self.severity.value,
            "file": self.file,
            "line": self.line,
            "row": self.row,
            "field": self.field,
            "message": self.message,
            "value": self.value,
        }
