"""The daily summary of undelivered mail, and ``sweep_state``, its one row (its only writer).

Failed deliveries are summarised for the business manager once a day: the first sweep of
each local day (kept in ``sweep_state``, so every process sees it) lists what failed since
the previous check, and at least in the last 24 hours, and which roles had nobody
reachable for which items (``nobody_reachable``: the sweep records those, see
``outbox.record_unreachable``). It goes to every reachable business manager, or, when none
is reachable, to every reachable contact of the board's own agencies
(``Directory.board_reachable``): never to an address known to bounce.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from engine import contacts, outbox
from engine.calendar import Calendar
from engine.store.tables import SweepState

_state = SweepState.__table__  # type: ignore[attr-defined]

_STATE_ID = 1
_READ_STATE = sa.select(_state.c.failures_checked_at, _state.c.failures_next_check_at).where(
    _state.c.id == _STATE_ID
)


def summarise_failures(
    conn: sa.Connection,
    is_sqlite: bool,
    time: Callable[[Any], Any],
    now: dt.datetime,
    calendar: Calendar,
) -> int:
    """The day's first sweep: queue each business manager's summary; return rows queued.

    Checked again under the write lock (SQLite's write transaction, PostgreSQL's row lock),
    so of several sweepers only the first does the work; the dedupe key would stop a
    second summary anyway. ``time`` gives the driver's value of an aware datetime.
    """
    query = _READ_STATE if is_sqlite else _READ_STATE.with_for_update()
    state = conn.execute(query).first()
    if state is not None and state.failures_next_check_at > now:
        return 0
    since = now - dt.timedelta(days=1)
    if state is not None:
        since = min(since, state.failures_checked_at)
    summaries = _failure_summaries(conn, now, calendar, since)
    # JSON as SQLAlchemy's JSON type writes it with the default serializer (json.dumps)
    bind = {"context": json.dumps, "next_attempt_at": time, "created_at": time}
    params = [
        tuple(bind[c](r[c]) if c in bind else r[c] for c in outbox.COLUMNS) for r in summaries
    ]
    queued = outbox.enqueue_new(conn, params)
    next_check = calendar.start_of_day(calendar.local(now).date() + dt.timedelta(days=1))
    values = {"failures_checked_at": now, "failures_next_check_at": next_check}
    upsert = (sqlite_insert if is_sqlite else pg_insert)(_state).values(id=_STATE_ID, **values)
    conn.execute(upsert.on_conflict_do_update(index_elements=["id"], set_=values))
    return queued


def _failure_summaries(
    conn: sa.Connection, now: dt.datetime, calendar: Calendar, since: dt.datetime
) -> list[dict[str, Any]]:
    """Tell the board which deliveries failed, and which roles had nobody, after ``since``."""
    failed = outbox.failed_since(conn, since)
    nobody = nobody_reachable(conn, since)
    if not failed and not nobody:
        return []
    managers = contacts.Directory.load(conn).board_reachable()
    listed = [
        {
            "ref": (f.context.get("key") or "/").split("/", 1)[1],
            "review_ref": (f.context.get("key") or "/").split("/", 1)[0],
            "kind": f.kind,
            "recipient": f.recipient,
            "error": (f.last_error or "unknown")[:200],
        }
        for f in failed
    ]
    day = calendar.local(now).date().isoformat()
    office = calendar.next_office_time(now)
    return [
        outbox.Notice(
            dedupe_key=f"failures:{day}:{email}",
            item_id=None,
            kind=outbox.Kind.FAILURES,
            template="failures",
            recipient=email,
            context={"count": len(listed), "failures": listed, "unreachable": nobody},
            send_at=office,
        ).row(now)
        for email in managers
    ]


def nobody_reachable(conn: sa.Connection, since: dt.datetime | None = None) -> list[dict[str, Any]]:
    """Each role that had nobody reachable (after ``since``), with the items it was for.

    ``[{"role": "agency", "items": ["review-id R3", ...]}, ...]``, roles in the order first
    recorded, each item once. For the daily summary and the staff pages.
    """
    found: dict[str, dict[str, None]] = {}
    for row in outbox.unreachable_since(conn, since):
        role = row.recipient.removeprefix(outbox.NOBODY)
        key = (row.context or {}).get("key") or "/"
        review, _, ref = key.partition("/")
        found.setdefault(role, {})[f"{review} {ref}"] = None
    return [{"role": role, "items": list(items)} for role, items in found.items()]
