"""``high-risk``: the quarterly report for the executive group.

The high-risk items are those of high priority (``H``) or RAG red at either end of the
period, open at its end; the period defaults to the three months up to the report date.
What changed over the period, for those items: the decisions recorded (challenges,
sign-offs, RAG changes, extensions, closures), each RAG that differs from the period's start,
and the items overdue at its end that were not overdue at its start.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from engine.calendar import Calendar
from engine.reports.figures import FORMAT, Figure, Report, Table
from engine.reports.kinds import DECISIONS, kind_of, label_of
from engine.reports.lives import Life, Scope, Specs, end_of
from engine.reports.overdue import late_at


def quarter_before(day: dt.date) -> dt.date:
    """The first day of the three months that end on ``day``: the day after ``day``, three
    calendar months back (clamped to the month's end)."""
    after = day + dt.timedelta(days=1)
    month = after.month - 3
    year = after.year + (month - 1) // 12
    month = (month - 1) % 12 + 1
    for last in (31, 30, 29, 28):
        try:
            return dt.date(year, month, min(after.day, last))
        except ValueError:
            continue
    raise ValueError(day)  # pragma: no cover - day 28 exists in every month


def build(
    lives: list[Life],
    specs: Specs,
    calendar: Calendar,
    *,
    scope: Scope,
    day_from: dt.date,
    day: dt.date,
) -> Report:
    start = calendar.start_of_day(day_from)
    end = end_of(day, calendar)
    high: list[dict[str, Any]] = []
    rag_changes: list[dict[str, Any]] = []
    new_overdue: list[dict[str, Any]] = []
    decisions: list[dict[str, Any]] = []
    for life in lives:
        before, after = life.at(start, specs), life.at(end, specs)
        if after.state is None:
            continue
        risky = life.priority == "H" or "red" in (before.rag, after.rag)
        if not risky:
            continue
        late = late_at(life, end, specs, calendar)
        if not after.terminal:
            high.append(
                {
                    "key": life.key,
                    "agency": life.agency,
                    "title": life.title,
                    "priority": life.priority,
                    "rag": after.rag,
                    "state": after.state,
                    "state_label": after.label,
                    "due": after.due.isoformat() if after.due else None,
                    "days_overdue": late.days if late else None,
                }
            )
        if before.rag != after.rag:
            rag_changes.append(
                {"key": life.key, "from": before.rag, "to": after.rag, "state": after.state}
            )
        if late is not None and late_at(life, start, specs, calendar) is None:
            new_overdue.append(
                {
                    "key": life.key,
                    "overdue_since": late.since.isoformat(),
                    "days_overdue": late.days,
                }
            )
        version = None
        for e in life.events:
            version = e.version_id if e.version_id is not None else version
            if not start <= e.at < end:
                continue
            spec = specs.spec(int(version)) if version is not None else None
            kind = kind_of(e, spec)
            if kind in DECISIONS or (e.rag and kind.value != "created"):
                decisions.append(
                    {
                        "key": life.key,
                        "at": e.at.isoformat(),
                        "kind": kind.value,
                        "trigger": e.trigger,
                        "decision": label_of(e, spec),
                        "to_label": spec.states[e.to_state].label
                        if spec is not None and e.to_state in spec.states
                        else e.to_state,
                        "actor": e.actor,
                        "from": e.from_state,
                        "to": e.to_state,
                        "rag": e.rag,
                        "reason": e.reason,
                    }
                )
    data = {
        "format": FORMAT,
        "report": "high-risk",
        "period": {"from": day_from.isoformat(), "to": day.isoformat()},
        "scope": {"review": scope.review, "agency": scope.agency},
        "items": high,
        "rag_changes": rag_changes,
        "new_overdue": new_overdue,
        "decisions": decisions,
    }
    summary = Table(
        name="summary",
        caption=f"High priority and red items, {day_from.isoformat()} to {day.isoformat()}",
        columns=("What", "Items"),
        rows=(
            ("Open high-risk items at the end", Figure.of("high-risk", [h["key"] for h in high])),
            ("RAG changed", Figure.of("RAG changed", [r["key"] for r in rag_changes])),
            ("Newly overdue", Figure.of("newly overdue", [n["key"] for n in new_overdue])),
            (
                "High-risk items with decisions recorded",
                Figure.of("decided", list(dict.fromkeys(d["key"] for d in decisions))),
            ),
        ),
    )
    items = Table(
        name="items",
        caption="Open high-risk items at the end of the period",
        columns=("Item", "Agency", "Priority", "RAG", "State", "Due", "Days overdue"),
        rows=tuple(
            (
                h["key"],
                h["agency"],
                h["priority"],
                h["rag"],
                h["state_label"],
                h["due"],
                h["days_overdue"],
            )
            for h in high
        ),
    )
    changes = Table(
        name="rag-changes",
        caption="RAG at the start and at the end of the period",
        columns=("Item", "From", "To"),
        rows=tuple((r["key"], r["from"] or "no RAG", r["to"] or "no RAG") for r in rag_changes),
    )
    newly = Table(
        name="new-overdue",
        caption="Overdue at the end of the period, not at its start",
        columns=("Item", "Overdue since", "Days overdue"),
        rows=tuple((n["key"], n["overdue_since"], n["days_overdue"]) for n in new_overdue),
    )
    decided = Table(
        name="decisions",
        caption="Decisions recorded in the period on these items (London time)",
        columns=("Item", "When", "Decision", "State after", "By", "RAG", "Why"),
        rows=tuple(
            (
                d["key"],
                _local(d["at"], calendar),
                d["decision"],
                d["to_label"],
                d["actor"],
                d["rag"],
                d["reason"],
            )
            for d in decisions
        ),
    )
    return Report(
        name="high-risk",
        title="High-risk items and what changed",
        data=data,
        tables=(summary, items, changes, newly, decided),
    )


def _local(at: str, calendar: Calendar) -> str:
    """An event's ISO time as London's date and time, as a board reads it."""
    return calendar.local(dt.datetime.fromisoformat(at)).strftime("%Y-%m-%d %H:%M")
