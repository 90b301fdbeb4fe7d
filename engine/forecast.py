"""The business manager's preview: who will be emailed what, and when, over the next days.

Computed from the same deadline plans the sweep uses, for items whose next attention
falls inside the window; nothing is written. Recipients are resolved from today's
directory, so a contact change before the day shows up in the next forecast.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from engine import deadlines
from engine.contacts import Directory
from engine.items import item_key
from engine.services import Services
from engine.sweep import DUE_ITEMS


def forecast(services: Services, now: dt.datetime, days: int) -> list[dict[str, Any]]:
    """Every reminder, chase and escalation due in ``(now, now + days]``, in time order."""
    end = now + dt.timedelta(days=days)
    calendar = services.calendar
    out: list[dict[str, Any]] = []
    with services.db.engine.connect() as conn:
        rows = conn.execute(DUE_ITEMS, {"now": end}).all()
        directory = Directory.load(conn)
        for row in rows:
            spec = services.specs.get(conn, row.workflow_version_id)
            plan = deadlines.plan_of_item(spec.states[row.state], row, calendar)
            if plan is None:
                continue
            due_now = deadlines.due_now(plan, now, calendar)
            for due in [*due_now, *deadlines.points_between(plan, now, end, calendar)]:
                send_at = max(due.at, now)
                if not due.urgent:
                    send_at = calendar.next_office_time(send_at)
                recipients = directory.resolve(spec, due.targets, row.agency_id, due.step)
                out.append(
                    {
                        "at": send_at.isoformat(),
                        "key": item_key(row.review_id, row.ref),
                        "agency": row.agency_id,
                        "kind": due.kind,
                        "step": due.step,
                        "template": due.template,
                        "to": [r.email for r in recipients],
                        "fallback": any(r.fallback for r in recipients),
                    }
                )
    return sorted(out, key=lambda x: (x["at"], x["key"], x["kind"]))
