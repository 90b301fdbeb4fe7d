"""What an email may say about an item: the safe facts for a notification's context.

An email carries only what an administrator marked safe for email, references, dates,
names and a link: never a plan's free text (a review's title, a recommendation's text or
agreed action), evidence, statements, notes or a decision's reasons, which stay behind the
link. This module is the one place that reads those facts for mail, so what an email can
say is decided here: for each item, its recommendation's reference and email summary (an
administrator's, or nothing), its state and due date, its review's id, email name (falling
back to the id, never the title) and board, its agency's name, whether the agency is the
board's own (it holds a business manager), and its workflow spec (for state and decision
labels); for each recipient, their name and role in the directory; and who signs: the
board's business manager. All of it is read in one pass (three queries) for a batch of
outbox rows, and a spec once per workflow version.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import sqlalchemy as sa

from engine.contacts import FALLBACK_ROLE
from engine.services import Services
from engine.spec import WorkflowSpec
from engine.store.tables import Agency, Contact, Item, Recommendation, Review

_item = Item.__table__  # type: ignore[attr-defined]
_rec = Recommendation.__table__  # type: ignore[attr-defined]
_review = Review.__table__  # type: ignore[attr-defined]
_agency = Agency.__table__  # type: ignore[attr-defined]
_contact = Contact.__table__  # type: ignore[attr-defined]

_SELECT_ITEMS = (
    sa.select(
        _item.c.id,
        _item.c.state,
        _item.c.agency_id,
        _item.c.due,
        _item.c.workflow_version_id,
        _rec.c.ref,
        _rec.c.email_summary,
        _review.c.id.label("review_id"),
        _review.c.email_name,
        _review.c.board,
        _agency.c.name.label("agency_name"),
    )
    .join(_rec, _rec.c.id == _item.c.recommendation_id)
    .join(_review, _review.c.id == _rec.c.review_id)
    .join(_agency, _agency.c.id == _item.c.agency_id)
)
_SELECT_PEOPLE = sa.select(
    _contact.c.email, _contact.c.agency_id, _contact.c.name, _contact.c.role
).order_by(_contact.c.id)
# the board's business managers: who signs, and which agencies are the board's own
_SELECT_SIGNERS = (
    sa.select(_contact.c.agency_id, _contact.c.name)
    .where(_contact.c.role == FALLBACK_ROLE)
    .order_by(_contact.c.absent, _contact.c.id)
)


@dataclass(frozen=True, kw_only=True, slots=True)
class ItemFacts:
    """What an email may say about one item."""

    id: int
    ref: str
    summary: str  # the administrator's email summary, or ""
    state: str
    due: dt.date | None
    agency_id: str
    agency_name: str
    board_item: bool  # the item's agency is the board itself (it holds a business manager)
    review_id: str
    review_name: str  # the review's email name, else its id: never its title
    board: str
    spec: WorkflowSpec = field(repr=False)


@dataclass(frozen=True, kw_only=True, slots=True)
class Person:
    """A recipient as the directory lists them in one agency."""

    email: str
    agency_id: str
    name: str
    role: str


@dataclass(frozen=True, kw_only=True)
class MailFacts:
    """The facts for a batch of outbox rows: items by id, people by (email, agency)."""

    items: Mapping[int, ItemFacts]
    people: Mapping[tuple[str, str], Person]
    signer: str | None = None  # the business manager's name, who signs; None if none listed
    _anywhere: dict[str, Person] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        anywhere: dict[str, Person] = {}
        for person in self.people.values():
            anywhere.setdefault(person.email, person)
        object.__setattr__(self, "_anywhere", anywhere)

    def person(self, email: str, agency_id: str | None = None) -> Person | None:
        """``email`` as listed in ``agency_id``, else as first listed in any agency.

        None when the directory does not list ``email`` (or it was not among the recipients
        the facts were read for).
        """
        if agency_id is not None:
            found = self.people.get((email, agency_id))
            if found is not None:
                return found
        return self._anywhere.get(email)


def read_mail_facts(
    services: Services, item_ids: Iterable[int], recipients: Iterable[str]
) -> MailFacts:
    """The facts emails about ``item_ids`` to ``recipients`` may use, in one read.

    Items that do not exist are absent from ``items``; recipients the directory does not
    list are absent from ``people``. Where a person holds several roles in one agency, the
    last listed is kept.
    """
    ids = sorted(set(item_ids))
    emails = sorted(set(recipients))
    with services.db.engine.connect() as conn:
        rows = conn.execute(_SELECT_ITEMS.where(_item.c.id.in_(ids))).all() if ids else []
        specs = {v: services.specs.get(conn, v) for v in {r.workflow_version_id for r in rows}}
        people = (
            conn.execute(_SELECT_PEOPLE.where(_contact.c.email.in_(emails))).all() if emails else []
        )
        signers = conn.execute(_SELECT_SIGNERS).all()
    board_agencies = {s.agency_id for s in signers}
    return MailFacts(
        signer=signers[0].name if signers else None,
        items={
            r.id: ItemFacts(
                id=r.id,
                ref=r.ref,
                summary=r.email_summary or "",
                state=r.state,
                due=r.due,
                agency_id=r.agency_id,
                agency_name=r.agency_name,
                board_item=r.agency_id in board_agencies,
                review_id=r.review_id,
                review_name=r.email_name or r.review_id,
                board=r.board,
                spec=specs[r.workflow_version_id],
            )
            for r in rows
        },
        people={
            (p.email, p.agency_id): Person(
                email=p.email, agency_id=p.agency_id, name=p.name, role=p.role
            )
            for p in people
        },
    )
