"""What a person may do to an item now: the workflow's triggers from its state that they would
be allowed to fire.

The same checks as ``engine.fire`` makes when the trigger is fired (the workflow's roles and
the roles table, ``fire.authorise``; separation of duties; the transition's guards), asked
in advance, so a page offers exactly the actions that would not be refused for who the person
is. (Firing can still be refused for what they type, or because someone acted first.)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from engine.contacts import CONTACT_COLUMNS, FALLBACK_ROLE, held_by
from engine.errors import NotPermitted, RoleNotAllowed
from engine.fire import authorise
from engine.items import item_key
from engine.spec import Requirement, Transition, WorkflowSpec
from engine.spec.rules import failed_guard
from engine.store.tables import Contact

_contact = Contact.__table__  # type: ignore[attr-defined]  # the table held_by reads


@dataclass(frozen=True, kw_only=True)
class Action:
    """One trigger the person may fire on the item now."""

    trigger: str
    label: str
    requires: tuple[Requirement, ...]
    moves: bool  # it changes the item's state (else: RAG, a due date, a note)


def contacts_for(conn: sa.Connection, actor: str) -> Sequence[Any]:
    """The rows ``authorise`` reads: the actor's own (and those they deputise), and the
    business managers' (they tell which agencies are the board's)."""
    return conn.execute(
        sa.select(*CONTACT_COLUMNS).where(sa.or_(held_by(actor), _contact.c.role == FALLBACK_ROLE))
    ).all()


def available(
    spec: WorkflowSpec, row: Any, review_id: str, ref: str, actor: str, contacts: Sequence[Any]
) -> list[Action]:
    """The actions ``actor`` may take on item ``row`` (an ``item`` row) now, in the
    workflow's order; ``contacts`` from :func:`contacts_for`."""
    actor = actor.strip().lower()
    key = item_key(review_id, ref)
    found: list[Action] = []
    for trigger in dict.fromkeys(spec.allowed_from(row.state)):
        t: Transition = spec.table[(trigger, row.state)]
        try:
            authorise(spec, t, key, actor, row.agency_id, contacts)
        except (RoleNotAllowed, NotPermitted):
            continue
        if any(actor in row.actors.get(e, ()) for e in spec.forbidden_prior.get(trigger, ())):
            continue
        if failed_guard(t, row) is not None:
            continue
        found.append(
            Action(
                trigger=trigger,
                label=t.label or trigger.replace("_", " "),
                requires=tuple(t.requires),
                moves=t.dest is not None,
            )
        )
    return found
