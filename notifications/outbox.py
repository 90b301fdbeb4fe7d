"""Claiming and settling outbox rows: the database half of the dispatcher.

A dispatcher claims pending rows whose time has come (or ``sending`` rows whose lease
ran out, left by a dispatcher that died) by marking them ``sending`` with its name and
a lease, in one short transaction. On PostgreSQL claims use ``FOR UPDATE SKIP LOCKED``
so several dispatchers split the work; on SQLite the claim is one ``BEGIN IMMEDIATE``
write, so two dispatchers can never hold the same row. Each row ends ``sent`` or
``failed`` (or goes back to ``pending`` with a later ``next_attempt_at``), and every
settled row is also an event in its item's history.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from engine import history
from engine.service import Services
from engine.store.tables import Item, Outbox

_outbox = Outbox.__table__  # type: ignore[attr-defined]
_item = Item.__table__  # type: ignore[attr-defined]


class Result(StrEnum):
    SENT = "sent"
    RETRY = "retry"
    FAILED = "failed"


@dataclass(frozen=True, kw_only=True)
class Outcome:
    """How one row's delivery went."""

    row_id: int
    result: Result
    error: str | None = None
    message_id: str | None = None
    template_version: str | None = None
    retry_at: dt.datetime | None = None


def claim(
    services: Services, now: dt.datetime, owner: str, limit: int, lease: dt.timedelta
) -> list[Any]:
    """Claim up to ``limit`` rows for ``owner`` until ``now + lease``; return them."""
    claimable = sa.or_(
        sa.and_(_outbox.c.status == "pending", _outbox.c.next_attempt_at <= now),
        sa.and_(_outbox.c.status == "sending", _outbox.c.lease_until < now),
    )
    ids = sa.select(_outbox.c.id).where(claimable).order_by(_outbox.c.id).limit(limit)
    with services.db.write() as conn:
        if not services.db.is_sqlite:
            ids = ids.with_for_update(skip_locked=True)
        chosen = list(conn.execute(ids).scalars())
        if not chosen:
            return []
        conn.execute(
            _outbox.update()
            .where(_outbox.c.id.in_(chosen))
            .values(
                status="sending",
                lease_owner=owner,
                lease_until=now + lease,
                attempts=_outbox.c.attempts + 1,
            )
        )
        return list(
            conn.execute(
                sa.select(_outbox).where(_outbox.c.id.in_(chosen)).order_by(_outbox.c.id)
            ).all()
        )


def settle(
    services: Services,
    rows: Sequence[Any],
    outcomes: Sequence[Outcome],
    owner: str,
    now: dt.datetime,
) -> None:
    """Record every outcome (only for rows this owner still holds) and the history events."""
    by_id = {r.id: r for r in rows}
    with services.db.write() as conn:
        for outcome in outcomes:
            row = by_id[outcome.row_id]
            values: dict[str, Any] = {
                "lease_owner": None,
                "lease_until": None,
                "last_error": outcome.error,
            }
            if outcome.result is Result.SENT:
                values.update(status="sent", sent_at=now, message_id=outcome.message_id)
            elif outcome.result is Result.FAILED:
                values.update(status="failed", failed_at=now)
            else:
                values.update(status="pending", next_attempt_at=outcome.retry_at)
            done = conn.execute(
                _outbox.update()
                .where(
                    _outbox.c.id == row.id,
                    _outbox.c.lease_owner == owner,
                    _outbox.c.status == "sending",
                )
                .values(**values)
            )
            if done.rowcount == 1 and outcome.result is not Result.RETRY and row.item_id:
                _record_retrying(conn, row, outcome, now)


def _record_retrying(conn: sa.Connection, row: Any, outcome: Outcome, now: dt.datetime) -> None:
    # a transition committed on the item between our read and our append takes the seq we
    # chose; read again and chain onto it (the savepoint keeps the rest of the batch)
    for attempt in range(5):
        try:
            with conn.begin_nested():
                _record(conn, row, outcome, now)
            return
        except IntegrityError:
            if attempt == 4:
                raise


def _record(conn: sa.Connection, row: Any, outcome: Outcome, now: dt.datetime) -> None:
    item = conn.execute(
        sa.select(_item.c.seq, _item.c.last_hash, _item.c.state).where(_item.c.id == row.item_id)
    ).one()
    seq = item.seq + 1
    digest = history.append(
        conn,
        item_id=row.item_id,
        seq=seq,
        prev_hash=item.last_hash,
        at=now,
        actor="system:mail",
        trigger="notified" if outcome.result is Result.SENT else "notification_failed",
        from_state=item.state,
        to_state=item.state,
        data={
            "kind": row.kind,
            "recipient": row.recipient,
            "template": row.template,
            "template_version": outcome.template_version,
            "status": outcome.result.value,
            "message_id": outcome.message_id,
            "error": outcome.error,
            "dedupe_key": row.dedupe_key,
        },
    )
    conn.execute(
        _item.update()
        .where(_item.c.id == row.item_id, _item.c.seq == item.seq)
        .values(seq=seq, last_hash=digest)
    )
