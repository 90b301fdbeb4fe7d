"""What a state's deadline rule asks for, and when: reminders, chases, escalations.

Pure functions of the rule, the item's due date, when it entered its state and the
calendar; nothing here reads the clock or the database. The sweep asks ``due_now``
what to send at ``now`` and ``next_after`` when to look again; ``fire`` asks
``attention`` whenever an item moves or its due date changes.

Catching up after downtime or an import never floods: of the reminders whose time has
passed only the latest is due (and none once the item is overdue), of the chases only the
latest period's, and of the escalation steps only the highest one reached (steps passed
over while nobody swept are never sent: the person the item has reached is told once).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from engine.calendar import Calendar
from engine.durations import Duration, Unit, parse_duration
from engine.spec import Deadline, State


@dataclass(frozen=True, kw_only=True)
class Due:
    """One notification a rule calls for."""

    kind: str  # reminder | chase | escalation
    step: int  # reminder index, chase period number, or escalation step index
    at: dt.datetime
    targets: tuple[str, ...]
    urgent: bool
    template: str


@dataclass(frozen=True, kw_only=True)
class Plan:
    """The deadline of one state entry, with every point at which it needs attention."""

    due_at: dt.datetime
    cycle: str  # identifies this state entry and due date in dedupe keys
    reminders: tuple[Due, ...]
    escalations: tuple[Due, ...]
    chase_every: Duration | None
    chase_targets: tuple[str, ...]
    chase_template: str | None
    digest: frozenset[str]  # the kinds this rule sends as one digest per recipient


def plan(
    state: State,
    *,
    item_due: dt.date | None,
    entered_at: dt.datetime,
    entered_seq: int,
    calendar: Calendar,
) -> Plan | None:
    """The plan for an item in ``state``, or None when nothing is due there."""
    rule: Deadline | None = state.deadline
    if rule is None:
        return None
    if rule.due == "item_due":
        if item_due is None:
            return None
        due_at = calendar.due_moment(item_due)
    else:
        due_at = calendar.add(entered_at, parse_duration(rule.due))
    templates = state.templates
    targets = tuple(rule.to)
    reminders = tuple(
        Due(
            kind="reminder",
            step=i,
            at=calendar.subtract(due_at, before),
            targets=targets,
            urgent=False,
            template=templates.get("reminder", "reminder"),
        )
        for i, before in enumerate(rule.remind_before)
    )
    escalations = tuple(
        Due(
            kind="escalation",
            step=i,
            at=calendar.add(due_at, step.after),
            targets=tuple(step.to),
            urgent=step.urgent,
            template=templates.get("escalation", "escalation"),
        )
        for i, step in enumerate(rule.escalate)
    )
    return Plan(
        due_at=due_at,
        cycle=f"{entered_seq}:{due_at.date().isoformat()}",
        reminders=reminders,
        escalations=escalations,
        chase_every=rule.chase_every,
        chase_targets=targets,
        chase_template=templates.get("chase"),
        digest=rule.digest_kinds(),
    )


def plan_of_item(
    state: State, item: Any, calendar: Calendar, cache: PlanCache | None = None
) -> Plan | None:
    """The plan of an item row (anything with ``due``, ``entered_at`` and ``entered_seq``),
    through ``cache`` when given."""
    if cache is not None:
        return cache.plan(
            state, item_due=item.due, entered_at=item.entered_at, entered_seq=item.entered_seq
        )
    return plan(
        state,
        item_due=item.due,
        entered_at=item.entered_at,
        entered_seq=item.entered_seq,
        calendar=calendar,
    )


class PlanCache:
    """``plan`` worked out once per state, due date and state entry (items imported or moved
    together share them; a rule due on the item's date ignores when the state was entered,
    as ``plan`` does, so items due the same day share one). A state is told apart by
    identity (the cache keeps a reference, so an identity is never reused while cached): a
    spec's states are immutable. Not thread-safe; for one caller's batch of work (a
    forecast, a preview)."""

    def __init__(self, calendar: Calendar) -> None:
        self.calendar = calendar
        self._plans: dict[tuple[int, Any, Any, int], tuple[State, Plan | None]] = {}
        self._attention: dict[tuple[int, dt.datetime], tuple[Plan | None, Any]] = {}

    def plan(
        self, state: State, *, item_due: dt.date | None, entered_at: dt.datetime, entered_seq: int
    ) -> Plan | None:
        """``plan(state, ...)`` under this cache's calendar."""
        rule = state.deadline
        # a rule due on the item's date makes the same plan whenever the state was entered
        since = None if rule is not None and rule.due == "item_due" else entered_at
        key = (id(state), item_due, since, entered_seq)
        found = self._plans.get(key)
        if found is None:
            made = plan(
                state,
                item_due=item_due,
                entered_at=entered_at,
                entered_seq=entered_seq,
                calendar=self.calendar,
            )
            found = self._plans[key] = (state, made)
        return found[1]

    def attention(self, p: Plan | None, now: dt.datetime) -> dt.datetime | None:
        """``attention(p, now, calendar)``, once per plan made here and moment."""
        key = (id(p), now)
        found = self._attention.get(key)
        if found is None:
            found = self._attention[key] = (p, attention(p, now, self.calendar))
        return found[1]


def _chase(p: Plan, k: int, calendar: Calendar) -> Due:
    return Due(
        kind="chase",
        step=k,
        at=_chase_at(p, k, calendar),
        targets=p.chase_targets,
        urgent=False,
        template=p.chase_template or "chase",
    )


def _chase_at(p: Plan, k: int, calendar: Calendar) -> dt.datetime:
    """Chase ``k`` falls ``k`` periods after the due moment (chase 0 at the due moment)."""
    if k == 0 or p.chase_every is None:
        return p.due_at
    return calendar.add(p.due_at, Duration(p.chase_every.count * k, p.chase_every.unit))


def _latest_chase(p: Plan, now: dt.datetime, calendar: Calendar) -> int | None:
    """The number of the latest chase period begun by ``now`` (0 at the due moment)."""
    if p.chase_every is None or now < p.due_at:
        return None
    every = p.chase_every
    if every.unit in (Unit.DAY, Unit.WEEK):
        days = every.count * (7 if every.unit is Unit.WEEK else 1)
        elapsed = (calendar.local(now).date() - calendar.local(p.due_at).date()).days
        k = elapsed // days
        # the due moment is local midnight, so each period starts at local midnight too
        return k if _chase_at(p, k, calendar) <= now else k - 1
    k = 0
    while _chase_at(p, k + 1, calendar) <= now:
        k += 1
    return k


def due_now(p: Plan, now: dt.datetime, calendar: Calendar) -> list[Due]:
    """Everything the plan calls for at ``now`` (the sweep dedupes what was sent)."""
    out: list[Due] = []
    if now < p.due_at:
        passed = [r for r in p.reminders if r.at <= now]
        if passed:
            out.append(max(passed, key=lambda r: r.at))
    else:
        k = _latest_chase(p, now, calendar)
        if k is not None:
            out.append(_chase(p, k, calendar))
    reached = [e for e in p.escalations if e.at <= now]
    if reached:
        out.append(reached[-1])  # the steps are in time order (checked when loaded)
    return out


def next_after(p: Plan, now: dt.datetime, calendar: Calendar) -> dt.datetime | None:
    """The first moment after ``now`` at which the plan calls for something new."""
    candidates = [r.at for r in p.reminders if now < r.at < p.due_at]
    candidates += [e.at for e in p.escalations if e.at > now]
    if p.chase_every is not None:
        k = _latest_chase(p, now, calendar)
        candidates.append(p.due_at if k is None else _chase(p, k + 1, calendar).at)
    return min(candidates, default=None)


def attention(p: Plan | None, now: dt.datetime, calendar: Calendar) -> dt.datetime | None:
    """When the sweep should next look at an item whose plan was just (re)made."""
    if p is None:
        return None
    if due_now(p, now, calendar):
        return now
    return next_after(p, now, calendar)


def points_between(p: Plan, start: dt.datetime, end: dt.datetime, calendar: Calendar) -> list[Due]:
    """Every notification point in ``(start, end]``, in time order (for forecasts)."""
    out = [r for r in p.reminders if start < r.at <= end and r.at < p.due_at]
    out += [e for e in p.escalations if start < e.at <= end]
    if p.chase_every is not None:
        k = _latest_chase(p, start, calendar)
        k = 0 if k is None else k + 1
        while (at := _chase_at(p, k, calendar)) <= end:
            if at > start:
                out.append(_chase(p, k, calendar))
            k += 1
    return sorted(out, key=lambda d: d.at)
