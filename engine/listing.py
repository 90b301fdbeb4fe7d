"""Lists of items a person may see: filtered, searched, sorted and cut into pages.

``find`` is what ``/items`` and the home page read. The scope (``agencies``: None for all, or
the agencies whose items the roles table lets the person see) is applied in the query, so a
foreign item is never read. Filters arrive already checked (``web.filters`` words bad ones).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Collection
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from engine.contacts import held_by
from engine.items import title_of
from engine.store import core
from engine.store.tables import Contact

if TYPE_CHECKING:
    from engine.versions import SpecCache

_item, _rec, _review, _agency = core.item, core.recommendation, core.review, core.agency
PAGE_SIZE = 25


class Sort(StrEnum):
    DUE = "due"  # soonest due first (no date last)
    OLDEST = "oldest"  # longest in its current state first
    REF = "ref"  # review, then reference
    RECENT = "recent"  # most recently changed first


@dataclass(frozen=True, kw_only=True)
class Filters:
    review: str | None = None
    agency: str | None = None
    state: str | None = None
    rag: str | None = None
    priority: str | None = None
    theme: str | None = None
    overdue: bool = False
    due_within: int | None = None  # days from today
    q: str | None = None
    sort: Sort = Sort.DUE
    page: int = 1


@dataclass(frozen=True, kw_only=True)
class Row:
    review: str
    review_title: str
    ref: str
    agency: str
    agency_name: str
    title: str
    state: str
    state_label: str
    terminal: bool
    rag: str | None
    priority: str | None
    themes: tuple[str, ...]
    due: dt.date | None
    pending_due: dt.date | None
    entered_at: dt.datetime
    updated_at: dt.datetime
    overdue: bool
    multi: bool  # the recommendation has items for more than one agency

    @property
    def path(self) -> str:
        """The item page's path (web.urls builds the same)."""
        return (
            f"{self.review}/{self.ref}@{self.agency}" if self.multi else f"{self.review}/{self.ref}"
        )


@dataclass(frozen=True, kw_only=True)
class Found:
    rows: list[Row]
    total: int
    page: int
    pages: int


def _like(text: str) -> str:
    return _like_exact(text.lower())


def _select(agencies: Collection[str] | None) -> sa.Select[Any]:
    """Items with their recommendation, review and agency, of ``agencies`` (None: all)."""
    query = (
        sa.select(
            _item, _rec.c.review_id, _rec.c.ref, _rec.c.text, _rec.c.priority, _rec.c.themes,
            _rec.c.agreed_action, _review.c.title.label("review_title"),
            _agency.c.name.label("agency_name"),
        )
        .join(_rec, _rec.c.id == _item.c.recommendation_id)
        .join(_review, _review.c.id == _rec.c.review_id)
        .join(_agency, _agency.c.id == _item.c.agency_id)
    )  # fmt: skip
    if agencies is not None:
        query = query.where(_item.c.agency_id.in_(sorted(agencies)))
    return query


def find(
    conn: sa.Connection,
    specs: SpecCache,
    filters: Filters,
    *,
    agencies: Collection[str] | None,
    today: dt.date,
    page_size: int = PAGE_SIZE,
) -> Found:
    """The page ``filters.page`` of the items matching ``filters`` among ``agencies``' items
    (None: every agency's). A page past the last gives the last page.

    Filtering, sorting and paging are done by the database: which states are terminal (read
    from the workflows) is turned into a condition, and only the page's rows are read."""
    f = filters
    terminal = _terminal(conn, specs)
    query = _select(agencies)
    if f.review:
        query = query.where(_rec.c.review_id == f.review)
    if f.agency:
        query = query.where(_item.c.agency_id == f.agency)
    if f.state:
        query = query.where(_item.c.state == f.state)
    if f.rag:
        query = query.where(_item.c.rag == f.rag)
    if f.priority:
        query = query.where(_rec.c.priority == f.priority)
    if f.theme:
        query = query.where(_has_theme(f.theme))
    if f.overdue:
        query = query.where(_item.c.due.is_not(None), _item.c.due < today, sa.not_(terminal))
    if f.due_within is not None:
        query = query.where(
            _item.c.due.is_not(None),
            _item.c.due <= today + dt.timedelta(days=f.due_within),
            sa.not_(terminal),
        )
    if f.q:
        pattern = _like(f.q)
        query = query.where(
            sa.or_(
                sa.func.lower(_rec.c.text).like(pattern, escape="\\"),
                sa.func.lower(_rec.c.ref).like(pattern, escape="\\"),
                sa.func.lower(_rec.c.agreed_action).like(pattern, escape="\\"),
                sa.func.lower(_review.c.title).like(pattern, escape="\\"),
            )
        )
    total = conn.execute(sa.select(sa.func.count()).select_from(query.subquery())).scalar_one()
    pages = max(1, -(-total // page_size))
    page = min(max(1, f.page), pages)
    ordered = query.order_by(*_order(f.sort, terminal))
    found = conn.execute(ordered.limit(page_size).offset((page - 1) * page_size)).all()
    rows = [_row(specs, conn, r, today) for r in found]
    multi = _multi(conn, {(r.review, r.ref) for r in rows})
    rows = [_with_multi(r, (r.review, r.ref) in multi) for r in rows]
    return Found(rows=rows, total=total, page=page, pages=pages)


def _terminal(conn: sa.Connection, specs: SpecCache) -> sa.ColumnElement[bool]:
    """True for an item in a terminal state of its workflow version (from the workflows)."""
    versions = conn.execute(sa.select(_item.c.workflow_version_id).distinct()).scalars()
    cases = []
    for version in sorted(versions):
        ends = sorted(name for name, facts in specs.states(conn, version).items() if facts.terminal)
        if ends:
            cases.append(sa.and_(_item.c.workflow_version_id == version, _item.c.state.in_(ends)))
    return sa.or_(sa.false(), *cases)


def _has_theme(theme: str) -> sa.ColumnElement[bool]:
    """The recommendation's themes (a JSON list) hold ``theme``: its JSON string inside the
    list's text (as either database writes non-ASCII text)."""
    text = sa.cast(_rec.c.themes, sa.Text)
    spelled = {json.dumps(theme), json.dumps(theme, ensure_ascii=False)}
    return sa.or_(*(text.like(_like_exact(s), escape="\\") for s in sorted(spelled)))


def _like_exact(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _order(sort: Sort, terminal: sa.ColumnElement[bool]) -> list[sa.ColumnElement[Any]]:
    """The ORDER BY of ``sort``: the same orders ``_SORTS`` gives in Python."""
    ends = sa.case((terminal, 1), else_=0)
    tail: list[sa.ColumnElement[Any]] = [_rec.c.review_id, _rec.c.ref, _item.c.agency_id]
    if sort is Sort.DUE:
        return [ends, sa.case((_item.c.due.is_(None), 1), else_=0), _item.c.due, *tail]
    if sort is Sort.OLDEST:
        return [ends, _item.c.entered_at, *tail]
    if sort is Sort.RECENT:
        return [_item.c.updated_at.desc(), *tail]
    return tail


def _row(specs: SpecCache, conn: sa.Connection, r: Any, today: dt.date) -> Row:
    facts = specs.states(conn, r.workflow_version_id)[r.state]
    return Row(
        review=r.review_id,
        review_title=r.review_title,
        ref=r.ref,
        agency=r.agency_id,
        agency_name=r.agency_name,
        title=title_of(r.text),
        state=r.state,
        state_label=facts.label,
        terminal=facts.terminal,
        rag=r.rag,
        priority=r.priority,
        themes=tuple(r.themes or ()),
        due=r.due,
        pending_due=r.pending_due,
        entered_at=r.entered_at,
        updated_at=r.updated_at,
        overdue=bool(r.due and r.due < today and not facts.terminal),
        multi=False,
    )


def _with_multi(row: Row, multi: bool) -> Row:
    if not multi:
        return row
    return Row(**{**row.__dict__, "multi": True})


def _multi(conn: sa.Connection, keys: set[tuple[str, str]]) -> set[tuple[str, str]]:
    if not keys:
        return set()
    reviews = sorted({k[0] for k in keys})
    found = conn.execute(
        sa.select(_rec.c.review_id, _rec.c.ref)
        .join(_item, _item.c.recommendation_id == _rec.c.id)
        .where(_rec.c.review_id.in_(reviews))
        .group_by(_rec.c.review_id, _rec.c.ref)
        .having(sa.func.count() > 1)
    ).all()
    return {(r.review_id, r.ref) for r in found} & keys


def choices(conn: sa.Connection, agencies: Collection[str] | None) -> dict[str, list[str]]:
    """The values each filter can take among the items of ``agencies`` (None: all)."""
    sub = _select(agencies).subquery()
    out: dict[str, list[str]] = {}
    for name, column in (
        ("review", sub.c.review_id),
        ("agency", sub.c.agency_id),
        ("state", sub.c.state),
        ("priority", sub.c.priority),
    ):
        out[name] = sorted(
            v for v in conn.execute(sa.select(column).distinct()).scalars() if v is not None
        )
    themes: set[str] = set()
    for value in conn.execute(sa.select(sub.c.themes)).scalars():
        themes.update(value or ())
    out["theme"] = sorted(themes)
    return out


_FAR = dt.date.max
_SORTS = {
    Sort.DUE: lambda r: (r.terminal, r.due or _FAR, r.review, r.ref, r.agency),
    Sort.OLDEST: lambda r: (r.terminal, r.entered_at, r.review, r.ref, r.agency),
    Sort.REF: lambda r: (r.review, r.ref, r.agency),
    Sort.RECENT: lambda r: (-r.updated_at.timestamp(), r.review, r.ref, r.agency),
}


@dataclass(frozen=True, kw_only=True)
class Mine:
    """What needs one person now (the home page)."""

    awaiting: list[Row]  # items whose move is theirs (by the workflow's deadlines), oldest first
    overdue: list[Row]  # overdue items of the agencies they belong to
    requests: list[Row]  # items with a live evidence request addressed to them


def mine(
    conn: sa.Connection,
    specs: SpecCache,
    *,
    email: str,
    agencies: Collection[str] | None,
    now: dt.datetime,
    today: dt.date,
) -> Mine:
    """What needs ``email`` now, among the items of ``agencies`` (None: all) they may see."""
    from engine.spec import Scope, move_in  # the home page only: keeps list imports light

    contact = Contact.__table__  # type: ignore[attr-defined]  # the table held_by reads
    held = conn.execute(sa.select(contact.c.agency_id, contact.c.role).where(held_by(email))).all()
    roles_at = {(r.role, r.agency_id) for r in held}
    my_roles = {r.role for r in held}
    own_agencies = {r.agency_id for r in held}
    query = _select(agencies)
    awaiting, overdue, by_id = [], [], {}
    for r in conn.execute(query).all():
        row = _row(specs, conn, r, today)
        if row.terminal:
            continue
        by_id[r.id] = row
        spec = specs.get(conn, r.workflow_version_id)
        move = move_in(spec.model, r.state)
        if move is not None:
            role = spec.model.roles[move.role]
            if role.scope is Scope.OWN_AGENCY:
                if any((cr, r.agency_id) in roles_at for cr in role.contact_roles):
                    awaiting.append(row)
            elif my_roles & set(role.contact_roles):
                awaiting.append(row)
        if row.overdue and r.agency_id in own_agencies:
            overdue.append(row)
    req = core.evidence_request
    asked = conn.execute(
        sa.select(req.c.item_id)
        .join(_item, _item.c.id == req.c.item_id)
        .where(
            req.c.recipient == email,
            req.c.status == "open",
            req.c.expires_at > now,
            req.c.entered_seq == _item.c.entered_seq,
        )
    ).scalars()
    requests = [by_id[i] for i in dict.fromkeys(asked) if i in by_id]
    keys = {(x.review, x.ref) for x in [*awaiting, *overdue, *requests]}
    multi = _multi(conn, keys)

    def marked(rows: list[Row]) -> list[Row]:
        return [_with_multi(x, (x.review, x.ref) in multi) for x in rows]

    awaiting.sort(key=_SORTS[Sort.OLDEST])
    overdue.sort(key=_SORTS[Sort.DUE])
    return Mine(awaiting=marked(awaiting), overdue=marked(overdue), requests=marked(requests))
