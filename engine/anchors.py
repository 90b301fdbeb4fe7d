"""Relative due dates: "within six months of publication of this Review".

A plan may give a deadline as a time after an event whose date is not known yet: the
**anchor** ("publication of this Review"). The import keeps the wording, records the anchor
for the review (``anchor``) and the time after it for the recommendation
(``relative_due``); its items have no due date and are not chased. When an administrator
gives the anchor's date (``signoff anchor set``, ``/admin/anchors``), each waiting item gets
its due date, the anchor's date plus the time after in the board's calendar, by one event in
its history (``due_from_anchor``: the anchor, its date, the wording, who gave it) and its
deadline is re-planned as when a decision moves a due date (``engine.items.amend``): from
then it is reminded and chased like any other item. Reports take that date as the item's
original due date.

An anchor is dated once: a date given is a decision recorded in every waiting item's
history; a later change to one item's date is an extension, decided on that item.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from engine import adminlog
from engine.calendar import Calendar
from engine.durations import Duration, parse_duration
from engine.errors import AnchorRefused
from engine.items import amend, item_key
from engine.spec import suggest
from engine.spec.fields import FIRST_DATE, LAST_DATE, words
from engine.store.tables import Anchor, Item, Recommendation, RelativeDue, Review
from engine.versions import SpecCache

_anchor = Anchor.__table__  # type: ignore[attr-defined]
_relative = RelativeDue.__table__  # type: ignore[attr-defined]
_rec = Recommendation.__table__  # type: ignore[attr-defined]
_item = Item.__table__  # type: ignore[attr-defined]
_review = Review.__table__  # type: ignore[attr-defined]

DATED = "due_from_anchor"  # the trigger of the event that gives an item its due date
_NUMBERS = {
    "a": 1,
    "an": 1,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "eighteen": 18,
    "twenty four": 24,
}
_RELATIVE = re.compile(
    r"\b(?P<n>\d{1,3}|" + "|".join(k.replace(" ", r"[\s-]") for k in _NUMBERS) + r")\s+"
    r"(?P<unit>working\s+days?|days?|weeks?|months?|years?)\s+"
    r"(?:of|after|from|following)\s+(?:the\s+)?(?P<anchor>[^.;:\n]*[A-Za-z][^.;:\n]*)",
    re.IGNORECASE,
)


@dataclass(frozen=True, kw_only=True)
class Relative:
    """A deadline written as a time after an anchor: ``after`` ("6 months") of ``anchor``."""

    after: str
    anchor: str

    @property
    def duration(self) -> Duration:
        return parse_duration(self.after)


def parse(text: str) -> Relative | None:
    """The time and the anchor in wording such as "within six months of publication of this
    Review" or "3 months after the panel meeting"; None when the wording has neither."""
    m = _RELATIVE.search(text)
    if m is None:
        return None
    raw = " ".join(m["n"].lower().replace("-", " ").split())
    count = int(raw) if raw.isdigit() else _NUMBERS[raw]
    unit = " ".join(m["unit"].lower().split()).rstrip("s")
    if unit == "year":
        count, unit = count * 12, "month"
    anchor = " ".join(m["anchor"].split()).strip(" ,)(-")[:200]
    if count < 1 or not words(anchor):
        return None
    return Relative(after=f"{count} {unit}{'' if count == 1 else 's'}", anchor=anchor)


def due_on(anchor_date: dt.date, after: str, calendar: Calendar) -> dt.date:
    """The due date ``after`` the anchor's date, counted in the board's calendar (working
    days skip weekends and bank holidays; months keep the day, or the month's last)."""
    start = calendar.start_of_day(anchor_date)
    return calendar.local(calendar.add(start, parse_duration(after))).date()


def record(conn: sa.Connection, review_id: str, name: str) -> tuple[int, str, dt.date | None]:
    """The anchor ``name`` of a review (made if new; names compared by their words): its id,
    its name as first written, and its date if one was given."""
    key = words(name)[:200]
    found = conn.execute(
        sa.select(_anchor.c.id, _anchor.c.name, _anchor.c.date).where(
            _anchor.c.review_id == review_id, _anchor.c.key == key
        )
    ).one_or_none()
    if found is not None:
        return int(found.id), str(found.name), found.date
    new = conn.execute(
        _anchor.insert()
        .values(review_id=review_id, name=name[:200], key=key)
        .returning(_anchor.c.id)
    ).scalar_one()
    return int(new), name[:200], None


@dataclass(frozen=True, kw_only=True)
class AnchorView:
    """An anchor: its review, name and date (when given, by whom), and the items counting
    from it: those still waiting for the date, and those it dated."""

    id: int
    review: str
    name: str
    date: dt.date | None
    set_at: dt.datetime | None
    set_by: str | None
    waiting: list[str] = field(default_factory=list)
    dated: list[str] = field(default_factory=list)
    wording: list[str] = field(default_factory=list)  # as the plan says it, once each

    def as_json(self) -> dict[str, Any]:
        return {
            "review": self.review,
            "name": self.name,
            "date": self.date.isoformat() if self.date else None,
            "set_at": self.set_at.isoformat() if self.set_at else None,
            "set_by": self.set_by,
            "waiting": self.waiting,
            "dated": self.dated,
            "wording": self.wording,
        }


def anchors(conn: sa.Connection, review_id: str | None = None) -> list[AnchorView]:
    """Every anchor (of one review, if given), in review and name order, with its items."""
    query = sa.select(_anchor).order_by(_anchor.c.review_id, _anchor.c.key)
    if review_id is not None:
        query = query.where(_anchor.c.review_id == review_id)
    views = {
        a.id: AnchorView(
            id=a.id,
            review=a.review_id,
            name=a.name,
            date=a.date,
            set_at=a.set_at,
            set_by=a.set_by,
        )
        for a in conn.execute(query)
    }
    if not views:
        return []
    rows = conn.execute(
        sa.select(
            _relative.c.anchor_id,
            _relative.c.wording,
            _rec.c.review_id,
            _rec.c.ref,
            _item.c.agency_id,
            _item.c.due,
            _item.c.recommendation_id,
        )
        .join(_rec, _rec.c.id == _relative.c.recommendation_id)
        .join(_item, _item.c.recommendation_id == _rec.c.id)
        .where(_relative.c.anchor_id.in_(list(views)))
        .order_by(_rec.c.id, _item.c.agency_id)
    ).all()
    answering: dict[int, int] = {}
    for r in rows:
        answering[r.recommendation_id] = answering.get(r.recommendation_id, 0) + 1
    for r in rows:
        view = views[r.anchor_id]
        key = item_key(
            r.review_id, r.ref, r.agency_id if answering[r.recommendation_id] > 1 else None
        )
        (view.dated if r.due is not None else view.waiting).append(key)
        if r.wording not in view.wording:
            view.wording.append(r.wording)
    return list(views.values())


@dataclass(frozen=True, kw_only=True)
class Dated:
    """What giving an anchor's date did: the items given a due date, each with it."""

    review: str
    anchor: str
    date: dt.date
    items: dict[str, dt.date]


def set_date(
    conn: sa.Connection,
    *,
    review_id: str,
    name: str,
    day: dt.date,
    actor: str,
    now: dt.datetime,
    specs: SpecCache,
    calendar: Calendar,
) -> Dated:
    """Give the anchor ``name`` of a review its date, in the caller's transaction: each item
    waiting for it gets its due date by an event (``DATED``) and is re-planned.

    Raises:
        AnchorRefused: no such review or anchor (with a close match and the names known),
            a date outside the believable years, or the anchor already has a date.
        ConcurrentUpdate: an item changed meanwhile (retry).
    """
    reviews = list(conn.execute(sa.select(_review.c.id).order_by(_review.c.id)).scalars())
    if review_id not in reviews:
        raise AnchorRefused(
            "review", review_id, f"no such review{suggest(review_id, reviews)}", reviews
        )
    rows = conn.execute(sa.select(_anchor).where(_anchor.c.review_id == review_id)).all()
    by_key = {a.key: a for a in rows}
    names = sorted(a.name for a in rows)
    anchor = by_key.get(words(name))
    if anchor is None:
        problem = (
            f"no such anchor in {review_id}{suggest(name, names)}"
            if names
            else f"{review_id} has no relative due dates waiting for an anchor"
        )
        raise AnchorRefused("anchor", name, problem, names)
    if not FIRST_DATE <= day <= LAST_DATE:
        raise AnchorRefused(
            "date",
            day.isoformat(),
            f"is outside {FIRST_DATE.year}-{LAST_DATE.year}; check the year",
        )
    if anchor.date is not None:
        raise AnchorRefused(
            "anchor",
            anchor.name,
            f"already has its date, {anchor.date.isoformat()} (given by {anchor.set_by}); "
            "an item's due date is changed from there by an extension on that item",
        )
    conn.execute(
        _anchor.update()
        .where(_anchor.c.id == anchor.id, _anchor.c.date.is_(None))
        .values(date=day, set_at=now, set_by=actor)
    )
    waiting = conn.execute(
        sa.select(
            _item.c.id,
            _item.c.agency_id,
            _item.c.workflow_version_id,
            _item.c.recommendation_id,
            _rec.c.ref,
            _relative.c.after,
            _relative.c.wording,
        )
        .join(_rec, _rec.c.id == _item.c.recommendation_id)
        .join(_relative, _relative.c.recommendation_id == _rec.c.id)
        .where(_relative.c.anchor_id == anchor.id, _item.c.due.is_(None))
        .order_by(_rec.c.id, _item.c.agency_id)
    ).all()
    answering = _answering(conn, {w.recommendation_id for w in waiting})
    dated: dict[str, dt.date] = {}
    for w in waiting:
        due = due_on(day, w.after, calendar)
        amend(
            conn,
            item_id=w.id,
            spec=specs.get(conn, w.workflow_version_id),
            trigger=DATED,
            actor=actor,
            now=now,
            calendar=calendar,
            due=due,
            data={
                "anchor": anchor.name,
                "anchor_date": day.isoformat(),
                "after": w.after,
                "wording": w.wording,
                "due_set": due.isoformat(),
            },
        )
        several = answering[w.recommendation_id] > 1
        dated[item_key(review_id, w.ref, w.agency_id if several else None)] = due
    adminlog.record(
        conn,
        actor=actor,
        at=now,
        action="anchor.set",
        subject=f"{review_id}: {anchor.name}"[: adminlog.MAX_SUBJECT],
        before=None,
        after={"date": day.isoformat(), "items": {k: v.isoformat() for k, v in dated.items()}},
    )
    return Dated(review=review_id, anchor=anchor.name, date=day, items=dated)


def _answering(conn: sa.Connection, rec_ids: set[int]) -> dict[int, int]:
    """How many agencies answer each recommendation (a key names the agency when several)."""
    if not rec_ids:
        return {}
    return {
        r[0]: r[1]
        for r in conn.execute(
            sa.select(_item.c.recommendation_id, sa.func.count())
            .where(_item.c.recommendation_id.in_(sorted(rec_ids)))
            .group_by(_item.c.recommendation_id)
        )
    }
