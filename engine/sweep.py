"""The sweep: due deadlines -> outbox rows, each exactly once.

``run_once(services, now)`` reads only items whose ``next_attention_at`` has passed (an
indexed column that ``fire`` keeps current), asks each item's deadline plan what is due
at ``now``, and inserts one outbox row per notification and recipient under a unique
dedupe key (kind, item, state entry and due date, step, recipient) with
``ON CONFLICT DO NOTHING``. Two sweeps at once, a repeated sweep, a crash or downtime
therefore never send anything twice; after downtime only the latest chase is sent.
On PostgreSQL concurrent sweepers split the due items with ``FOR UPDATE SKIP LOCKED``.
The scheduler only calls this; correctness never depends on it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from engine import deadlines
from engine.recipients import FALLBACK_ROLE, Directory
from engine.service import Services, item_key
from engine.store.tables import Contact, Item, Outbox, Recommendation

_item = Item.__table__  # type: ignore[attr-defined]
_rec = Recommendation.__table__  # type: ignore[attr-defined]
_outbox = Outbox.__table__  # type: ignore[attr-defined]
_contact = Contact.__table__  # type: ignore[attr-defined]

DUE_ITEMS = (  # items needing attention by :now (the forecast passes its horizon)
    sa.select(
        _item.c.id,
        _item.c.state,
        _item.c.version,
        _item.c.workflow_version_id,
        _item.c.agency_id,
        _item.c.due,
        _item.c.entered_at,
        _item.c.entered_seq,
        _rec.c.review_id,
        _rec.c.ref,
    )
    .join(_rec, _rec.c.id == _item.c.recommendation_id)
    .where(_item.c.next_attention_at <= sa.bindparam("now"))
    .order_by(_item.c.next_attention_at)
)
_SET_NEXT = (
    _item.update()
    .where(_item.c.id == sa.bindparam("b_id"), _item.c.version == sa.bindparam("b_version"))
    .values(next_attention_at=sa.bindparam("b_next"))
)


@dataclass
class SweepReport:
    """What one sweep decided."""

    now: dt.datetime
    items: int = 0
    queued: int = 0
    decided: list[dict[str, Any]] = field(default_factory=list)


def run_once(
    services: Services, now: dt.datetime, *, dry_run: bool = False, limit: int = 50_000
) -> SweepReport:
    """Queue every notification due at ``now``; return what was decided.

    With ``dry_run`` the decisions are reported and nothing is written.

    Raises:
        ValueError: ``now`` is naive.
    """
    if now.tzinfo is None:
        raise ValueError("sweep needs an aware 'now'")
    calendar = services.calendar
    report = SweepReport(now=now)
    with services.db.write() as conn:
        query = DUE_ITEMS.limit(limit)
        if not services.db.is_sqlite:
            query = query.with_for_update(skip_locked=True, of=_item)
        rows = conn.execute(query, {"now": now}).all()
        summaries = _failure_summaries(conn, now, calendar)
        if summaries and not dry_run:
            report.queued += _insert_new(conn, services.db.is_sqlite, summaries)
        if not rows:
            return report
        directory = Directory.load(conn)
        outbox: list[dict[str, Any]] = []
        moves: list[dict[str, Any]] = []
        for row in rows:
            spec = services.specs.get(conn, row.workflow_version_id)
            plan = deadlines.plan_of_item(spec.states[row.state], row, calendar)
            key = item_key(row.review_id, row.ref)
            if plan is not None:
                for due in deadlines.due_now(plan, now, calendar):
                    for who in directory.resolve(spec, due.targets, row.agency_id, due.step):
                        outbox.append(
                            _row(
                                row, key, plan, due, who.email, who.via, who.fallback, now, calendar
                            )
                        )
            moves.append(
                {
                    "b_id": row.id,
                    "b_version": row.version,
                    "b_next": deadlines.next_after(plan, now, calendar) if plan else None,
                }
            )
        report.items = len(rows)
        report.decided = outbox
        if dry_run:
            conn.rollback()
            return report
        if outbox:
            report.queued = _insert_new(conn, services.db.is_sqlite, outbox)
        conn.execute(_SET_NEXT, moves)
    return report


def _row(
    row: Any,
    key: str,
    plan: deadlines.Plan,
    due: deadlines.Due,
    email: str,
    via: str,
    fallback: bool,
    now: dt.datetime,
    calendar: Any,
) -> dict[str, Any]:
    due_day = calendar.local(plan.due_at - dt.timedelta(microseconds=1)).date()
    return {
        "dedupe_key": f"{due.kind}:{row.id}:{plan.cycle}:{due.step}:{email}",
        "item_id": row.id,
        "kind": due.kind,
        "template": due.template,
        "recipient": email,
        "context": {
            "key": key,
            "state": row.state,
            "step": due.step,
            "via": via,
            "fallback": fallback,
            "due": due_day.isoformat(),
            "days_overdue": calendar.days_overdue(due_day, now),
            "digest": plan.digest,
            "urgent": due.urgent,
        },
        "status": "pending",
        "attempts": 0,
        "next_attempt_at": now if due.urgent else calendar.next_office_time(now),
        "created_at": now,
    }


def _failure_summaries(
    conn: sa.Connection, now: dt.datetime, calendar: Any
) -> list[dict[str, Any]]:
    """Once a day, tell each business manager which deliveries failed in the last day."""
    since = now - dt.timedelta(days=1)
    failed = conn.execute(
        sa.select(_outbox.c.kind, _outbox.c.recipient, _outbox.c.context, _outbox.c.last_error)
        .where(
            _outbox.c.status == "failed", _outbox.c.failed_at > since, _outbox.c.kind != "failures"
        )
        .order_by(_outbox.c.id)
        .limit(200)
    ).all()
    if not failed:
        return []
    managers = (
        conn.execute(sa.select(_contact.c.email).where(_contact.c.role == FALLBACK_ROLE).distinct())
        .scalars()
        .all()
    )
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
    return [
        {
            "dedupe_key": f"failures:{day}:{email}",
            "item_id": None,
            "kind": "failures",
            "template": "failures",
            "recipient": email,
            "context": {"count": len(listed), "failures": listed},
            "status": "pending",
            "attempts": 0,
            "next_attempt_at": calendar.next_office_time(now),
            "created_at": now,
        }
        for email in sorted(managers)
    ]


def _insert_new(conn: sa.Connection, is_sqlite: bool, rows: list[dict[str, Any]]) -> int:
    """Insert rows whose dedupe key is new; return how many were new.

    SQLite: a plain executemany, whose rowcount counts only the rows inserted.
    PostgreSQL: RETURNING, because the batched driver path reports no rowcount.
    """
    if is_sqlite:
        statement = sqlite_insert(_outbox).on_conflict_do_nothing(index_elements=["dedupe_key"])
        return max(conn.execute(statement, rows).rowcount, 0)
    returning = (
        pg_insert(_outbox)
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
        .returning(_outbox.c.id)
    )
    return len(conn.execute(returning, rows).all())
