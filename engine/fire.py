"""Firing a transition: authorise, guard, change state, append the event, enqueue mail.

``fire`` is the one way an item's state changes. Everything it does happens in one
transaction with a version check on the item row, so two people acting at once give
one success and one clear error, and a failure at any step leaves nothing written.
The hot path uses SQLAlchemy Core statements and the spec's (trigger, state) table.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError, OperationalError

from engine import deadlines, history, outbox
from engine.calendar import Calendar
from engine.contacts import (
    CONTACT_COLUMNS,
    FALLBACK_ROLE,
    Directory,
    acting_as,
    concerns,
    held_by,
    people_about,
)
from engine.errors import (
    BadInput,
    ConcurrentUpdate,
    GuardFailed,
    ItemChanged,
    MissingInput,
    NotPermitted,
    RoleNotAllowed,
    SeparationOfDuties,
    TransitionNotAllowed,
    UnknownTrigger,
)
from engine.evidence import EvidenceInput, store_file
from engine.items import item_key, resolve_item
from engine.permissions import Permission, Person
from engine.requests.issue import issue_in
from engine.services import Services
from engine.spec import (
    Requirement,
    Scope,
    Transition,
    WorkflowSpec,
    answer_transition,
    suggest,
)
from engine.spec.rules import apply_effects, failed_guard
from engine.store.conflicts import is_race, unique_violated
from engine.store.tables import Contact, Evidence, Item, Rag, Recommendation
from engine.versions import SpecCache

_item = Item.__table__  # type: ignore[attr-defined]
_rec = Recommendation.__table__  # type: ignore[attr-defined]
_contact = Contact.__table__  # type: ignore[attr-defined]
_evidence = Evidence.__table__  # type: ignore[attr-defined]

# the actor's rows (their own, and an absent contact's they deputise for) and every holder
# of the roles to be notified, with the business managers (they tell the Directory which
# agencies are the board's), and the alternates and auditors the item's agency names
_SELECT_CONTACTS = sa.select(*CONTACT_COLUMNS).where(
    sa.or_(
        held_by(sa.bindparam("email")),
        _contact.c.role.in_(sa.bindparam("roles", expanding=True)),
        _contact.c.email.in_(people_about(sa.bindparam("agency"))),
    )
)
_SELECT_EVIDENCE_ON_FILE = (
    sa.select(_evidence.c.id, _evidence.c.sha256)
    .where(_evidence.c.item_id == sa.bindparam("item_id"))
    .order_by(_evidence.c.id)
)
_INSERT_EVIDENCE = _evidence.insert().returning(_evidence.c.id)
_MUTABLE = (
    "state",
    "version",
    "seq",
    "last_hash",
    "actors",
    "updated_at",
    "rag",
    "due",
    "due_history",
    "pending_due",
    "entered_at",
    "entered_seq",
    "next_attention_at",
)
# one fixed statement (every mutable column bound), so it is compiled once per process
_UPDATE_ITEM = (
    _item.update()
    .where(_item.c.id == sa.bindparam("b_id"), _item.c.version == sa.bindparam("b_version"))
    .values({name: sa.bindparam(f"v_{name}") for name in _MUTABLE})
)


@dataclass(frozen=True, kw_only=True)
class FireRequest:
    """Everything one decision needs. ``now`` is passed in, never read from the clock."""

    item: int | str
    trigger: str
    actor: str
    now: dt.datetime
    reason: str | None = None
    rag: Rag | None = None
    meeting_date: dt.date | None = None
    due_date: dt.date | None = None
    evidence: Sequence[EvidenceInput] = ()
    # what the person deciding saw: the item's version and the evidence on file (ids), so
    # a decision is never recorded on an item that changed since (ItemChanged)
    expected_version: int | None = None
    expected_evidence: Sequence[int] | None = None
    channel: str = "staff"  # how evidence came in: staff (CLI), web or email
    request_id: int | None = None  # the evidence request it answers


@dataclass(frozen=True, kw_only=True)
class Fired:
    """What a successful fire wrote."""

    item_id: int
    key: str
    trigger: str
    from_state: str
    to_state: str
    seq: int
    hash: str
    version: int
    evidence_ids: tuple[int, ...] = ()
    notifications: int = 0


def fire(services: Services, request: FireRequest) -> Fired:
    """Fire ``request.trigger`` on an item as ``request.actor``.

    Guarantees: one transaction; the item's state, the event (hash-chained) and any
    outbox rows are all written or none is.

    Raises:
        RecommendationNotFound, UnknownTrigger, TransitionNotAllowed, NotPermitted, RoleNotAllowed,
        SeparationOfDuties, MissingInput, BadInput, GuardFailed, ConcurrentUpdate (ItemChanged
        when ``expected_version`` or ``expected_evidence`` no longer hold), EvidenceError.
    """
    if request.now.tzinfo is None:
        raise BadInput(str(request.item), request.trigger, "'now' must carry a timezone")
    stored = [
        (ev, store_file(services.data_dir, ev.path) if ev.path else None) for ev in request.evidence
    ]
    return fire_stored(services, request, stored)


def fire_stored(
    services: Services, request: FireRequest, stored: list[tuple[EvidenceInput, Any]]
) -> Fired:
    """``fire`` with its evidence already stored (files checked and kept by the caller, e.g.
    uploads from a page); ``stored`` pairs each input with its ``StoredFile`` or None.

    Raises what ``fire`` raises.
    """
    if request.now.tzinfo is None:
        raise BadInput(str(request.item), request.trigger, "'now' must carry a timezone")
    try:
        with services.db.write() as conn:
            return fire_in(conn, services.specs, request, stored, services.calendar)
    except IntegrityError as exc:
        if unique_violated(exc, "event", ("item_id", "seq")):  # a concurrent writer's seq
            raise ConcurrentUpdate(str(request.item), request.trigger) from exc
        raise
    except OperationalError as exc:
        if is_race(exc):
            raise ConcurrentUpdate(str(request.item), request.trigger) from exc
        raise


def fire_in(
    conn: sa.Connection,
    specs: SpecCache,
    req: FireRequest,
    stored: list[tuple[EvidenceInput, Any]],
    calendar: Calendar,
) -> Fired:
    """``fire`` inside the caller's write transaction, with its evidence files already stored.

    For callers that must do more in the same transaction (answering a request). Raises what
    ``fire`` raises; the caller's transaction is then to be rolled back.
    """
    row = resolve_item(conn, req.item)
    key = item_key(row.review_id, row.ref)
    spec = specs.get(conn, row.workflow_version_id)
    on_file = None
    if req.expected_evidence is not None:
        on_file = conn.execute(_SELECT_EVIDENCE_ON_FILE, {"item_id": row.id}).all()
    stale_version = req.expected_version is not None and req.expected_version != row.version
    stale_evidence = on_file is not None and sorted(r.id for r in on_file) != sorted(
        req.expected_evidence or ()
    )
    if stale_version or stale_evidence:  # first: what they saw is no longer so
        raise ItemChanged(
            key,
            req.trigger,
            seen_version=req.expected_version if req.expected_version is not None else row.version,
            version=row.version,
            seen_evidence=sorted(req.expected_evidence or ()),
            evidence=sorted(r.id for r in on_file or ()),
        )
    transition = _transition(spec, key, req.trigger, row.state)
    actor = req.actor.strip().lower()
    wanted = {r for n in transition.notify for r in n.to}
    asking = _asks_on_entry(spec, transition)
    if asking is not None:  # the agency contacts who may answer the request made on entry
        wanted.update(asking.roles)
    notify_roles = sorted(
        {FALLBACK_ROLE, *(cr for r in wanted for cr in spec.model.roles[r].contact_roles)}
    )
    contacts = conn.execute(
        _SELECT_CONTACTS, {"email": actor, "roles": notify_roles, "agency": row.agency_id}
    ).all()
    authorise(spec, transition, key, actor, row.agency_id, contacts)
    for earlier in spec.forbidden_prior.get(req.trigger, ()):
        if req.actor in row.actors.get(earlier, ()):
            raise SeparationOfDuties(key, req.trigger, req.actor, earlier)
    _check_inputs(transition, key, req, stored)
    failed = failed_guard(transition, row)
    if failed is not None:
        raise GuardFailed(key, req.trigger, failed.name, f"needs {failed.description}")
    changes = apply_effects(transition, row, key=key, due_date=req.due_date)
    # The transition found in spec.table above already names the destination; asking a
    # transitions.Machine as well would look (trigger, state) up a second time, behind a
    # lock. The library builds the state graph the spec is checked on (engine/spec/machine.py).
    to_state = transition.dest if transition.dest is not None else row.state

    data: dict[str, Any] = {"workflow_version_id": row.workflow_version_id}
    if req.meeting_date:
        data["meeting_date"] = req.meeting_date.isoformat()
    if req.due_date:
        data["due_date"] = req.due_date.isoformat()
    if req.channel != "staff":
        data["channel"] = req.channel
    if req.request_id is not None:
        data["request_id"] = req.request_id
    if "due" in changes:
        data["due_from"] = _iso(row.due)
        data["due_to"] = _iso(changes["due"])
    evidence_ids = insert_evidence(
        conn, row.id, stored, actor=req.actor, now=req.now, channel=req.channel,
        request_id=req.request_id,
    )  # fmt: skip
    if evidence_ids:
        data["evidence"] = evidence_record(evidence_ids, stored)
    elif transition.dest is not None:
        # a decision records the evidence on file it was taken on
        if on_file is None:
            on_file = conn.execute(_SELECT_EVIDENCE_ON_FILE, {"item_id": row.id}).all()
        data["evidence_on_file"] = [{"id": r.id, "sha256": r.sha256} for r in on_file]

    seq = row.seq + 1
    rag = req.rag.value if req.rag else None
    digest = history.append(
        conn,
        item_id=row.id,
        seq=seq,
        prev_hash=row.last_hash,
        at=req.now,
        actor=req.actor,
        trigger=req.trigger,
        from_state=row.state,
        to_state=to_state,
        reason=req.reason,
        rag=rag,
        data=data,
    )
    actors = row.actors
    if req.actor not in actors.get(req.trigger, ()):
        actors = {**actors, req.trigger: [*actors.get(req.trigger, ()), req.actor]}
    moved = transition.dest is not None
    values: dict[str, Any] = {
        "state": to_state,
        "version": row.version + 1,
        "seq": seq,
        "last_hash": digest,
        "actors": actors,
        "updated_at": req.now,
        **changes,
    }
    if rag:
        values["rag"] = rag
    if moved:
        values["entered_at"], values["entered_seq"] = req.now, seq
    replan = moved or "due" in changes
    if replan:
        the_plan = deadlines.plan(
            spec.states[to_state],
            item_due=changes.get("due", row.due),
            entered_at=values.get("entered_at", row.entered_at),
            entered_seq=values.get("entered_seq", row.entered_seq),
            calendar=calendar,
        )
        values["next_attention_at"] = deadlines.attention(the_plan, req.now, calendar)
    current = {name: getattr(row, name) for name in _MUTABLE if name not in values}
    done = conn.execute(
        _UPDATE_ITEM,
        {
            "b_id": row.id,
            "b_version": row.version,
            **{f"v_{k}": v for k, v in (current | values).items()},
        },
    )
    if done.rowcount != 1:
        raise ConcurrentUpdate(key, req.trigger)
    if replan:  # reminders and chases decided for the old state or due date no longer apply
        outbox.cancel_chasing(conn, row.id)
    sent = 0
    if transition.notify or asking is not None:
        # the one contacts read, for both below, with the agency's conflicts and auditors
        directory = Directory(
            contacts, {}, concerns(conn, row.agency_id), on=calendar.local(req.now).date()
        )
        sent = _enqueue(conn, spec, transition, row, key, seq, to_state, req.now, directory)
        if asking is not None:
            sent += _request_on_entry(
                conn, spec, asking, row, key, seq, values, req, directory, calendar
            )
    return Fired(
        item_id=row.id,
        key=key,
        trigger=req.trigger,
        from_state=row.state,
        to_state=to_state,
        seq=seq,
        hash=digest,
        version=row.version + 1,
        evidence_ids=tuple(evidence_ids),
        notifications=sent,
    )


def insert_evidence(
    conn: sa.Connection,
    item_id: int,
    stored: Sequence[tuple[EvidenceInput, Any]],
    *,
    actor: str,
    now: dt.datetime,
    channel: str,
    request_id: int | None,
) -> list[int]:
    """Write one evidence row per statement or stored file; return their ids, in order.

    The one writer of evidence rows: a transition's evidence (``fire_in``) and a follow-up
    to evidence already sent (``engine.requests.answer``) both come here.
    """
    ids = []
    for ev, file in stored:
        ids.append(
            conn.execute(
                _INSERT_EVIDENCE,
                {
                    "item_id": item_id,
                    "submitted_by": actor,
                    "submitted_at": now,
                    "statement": ev.statement,
                    "filename": file.filename if file else None,
                    "stored_name": file.stored_name if file else None,
                    "sha256": file.sha256 if file else _sha(ev.statement or ""),
                    "size": file.size if file else len((ev.statement or "").encode()),
                    "content_type": ev.content_type if file else "text/plain",
                    "channel": channel,
                    "request_id": request_id,
                },
            ).scalar_one()
        )
    return ids


def evidence_record(
    ids: Sequence[int], stored: Sequence[tuple[EvidenceInput, Any]]
) -> list[dict[str, Any]]:
    """What an event records of the evidence it added: each row's id and SHA-256."""
    return [
        {"id": i, "sha256": (f.sha256 if f else _sha(e.statement or ""))}
        for i, (e, f) in zip(ids, stored, strict=True)
    ]


def _transition(spec: WorkflowSpec, key: str, trigger: str, state: str) -> Transition:
    transition = spec.table.get((trigger, state))
    if transition is not None:
        return transition
    known = {t.trigger for t in spec.model.transitions}
    if trigger not in known:
        raise UnknownTrigger(key, trigger, sorted(known), suggest(trigger, known))
    raise TransitionNotAllowed(key, trigger, state, spec.allowed_from(state))


def authorise(
    spec: WorkflowSpec, t: Transition, key: str, actor: str, agency: str, contacts: Sequence[Any]
) -> None:
    """The workflow's roles for this transition, then the roles table (``engine.permissions``):
    whose items the person may act on at all, whatever roles a workflow gives them.

    ``contacts``: rows of ``CONTACT_COLUMNS`` with at least the actor's and the business
    managers'. Raises RoleNotAllowed or NotPermitted (also read by ``engine.actions``)."""
    held = acting_as(contacts, actor)
    if not any(
        r.role in role.contact_roles and (role.scope is Scope.ANY or r.agency_id == agency)
        for role in (spec.model.roles[name] for name in t.roles)
        for r in held
    ):
        raise RoleNotAllowed(key, t.trigger, actor, t.roles)
    board = frozenset(c.agency_id for c in contacts if c.role == FALLBACK_ROLE)
    if not Person.from_contacts(actor, held, board).may(Permission.ACT_ON_ITEMS, agency):
        raise NotPermitted(key, t.trigger, actor, agency)


def _check_inputs(
    t: Transition, key: str, req: FireRequest, stored: list[tuple[EvidenceInput, Any]]
) -> None:
    given = {
        Requirement.REASON: bool(req.reason and req.reason.strip()),
        Requirement.RAG: req.rag is not None,
        Requirement.MEETING_DATE: req.meeting_date is not None,
        Requirement.DUE_DATE: req.due_date is not None,
        Requirement.EVIDENCE: any(f or (e.statement and e.statement.strip()) for e, f in stored),
    }
    for need in t.requires:
        if not given[need]:
            raise MissingInput(key, t.trigger, need.value)
    # a reason is always welcome; anything else must be asked for by the transition
    for extra in (
        Requirement.RAG,
        Requirement.MEETING_DATE,
        Requirement.DUE_DATE,
        Requirement.EVIDENCE,
    ):
        if given[extra] and extra not in t.requires:
            raise BadInput(
                key,
                t.trigger,
                f"does not take {extra.value.replace('_', ' ')}; "
                f"it accepts {[r.value for r in t.requires] or 'only a reason'}",
            )
    if req.meeting_date and req.meeting_date > req.now.date():
        raise BadInput(key, t.trigger, f"meeting date {req.meeting_date} is in the future")


def _enqueue(
    conn: sa.Connection,
    spec: WorkflowSpec,
    t: Transition,
    row: Any,
    key: str,
    seq: int,
    to_state: str,
    now: dt.datetime,
    directory: Directory,
) -> int:
    if not t.notify:
        return 0
    names = {r for n in t.notify for r in n.to}
    recipients = {r: directory.workflow_role(spec, r, row.agency_id) for r in names}
    context = {
        "key": key,
        "trigger": t.trigger,
        "from_state": row.state,
        "to_state": to_state,
        "seq": seq,
    }
    notices = [
        outbox.Notice(
            dedupe_key=f"event:{row.id}:{seq}:{n.template}:{email}",
            item_id=row.id,
            kind=outbox.Kind.DECISION,
            template=n.template,
            recipient=email,
            context=context,
            send_at=now,
        )
        for n in t.notify
        for email in sorted({e for role in n.to for e in recipients.get(role, ())})
    ]
    return outbox.enqueue(conn, notices, now)


def _asks_on_entry(spec: WorkflowSpec, t: Transition) -> Transition | None:
    """The transition that will answer the request ``t`` makes by entering its state, if any."""
    if t.dest is None or not spec.states[t.dest].request_on_entry:
        return None
    return answer_transition(spec.model, t.dest)


def _request_on_entry(
    conn: sa.Connection,
    spec: WorkflowSpec,
    answering: Transition,
    row: Any,
    key: str,
    seq: int,
    values: dict[str, Any],
    req: FireRequest,
    directory: Directory,
    calendar: Calendar,
) -> int:
    """Ask the agency for evidence on entering a state whose workflow says so."""
    people = sorted(
        {e for r in answering.roles for e in directory.workflow_role(spec, r, row.agency_id)}
    )
    if not people:  # nobody to ask: the decision email and the chasing still go out
        return 0
    issue_in(
        conn,
        spec,
        row,
        key,
        recipient=people[0],
        actor=req.actor,
        now=req.now,
        entered_seq=seq,
        state=values["state"],
        due=values.get("due", row.due),
        calendar=calendar,
    )
    return 1


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _iso(value: dt.date | None) -> str | None:
    return value.isoformat() if value else None
