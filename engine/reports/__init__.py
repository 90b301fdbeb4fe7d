"""Board reports, computed from the recorded history: one module per report.

``build(conn, specs, calendar, ReportRequest(...))`` checks the request and returns a
``Report``: its stable JSON (``Report.data``) and its tables of ``Figure``\\ s, each holding the
keys of the items it counts. Rendering (HTML, xlsx, csv) lives above the engine (the
``reports`` package); the web pages call this the same way.

- ``rag``: RAG and state by review and by agency at ``--to``.
- ``overdue``: overdue items at ``--to``: since when, escalation reached, whose move.
- ``timescale``: % implemented (and assured) within the original and the agreed due date.
- ``high-risk``: high priority and red items, and what changed over the period.
- ``themes``: items by theme and agency (a heat map), themes recurring across reviews.
- ``minutes``: the decisions recorded for one panel meeting.
- ``board-pack``: all but the minutes for one period, ending with the hash-chain heads.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa

from engine.calendar import Calendar
from engine.errors import ReportRefused, ReportRule
from engine.reports import board_pack, high_risk, minutes, overdue, rag, themes, timescale
from engine.reports.board_pack import stated_indicators
from engine.reports.figures import FORMAT, Cell, Chart, Figure, Report, Table, percent
from engine.reports.lives import Scope, Specs, load_lives
from engine.spec import suggest
from engine.versions import SpecCache

NAMES = ("rag", "overdue", "timescale", "high-risk", "themes", "minutes", "board-pack")
# the reports that show the position at one date, and so take no --from
_AT_ONE_DATE = frozenset({"rag", "overdue", "themes"})

__all__ = [
    "FORMAT",
    "NAMES",
    "Cell",
    "Chart",
    "Figure",
    "Report",
    "ReportRequest",
    "Table",
    "build",
    "check",
    "parse_day",
    "percent",
]


@dataclass(frozen=True, kw_only=True)
class ReportRequest:
    """What a report is asked for. ``today`` is the caller's date (the engine never reads
    the clock): ``day_to`` defaults to it."""

    name: str
    today: dt.date
    day_from: dt.date | None = None
    day_to: dt.date | None = None
    review: str | None = None
    agency: str | None = None
    meeting: dt.date | None = None


def parse_day(option: str, text: str) -> dt.date:
    """A ``YYYY-MM-DD`` date given for ``option`` (for callers holding text, e.g. a form).

    Raises:
        ReportRefused: not such a date.
    """
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise ReportRefused(
            option, text, "is not a date; write YYYY-MM-DD", rule=ReportRule.NOT_A_DATE
        ) from None


def check(request: ReportRequest) -> None:
    """Refuse a request that cannot be built, naming the option at fault.

    Raises:
        ReportRefused: unknown report, --from after --to, a date option the report does not
            take, or --meeting missing for minutes.
    """
    name = request.name
    if name not in NAMES:
        raise ReportRefused(
            "report", name, f"no such report{suggest(name, NAMES)}", NAMES, rule=ReportRule.UNKNOWN
        )
    day_to = request.day_to or request.today
    if request.day_from is not None and request.day_from > day_to:
        raise ReportRefused(
            "from",
            request.day_from.isoformat(),
            f"is after --to {day_to.isoformat()}; the period must start before it ends",
            rule=ReportRule.FROM_AFTER_TO,
        )
    if name in _AT_ONE_DATE and request.day_from is not None:
        raise ReportRefused(
            "from",
            request.day_from.isoformat(),
            f"{name} shows the position on one date; give it as --to DATE",
            rule=ReportRule.ONE_DATE,
        )
    if name == "minutes":
        if request.meeting is None:
            raise ReportRefused(
                "meeting", "", "minutes needs the panel meeting's date", rule=ReportRule.NO_MEETING
            )
        if request.day_from is not None or request.day_to is not None:
            raise ReportRefused(
                "from" if request.day_from else "to",
                (request.day_from or request.day_to or request.today).isoformat(),
                "minutes covers one meeting; give only --meeting DATE",
                rule=ReportRule.MEETING_ONLY,
            )
    elif request.meeting is not None:
        raise ReportRefused(
            "meeting",
            request.meeting.isoformat(),
            f"only minutes takes a meeting date, not {name}",
            rule=ReportRule.NOT_MINUTES,
        )


def build(
    conn: sa.Connection, specs: SpecCache, calendar: Calendar, request: ReportRequest
) -> Report:
    """Build the report ``request`` asks for, from the events recorded up to its date.

    Guarantees: reads only; every count in the result carries the keys of its items.

    Raises:
        ReportRefused: see ``check``; or the review or agency is not known.
    """
    check(request)
    scope = Scope(review=request.review, agency=request.agency)
    scope.check(conn)
    day = request.day_to or request.today
    versions = Specs(conn, specs)
    if request.name == "minutes":
        meeting = request.meeting or request.today  # check() refused a missing one
        lives = load_lives(conn, scope, None, with_data=True)  # minuted days after, maybe
        return minutes.build(conn, lives, versions, calendar, scope=scope, meeting=meeting)
    lives = load_lives(conn, scope, calendar.due_moment(day))
    if request.name == "rag":
        return rag.build(lives, versions, calendar, scope=scope, day=day)
    if request.name == "board-pack":
        return board_pack.build(
            conn,
            lives,
            versions,
            calendar,
            scope=scope,
            day_from=request.day_from or high_risk.quarter_before(day),
            day=day,
        )
    if request.name == "themes":
        return themes.build(lives, versions, calendar, scope=scope, day=day)
    if request.name == "overdue":
        return overdue.build(lives, versions, calendar, scope=scope, day=day)
    if request.name == "timescale":
        return timescale.build(
            lives,
            versions,
            calendar,
            scope=scope,
            day_from=request.day_from,
            day=day,
            indicators=stated_indicators(conn, scope, request.day_from, day),
        )
    return high_risk.build(
        lives,
        versions,
        calendar,
        scope=scope,
        day_from=request.day_from or high_risk.quarter_before(day),
        day=day,
    )
