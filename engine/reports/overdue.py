"""``overdue``: open items whose state's deadline had passed at the report date.

The deadline is the one the sweep chases (``engine.deadlines.plan``): the item's agreed due
date where the state's deadline is ``item_due``, otherwise a time after the item entered the
state (the panel's 20 working days to decide). Each item says since when it is overdue and
for how many days, how many escalation steps of its state's ladder had been reached, and
whose move it is (``engine.spec.move_in``): the agency owes evidence, the panel a decision,
internal audit a confirmation.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from engine import deadlines
from engine.calendar import Calendar
from engine.reports.figures import FORMAT, Figure, Report, Table
from engine.reports.lives import Life, Position, Scope, Specs, end_of, local_day
from engine.spec import LADDER, WorkflowFile, move_in

_TICK = dt.timedelta(microseconds=1)


@dataclass(frozen=True, kw_only=True, slots=True)
class Overdue:
    """How late one item was at a moment."""

    due: dt.date  # the deadline's date
    since: dt.date  # the first day it was overdue
    days: int
    steps_reached: int
    steps: int
    last_step_to: tuple[str, ...]
    last_step_words: tuple[str, ...]  # the same, as the board reads them
    urgent: bool
    owed: str | None  # evidence | decision | confirmation
    role: str | None
    role_label: str | None
    own_agency: bool


def overdue_at(position: Position, moment: dt.datetime, calendar: Calendar) -> Overdue | None:
    """How overdue an item at ``position`` was at ``moment``; None when it was not."""
    facts = position.state_facts
    if facts is None or facts.terminal or position.spec is None or position.entered_at is None:
        return None
    plan = deadlines.plan(
        facts,
        item_due=position.due,
        entered_at=position.entered_at,
        entered_seq=position.entered_seq,
        calendar=calendar,
    )
    if plan is None or plan.due_at >= moment:
        return None
    since = local_day(plan.due_at, calendar)
    # the last day it was on time: the due date itself where the deadline is the item's
    due = local_day(plan.due_at - _TICK, calendar)
    reached = [e for e in plan.escalations if e.at < moment]
    move = move_in(position.spec.model, position.state or "")
    as_of = local_day(moment - _TICK, calendar)
    return Overdue(
        due=due,
        since=since,
        days=(as_of - due).days,
        steps_reached=len(reached),
        steps=len(plan.escalations),
        last_step_to=reached[-1].targets if reached else (),
        last_step_words=tuple(
            _target_words(position.spec.model, t) for t in (reached[-1].targets if reached else ())
        ),
        urgent=bool(reached and reached[-1].urgent),
        owed=move.owed.value if move else None,
        role=move.role if move else None,
        role_label=move.label if move else None,
        own_agency=bool(move and move.own_agency),
    )


def late_at(life: Life, moment: dt.datetime, specs: Specs, calendar: Calendar) -> Overdue | None:
    """How overdue ``life`` was at ``moment`` (``overdue_at`` of its position then), worked
    out once per moment: the overdue and high-risk parts of a board pack both ask."""
    memo = life.derived
    if ("overdue", moment) not in memo:
        memo[("overdue", moment)] = overdue_at(life.at(moment, specs), moment, calendar)
    result: Overdue | None = memo[("overdue", moment)]
    return result


def _target_words(model: WorkflowFile, target: str) -> str:
    """An escalation target in words: the ladder's next rung, or the role's label."""
    if target == LADDER:
        return "next on the agency's escalation ladder"
    role = model.roles.get(target)
    return role.label if role is not None and role.label else target.replace("_", " ")


def whose_move(life: Life, late: Overdue) -> str:
    """ "Agency lead officer (sept) owes evidence", in words."""
    if late.role_label is None:
        return "-"
    who = f"{late.role_label} ({life.agency})" if late.own_agency else late.role_label
    return f"{who} owes {'a ' if late.owed != 'evidence' else ''}{late.owed}"


def escalation_words(late: Overdue) -> str:
    if not late.steps:
        return "no escalation ladder"
    if not late.steps_reached:
        return f"not yet escalated (0 of {late.steps})"
    to = ", ".join(late.last_step_words)
    return f"step {late.steps_reached} of {late.steps} (to {to})" + (
        ", urgent" if late.urgent else ""
    )


def entry(life: Life, position: Position, late: Overdue) -> dict[str, Any]:
    return {
        "key": life.key,
        "review": life.review,
        "agency": life.agency,
        "title": life.title,
        "priority": life.priority,
        "rag": position.rag,
        "state": position.state,
        "state_label": position.label,
        "due": late.due.isoformat(),
        "overdue_since": late.since.isoformat(),
        "days_overdue": late.days,
        "escalation": {
            "reached": late.steps_reached,
            "of": late.steps,
            "last_to": list(late.last_step_to),
            "urgent": late.urgent,
        },
        "whose_move": {
            "owed": late.owed,
            "role": late.role,
            "label": late.role_label,
            "agency": life.agency if late.own_agency else None,
        },
    }


def build(
    lives: list[Life], specs: Specs, calendar: Calendar, *, scope: Scope, day: dt.date
) -> Report:
    moment = end_of(day, calendar)
    rows: list[tuple[Life, Position, Overdue]] = []
    for life in lives:
        position = life.at(moment, specs)
        behind = late_at(life, moment, specs, calendar)
        if behind is not None:
            rows.append((life, position, behind))
    rows.sort(key=lambda r: (-r[2].days, r[0].key))
    by_move: dict[str, list[str]] = {}
    by_agency: dict[str, list[str]] = {}
    for life, _, late in rows:
        by_move.setdefault(late.owed or "-", []).append(life.key)
        by_agency.setdefault(life.agency, []).append(life.key)
    everything = Figure.of("overdue", [r[0].key for r in rows])
    summary = Table(
        name="summary",
        caption=f"Overdue items at {day.isoformat()}, by what is owed and by agency",
        columns=("Group", "Overdue items"),
        rows=(
            ("All overdue items", everything),
            *((f"owes {k}", Figure.of(f"owes {k}", v)) for k, v in sorted(by_move.items())),
            *((f"agency {k}", Figure.of(f"agency {k}", v)) for k, v in sorted(by_agency.items())),
        ),
    )
    detail = Table(
        name="overdue",
        caption="Each overdue item: since when, how far escalated, and whose move it is",
        columns=(
            "Item",
            "Agency",
            "State",
            "Due",
            "Overdue since",
            "Days overdue",
            "Escalation",
            "Whose move",
        ),
        rows=tuple(
            (
                life.key,
                life.agency,
                position.label,
                late.due,
                late.since,
                late.days,
                escalation_words(late),
                whose_move(life, late),
            )
            for life, position, late in rows
        ),
    )
    data = {
        "format": FORMAT,
        "report": "overdue",
        "as_of": day.isoformat(),
        "scope": {"review": scope.review, "agency": scope.agency},
        "count": len(rows),
        "items": [entry(life, position, late) for life, position, late in rows],
    }
    return Report(name="overdue", title="Overdue items", data=data, tables=(summary, detail))
