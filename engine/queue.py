"""Work queues: the items waiting for a decision or a confirmation the person may give now.

Which states wait for what is read from the workflow (``engine.spec.moves``): a state whose
deadline is addressed to a board-wide role that owes a **decision** (the panel, in the shipped
workflow's ``evidence_submitted``) is on the decisions queue, one that owes a **confirmation**
(internal audit's ``panel_signed_off`` and ``embedded_reaudit``) on the confirmations queue. A
state with no deadline that is neither the first nor a last one (``audit_confirmed``: the panel
or business manager schedules the re-audit or closes) and an item with an extension asked for
wait for a decision too. An item is listed for a person only when they may take one of its
waiting actions now (the checks ``engine.fire`` makes: roles, the roles table, separation of
duties, guards), oldest first.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from engine.contacts import CONTACT_COLUMNS
from engine.decisions import label_of, why_not
from engine.items import SELECT_ITEM, item_key, title_of
from engine.services import Services
from engine.spec import WorkflowSpec
from engine.spec.moves import Owed, move_in
from engine.store import core
from engine.store.tables import Contact

_item, _rec, _agency = core.item, core.recommendation, core.agency
_contact = Contact.__table__  # type: ignore[attr-defined]  # the table CONTACT_COLUMNS name


@dataclass(frozen=True, kw_only=True)
class Action:
    trigger: str
    label: str


@dataclass(frozen=True, kw_only=True)
class Waiting:
    """One item on a queue, with the actions the person may take on it now."""

    item_id: int
    key: str
    review_id: str
    ref: str
    agency_id: str
    agency: str
    title: str
    state_label: str
    rag: str | None
    since: dt.datetime
    extension_asked: dt.date | None
    actions: tuple[Action, ...]


def waits_for(spec: WorkflowSpec, state: str) -> Owed | None:
    """What ``state`` waits for from the board (None: from the agency, or nothing)."""
    st = spec.states[state]
    if st.terminal:
        return None
    move = move_in(spec.model, state)
    if move is not None:
        return None if move.own_agency else move.owed
    return None if st.initial else Owed.DECISION


def awaiting(services: Services, actor: str, owed: Owed) -> list[Waiting]:
    """The items waiting for ``owed`` on which ``actor`` may act now, oldest first."""
    actor = actor.strip().lower()
    with services.db.engine.connect() as conn:
        versions = conn.execute(sa.select(_item.c.workflow_version_id).distinct()).scalars().all()
        specs = {v: services.specs.get(conn, v) for v in versions}
        states = [
            sa.and_(_item.c.workflow_version_id == v, _item.c.state.in_(names))
            for v, spec in specs.items()
            if (names := [s for s in spec.states if waits_for(spec, s) is owed])
        ]
        if owed is Owed.DECISION:
            states.append(_item.c.pending_due.is_not(None))
        if not states:
            return []
        contacts = conn.execute(sa.select(*CONTACT_COLUMNS, _contact.c.name)).all()
        query = (
            SELECT_ITEM.add_columns(_rec.c.text, _agency.c.name.label("agency"))
            .join(_agency, _agency.c.id == _item.c.agency_id)
            .where(sa.or_(*states))
            .order_by(_item.c.entered_at, _item.c.id)
        )
        rows = conn.execute(query).all()
    found = []
    for row in rows:
        spec = specs[row.workflow_version_id]
        if spec.is_terminal(row.state):
            continue
        actions = _actions(spec, row, actor, contacts, owed)
        if actions:
            found.append(_waiting(spec, row, actions))
    return found


def _actions(
    spec: WorkflowSpec, row: Any, actor: str, contacts: Any, owed: Owed
) -> tuple[Action, ...]:
    """The waiting actions: moving the item on, or (when an extension is asked) deciding it;
    not those that only annotate it (setting the RAG)."""
    waiting = waits_for(spec, row.state) is owed
    out = []
    for trigger in dict.fromkeys(spec.allowed_from(row.state)):
        t = spec.table[(trigger, row.state)]
        deciding_extension = owed is Owed.DECISION and row.pending_due is not None and t.guards
        wanted = (waiting and t.dest is not None) or bool(deciding_extension)
        if wanted and why_not(spec, row, t, actor, contacts) is None:
            out.append(Action(trigger=trigger, label=label_of(t)))
    return tuple(out)


def _waiting(spec: WorkflowSpec, row: Any, actions: tuple[Action, ...]) -> Waiting:
    return Waiting(
        item_id=row.id,
        key=item_key(row.review_id, row.ref, row.agency_id),
        review_id=row.review_id,
        ref=row.ref,
        agency_id=row.agency_id,
        agency=row.agency,
        title=title_of(row.text),
        state_label=spec.states[row.state].label,
        rag=row.rag,
        since=row.entered_at,
        extension_asked=row.pending_due,
        actions=actions,
    )
