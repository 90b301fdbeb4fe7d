"""The decision form: what a person types to fire a workflow trigger, read and checked.

The fields shown are the transition's ``requires`` (a reason, a meeting date, a RAG, a due
date, evidence); a reason may always be given. Reading the form never raises: every problem
becomes a message for its field, worded for a person, and the values typed are kept so the
page can show them again. Dates are typed GOV.UK style, as day, month and year.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

from starlette.datastructures import FormData

from engine.spec import Requirement
from engine.store.tables import Rag
from web.filters import has_control

MAX_REASON = 5000
MAX_STATEMENT = 20000
_DATE_FIELDS = {Requirement.MEETING_DATE: "meeting_date", Requirement.DUE_DATE: "due_date"}
_CONTROL = "{what} must only include letters, numbers, spaces, line breaks and punctuation"
_DATE_WORDS = {"meeting_date": "the date of the meeting", "due_date": "the new due date"}


@dataclass
class DecisionForm:
    """The values typed (as typed) and, once read, the values to fire with and the errors."""

    reason: str = ""
    rag: str = ""
    statement: str = ""
    dates: dict[str, dict[str, str]] = field(default_factory=dict)  # name -> day/month/year
    version: str = ""
    seq: str = ""
    evidence: str = ""
    errors: dict[str, str] = field(default_factory=dict)  # field id -> message

    @classmethod
    def read(cls, form: FormData) -> DecisionForm:
        def text(name: str) -> str:
            value = form.get(name)
            return value if isinstance(value, str) else ""

        return cls(
            reason=text("reason"),
            rag=text("rag"),
            statement=text("statement"),
            dates={
                name: {part: text(f"{name}-{part}").strip() for part in ("day", "month", "year")}
                for name in _DATE_FIELDS.values()
            },
            version=text("version"),
            seq=text("seq"),
            evidence=text("evidence"),
        )

    def seen(self) -> tuple[int, int, tuple[int, ...]] | None:
        """The item's version, event seq and evidence ids the page was loaded with; None when
        the hidden fields were tampered with."""
        try:
            ids = tuple(int(i) for i in self.evidence.split(",") if i)
            return int(self.version), int(self.seq), ids
        except ValueError:
            return None

    def check(
        self,
        requires: Sequence[Requirement],
        *,
        today: dt.date,
        has_files: bool,
        current_due: dt.date | None = None,
    ) -> dict[str, object]:
        """The values to fire with (keyword arguments of ``FireRequest``); fills ``errors``.
        A new due date must be later than ``current_due``."""
        values: dict[str, object] = {}
        reason = self.reason.strip()
        if Requirement.REASON in requires and not reason:
            self.errors["reason"] = "Enter the reasons for your decision"
        elif len(reason) > MAX_REASON:
            self.errors["reason"] = f"Reasons must be {MAX_REASON} characters or fewer"
        elif has_control(reason):
            self.errors["reason"] = _CONTROL.format(what="Reasons")
        values["reason"] = reason or None
        if Requirement.RAG in requires:
            try:
                values["rag"] = Rag(self.rag)
            except ValueError:
                self.errors["rag"] = "Select red, amber or green"
        for need, name in _DATE_FIELDS.items():
            if need in requires:
                values[name] = self._date(name, today, past=need is Requirement.MEETING_DATE)
        due = values.get("due_date")
        if isinstance(current_due, dt.datetime):
            current_due = current_due.date()
        if isinstance(due, dt.date) and current_due is not None and due <= current_due:
            self.errors["due_date"] = (
                "The new due date must be later than the current due date, "
                f"{current_due.day} {current_due:%B %Y}"
            )
        if Requirement.EVIDENCE in requires:
            if not self.statement.strip() and not has_files:
                self.errors["statement"] = "Write a statement or choose at least one file"
            elif len(self.statement) > MAX_STATEMENT:
                self.errors["statement"] = (
                    f"The statement must be {MAX_STATEMENT} characters or fewer"
                )
            elif has_control(self.statement):
                self.errors["statement"] = _CONTROL.format(what="The statement")
        return values

    def _date(self, name: str, today: dt.date, *, past: bool) -> dt.date | None:
        parts = self.dates[name]
        what = _DATE_WORDS[name]
        missing = [p for p in ("day", "month", "year") if not parts[p]]
        if len(missing) == 3:
            self.errors[name] = f"Enter {what}"
            return None
        if missing:
            self.errors[name] = f"{what.capitalize()} must include a {missing[0]}"
            return None
        try:
            day, month, year = (int(parts[p]) for p in ("day", "month", "year"))
            value = dt.date(year, month, day)
        except ValueError:
            self.errors[name] = f"{what.capitalize()} must be a real date"
            return None
        if year < 1900:
            self.errors[name] = f"{what.capitalize()} must be a real date"
            return None
        if past and value > today:
            self.errors[name] = f"{what.capitalize()} must be today or in the past"
            return None
        if not past and value <= today:
            self.errors[name] = f"{what.capitalize()} must be in the future"
            return None
        return value
