"""Items: their keys, finding one by id or ``REVIEW/REF[@AGENCY]``, and creating one.

An item is one agency's answer to a recommendation. Creating it writes its first event
through ``engine.history``; every later change goes through ``engine.fire``.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from engine.errors import RecommendationNotFound
from engine.store import core

if TYPE_CHECKING:
    from engine.calendar import Calendar
    from engine.spec import WorkflowSpec

# Core tables, and the writing and spec modules imported where used: ``signoff list`` reads
# keys and titles from here and must not load SQLModel, pydantic or the holidays package.
_item = core.item
_rec = core.recommendation

SELECT_ITEM = sa.select(
    _item.c.id,
    _item.c.state,
    _item.c.version,
    _item.c.seq,
    _item.c.last_hash,
    _item.c.workflow_version_id,
    _item.c.agency_id,
    _item.c.rag,
    _item.c.due,
    _item.c.due_history,
    _item.c.pending_due,
    _item.c.actors,
    _item.c.entered_at,
    _item.c.entered_seq,
    _item.c.next_attention_at,
    _item.c.recommendation_id,
    _rec.c.agreed_action,
    _rec.c.review_id,
    _rec.c.ref,
).join(_rec, _rec.c.id == _item.c.recommendation_id)
"""The columns ``fire`` and ``resolve_item`` read of an item, with its recommendation's."""
SELECT_ITEM_BY_ID = SELECT_ITEM.where(_item.c.id == sa.bindparam("item_id"))


def item_key(review_id: str, ref: str, agency_id: str | None = None) -> str:
    return f"{review_id}/{ref}" + (f"@{agency_id}" if agency_id else "")


def title_of(text: str, limit: int = 90) -> str:
    """A one-line title from a recommendation's text (its first line, shortened)."""
    first = text.strip().splitlines()[0] if text.strip() else ""
    return first if len(first) <= limit else first[: limit - 1].rstrip() + "…"


def resolve_item(conn: sa.Connection, key: int | str) -> Any:
    """The item row for an id or ``REVIEW/REF`` (``REVIEW/REF@AGENCY`` when several agencies).

    Raises:
        RecommendationNotFound: no such item, or the key is ambiguous (the message lists the keys).
    """
    if isinstance(key, int):
        row = conn.execute(SELECT_ITEM_BY_ID, {"item_id": key}).one_or_none()
        if row is None:
            raise RecommendationNotFound(f"item #{key}")
        return row
    review_id, sep, rest = key.partition("/")
    ref, _, agency = rest.partition("@")
    if not sep or not ref:
        raise RecommendationNotFound(
            key, "; write it as REVIEW/REF, e.g. southend-iawg-scr-audit-2010/R1"
        )
    query = SELECT_ITEM.where(_rec.c.review_id == review_id, _rec.c.ref == ref)
    if agency:
        query = query.where(_item.c.agency_id == agency)
    rows = conn.execute(query).all()
    if len(rows) == 1:
        return rows[0]
    if len(rows) > 1:
        options = ", ".join(item_key(r.review_id, r.ref, r.agency_id) for r in rows)
        raise RecommendationNotFound(key, f"; several agencies answer it, name one: {options}")
    from engine.spec import suggest

    refs = conn.execute(sa.select(_rec.c.ref).where(_rec.c.review_id == review_id)).scalars().all()
    hint = suggest(ref, refs) if refs else f"; no review {review_id!r} has been imported"
    raise RecommendationNotFound(key, hint)


def create_item(
    conn: sa.Connection,
    *,
    recommendation_id: int,
    agency_id: str,
    spec: WorkflowSpec,
    version_id: int,
    due: dt.date | None,
    actor: str,
    now: dt.datetime,
    calendar: Calendar,
    data: dict[str, Any] | None = None,
) -> int:
    """Insert a new item in the workflow's initial state, with its first event."""
    from engine import deadlines, history
    from engine.hashchain import GENESIS

    the_plan = deadlines.plan(
        spec.states[spec.initial], item_due=due, entered_at=now, entered_seq=1, calendar=calendar
    )
    item_id = conn.execute(
        _item.insert()
        .values(
            recommendation_id=recommendation_id,
            agency_id=agency_id,
            workflow_version_id=version_id,
            state=spec.initial,
            version=1,
            seq=0,
            last_hash=GENESIS,
            due=due,
            due_history=[due.isoformat()] if due else [],
            actors={},
            entered_at=now,
            entered_seq=1,
            updated_at=now,
            next_attention_at=deadlines.attention(the_plan, now, calendar),
        )
        .returning(_item.c.id)
    ).scalar_one()
    digest = history.append(
        conn,
        item_id=item_id,
        seq=1,
        prev_hash=GENESIS,
        at=now,
        actor=actor,
        trigger="create",
        from_state=None,
        to_state=spec.initial,
        data={"workflow_version_id": version_id, **(data or {})},
    )
    conn.execute(_item.update().where(_item.c.id == item_id).values(seq=1, last_hash=digest))
    return int(item_id)


def amend(
    conn: sa.Connection,
    *,
    item_id: int,
    spec: WorkflowSpec,
    trigger: str,
    actor: str,
    now: dt.datetime,
    calendar: Calendar,
    data: dict[str, Any],
    reason: str | None = None,
    state: str | None = None,
    due: dt.date | None = None,
) -> int:
    """Place an item in ``state`` and/or give it the due date ``due`` by one event that is not
    a workflow transition (an imported status, an anchor's date given), and re-plan its
    deadline as ``engine.fire`` does when an item moves or its due date changes: reminders
    and chases decided before are cancelled, and it is chased from its new plan. Returns the
    event's seq. ``data`` says what the event was; a new ``due`` is appended to the item's
    ``due_history``.

    Raises:
        ConcurrentUpdate: the item changed while this ran (retry the transaction).
    """
    from engine import deadlines, history, outbox
    from engine.errors import ConcurrentUpdate

    row = conn.execute(
        sa.select(
            _item.c.seq,
            _item.c.last_hash,
            _item.c.state,
            _item.c.version,
            _item.c.due,
            _item.c.due_history,
            _item.c.entered_at,
            _item.c.entered_seq,
        ).where(_item.c.id == item_id)
    ).one()
    seq = row.seq + 1
    to_state = state or row.state
    digest = history.append(
        conn,
        item_id=item_id,
        seq=seq,
        prev_hash=row.last_hash,
        at=now,
        actor=actor,
        trigger=trigger,
        from_state=row.state,
        to_state=to_state,
        reason=reason,
        data=data,
    )
    moved = to_state != row.state
    entered_at, entered_seq = (now, seq) if moved else (row.entered_at, row.entered_seq)
    new_due = due if due is not None else row.due
    values: dict[str, Any] = {
        "state": to_state,
        "version": row.version + 1,
        "seq": seq,
        "last_hash": digest,
        "updated_at": now,
        "entered_at": entered_at,
        "entered_seq": entered_seq,
    }
    if due is not None:
        values["due"] = due
        values["due_history"] = [*row.due_history, due.isoformat()]
    the_plan = deadlines.plan(
        spec.states[to_state],
        item_due=new_due,
        entered_at=entered_at,
        entered_seq=entered_seq,
        calendar=calendar,
    )
    values["next_attention_at"] = deadlines.attention(the_plan, now, calendar)
    done = conn.execute(
        _item.update().where(_item.c.id == item_id, _item.c.version == row.version).values(**values)
    )
    if done.rowcount != 1:
        raise ConcurrentUpdate(f"item #{item_id}", trigger)
    outbox.cancel_chasing(conn, item_id)
    return int(seq)
