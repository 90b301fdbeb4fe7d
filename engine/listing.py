"""The item list's filters, sort and pages: one model for the ``/items`` page and the JSON API.

:class:`ItemFilter` is the query string of a bookmarkable list (``review``, ``agency``,
``state``, ``rag``, ``priority``, ``theme``, ``overdue``, ``due_within``, ``q``, ``sort``,
``page``): the page reads it with ``ItemFilter.from_query`` (a bad value is a
:class:`FilterProblem` naming the parameter and what is allowed, and changes nothing), and
the API declares it as its query model, so both accept exactly the same values.
:func:`find_items` answers it for a person's reach (``engine.permissions.Access``): items of
agencies they may not see are never read, so a count never gives a foreign item away.

"Today" is the calendar's local date of the ``now`` passed in; an item is overdue when its
due date is before today and it is not finished.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from engine.items import item_key, title_of
from engine.store import core

if TYPE_CHECKING:
    from engine.permissions import Access
    from engine.versions import SpecCache

PAGE_SIZE = 50
MAX_DUE_WITHIN = 3650
MAX_TEXT = 200
_item, _rec, _review = core.item, core.recommendation, core.review


class Sort(StrEnum):
    """How the list is ordered; ``-`` in front is the reverse."""

    DUE = "due"
    DUE_DESC = "-due"
    REF = "ref"
    REF_DESC = "-ref"
    STATE = "state"
    AGENCY = "agency"
    RAG = "rag"
    UPDATED = "updated"
    UPDATED_DESC = "-updated"


class RagFilter(StrEnum):
    RED = "red"
    AMBER = "amber"
    GREEN = "green"
    NONE = "none"  # not rated yet


class ItemFilter(BaseModel):
    """What a list of items shows: every field is optional; together they narrow the list."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    review: str | None = Field(None, max_length=MAX_TEXT, description="a review's id")
    agency: str | None = Field(None, max_length=MAX_TEXT, description="an agency's id")
    state: str | None = Field(None, max_length=MAX_TEXT, description="a workflow state's id")
    rag: RagFilter | None = Field(None, description="the item's RAG rating ('none': not rated)")
    priority: str | None = Field(None, max_length=1, description="the priority letter, e.g. H")
    theme: str | None = Field(None, max_length=MAX_TEXT, description="one of the themes")
    overdue: bool | None = Field(None, description="true: only overdue; false: only not overdue")
    due_within: int | None = Field(
        None, ge=0, le=MAX_DUE_WITHIN, description="due within this many days from today"
    )
    q: str | None = Field(
        None, max_length=MAX_TEXT, description="words in the reference, text or agreed action"
    )
    sort: Sort = Field(Sort.DUE, description="order: due, ref, state, agency, rag, updated")
    page: int = Field(1, ge=1, le=100_000, description="page number, from 1")

    @field_validator("review", "agency", "state", "priority", "theme", "q")
    @classmethod
    def _printable(cls, value: str | None) -> str | None:
        if value is not None and not value.isprintable():
            raise ValueError("contains characters that are not allowed")
        return value

    @classmethod
    def from_query(cls, query: Mapping[str, str]) -> ItemFilter:
        """From a query string's parameters (empty ones ignored).

        Raises:
            FilterProblem: the first bad parameter, named, with what is allowed.
        """
        given = {k: v for k, v in query.items() if v != ""}
        try:
            return cls.model_validate(given)
        except ValidationError as exc:
            first = exc.errors()[0]
            field = str(first["loc"][0]) if first["loc"] else "query"
            raise FilterProblem(field, _wording(field, first)) from None

    def query(self, **changes: Any) -> dict[str, str]:
        """The non-default parameters as query-string values (for links), with ``changes``."""
        values = {**self.model_dump(exclude_defaults=True, mode="json"), **changes}
        return {
            k: ("true" if v is True else "false" if v is False else str(v))
            for k, v in values.items()
            if v is not None
        }


class FilterProblem(ValueError):
    """A list parameter is wrong: ``field`` names it, ``problem`` says what is allowed."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field, self.problem = field, problem


def _wording(field: str, error: Mapping[str, Any]) -> str:
    if field == "sort":
        return "sort by one of " + ", ".join(s.value for s in Sort)
    if field == "rag":
        return "rag is one of " + ", ".join(r.value for r in RagFilter)
    if field == "overdue":
        return "overdue is true or false"
    if field == "due_within":
        return f"due_within is a whole number of days from 0 to {MAX_DUE_WITHIN}"
    if field == "page":
        return "page is a whole number from 1"
    if error.get("type") == "extra_forbidden":
        allowed = ", ".join(ItemFilter.model_fields)
        return f"unknown parameter {field!r}; the list takes {allowed}"
    if error.get("type") == "value_error":
        return f"{field} contains characters that are not allowed"
    return f"{field} is at most {MAX_TEXT if field != 'priority' else 1} characters"


@dataclass(frozen=True, kw_only=True)
class ItemPage:
    """One page of a filtered list: its rows, the count of all that match, and the pages."""

    rows: list[dict[str, Any]]
    total: int
    page: int
    pages: int
    page_size: int


_RAG_ORDER = {"red": 0, "amber": 1, "green": 2, None: 3}


def find_items(
    conn: sa.Connection,
    specs: SpecCache,
    wanted: ItemFilter,
    *,
    reach: Access,
    today: dt.date,
    page_size: int = PAGE_SIZE,
) -> ItemPage:
    """The items ``wanted`` names that ``reach`` allows, sorted and cut to one page.

    A page past the last is empty (``rows == []``), not an error.
    """
    query = (
        sa.select(
            _item.c.id,
            _item.c.recommendation_id,
            _item.c.agency_id,
            _item.c.state,
            _item.c.rag,
            _item.c.due,
            _item.c.pending_due,
            _item.c.version,
            _item.c.updated_at,
            _item.c.workflow_version_id,
            _rec.c.review_id,
            _rec.c.ref,
            _rec.c.text,
            _rec.c.priority,
            _rec.c.themes,
            _rec.c.agreed_action,
        )
        .join(_rec, _rec.c.id == _item.c.recommendation_id)
        .order_by(_rec.c.review_id, _rec.c.id, _item.c.agency_id)
    )
    if reach.agencies is not None:
        query = query.where(_item.c.agency_id.in_(sorted(reach.agencies)))
    if wanted.review:
        query = query.where(_rec.c.review_id == wanted.review)
    if wanted.agency:
        query = query.where(_item.c.agency_id == wanted.agency)
    if wanted.state:
        query = query.where(_item.c.state == wanted.state)
    if wanted.rag is RagFilter.NONE:
        query = query.where(_item.c.rag.is_(None))
    elif wanted.rag is not None:
        query = query.where(_item.c.rag == wanted.rag.value)
    if wanted.priority:
        query = query.where(_rec.c.priority == wanted.priority.upper())
    horizon = today + dt.timedelta(days=wanted.due_within) if wanted.due_within is not None else None
    if wanted.overdue:  # narrowed in SQL; whether the state is finished is checked below
        query = query.where(_item.c.due < today)
    if horizon is not None:
        query = query.where(_item.c.due >= today, _item.c.due <= horizon)
    rows = conn.execute(query).all()
    # a key names the agency when several answer the recommendation (filtered out or not)
    multi = set(
        conn.execute(
            sa.select(_item.c.recommendation_id)
            .where(_item.c.recommendation_id.in_({r.recommendation_id for r in rows}))
            .group_by(_item.c.recommendation_id)
            .having(sa.func.count() > 1)
        ).scalars()
    )
    words = wanted.q.lower().split() if wanted.q else []
    theme = wanted.theme.lower() if wanted.theme else None
    found = []
    for r in rows:
        facts = specs.states(conn, r.workflow_version_id)[r.state]
        overdue = r.due is not None and r.due < today and not facts.terminal
        if wanted.overdue is not None and overdue != wanted.overdue:
            continue
        if horizon is not None and (
            r.due is None or facts.terminal or not today <= r.due <= horizon
        ):
            continue
        if theme is not None and theme not in [t.lower() for t in r.themes or []]:
            continue
        if words:
            text = " ".join((r.ref, r.text, r.agreed_action or "")).lower()
            if not all(w in text for w in words):
                continue
        found.append(
            {
                "key": item_key(
                    r.review_id,
                    r.ref,
                    r.agency_id if r.recommendation_id in multi else None,
                ),
                "review": r.review_id,
                "ref": r.ref,
                "agency": r.agency_id,
                "title": title_of(r.text),
                "state": r.state,
                "state_label": facts.label,
                "terminal": facts.terminal,
                "rag": r.rag,
                "priority": r.priority,
                "themes": list(r.themes or []),
                "due": r.due,
                "pending_due": r.pending_due,
                "overdue": overdue,
                "days_overdue": (today - r.due).days if overdue and r.due else 0,
                "version": r.version,
                "updated_at": r.updated_at,
            }
        )
    found.sort(key=_sort_key(wanted.sort), reverse=wanted.sort.value.startswith("-"))
    total = len(found)
    pages = max(1, -(-total // page_size))
    start = (wanted.page - 1) * page_size
    return ItemPage(
        rows=found[start : start + page_size],
        total=total,
        page=wanted.page,
        pages=pages,
        page_size=page_size,
    )


def _sort_key(sort: Sort) -> Any:
    far = dt.date.max
    base = sort.value.lstrip("-")
    if base == "due":
        return lambda i: (i["due"] or far, i["review"], i["ref"], i["agency"])
    if base == "state":
        return lambda i: (i["state_label"], i["due"] or far, i["ref"])
    if base == "agency":
        return lambda i: (i["agency"], i["due"] or far, i["ref"])
    if base == "rag":
        return lambda i: (_RAG_ORDER.get(i["rag"], 3), i["due"] or far, i["ref"])
    if base == "updated":
        return lambda i: (i["updated_at"], i["ref"])
    return lambda i: (i["review"], _natural(i["ref"]), i["agency"])


def _natural(ref: str) -> tuple[Any, ...]:
    """R2 before R10."""
    digits = "".join(c for c in ref if c.isdigit())
    return (ref.rstrip("0123456789"), int(digits) if digits else 0, ref)
