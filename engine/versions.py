"""Published workflow versions: immutable, and the only specs items ever follow.

``publish`` stores a new version when a file's content changed. Items in flight stay
on the version they started on; moving them needs an explicit state mapping, and a
publish whose mapping would strand an item in a state the new version lacks is
refused with the list of those items. The whole publish is one transaction.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from engine.errors import ConcurrentUpdate, PublishRefused, SpecError, WorkflowNotFound
from engine.store import core

if TYPE_CHECKING:
    from engine.calendar import Calendar
    from engine.deadlines import PlanCache
    from engine.spec import State, WorkflowSpec

# Core tables, and engine.spec and engine.history imported where used: ``signoff list``
# reads state labels through SpecCache.states and must not load SQLModel or pydantic.
_wv = core.workflow_version
_item = core.item
_rec = core.recommendation


@dataclass(frozen=True, kw_only=True)
class StateFacts:
    """What a list shows of one state of a published version."""

    label: str
    terminal: bool
    outcome: str | None  # an engine.spec.Outcome value; None on open states


def facts_of(spec: WorkflowSpec) -> dict[str, StateFacts]:
    """Each state's facts, as the checked spec has them."""
    return {
        name: StateFacts(
            label=state.label,
            terminal=state.terminal,
            outcome=state.outcome.value if state.outcome else None,
        )
        for name, state in spec.states.items()
    }


def read_state_facts(source_text: str) -> dict[str, StateFacts] | None:
    """Each state's facts, read from a published version's text with plain YAML; None when
    that reading could differ from the checked spec's, so the caller builds the spec instead.

    The text passed every check when it was published, so only the YAML reading can differ:
    engine.spec reads with YAML 1.1 booleans and dates off and lets pydantic convert, so a
    state called ``no`` (False here) or a ``terminal: 1`` (true there) would read differently;
    any key or value not of the plain type (str, bool, None) is refused for that reason.
    (``terminal: yes`` agrees: a string pydantic makes true there, true here.) Building the
    spec instead costs about 220 ms at start-up (pydantic and the models:
    ``python -c 'import engine.spec'`` 250 ms against 30 ms for ``pass``, median of 7), more
    than ``signoff list`` may spend.

    Guarantees: when not None, equal to ``facts_of`` of the spec the text loads as.
    """
    import yaml

    loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # the same resolver, in C
    try:
        data = yaml.load(source_text, Loader=loader)
    except yaml.YAMLError:
        return None
    states = data.get("states") if isinstance(data, dict) else None
    if not isinstance(states, dict):
        return None
    facts = {}
    for name, state in states.items():
        if not isinstance(name, str) or not isinstance(state, dict):
            return None
        label, terminal = state.get("label"), state.get("terminal", False)
        outcome = state.get("outcome")
        if not isinstance(label, str) or not isinstance(terminal, bool):
            return None
        if outcome is not None and not isinstance(outcome, str):
            return None
        facts[name] = StateFacts(label=label, terminal=terminal, outcome=outcome)
    return facts


class SpecCache:
    """workflow_version id -> WorkflowSpec, loaded from the database once per process.

    Versions are immutable, so entries never go stale.
    """

    def __init__(self) -> None:
        self._by_id: dict[int, WorkflowSpec] = {}
        self._facts: dict[int, Mapping[str, StateFacts]] = {}
        self._lock = threading.Lock()

    def get(self, conn: sa.Connection, version_id: int) -> WorkflowSpec:
        """The checked spec of a published version.

        Raises:
            WorkflowNotFound: no version has that id.
        """
        spec = self._by_id.get(version_id)
        if spec is not None:
            return spec
        return self._load(self._row(conn, version_id))

    def states(self, conn: sa.Connection, version_id: int) -> Mapping[str, StateFacts]:
        """Each state's label, terminality and outcome in a published version: what ``get``
        says of them, without building the spec when its text reads plainly
        (``read_state_facts``).

        Raises:
            WorkflowNotFound: no version has that id.
        """
        facts = self._facts.get(version_id)
        if facts is not None:
            return facts
        spec = self._by_id.get(version_id)
        if spec is not None:
            facts = facts_of(spec)
        else:
            row = self._row(conn, version_id)
            plain = read_state_facts(row.source_text)
            facts = plain if plain is not None else facts_of(self._load(row))
        with self._lock:
            self._facts[version_id] = facts
        return facts

    @staticmethod
    def _row(conn: sa.Connection, version_id: int) -> Any:
        row = conn.execute(
            sa.select(_wv.c.id, _wv.c.name, _wv.c.version, _wv.c.source_text).where(
                _wv.c.id == version_id
            )
        ).one_or_none()
        if row is None:
            raise WorkflowNotFound(f"#{version_id}")
        return row

    def _load(self, row: Any) -> WorkflowSpec:
        from engine.spec import load_spec

        spec = load_spec(row.source_text, f"{row.name} v{row.version} (published)")
        with self._lock:
            self._by_id[row.id] = spec
        return spec


def latest(conn: sa.Connection, name: str) -> tuple[int, int] | None:
    """(id, version) of the newest published version of ``name``, or None."""
    row = conn.execute(
        sa.select(_wv.c.id, _wv.c.version)
        .where(_wv.c.name == name)
        .order_by(_wv.c.version.desc())
        .limit(1)
    ).one_or_none()
    return None if row is None else (row.id, row.version)


def require_latest(conn: sa.Connection, name: str) -> int:
    """The id of the newest version of ``name``.

    Raises:
        WorkflowNotFound: nothing published under that name (with a close match).
    """
    found = latest(conn, name)
    if found is None:
        from engine.spec import suggest

        names = list(conn.execute(sa.select(_wv.c.name).distinct()).scalars())
        raise WorkflowNotFound(
            name + suggest(name, names).replace("; did you mean", " (did you mean")
        )
    return found[0]


@dataclass(frozen=True, kw_only=True)
class VersionInfo:
    """One published version of a workflow: who published it, when and why."""

    id: int
    name: str
    version: int
    sha256: str
    published_at: dt.datetime
    published_by: str
    note: str | None


def history(conn: sa.Connection, name: str) -> list[VersionInfo]:
    """Every published version of ``name``, newest first (empty when none)."""
    rows = conn.execute(
        sa.select(
            _wv.c.id,
            _wv.c.name,
            _wv.c.version,
            _wv.c.sha256,
            _wv.c.published_at,
            _wv.c.published_by,
            _wv.c.note,
        )
        .where(_wv.c.name == name)
        .order_by(_wv.c.version.desc())
    ).all()
    return [VersionInfo(**r._mapping) for r in rows]


def names(conn: sa.Connection) -> list[str]:
    """The name of every workflow with a published version, sorted."""
    return list(conn.execute(sa.select(_wv.c.name).distinct().order_by(_wv.c.name)).scalars())


def version_info(conn: sa.Connection, version_id: int) -> VersionInfo:
    """The facts of the version with this id (``source_text`` is read by ``text_of``).

    Raises:
        WorkflowNotFound: no version has that id.
    """
    row = conn.execute(
        sa.select(
            _wv.c.id,
            _wv.c.name,
            _wv.c.version,
            _wv.c.sha256,
            _wv.c.published_at,
            _wv.c.published_by,
            _wv.c.note,
        ).where(_wv.c.id == version_id)
    ).one_or_none()
    if row is None:
        raise WorkflowNotFound(f"#{version_id}")
    return VersionInfo(**row._mapping)


def text_of(conn: sa.Connection, version_id: int) -> str:
    """The YAML text a version was published with.

    Raises:
        WorkflowNotFound: no version has that id.
    """
    return str(SpecCache._row(conn, version_id).source_text)


@dataclass(frozen=True, kw_only=True)
class Published:
    name: str
    version: int
    version_id: int
    created: bool
    migrated: int


def publish(
    conn: sa.Connection,
    spec: WorkflowSpec,
    *,
    actor: str,
    now: dt.datetime,
    migrate: bool = False,
    mapping: Mapping[str, str] | None = None,
    note: str | None = None,
    calendar: Calendar | None = None,
) -> Published:
    """Store ``spec`` as the next version of its workflow (a no-op if unchanged).

    With ``migrate``, every open item on an older version moves to the new one; its
    state is kept when the new version has it, or mapped through ``mapping``. Each
    move is an event in the item's history, and each moved item is re-planned as ``fire``
    re-plans it (under ``calendar``, the default calendar unless given).

    Raises:
        SpecError: ``mapping`` names a state the new version lacks.
        PublishRefused: items would be stranded; lists each one. Nothing is written.
    """
    mapping = check_mapping(spec, mapping)
    current = latest(conn, spec.name)
    if current is not None:
        same = conn.execute(sa.select(_wv.c.sha256).where(_wv.c.id == current[0])).scalar_one()
        if same == spec.sha256 and not migrate:
            return Published(
                name=spec.name, version=current[1], version_id=current[0], created=False, migrated=0
            )
    movers = _items_to_move(conn, spec, mapping) if migrate and current else []
    if same_content := (current is not None and same == spec.sha256):
        version_id, version = current
    else:
        version = (current[1] if current else 0) + 1
        version_id = conn.execute(
            _wv.insert()
            .values(
                name=spec.name,
                version=version,
                sha256=spec.sha256,
                source_text=spec.source_text,
                published_at=now,
                published_by=actor,
                note=note,
            )
            .returning(_wv.c.id)
        ).scalar_one()
    if movers and calendar is None:
        from engine.calendar import Calendar

        calendar = Calendar()
    for move in movers:
        assert calendar is not None
        record_migration(
            conn,
            item_id=move.item_id,
            to_version_id=version_id,
            to_version=version,
            old_state=move.from_state,
            new_state=move.to_state,
            actor=actor,
            now=now,
            was=move.was,
            becomes=spec.states[move.to_state],
            calendar=calendar,
        )
    return Published(
        name=spec.name,
        version=version,
        version_id=version_id,
        created=not same_content,
        migrated=len(movers),
    )


def check_mapping(spec: WorkflowSpec, mapping: Mapping[str, str] | None) -> dict[str, str]:
    """``mapping`` (old state -> state of ``spec``) as a dict, once every target is checked.

    Raises:
        SpecError: a target is not a state of ``spec`` (with a close match and the states).
    """
    from engine.spec import suggest

    checked = dict(mapping or {})
    for old, new in checked.items():
        if new not in spec.states:
            raise SpecError(
                "--map",
                f"{old}={new}",
                f"unknown state {new!r}{suggest(new, spec.states)} "
                f"in {spec.name!r}; states: {list(spec.states)}",
            )
    return checked


@dataclass(frozen=True, kw_only=True)
class Move:
    """An open item that publishing with ``--migrate`` moves onto the new version, with
    what re-planning it needs (``replan``)."""

    item_id: int
    review_id: str
    ref: str
    agency_id: str
    from_version: int  # the version number it is on
    from_state: str
    to_state: str
    was: State  # its state in the version it is on
    due: dt.date | None
    entered_at: dt.datetime
    entered_seq: int
    seq: int
    next_attention_at: dt.datetime | None


@dataclass(frozen=True, kw_only=True)
class Stranded:
    """An open item in a state the new version lacks, with no mapping for it."""

    item_id: int
    review_id: str
    ref: str
    agency_id: str
    from_version: int
    state: str
    label: str  # the state's label in the version it is on

    def describe(self) -> str:
        """One line for ``PublishRefused.items``."""
        return (
            f"{self.review_id}/{self.ref}@{self.agency_id}: in {self.state!r}, which the "
            "version being published lacks"
        )


@dataclass(frozen=True, kw_only=True)
class Migration:
    """What ``publish(..., migrate=True)`` would do to the items in flight."""

    moves: tuple[Move, ...]
    stranded: tuple[Stranded, ...]

    @property
    def unmapped(self) -> list[str]:
        """The states stranded items are in (each needs a mapping), sorted."""
        return sorted({s.state for s in self.stranded})


def plan_migration(
    conn: sa.Connection,
    spec: WorkflowSpec,
    mapping: Mapping[str, str],
    specs: SpecCache | None = None,
) -> Migration:
    """Which open items of ``spec``'s workflow would move onto ``spec``, and which would be
    stranded: the one rule ``publish`` applies (and the consequences preview shows).

    Items on a version with other content move; finished items (in a terminal state of the
    version they are on) keep it; an item whose state, after ``mapping``, ``spec`` lacks is
    stranded. Reads only; ``mapping`` is not checked here (``check_mapping``).
    """
    rows = conn.execute(
        sa.select(
            _item.c.id,
            _item.c.state,
            _item.c.due,
            _item.c.entered_at,
            _item.c.entered_seq,
            _item.c.seq,
            _item.c.next_attention_at,
            _item.c.agency_id,
            _item.c.workflow_version_id,
            _rec.c.review_id,
            _rec.c.ref,
            _wv.c.version,
        )
        .join(_rec, _rec.c.id == _item.c.recommendation_id)
        .join(_wv, _wv.c.id == _item.c.workflow_version_id)
        .where(_wv.c.name == spec.name, _wv.c.sha256 != spec.sha256)
        .order_by(_item.c.id)
    ).all()
    cache = specs if specs is not None else SpecCache()
    moves: list[Move] = []
    stranded: list[Stranded] = []
    for r in rows:
        was = cache.get(conn, r.workflow_version_id).states[r.state]
        if was.terminal:
            continue  # finished items keep the version they finished on
        target = mapping.get(r.state, r.state)
        if target not in spec.states:
            stranded.append(
                Stranded(
                    item_id=r.id,
                    review_id=r.review_id,
                    ref=r.ref,
                    agency_id=r.agency_id,
                    from_version=r.version,
                    state=r.state,
                    label=was.label,
                )
            )
            continue
        moves.append(
            Move(
                item_id=r.id,
                review_id=r.review_id,
                ref=r.ref,
                agency_id=r.agency_id,
                from_version=r.version,
                from_state=r.state,
                to_state=target,
                was=was,
                due=r.due,
                entered_at=r.entered_at,
                entered_seq=r.entered_seq,
                seq=r.seq,
                next_attention_at=r.next_attention_at,
            )
        )
    return Migration(moves=tuple(moves), stranded=tuple(stranded))


def _items_to_move(
    conn: sa.Connection, spec: WorkflowSpec, mapping: Mapping[str, str]
) -> tuple[Move, ...]:
    found = plan_migration(conn, spec, mapping)
    if found.stranded:
        raise PublishRefused(
            spec.name,
            f"{len(found.stranded)} item(s) would be stranded",
            [s.describe() for s in found.stranded],
            found.unmapped,
        )
    return found.moves


@dataclass(frozen=True, kw_only=True)
class Replanned:
    """An item's deadline facts once it moved onto another version (``replan``)."""

    entered_at: dt.datetime
    entered_seq: int
    changed: bool  # its plan differs: next_attention_at re-planned, chasing cancelled
    next_attention_at: dt.datetime | None


def replan(
    *,
    was: State,
    becomes: State,
    moved: bool,
    due: dt.date | None,
    entered_at: dt.datetime,
    entered_seq: int,
    seq: int,
    next_attention_at: dt.datetime | None,
    now: dt.datetime,
    calendar: Calendar,
    plans: PlanCache | None = None,
) -> Replanned:
    """Re-plan an item moving from state ``was`` (old version) to ``becomes`` (new version),
    as ``fire`` re-plans: a changed state is entered afresh at ``now`` with event ``seq``;
    when the deadline plan under ``becomes`` differs from the one under ``was``, the item
    next needs attention when the new plan says (else when it already did). Pure; plans
    are made through ``plans`` when given (under its calendar, which must be ``calendar``).
    """
    new_entered_at = now if moved else entered_at
    new_entered_seq = seq if moved else entered_seq
    if not moved and was.deadline == becomes.deadline and was.templates == becomes.templates:
        # a plan is made of these alone (deadlines.plan): the same plan, not worked out
        return Replanned(
            entered_at=entered_at,
            entered_seq=entered_seq,
            changed=False,
            next_attention_at=next_attention_at,
        )
    if plans is None:
        from engine.deadlines import PlanCache  # not at the top: see the imports' comment

        plans = PlanCache(calendar)
    cache = plans
    old_plan = cache.plan(was, item_due=due, entered_at=entered_at, entered_seq=entered_seq)
    new_plan = cache.plan(
        becomes, item_due=due, entered_at=new_entered_at, entered_seq=new_entered_seq
    )
    changed = new_plan != old_plan
    if changed:
        next_attention_at = cache.attention(new_plan, now)
    return Replanned(
        entered_at=new_entered_at,
        entered_seq=new_entered_seq,
        changed=changed,
        next_attention_at=next_attention_at,
    )


def record_migration(
    conn: sa.Connection,
    *,
    item_id: int,
    to_version_id: int,
    to_version: int,
    old_state: str,
    new_state: str,
    actor: str,
    now: dt.datetime,
    was: State,
    becomes: State,
    calendar: Calendar,
) -> None:
    """Move one item onto another workflow version, as an event in its history.

    The item is re-planned as ``fire`` re-plans it: when its deadline plan under ``becomes``
    (the new version's state) differs from the one under ``was`` (the old version's), its
    ``next_attention_at`` follows the new plan and the reminders, chases and escalations
    decided under the old one and not yet sent are cancelled.
    """
    from engine import history, outbox

    row = conn.execute(
        sa.select(
            _item.c.version,
            _item.c.seq,
            _item.c.last_hash,
            _item.c.workflow_version_id,
            _item.c.entered_at,
            _item.c.entered_seq,
            _item.c.due,
        ).where(_item.c.id == item_id)
    ).one()
    seq = row.seq + 1
    digest = history.append(
        conn,
        item_id=item_id,
        seq=seq,
        prev_hash=row.last_hash,
        at=now,
        actor=actor,
        trigger="migrate_workflow",
        from_state=old_state,
        to_state=new_state,
        data={"from_version_id": row.workflow_version_id, "to_version": to_version},
    )
    replanned = replan(
        was=was,
        becomes=becomes,
        moved=old_state != new_state,
        due=row.due,
        entered_at=row.entered_at,
        entered_seq=row.entered_seq,
        seq=seq,
        next_attention_at=None,  # kept as it is unless re-planned
        now=now,
        calendar=calendar,
    )
    values: dict[str, Any] = {}
    if replanned.changed:
        values["next_attention_at"] = replanned.next_attention_at
    done = conn.execute(
        _item.update()
        .where(_item.c.id == item_id, _item.c.version == row.version)
        .values(
            workflow_version_id=to_version_id,
            state=new_state,
            version=row.version + 1,
            seq=seq,
            last_hash=digest,
            updated_at=now,
            entered_at=replanned.entered_at,
            entered_seq=replanned.entered_seq,
            **values,
        )
    )
    if done.rowcount != 1:
        raise ConcurrentUpdate(f"item {item_id}", "migrate_workflow")
    if replanned.changed:  # what was decided under the old version's plan no longer applies
        outbox.cancel_chasing(conn, item_id)


def ensure_published(
    conn: sa.Connection, spec: WorkflowSpec, *, actor: str, now: dt.datetime
) -> int:
    """The version id for exactly this spec content, publishing it if new."""
    return ensure_version(conn, spec, actor=actor, now=now).version_id


def ensure_version(
    conn: sa.Connection, spec: WorkflowSpec, *, actor: str, now: dt.datetime
) -> Published:
    """The version with exactly this spec content (``created`` when it is published now)."""
    row = conn.execute(
        sa.select(_wv.c.id, _wv.c.version)
        .where(_wv.c.name == spec.name, _wv.c.sha256 == spec.sha256)
        .order_by(_wv.c.version.desc())
        .limit(1)
    ).one_or_none()
    if row is not None:
        return Published(
            name=spec.name, version=row.version, version_id=row.id, created=False, migrated=0
        )
    return publish(conn, spec, actor=actor, now=now)
