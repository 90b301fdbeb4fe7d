"""The business manager's preview: who will be emailed what, and when, over the next days.

Exactly what sweeps run over the window would queue: the forecast over ``days`` from
``now`` lists every reminder, chase and escalation a sweep at some moment ``t`` with
``now <= t < now + days`` would decide (``deadlines.due_now`` at ``now``, then each new
point of ``deadlines.points_between`` before the end), with the send time that sweep
would give it, less every one whose dedupe key is already in the outbox (queued, sent,
failed or cancelled alike). Nothing is written. Recipients are resolved from today's
directory, so a contact change before the day shows up in the next forecast; absences with
dates, and conflicts of interest, are applied as on the day each email would be decided.

Digests as the sweep makes them: an entry whose kind its rule gathers into digests says
``digest: true``, and the digest rows one sweep decides for a recipient and kind share the
earliest send time among them (an entry whose recipients then go at different times is
split, one entry per recipient). Targets with nobody reachable are listed under
``unreachable`` (role and dedupe key), as the sweep records them.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa

from engine import deadlines
from engine.calendar import Calendar
from engine.contacts import Directory
from engine.items import item_key
from engine.outbox import NOBODY, Kind
from engine.services import Services
from engine.store.tables import Item, Outbox
from engine.sweep import DUE_ITEMS, dedupe_key

_item = Item.__table__  # type: ignore[attr-defined]
_outbox = Outbox.__table__  # type: ignore[attr-defined]

# items a sweep before ``end`` would read (``next_attention_at <= t`` for some ``t < end``)
_IN_WINDOW = DUE_ITEMS.where(_item.c.next_attention_at < sa.bindparam("end"))
_KNOWN_KEYS = sa.select(_outbox.c.dedupe_key).where(
    _outbox.c.item_id.in_(
        sa.select(_item.c.id).where(_item.c.next_attention_at < sa.bindparam("end"))
    )
)


def decisions(
    plan: deadlines.Plan, start: dt.datetime, end: dt.datetime, calendar: Calendar
) -> list[tuple[deadlines.Due, dt.datetime]]:
    """Each notification sweeps in ``[start, end)`` would decide, with the moment decided.

    A sweep at ``start`` decides ``due_now``; after it, each point comes due at its own time.
    """
    out = [(d, start) for d in deadlines.due_now(plan, start, calendar)]
    out += [(d, d.at) for d in deadlines.points_between(plan, start, end, calendar) if d.at < end]
    return out


def forecast(services: Services, now: dt.datetime, days: int) -> list[dict[str, Any]]:
    """Every reminder, chase and escalation sweeps in ``[now, now + days)`` would queue.

    Sorted by send time; ``to`` and ``dedupe_keys`` are parallel (one outbox row each).
    """
    end = now + dt.timedelta(days=days)
    calendar = services.calendar
    out: list[dict[str, Any]] = []
    with services.db.engine.connect() as conn:
        rows = conn.execute(_IN_WINDOW, {"now": end, "end": end}).all()
        known = set(conn.execute(_KNOWN_KEYS, {"end": end}).scalars())
        today = Directory.load(conn, on=calendar.local(now).date())
        for row in rows:
            spec = services.specs.get(conn, row.workflow_version_id)
            plan = deadlines.plan_of_item(spec.states[row.state], row, calendar)
            if plan is None:
                continue
            for due, decided_at in decisions(plan, now, end, calendar):
                send_at = decided_at if due.urgent else calendar.next_office_time(decided_at)
                directory = today.at(calendar.local(decided_at).date())
                up = due.kind == Kind.ESCALATION
                recipients = [
                    (r, key)
                    for r in directory.resolve(
                        spec, due.targets, row.agency_id, due.step, escalation=up
                    )
                    if (key := dedupe_key(due, plan, row.id, r.email)) not in known
                ]
                nobody = [
                    {"role": role, "dedupe_key": key}
                    for role in directory.unreachable(
                        spec, due.targets, row.agency_id, due.step, escalation=up
                    )
                    if (key := dedupe_key(due, plan, row.id, NOBODY + role)) not in known
                ]
                if not recipients and not nobody:
                    continue
                out.append(
                    {
                        "at": send_at,
                        "decided_at": decided_at.isoformat(),
                        "key": item_key(row.review_id, row.ref),
                        "agency": row.agency_id,
                        "kind": due.kind,
                        "step": due.step,
                        "template": due.template,
                        "to": [r.email for r, _ in recipients],
                        "dedupe_keys": [k for _, k in recipients],
                        "fallback": any(r.fallback for r, _ in recipients),
                        "digest": due.kind in plan.digest,
                        "unreachable": nobody,
                    }
                )
    out = _digests_together(out)
    for entry in out:
        entry["at"] = entry["at"].isoformat()
    return sorted(out, key=lambda x: (x["at"], x["key"], x["kind"], x["step"]))


def _digests_together(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """As the sweep does: one sweep's digest rows for a recipient and kind go at the
    earliest send time among them; an entry whose recipients now differ is split."""
    first: dict[tuple[str, str, str], dt.datetime] = {}
    for e in entries:
        if e["digest"]:
            for to in e["to"]:
                group = (e["decided_at"], e["kind"], to)
                if group not in first or e["at"] < first[group]:
                    first[group] = e["at"]
    if not first:
        return entries
    out: list[dict[str, Any]] = []
    for e in entries:
        times = [first[(e["decided_at"], e["kind"], to)] for to in e["to"]] if e["digest"] else []
        if len(set(times)) <= 1:
            out.append({**e, "at": times[0]} if times else e)
            continue
        for i, (to, key, at) in enumerate(zip(e["to"], e["dedupe_keys"], times, strict=True)):
            out.append(
                {
                    **e,
                    "at": at,
                    "to": [to],
                    "dedupe_keys": [key],
                    "unreachable": e["unreachable"] if i == 0 else [],
                }
            )
    return out
