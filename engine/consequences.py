"""What publishing a workflow change would do, before it is published.

``preview`` answers, for a candidate version of a workflow (a draft's text, checked) and
the state mapping the business manager filled in:

- which open items would move onto it, from which state to which (``publish --migrate``'s
  own rule, ``versions.plan_migration``), and which would be stranded (publishing is refused
  while any is);
- which reminders, chases and escalations the next ``days`` days would send under it against
  the current versions, per recipient: added, removed and moved, with the totals; and which
  already queued, not yet sent, publishing would cancel (a re-planned item's, as
  ``versions.record_migration`` cancels them).

The emails come from the forecast's one code path (``forecast.emails``), run twice over
the same reading of the database: once as the items are, once as the migration would leave
them (each moved item in its new state, entered afresh when its state changes, with its
``next_attention_at`` re-planned by ``versions.replan``, the function publishing uses)
following the candidate. The first run is, by construction, ``forecast.forecast``'s output.
(An item whose state, plan and roles the change leaves alone is forecast once for both runs:
under the candidate it would be the same; see ``_rows_after``.)

Computed in memory, never in a rolled-back transaction: publishing for real would hold
SQLite's only write lock (and on PostgreSQL a lock on every moved item) for as long as it
takes to hash and append an event per item, blocking sweeps and staff decisions, only for
all of it to be thrown away; reading once and re-planning in memory writes nothing and
locks nothing, and the rules it applies are publish's own functions.

An email here is one notification to one person (one outbox row): where a rule gathers a
kind into digests, a person's rows of one sweep still go as one message.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from engine import forecast
from engine.calendar import Calendar
from engine.errors import SpecError
from engine.items import item_key
from engine.outbox import CHASING, PENDING
from engine.services import Services
from engine.spec import WorkflowSpec
from engine.store.tables import Item, Outbox, Recommendation
from engine.versions import Move, Replanned, check_mapping, plan_migration, replan, require_latest

_outbox = Outbox.__table__  # type: ignore[attr-defined]
_item = Item.__table__  # type: ignore[attr-defined]
_rec = Recommendation.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True, kw_only=True)
class Email:
    """One reminder, chase or escalation to one person. ``was`` is its time under the
    current version when it moved (``at`` is then its time under the candidate)."""

    kind: str  # reminder | chase | escalation
    key: str  # the item's review/ref
    agency: str  # the agency whose item it is
    step: int
    recipient: str
    at: dt.datetime
    digest: bool
    was: dt.datetime | None = None

    @property
    def item(self) -> str:
        """review/ref@agency: the item, among a recommendation's agencies."""
        return f"{self.key}@{self.agency}"


@dataclass(frozen=True, kw_only=True)
class RecipientChanges:
    """What changes for one person, each list in time order."""

    recipient: str
    added: tuple[Email, ...]
    removed: tuple[Email, ...]
    moved: tuple[Email, ...]

    @property
    def difference(self) -> int:
        return len(self.added) - len(self.removed)


@dataclass(frozen=True, kw_only=True)
class ItemMove:
    """An open item that moves onto the candidate version (its state kept or mapped)."""

    key: str  # review/ref
    agency: str
    from_version: int
    from_state: str
    from_label: str
    to_state: str
    to_label: str

    @property
    def changes_state(self) -> bool:
        return self.from_state != self.to_state


@dataclass(frozen=True, kw_only=True)
class StrandedItem:
    """An open item in a state the candidate lacks, with no mapping for it."""

    key: str
    agency: str
    from_version: int
    state: str
    label: str


@dataclass(frozen=True, kw_only=True)
class Consequences:
    """What publishing ``workflow``'s candidate (with ``--migrate`` and ``mapping``) at
    ``now`` would do over the next ``days`` days. See the module docstring."""

    workflow: str
    now: dt.datetime
    days: int
    mapping: dict[str, str]
    moves: tuple[ItemMove, ...]
    stranded: tuple[StrandedItem, ...]
    unmapped: tuple[str, ...]  # the states stranded items are in: each needs a mapping
    before: list[dict[str, Any]]  # the forecast as things are (== forecast.forecast)
    after: list[dict[str, Any]]  # the forecast once published, items migrated
    recipients: tuple[RecipientChanges, ...]  # only people with a change, by address
    cancelled: tuple[Email, ...]  # queued, not yet sent, cancelled by publishing

    @property
    def end(self) -> dt.datetime:
        return self.now + dt.timedelta(days=self.days)

    @property
    def current(self) -> int:
        """Emails in the window as things are."""
        return _count(self.before)

    @property
    def new(self) -> int:
        """Emails in the window once published."""
        return _count(self.after)

    @property
    def difference(self) -> int:
        """``new - current``: negative when fewer emails would go."""
        return self.new - self.current

    @property
    def added(self) -> int:
        return sum(len(r.added) for r in self.recipients)

    @property
    def removed(self) -> int:
        return sum(len(r.removed) for r in self.recipients)

    @property
    def moved(self) -> int:
        return sum(len(r.moved) for r in self.recipients)

    @property
    def publishable(self) -> bool:
        """False while any item would be stranded (``publish`` refuses then)."""
        return not self.stranded

    @property
    def state_changes(self) -> list[tuple[str, str, int]]:
        """(from state, to state, how many items) for the items whose state changes."""
        counts: dict[tuple[str, str], int] = {}
        for m in self.moves:
            if m.changes_state:
                pair = (m.from_state, m.to_state)
                counts[pair] = counts.get(pair, 0) + 1
        return [(a, b, n) for (a, b), n in sorted(counts.items())]

    def as_json(self) -> dict[str, Any]:
        """Everything above as JSON-able values (times in ISO 8601)."""

        def email(e: Email) -> dict[str, Any]:
            out = {
                "kind": e.kind,
                "key": e.key,
                "agency": e.agency,
                "step": e.step,
                "to": e.recipient,
                "at": e.at.isoformat(),
                "digest": e.digest,
            }
            if e.was is not None:
                out["was"] = e.was.isoformat()
            return out

        return {
            "workflow": self.workflow,
            "now": self.now.isoformat(),
            "days": self.days,
            "mapping": self.mapping,
            "publishable": self.publishable,
            "current": self.current,
            "new": self.new,
            "difference": self.difference,
            "added": self.added,
            "removed": self.removed,
            "moved": self.moved,
            "recipients": [
                {
                    "recipient": r.recipient,
                    "added": [email(e) for e in r.added],
                    "removed": [email(e) for e in r.removed],
                    "moved": [email(e) for e in r.moved],
                }
                for r in self.recipients
            ],
            "items_moving": [dataclasses.asdict(m) for m in self.moves],
            "stranded": [dataclasses.asdict(s) for s in self.stranded],
            "unmapped": list(self.unmapped),
            "cancelled": [email(e) for e in self.cancelled],
        }


def preview(
    services: Services,
    *,
    workflow: str,
    candidate: WorkflowSpec,
    mapping: Mapping[str, str],
    now: dt.datetime,
    days: int = 30,
) -> Consequences:
    """What publishing ``candidate`` as ``workflow``'s next version with ``--migrate`` and
    ``mapping`` at ``now`` would do over the next ``days`` days. Writes nothing.

    Stranded items are listed and, since publishing would be refused, forecast where they
    are. Guarantees: ``before`` equals ``forecast.forecast(services, now, days)`` read at
    the same moment; with a candidate whose content is the latest version's and no item on
    an older one, ``after == before`` and no recipient has a change.

    Raises:
        WorkflowNotFound: nothing is published under ``workflow`` (with a close match).
        SpecError: the candidate is another workflow's, or ``mapping`` names a state the
            candidate lacks (with a close match and its states).
        ValueError: ``days`` is not positive or ``now`` is naive.
    """
    if now.tzinfo is None:
        raise ValueError("the preview needs an aware 'now'")
    if days < 1:
        raise ValueError(f"days: {days}; give a number of days of at least 1")
    calendar = services.calendar
    with forecast.collector_paused(), services.db.engine.connect() as conn:
        require_latest(conn, workflow)
        if candidate.name != workflow:
            raise SpecError(
                "draft",
                "name",
                f"the draft is of workflow {candidate.name!r}, not {workflow!r}; "
                f"preview it as {candidate.name!r} or set its name to {workflow!r}",
            )
        checked = check_mapping(candidate, mapping)
        window = forecast.read_window(conn, now, days, calendar.local(now).date())
        migration = plan_migration(conn, candidate, checked, services.specs)
        memo = forecast.Memo(calendar)  # what the two runs share
        before = forecast.emails(window, forecast.specs_of(conn, services.specs), calendar, memo)
        replanned = {
            m.item_id: (m, _replanned(m, candidate, now, calendar, memo)) for m in migration.moves
        }
        roles: dict[int | None, bool] = {}

        def same_roles(version_id: int | None) -> bool:
            if version_id not in roles:
                old = forecast.specs_of(conn, services.specs)(version_id)
                roles[version_id] = old.model.roles == candidate.model.roles
            return roles[version_id]

        rows, entering = _rows_after(window, replanned, same_roles)
        known = window.known | forecast.known_keys(conn, entering) if entering else window.known
        after = forecast.emails(
            dataclasses.replace(window, rows=rows, known=known),
            forecast.specs_of(conn, services.specs, candidate),
            calendar,
            memo,
        )
        cancelled = _cancelled(conn, [i for i, (_m, r) in replanned.items() if r.changed])
        recipients = differences(before, after)
        return Consequences(
            workflow=workflow,
            now=now,
            days=days,
            mapping=checked,
            moves=tuple(
                ItemMove(
                    key=item_key(m.review_id, m.ref),
                    agency=m.agency_id,
                    from_version=m.from_version,
                    from_state=m.from_state,
                    from_label=m.was.label,
                    to_state=m.to_state,
                    to_label=candidate.states[m.to_state].label,
                )
                for m in migration.moves
            ),
            stranded=tuple(
                StrandedItem(
                    key=item_key(s.review_id, s.ref),
                    agency=s.agency_id,
                    from_version=s.from_version,
                    state=s.state,
                    label=s.label,
                )
                for s in migration.stranded
            ),
            unmapped=tuple(migration.unmapped),
            before=before,
            after=after,
            recipients=recipients,
            cancelled=cancelled,
        )


def _replanned(
    m: Move, candidate: WorkflowSpec, now: dt.datetime, calendar: Calendar, memo: forecast.Memo
) -> Replanned:
    return replan(
        was=m.was,
        becomes=candidate.states[m.to_state],
        moved=m.from_state != m.to_state,
        due=m.due,
        entered_at=m.entered_at,
        entered_seq=m.entered_seq,
        seq=m.seq + 1,  # the migration's own event
        next_attention_at=m.next_attention_at,
        now=now,
        calendar=calendar,
        plans=memo.plans,
    )


def _rows_after(
    window: forecast.Window,
    replanned: Mapping[int, tuple[Move, Replanned]],
    same_roles: Callable[[int | None], bool],
) -> tuple[list[Any], list[int]]:
    """The window's items as the migration would leave them, and the ids of those that
    only the migration brings into the window (their outbox keys are not read yet).

    An item that keeps its state, its plan and so its next attention, on a version whose
    roles the candidate has unchanged (``same_roles``), is left as it is read: the forecast
    of it under the candidate is the same (its plan and recipients are made of nothing
    else), so the memo gives the first run's entries for it.
    """
    end = window.end
    rows: list[Any] = []
    seen: set[int] = set()
    for row in window.rows:
        found = replanned.get(row.id)
        if found is None:
            rows.append(row)
            continue
        seen.add(row.id)
        m, r = found
        if m.from_state == m.to_state and not r.changed and same_roles(row.workflow_version_id):
            rows.append(row)
        elif _in_window(r.next_attention_at, end):
            rows.append(_row_after(m, r, version=row.version))
    entering = []
    for item_id, (m, r) in replanned.items():
        if item_id not in seen and _in_window(r.next_attention_at, end):
            rows.append(_row_after(m, r, version=0))
            entering.append(item_id)
    return rows, entering


def _in_window(at: dt.datetime | None, end: dt.datetime) -> bool:
    return at is not None and at < end


def _row_after(m: Move, r: Replanned, *, version: int) -> forecast.ItemRow:
    return forecast.ItemRow(
        id=m.item_id,
        state=m.to_state,
        version=version,
        workflow_version_id=None,  # the candidate
        agency_id=m.agency_id,
        due=m.due,
        entered_at=r.entered_at,
        entered_seq=r.entered_seq,
        review_id=m.review_id,
        ref=m.ref,
    )


def _cancelled(conn: sa.Connection, item_ids: Collection[int]) -> tuple[Email, ...]:
    """The reminders, chases and escalations queued for ``item_ids`` and not yet sent
    (what ``outbox.cancel_chasing`` cancels when a migration re-plans them). Few are
    pending at any moment (the dispatcher sends them within minutes, or when the office
    opens), so all are read and those of ``item_ids`` kept."""
    if not item_ids:
        return ()
    query = (
        sa.select(
            _outbox.c.item_id,
            _outbox.c.kind,
            _outbox.c.recipient,
            _outbox.c.next_attempt_at,
            _outbox.c.context,
            _item.c.agency_id,
            _rec.c.review_id,
            _rec.c.ref,
        )
        .join(_item, _item.c.id == _outbox.c.item_id)
        .join(_rec, _rec.c.id == _item.c.recommendation_id)
        .where(_outbox.c.status == PENDING, _outbox.c.kind.in_([k.value for k in CHASING]))
    )
    wanted = set(item_ids)
    out = [
        Email(
            kind=row.kind,
            key=item_key(row.review_id, row.ref),
            agency=row.agency_id,
            step=int((row.context or {}).get("step", 0)),
            recipient=row.recipient,
            at=row.next_attempt_at,
            digest=bool((row.context or {}).get("digest", False)),
        )
        for row in conn.execute(query)
        if row.item_id in wanted
    ]
    return tuple(sorted(out, key=lambda e: (e.at, e.recipient, e.key)))


_Identity = tuple[str, str, str, int, str]  # kind, key, agency, step, recipient
_Sent = tuple[dt.datetime, bool]  # when, and whether in a digest


def differences(
    before: Iterable[dict[str, Any]], after: Iterable[dict[str, Any]]
) -> tuple[RecipientChanges, ...]:
    """Per recipient, the emails of forecast ``after`` that ``before`` lacks (added), those
    it no longer has (removed), and those at another time (moved).

    Two emails are the same when their dedupe keys are, less the state entry and due date
    (``sweep.dedupe_key``): the same kind and step to the same person about the same item.
    So the second chase of an item moves when the chase interval changes, and a reminder
    moves when the due date does.
    """
    gone, new = _emails(before), _emails(after)
    gone, new = gone - new, new - gone  # what is the same in both is set aside at once
    times: dict[_Identity, tuple[list[_Sent], list[_Sent]]] = {}
    for side, found in ((0, gone), (1, new)):
        for (kind, key, agency, step, to, text, digest), n in found.items():
            pair = times.setdefault((kind, key, agency, step, to), ([], []))
            pair[side].extend([(dt.datetime.fromisoformat(text), digest)] * n)
    changes: dict[str, tuple[list[Email], list[Email], list[Email]]] = {}
    for ident, (old, now) in times.items():
        old.sort()
        now.sort()
        for instant in list(old):  # the same email another way (its time, its digest)
            same = next((x for x in now if x[0] == instant[0]), None)
            if same is not None:
                old.remove(instant)
                now.remove(same)
        if not old and not now:
            continue
        added, removed, moved = changes.setdefault(ident[4], ([], [], []))
        moved += [_email(ident, b, d, was=a) for (a, _), (b, d) in zip(old, now, strict=False)]
        removed += [_email(ident, a, d) for a, d in old[len(now) :]]
        added += [_email(ident, b, d) for b, d in now[len(old) :]]
    for added, removed, _moved in changes.values():
        _set_aside_renumbered(added, removed)

    def ordered(emails: list[Email]) -> tuple[Email, ...]:
        return tuple(sorted(emails, key=lambda e: (e.at, e.kind, e.key, e.agency, e.step)))

    return tuple(
        RecipientChanges(recipient=who, added=ordered(a), removed=ordered(r), moved=ordered(m))
        for who, (a, r, m) in sorted(changes.items())
    )


def _set_aside_renumbered(added: list[Email], removed: list[Email]) -> None:
    """Take out each added email that a removed one matches but for its step: the same kind
    about the same item to the same person at the same time. Chases are numbered by period,
    so when the interval changes the chase a person gets on a day can carry another number;
    it is still the same email on the same day, neither added nor removed."""
    waiting: dict[tuple[object, ...], list[Email]] = {}
    for r in removed:
        waiting.setdefault((r.kind, r.key, r.agency, r.at, r.digest), []).append(r)
    kept, gone = [], set()
    for email in added:
        twins = waiting.get((email.kind, email.key, email.agency, email.at, email.digest))
        if twins:
            gone.add(id(twins.pop()))
        else:
            kept.append(email)
    added[:] = kept
    removed[:] = [r for r in removed if id(r) not in gone]


def _email(
    ident: _Identity, at: dt.datetime, digest: bool, was: dt.datetime | None = None
) -> Email:
    kind, key, agency, step, recipient = ident
    return Email(
        kind=kind,
        key=key,
        agency=agency,
        step=step,
        recipient=recipient,
        at=at,
        digest=digest,
        was=was,
    )


_Counted = Counter[tuple[str, str, str, int, str, str, bool]]


def _emails(entries: Iterable[dict[str, Any]]) -> _Counted:
    """Each email of a forecast as (kind, key, agency, step, recipient, at, digest), counted."""
    return Counter(
        (e["kind"], e["key"], e["agency"], e["step"], to, e["at"], e["digest"])
        for e in entries
        for to in e["to"]
    )


def _count(entries: Iterable[dict[str, Any]]) -> int:
    return sum(len(e["to"]) for e in entries)
