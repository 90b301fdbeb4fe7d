"""The business manager's preview: who will be emailed what, and when, over the next days.

Exactly what sweeps run over the window would queue: the forecast over ``days`` from
``now`` lists every reminder, chase and escalation a sweep at some moment ``t`` with
``now <= t < now + days`` would decide (``deadlines.due_now`` at ``now``, then each new
point of ``deadlines.points_between`` before the end), with the send time that sweep
would give it, less every one whose dedupe key is already in the outbox (queued, sent,
failed or cancelled alike). Nothing is written. Recipients are resolved from today's
directory, so a contact change before the day shows up in the next forecast; absences with
dates, and conflicts of interest, are applied as on the day each email would be decided.

Digests as the sweep makes them: an entry whose kind its rule gathers into digests says
``digest: true``, and the digest rows one sweep decides for a recipient and kind share the
earliest send time among them (an entry whose recipients then go at different times is
split, one entry per recipient). Targets with nobody reachable are listed under
``unreachable`` (role and dedupe key), as the sweep records them.
"""

from __future__ import annotations

import datetime as dt
import gc
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, NamedTuple

import sqlalchemy as sa

from engine import deadlines
from engine.calendar import Calendar
from engine.contacts import Directory, Recipient
from engine.errors import WorkflowNotFound
from engine.items import item_key
from engine.outbox import NOBODY, Kind
from engine.services import Services
from engine.spec import WorkflowSpec
from engine.store.tables import Item, Outbox
from engine.sweep import DUE_ITEMS, dedupe_key
from engine.versions import SpecCache

_item = Item.__table__  # type: ignore[attr-defined]
_outbox = Outbox.__table__  # type: ignore[attr-defined]

# items a sweep before ``end`` would read (``next_attention_at <= t`` for some ``t < end``)
_IN_WINDOW = DUE_ITEMS.where(_item.c.next_attention_at < sa.bindparam("end"))
_KNOWN_KEYS = sa.select(_outbox.c.dedupe_key).where(
    _outbox.c.item_id.in_(
        sa.select(_item.c.id).where(_item.c.next_attention_at < sa.bindparam("end"))
    )
)


def decisions(
    plan: deadlines.Plan, start: dt.datetime, end: dt.datetime, calendar: Calendar
) -> list[tuple[deadlines.Due, dt.datetime]]:
    """Each notification sweeps in ``[start, end)`` would decide, with the moment decided.

    A sweep at ``start`` decides ``due_now``; after it, each point comes due at its own time.
    """
    out = [(d, start) for d in deadlines.due_now(plan, start, calendar)]
    out += [(d, d.at) for d in deadlines.points_between(plan, start, end, calendar) if d.at < end]
    return out


SpecOf = Callable[[int | None], WorkflowSpec]
"""The spec an item follows, by its ``workflow_version_id`` (None: one not yet published)."""


class ItemRow(NamedTuple):
    """An item as the forecast reads it (the columns of ``sweep.DUE_ITEMS``), for items as
    they would be rather than as they are (``engine.consequences``)."""

    id: int
    state: str
    version: int
    workflow_version_id: int | None
    agency_id: str
    due: dt.date | None
    entered_at: dt.datetime
    entered_seq: int
    review_id: str
    ref: str


@dataclass(frozen=True, kw_only=True)
class Window:
    """What the forecast over ``[now, end)`` reads from the database: the items a sweep
    before ``end`` would read, the dedupe keys already in the outbox for them, and today's
    directory."""

    now: dt.datetime
    end: dt.datetime
    rows: Sequence[Any]  # sweep.DUE_ITEMS rows, or ItemRow
    known: frozenset[str]
    directory: Directory


def read_window(
    conn: sa.Connection, now: dt.datetime, days: int, today: dt.date | None = None
) -> Window:
    """Read what the forecast over ``days`` from ``now`` needs, on ``conn``; the directory
    as on ``today`` (the local date of ``now``; None: absence as flagged)."""
    end = now + dt.timedelta(days=days)
    return Window(
        now=now,
        end=end,
        rows=conn.execute(_IN_WINDOW, {"now": end, "end": end}).all(),
        known=frozenset(conn.execute(_KNOWN_KEYS, {"end": end}).scalars()),
        directory=Directory.load(conn, on=today),
    )


def known_keys(conn: sa.Connection, item_ids: Collection[int]) -> frozenset[str]:
    """The dedupe keys already in the outbox for ``item_ids`` (any status)."""
    ids = sorted(item_ids)
    found: set[str] = set()
    for i in range(0, len(ids), 5000):  # under every driver's limit on bound values
        query = sa.select(_outbox.c.dedupe_key).where(_outbox.c.item_id.in_(ids[i : i + 5000]))
        found.update(conn.execute(query).scalars())
    return frozenset(found)


@contextmanager
def collector_paused() -> Iterator[None]:
    """CPython's cycle collector paused while a forecast is worked out, then as it was.

    A forecast of thousands of items makes a burst of small containers (a dict and three
    lists an email, plans, rows), none in a reference cycle, so reference counting frees
    them all; meanwhile the collector would walk the whole heap again and again for nothing
    as they pile up (on 10,000 items, 40% of the forecast's time and more of the preview's,
    which holds two forecasts at once: ``bench/admin.py``). Cycles other threads make in the
    meantime are collected once it resumes. Nested or concurrent use leaves it enabled at
    the end if it was at the start of the outermost.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def forecast(services: Services, now: dt.datetime, days: int) -> list[dict[str, Any]]:
    """Every reminder, chase and escalation sweeps in ``[now, now + days)`` would queue.

    Sorted by send time; ``to`` and ``dedupe_keys`` are parallel (one outbox row each).
    """
    with collector_paused(), services.db.engine.connect() as conn:
        window = read_window(conn, now, days, services.calendar.local(now).date())
        return emails(window, specs_of(conn, services.specs), services.calendar)


def specs_of(
    conn: sa.Connection, cache: SpecCache, candidate: WorkflowSpec | None = None
) -> SpecOf:
    """The published versions through ``cache``; an item with no version (None) follows
    ``candidate``.

    The resolver raises WorkflowNotFound for an id no version has, or None without a
    candidate.
    """

    def spec_of(version_id: int | None) -> WorkflowSpec:
        if version_id is None:
            if candidate is None:
                raise WorkflowNotFound("(a version not published)")
            return candidate
        return cache.get(conn, version_id)

    return spec_of


class Memo:
    """What the forecast works out per item, once for all items that share it: plans (items
    imported or moved together share them), what sweeps over the window decide of a plan and
    when each goes, who a target reaches for an agency, and each item's entries. The
    consequences preview shares one between its two runs over the same window. For one
    caller's batch of work, under one calendar; not thread-safe. Every value kept holds what
    its key names by identity (a plan, a spec, a row, a directory), so an identity is never
    reused while it is kept."""

    def __init__(self, calendar: Calendar) -> None:
        self.calendar = calendar
        self.plans = deadlines.PlanCache(calendar)
        self._decided: dict[tuple[int, dt.datetime, dt.datetime], tuple[Any, list[Any]]] = {}
        self._office: dict[dt.datetime, dt.datetime] = {}
        self._who: dict[tuple[int, int, tuple[str, ...], str, int, bool], tuple[Any, ...]] = {}
        self._days: dict[dt.datetime, dt.date] = {}
        self._items: dict[tuple[Any, ...], tuple[Any, list[dict[str, Any]]]] = {}

    def item(self, window: Window, row: Any, spec: WorkflowSpec) -> list[dict[str, Any]]:
        """One item's forecast entries in ``window`` (``emails`` before digests)."""
        key = (
            id(row),
            id(spec),
            id(window.known),
            id(window.directory),
            window.now,
            window.end,
        )
        found = self._items.get(key)
        if found is None:
            entries = _item_emails(window, row, spec, self)
            found = self._items[key] = ((row, spec, window.known, window.directory), entries)
        return found[1]

    def decisions(
        self, plan: deadlines.Plan, start: dt.datetime, end: dt.datetime
    ) -> list[tuple[deadlines.Due, dt.datetime, dt.datetime]]:
        """``decisions(plan, start, end, calendar)``, each with the time it is sent: at once
        when urgent, else when the office next opens."""
        key = (id(plan), start, end)
        found = self._decided.get(key)
        if found is None:
            sends = [
                (due, at, at if due.urgent else self._opening(at))
                for due, at in decisions(plan, start, end, self.calendar)
            ]
            found = self._decided[key] = (plan, sends)
        return found[1]

    def _opening(self, at: dt.datetime) -> dt.datetime:
        found = self._office.get(at)
        if found is None:
            found = self._office[at] = self.calendar.next_office_time(at)
        return found

    def recipients(
        self,
        directory: Directory,
        spec: WorkflowSpec,
        targets: tuple[str, ...],
        agency: str,
        step: int,
        *,
        escalation: bool = False,
    ) -> tuple[list[Recipient], list[str]]:
        """``directory.resolve`` and ``directory.unreachable`` of these targets."""
        key = (id(directory), id(spec), targets, agency, step, escalation)
        found = self._who.get(key)
        if found is None:
            found = self._who[key] = (
                (directory, spec),
                directory.resolve(spec, targets, agency, step, escalation=escalation),
                directory.unreachable(spec, targets, agency, step, escalation=escalation),
            )
        return found[1], found[2]

    def directory_on(self, directory: Directory, at: dt.datetime) -> Directory:
        """``directory`` as on the local day of ``at`` (absences with dates apply by day)."""
        return directory.at(self._day(at))

    def _day(self, at: dt.datetime) -> dt.date:
        found = self._days.get(at)
        if found is None:
            found = self._days[at] = self.calendar.local(at).date()
        return found


def emails(
    window: Window, spec_of: SpecOf, calendar: Calendar, memo: Memo | None = None
) -> list[dict[str, Any]]:
    """The forecast of ``window``'s items, each following ``spec_of`` its version: the one
    code path of ``forecast`` and of the consequences preview (``engine.consequences``),
    which passes items as a migration would leave them and a spec resolver that knows the
    candidate. Pure given ``spec_of``; what items share is worked out through ``memo`` (one
    of ``calendar``'s) when given, and an item forecast again through the same memo (the
    same row and spec, in a window of the same times, known keys and directory) is not
    worked out again. The entries returned are new dicts; their lists may be shared with
    another forecast made through the same memo.
    """
    memo = memo if memo is not None else Memo(calendar)
    out: list[dict[str, Any]] = []
    for row in window.rows:
        out += memo.item(window, row, spec_of(row.workflow_version_id))
    return sorted(
        ({**e, "at": e["at"].isoformat()} for e in _digests_together(out)),
        key=lambda x: (x["at"], x["key"], x["kind"], x["step"]),
    )


def _item_emails(window: Window, row: Any, spec: WorkflowSpec, memo: Memo) -> list[dict[str, Any]]:
    """One item's entries (``at`` still a datetime), before digests are put together."""
    plan = deadlines.plan_of_item(spec.states[row.state], row, memo.calendar, memo.plans)
    if plan is None:
        return []
    known = window.known
    out: list[dict[str, Any]] = []
    for due, decided_at, send_at in memo.decisions(plan, window.now, window.end):
        who, nobody_roles = memo.recipients(
            memo.directory_on(window.directory, decided_at),
            spec,
            due.targets,
            row.agency_id,
            due.step,
            escalation=due.kind == Kind.ESCALATION,
        )
        recipients = [
            (r, key) for r in who if (key := dedupe_key(due, plan, row.id, r.email)) not in known
        ]
        nobody = [
            {"role": role, "dedupe_key": key}
            for role in nobody_roles
            if (key := dedupe_key(due, plan, row.id, NOBODY + role)) not in known
        ]
        if not recipients and not nobody:
            continue
        out.append(
            {
                "at": send_at,
                "decided_at": decided_at.isoformat(),
                "key": item_key(row.review_id, row.ref),
                "agency": row.agency_id,
                "kind": due.kind,
                "step": due.step,
                "template": due.template,
                "to": [r.email for r, _ in recipients],
                "dedupe_keys": [k for _, k in recipients],
                "fallback": any(r.fallback for r, _ in recipients),
                "digest": due.kind in plan.digest,
                "unreachable": nobody,
            }
        )
    return out


def _digests_together(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """As the sweep does: one sweep's digest rows for a recipient and kind go at the
    earliest send time among them; an entry whose recipients now differ is split."""
    first: dict[tuple[str, str, str], dt.datetime] = {}
    for e in entries:
        if e["digest"]:
            for to in e["to"]:
                group = (e["decided_at"], e["kind"], to)
                if group not in first or e["at"] < first[group]:
                    first[group] = e["at"]
    if not first:
        return entries
    out: list[dict[str, Any]] = []
    for e in entries:
        times = [first[(e["decided_at"], e["kind"], to)] for to in e["to"]] if e["digest"] else []
        if len(set(times)) <= 1:
            out.append({**e, "at": times[0]} if times else e)
            continue
        for i, (to, key, at) in enumerate(zip(e["to"], e["dedupe_keys"], times, strict=True)):
            out.append(
                {
                    **e,
                    "at": at,
                    "to": [to],
                    "dedupe_keys": [key],
                    "unreachable": e["unreachable"] if i == 0 else [],
                }
            )
    return out
