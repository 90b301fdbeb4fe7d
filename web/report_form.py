"""The reports form: what a person chose and typed on ``/reports``, read and checked.

The dates are typed GOV.UK style, as day, month and year boxes. Reading the form never
raises: every problem becomes a message for its field in GOV.UK's words ("Date from must be
a real date"), naming the boxes that are wrong so the page can mark them and the error
summary can lead to the first; what was typed is kept to be shown again. What the engine
refuses (``engine.reports.check``: a period the report does not take, the minutes without a
meeting) comes back as a ``ReportRefused`` with its ``rule``, worded here for the page.
"""

from __future__ import annotations

import datetime as dt
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field

from engine import reports as engine_reports
from engine.errors import ReportRefused, ReportRule

PARTS = ("day", "month", "year")
# each date field's name in messages, as its legend reads on the page
DATES = {"from": "Date from", "to": "Date to", "meeting": "Panel meeting date"}
CHOICES = ("report", "review", "agency")
# each report's name on the page
LABELS = {
    "rag": "RAG",
    "overdue": "Overdue",
    "timescale": "Implemented within timescale",
    "high-risk": "High risk",
    "themes": "Themes",
    "minutes": "Panel minutes",
    "board-pack": "Board pack",
}
_LONGEST = 100  # characters kept of any value: enough for an id, never a page of text


def _long(day: dt.date) -> str:
    return f"{day.day} {day:%B %Y}"


@dataclass
class ReportForm:
    """The values chosen and typed (as typed), and once checked, the errors: a message by
    field, and for a date the boxes that are wrong (all three when the date as a whole is)."""

    report: str = ""
    review: str = ""
    agency: str = ""
    dates: dict[str, dict[str, str]] = field(
        default_factory=lambda: {name: dict.fromkeys(PARTS, "") for name in DATES}
    )
    sent: bool = False  # the form was submitted (not the first visit)
    errors: dict[str, str] = field(default_factory=dict)  # field -> message
    wrong: dict[str, tuple[str, ...]] = field(default_factory=dict)  # date field -> boxes

    @classmethod
    def read(cls, query: Mapping[str, str]) -> ReportForm:
        def text(name: str) -> str:
            return query.get(name, "").strip()[:_LONGEST]

        names = [*CHOICES, *(f"{d}-{p}" for d in DATES for p in PARTS)]
        return cls(
            report=text("report"),
            review=text("review"),
            agency=text("agency"),
            dates={d: {p: text(f"{d}-{p}") for p in PARTS} for d in DATES},
            sent=any(n in query for n in names),
        )

    def query(self) -> str:
        """The query string that asks for the same report (the downloads' links)."""
        pairs = [(n, getattr(self, n)) for n in CHOICES]
        pairs += [(f"{d}-{p}", v) for d, parts in self.dates.items() for p, v in parts.items()]
        return urllib.parse.urlencode([(n, v) for n, v in pairs if v])

    def check(self, today: dt.date) -> engine_reports.ReportRequest | None:
        """The request to build, or None with ``errors`` filled. Only what the page can judge
        alone is checked here (a report chosen, each date a real one, the period the right
        way round); the engine checks the rest when it builds."""
        if not self.report:
            self.errors["report"] = "Select a report"
        elif self.report not in engine_reports.NAMES:
            self.errors["report"] = "Select a report from the list"
        days = {name: self._date(name) for name in DATES}
        start, end = days["from"], days["to"]
        if start is not None and start > (end or today):
            self.errors["from"] = (
                "Date from must be the same as or before date to"
                if end is not None
                else f"Date from must be today or in the past, or enter a later date to "
                f"(today is {_long(today)})"
            )
            self.wrong["from"] = PARTS
        if self.errors:
            return None
        return engine_reports.ReportRequest(
            name=self.report,
            today=today,
            day_from=start,
            day_to=end,
            review=self.review or None,
            agency=self.agency or None,
            meeting=days["meeting"],
        )

    def refused(self, refusal: ReportRefused) -> None:
        """Word what the engine refused for the page, against the field at fault."""
        words = LABELS.get(self.report, self.report)
        given = [d for d in ("from", "to") if any(self.dates[d].values())]
        target, message = {
            ReportRule.ONE_DATE: (
                "from",
                f"Leave date from empty: the {words} report shows the position on date to",
            ),
            ReportRule.NO_MEETING: ("meeting", "Enter the panel meeting date"),
            ReportRule.MEETING_ONLY: (
                given[0] if given else "meeting",
                "Leave date from and date to empty: the minutes are of one panel meeting",
            ),
            ReportRule.NOT_MINUTES: (
                "meeting",
                "Leave the panel meeting date empty: only the panel minutes take one",
            ),
            ReportRule.FROM_AFTER_TO: ("from", "Date from must be the same as or before date to"),
        }.get(refusal.rule or ReportRule.UNKNOWN, (refusal.option, ""))
        if not message:  # an unknown report, review or agency: chosen from a list
            target = refusal.option if refusal.option in CHOICES else "report"
            message = f"Select {'an' if target == 'agency' else 'a'} {target} from the list"
        self.errors[target] = message
        if target in DATES:
            self.wrong[target] = PARTS

    def summary(self) -> list[dict[str, str]]:
        """The error summary's entries, in the page's order, each leading to its field (for
        a date, to its first wrong box)."""
        order = ["report", "from", "to", "meeting", "review", "agency"]
        out = []
        for name in order:
            if name not in self.errors:
                continue
            boxes = self.wrong.get(name)
            href = f"#{name}-{boxes[0]}" if boxes else f"#{name}"
            out.append({"text": self.errors[name], "href": href})
        return out

    def _date(self, name: str) -> dt.date | None:
        """The date typed in ``name``'s boxes: None when all three are empty (not given) or
        when they are wrong (``errors`` and ``wrong`` say how)."""
        parts = self.dates[name]
        what = DATES[name]
        missing = tuple(p for p in PARTS if not parts[p])
        if len(missing) == len(PARTS):
            return None
        if missing:
            self.errors[name] = f"{what} must include a {' and '.join(missing)}"
            self.wrong[name] = missing
            return None
        not_numbers = tuple(p for p in PARTS if not parts[p].isdigit())
        if not_numbers:
            self.errors[name] = f"{what} must be a real date"
            self.wrong[name] = not_numbers
            return None
        day, month, year = (int(parts[p]) for p in PARTS)
        if len(parts["year"]) != 4:
            self.errors[name] = f"{what} must include a year with 4 numbers, like 2011"
            self.wrong[name] = ("year",)
            return None
        out_of_range = tuple(
            p for p, n, top in (("day", day, 31), ("month", month, 12)) if not 1 <= n <= top
        )
        try:
            value = dt.date(year, month, day)
        except ValueError:
            self.errors[name] = f"{what} must be a real date"
            self.wrong[name] = out_of_range or ("day",)  # 31 in a month of 30 days
            return None
        if year < 1900:
            self.errors[name] = f"{what} must be a real date"
            self.wrong[name] = ("year",)
            return None
        return value
