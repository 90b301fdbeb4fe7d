"""Everything about one recommendation that one person may see: the item page's contents.

``load`` reads the recommendation in full (``queries.show``), keeps only the agencies' items
the person may view (the roles table's scope, ``visible``), and adds to each item its history
in words (``engine.timeline``), the emails sent about it with their delivery status, the live
evidence request it can be answered through, and the actions the person may take now
(``engine.actions``). Nothing visible, or nothing there at all, is the same ``None``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from engine import actions, queries, timeline
from engine.actions import Action
from engine.errors import RecommendationNotFound
from engine.items import item_key
from engine.requests import records
from engine.services import Services
from engine.store import core
from engine.timeline import Entry, Who

_outbox, _contact = core.outbox, core.contact


@dataclass(frozen=True, kw_only=True)
class Email:
    kind: str
    recipient: str
    status: str
    created_at: dt.datetime
    sent_at: dt.datetime | None


@dataclass(frozen=True, kw_only=True)
class AgencyItem:
    view: dict[str, Any]  # one of queries.show's items
    agency_name: str
    history: list[Entry]
    emails: list[Email]
    actions: list[Action]
    request: str | None  # the public id of the live evidence request, if any
    request_due: dt.date | None = None

    def may(self, trigger: str) -> bool:
        return any(a.trigger == trigger for a in self.actions)

    def action(self, trigger: str) -> Action | None:
        return next((a for a in self.actions if a.trigger == trigger), None)


@dataclass(frozen=True, kw_only=True)
class Dossier:
    rec: dict[str, Any]  # queries.show without its items
    items: list[AgencyItem] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)  # each trigger's label

    def item(self, agency: str) -> AgencyItem | None:
        return next((i for i in self.items if i.view["agency"] == agency), None)


def load(
    services: Services,
    review: str,
    ref: str,
    agency: str | None,
    *,
    actor: str,
    visible: Callable[[str], bool],
    now: dt.datetime,
) -> Dossier | None:
    """The recommendation ``review``/``ref`` (one agency's item when ``agency`` is given) as
    ``actor`` may see it, or None when it does not exist or none of it is theirs to see."""
    with services.db.engine.connect() as conn:
        try:
            shown = queries.show(conn, services.specs, item_key(review, ref, agency))
        except RecommendationNotFound:
            return None
        seen = [i for i in shown["items"] if visible(i["agency"])]
        if not seen:
            return None
        people = _people(conn)
        names = queries.agency_names(conn)
        contacts = actions.contacts_for(conn, actor)
        items = []
        labels: dict[str, str] = {}
        for view in seen:
            spec = services.specs.get(conn, _version_of(conn, view["item_id"]))
            labels.update((t.trigger, t.label or t.trigger) for t in spec.model.transitions)
            row = conn.execute(sa.select(core.item).where(core.item.c.id == view["item_id"])).one()
            live = records.live_for_item(conn, view["item_id"], row.entered_seq, now)
            items.append(
                AgencyItem(
                    view=view,
                    agency_name=names.get(view["agency"], view["agency"]),
                    history=timeline.history(
                        spec, view["history"], people, services.calendar.local
                    ),
                    emails=_emails(conn, view["item_id"]),
                    actions=actions.available(spec, row, review, ref, actor, contacts),
                    request=live.public_id if live else None,
                    request_due=live.due if live else None,
                )
            )
    rec = {k: v for k, v in shown.items() if k != "items"}
    return Dossier(rec=rec, items=items, labels=labels)


def _version_of(conn: sa.Connection, item_id: int) -> int:
    return int(
        conn.execute(
            sa.select(core.item.c.workflow_version_id).where(core.item.c.id == item_id)
        ).scalar_one()
    )


def _people(conn: sa.Connection) -> dict[str, Who]:
    found: dict[str, tuple[str, set[str]]] = {}
    for r in conn.execute(sa.select(_contact.c.email, _contact.c.name, _contact.c.role)):
        name, roles = found.setdefault(r.email, (r.name, set()))
        roles.add(r.role)
    return {email: Who(name, frozenset(roles)) for email, (name, roles) in found.items()}


def _emails(conn: sa.Connection, item_id: int) -> list[Email]:
    rows = conn.execute(
        sa.select(_outbox).where(_outbox.c.item_id == item_id).order_by(_outbox.c.id)
    )
    return [
        Email(
            kind=r.kind,
            recipient=r.recipient,
            status=r.status,
            created_at=r.created_at,
            sent_at=r.sent_at,
        )
        for r in rows
    ]
