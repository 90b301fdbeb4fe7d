"""Each item's life, replayed from its events: where it stood at any moment.

Reports are built from the history, never from the item row's mutable columns: the state,
RAG, due date and extensions an item had at a moment are what its events up to that moment
say. The only item column read is ``due_history``'s first entry, the original due date (set
when the item is created and only ever appended to); every later due date is an event's
``due_to``.

An imported status (``signoff import`` of a plan's status column) is an event whose ``data``
has ``"verified": false``: when it moved the item, the item stands on an unverified status
until signoff moves it again. Reports show such items apart and never count them as
implemented. (One that left the item in its initial state claims nothing to verify.)
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from engine.calendar import Calendar
from engine.errors import ReportRefused, ReportRule
from engine.items import item_key, title_of
from engine.reports.kinds import MIGRATE
from engine.spec import CountsAs, State, WorkflowSpec, suggest
from engine.store import core
from engine.versions import SpecCache

_item = core.item
_rec = core.recommendation
_event = core.event
_wv = core.workflow_version
_review = core.review
_agency = core.agency

# events that record mail and requests, never a decision: a report need not read them
# (engine.outbox "notified"/"notification_failed", engine.inbox "notification_bounced",
# engine.requests.issue "evidence_requested"/"evidence_request_reissued")
NOT_DECISIONS = (
    "notified",
    "notification_failed",
    "notification_bounced",
    "evidence_requested",
    "evidence_request_reissued",
)


@dataclass(frozen=True, kw_only=True, slots=True)
class Extension:
    """A due date moved by a decision: when, by whom, from and to."""

    at: dt.datetime
    actor: str
    trigger: str
    reason: str | None
    due_from: dt.date | None
    due_to: dt.date


@dataclass(frozen=True, kw_only=True, slots=True)
class Position:
    """Where an item stood at one moment, from its events up to then."""

    state: str | None  # None: the item did not exist yet
    spec: WorkflowSpec | None
    rag: str | None
    due: dt.date | None  # the agreed due date: the original, as extended by then
    extensions: tuple[Extension, ...]
    entered_at: dt.datetime | None
    entered_seq: int
    unverified: bool  # stands on an imported status signoff has not verified
    implemented_since: dt.datetime | None  # in implemented-or-assured states since
    assured_since: dt.datetime | None  # in assured states since

    @property
    def state_facts(self) -> State | None:
        return self.spec.states[self.state] if self.spec and self.state else None

    @property
    def terminal(self) -> bool:
        facts = self.state_facts
        return bool(facts and facts.terminal)

    @property
    def outcome(self) -> str | None:
        facts = self.state_facts
        return facts.outcome.value if facts and facts.outcome else None

    @property
    def label(self) -> str:
        facts = self.state_facts
        return facts.label if facts else "not yet created"


@dataclass(kw_only=True)
class Life:
    """One item and the events that matter to reports, in order."""

    id: int
    key: str
    review: str
    ref: str
    agency: str
    title: str
    priority: str | None
    original_due: dt.date | None
    themes: tuple[str, ...] = ()
    events: list[Any] = field(default_factory=list)
    # positions replayed so far, by moment: a board pack asks five reports for the same one
    _replayed: dict[dt.datetime, Position] = field(default_factory=dict, init=False, repr=False)
    # what a report module worked out from a position, by (what, moment), for the same reason
    # (``engine.reports.overdue.late_at``)
    derived: dict[tuple[str, dt.datetime], Any] = field(
        default_factory=dict, init=False, repr=False
    )

    def at(self, moment: dt.datetime, specs: Specs) -> Position:
        """Where the item stood just before ``moment`` (events at or after it not counted).

        Replayed once per moment: a ``Life`` belongs to one report request, so ``specs`` is
        that request's, the same at every call."""
        seen = self._replayed.get(moment)
        if seen is None:
            seen = self._replayed[moment] = self._replay(moment, specs)
        return seen

    def _replay(self, moment: dt.datetime, specs: Specs) -> Position:
        state: str | None = None
        version: int | None = None
        rag = None
        due = self.original_due
        extensions: list[Extension] = []
        entered_at: dt.datetime | None = None
        entered_seq = 0
        unverified = False
        implemented_since: dt.datetime | None = None
        assured_since: dt.datetime | None = None
        counted_in: dict[str, CountsAs | None] = {}
        # rows unpacked by position (the columns of _EVENT_COLUMNS): attribute access on
        # every row of a large history is measurably slower (bench/reports.py)
        for row in self.events:
            _, seq, at, actor, trigger, from_state, to_state, reason, set_rag = row[:9]
            version_id, to_version, due_to, verified = row[9:13]
            if at >= moment:
                break
            if version_id is not None:
                if version_id != version:
                    counted_in = specs.counted_in(version_id)
                version = version_id
            elif trigger == MIGRATE and version is not None:
                version = specs.successor(version, to_version or 0)
                counted_in = specs.counted_in(version)
            if set_rag:
                rag = set_rag
            if due_to:
                new = dt.date.fromisoformat(due_to)
                extensions.append(
                    Extension(
                        at=at, actor=actor, trigger=trigger, reason=reason, due_from=due, due_to=new
                    )
                )
                due = new
            moved = from_state != to_state
            if moved:  # an imported status that left the item where it was changes nothing
                unverified = verified is False
                state, entered_at, entered_seq = to_state, at, seq
                # a state reached on the board's unverified word counts from nothing: what
                # signoff counts as implemented starts when signoff records it
                counted = None if unverified else counted_in.get(to_state)
                if counted is None:
                    implemented_since = assured_since = None
                else:
                    implemented_since = implemented_since or at
                    if counted is CountsAs.ASSURED:
                        assured_since = assured_since or at
                    else:
                        assured_since = None
        return Position(
            state=state,
            spec=specs.spec(version) if version is not None else None,
            rag=rag,
            due=due,
            extensions=tuple(extensions),
            entered_at=entered_at,
            entered_seq=entered_seq,
            unverified=unverified,
            implemented_since=implemented_since,
            assured_since=assured_since,
        )


class Specs:
    """The published versions a replay meets, loaded once per report."""

    def __init__(self, conn: sa.Connection, cache: SpecCache) -> None:
        self._conn, self._cache = conn, cache
        rows = conn.execute(sa.select(_wv.c.id, _wv.c.name, _wv.c.version)).all()
        self._name: dict[int, str] = {r.id: r.name for r in rows}
        self._ids: dict[tuple[str, int], int] = {(r.name, r.version): r.id for r in rows}
        self._counted: dict[int, dict[str, CountsAs | None]] = {}

    def spec(self, version_id: int) -> WorkflowSpec:
        return self._cache.get(self._conn, version_id)

    def successor(self, version_id: int, to_version: int) -> int:
        """The id of version ``to_version`` of ``version_id``'s workflow (after a migration)."""
        return self._ids.get((self._name.get(version_id, ""), to_version), version_id)

    def counted_in(self, version_id: int) -> dict[str, CountsAs | None]:
        """What each state of a version counts as in reports (``State.counted_as``)."""
        table = self._counted.get(version_id)
        if table is None:
            states = self.spec(version_id).states
            table = self._counted[version_id] = {n: s.counted_as for n, s in states.items()}
        return table


@dataclass(frozen=True, kw_only=True)
class Scope:
    """Which items a report covers: optionally one review and/or one agency."""

    review: str | None = None
    agency: str | None = None

    def check(self, conn: sa.Connection) -> None:
        """Raises:
        ReportRefused: the review or agency is not known (with a close match).
        """
        for option, value, table in (
            ("review", self.review, _review),
            ("agency", self.agency, _agency),
        ):
            if value is None:
                continue
            known = list(conn.execute(sa.select(table.c.id).order_by(table.c.id)).scalars())
            if value not in known:
                raise ReportRefused(
                    option,
                    value,
                    f"no such {option}{suggest(value, known)}",
                    allowed=known,
                    rule=ReportRule.UNKNOWN,
                )

    def where(self, query: sa.Select[Any]) -> sa.Select[Any]:
        if self.review is not None:
            query = query.where(_rec.c.review_id == self.review)
        if self.agency is not None:
            query = query.where(_item.c.agency_id == self.agency)
        return query


_data = _event.c.data
# what a replay reads of an event's data, taken out by the database (parsing every event's
# JSON in Python is most of what a report over a large history would cost)
_DATA_FIELDS = (
    _data["workflow_version_id"].as_integer().label("version_id"),
    _data["to_version"].as_integer().label("to_version"),
    _data["due_to"].as_string().label("due_to"),
    _data["verified"].as_boolean().label("verified"),
)

_EVENT_COLUMNS = (
    _event.c.item_id,
    _event.c.seq,
    _event.c.at,
    _event.c.actor,
    _event.c.trigger,
    _event.c.from_state,
    _event.c.to_state,
    _event.c.reason,
    _event.c.rag,
    *_DATA_FIELDS,
)


def load_lives(
    conn: sa.Connection, scope: Scope, until: dt.datetime | None, *, with_data: bool = False
) -> list[Life]:
    """Every item in ``scope`` with its report-relevant events before ``until`` (None: all),
    in review, ref and agency order. Items created at or after ``until`` are left out.

    Each event row has the event's columns but ``data``, and the fields of ``data`` a replay
    reads (``version_id``, ``to_version``, ``due_to``, ``verified``); ``with_data`` adds
    ``data`` itself (the minutes read the evidence and meeting date in it)."""
    items = conn.execute(
        scope.where(
            sa.select(
                _item.c.id,
                _item.c.agency_id,
                _item.c.recommendation_id,
                # the original due date, taken out by the database (see _DATA_FIELDS)
                _item.c.due_history[0].as_string().label("original_due"),
                _rec.c.review_id,
                _rec.c.ref,
                _rec.c.text,
                _rec.c.priority,
                _rec.c.themes,
            ).join(_rec, _rec.c.id == _item.c.recommendation_id)
        ).order_by(_rec.c.review_id, _rec.c.id, _item.c.agency_id)
    ).all()
    answering: dict[int, int] = {}
    for count_row in conn.execute(
        sa.select(_item.c.recommendation_id, sa.func.count()).group_by(_item.c.recommendation_id)
    ):
        answering[count_row[0]] = count_row[1]
    lives: dict[int, Life] = {}
    for r in items:
        multi = answering.get(r.recommendation_id, 1) > 1
        lives[r.id] = Life(
            id=r.id,
            key=item_key(r.review_id, r.ref, r.agency_id if multi else None),
            review=r.review_id,
            ref=r.ref,
            agency=r.agency_id,
            title=title_of(r.text),
            priority=r.priority,
            original_due=dt.date.fromisoformat(r.original_due) if r.original_due else None,
            themes=tuple(r.themes or ()),
        )
    query = (
        scope.where(
            sa.select(
                *_EVENT_COLUMNS,
                *((_data,) if with_data else ()),
            )
            .join(_item, _item.c.id == _event.c.item_id)
            .join(_rec, _rec.c.id == _item.c.recommendation_id)
        )
        .where(_event.c.trigger.not_in(NOT_DECISIONS))
        .order_by(_event.c.item_id, _event.c.seq)
    )
    if until is not None:
        query = query.where(_event.c.at < until)
    for e in conn.execute(query).all():
        life = lives.get(e.item_id)
        if life is not None:
            life.events.append(e)
    return [life for life in lives.values() if life.events]


def end_of(day: dt.date, calendar: Calendar) -> dt.datetime:
    """The moment a report "as at ``day``" looks from: the end of that local day."""
    return calendar.due_moment(day)


def local_day(moment: dt.datetime, calendar: Calendar) -> dt.date:
    return calendar.local(moment).date()


def keys(lives: Iterable[Life]) -> list[str]:
    return [life.key for life in lives]


def in_order(values: Sequence[str], order: Sequence[str]) -> list[str]:
    """``values`` in the order of ``order``, then any others sorted."""
    rank = {v: i for i, v in enumerate(order)}
    return sorted(set(values), key=lambda v: (rank.get(v, len(rank)), v))
