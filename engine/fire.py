"""Firing a transition: authorise, guard, change state, append the event, enqueue mail.

``fire`` is the one way an item's state changes. Everything it does happens in one
transaction with a version check on the item row, so two people acting at once give
one success and one clear error, and a failure at any step leaves nothing written.
The hot path uses SQLAlchemy Core statements and a shared machine per workflow version.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError, OperationalError

from engine import deadlines, history
from engine.calendar import Calendar
from engine.errors import (
    BadInput,
    ConcurrentUpdate,
    GuardFailed,
    MissingInput,
    RoleNotAllowed,
    SeparationOfDuties,
    TransitionNotAllowed,
    UnknownTrigger,
)
from engine.evidence import EvidenceInput, store_file
from engine.items import item_key, resolve_item
from engine.machine import machine_for
from engine.recipients import CONTACT_COLUMNS, Directory
from engine.requests.issue import issue_in
from engine.services import Services
from engine.spec import (
    GUARDS,
    Requirement,
    Scope,
    Transition,
    WorkflowSpec,
    answer_transition,
    suggest,
)
from engine.store.tables import Contact, Evidence, Item, Outbox, Rag, Recommendation
from engine.versions import SpecCache

_item = Item.__table__  # type: ignore[attr-defined]
_rec = Recommendation.__table__  # type: ignore[attr-defined]
_contact = Contact.__table__  # type: ignore[attr-defined]
_evidence = Evidence.__table__  # type: ignore[attr-defined]
_outbox = Outbox.__table__  # type: ignore[attr-defined]

_SELECT_CONTACTS = sa.select(*CONTACT_COLUMNS).where(
    sa.or_(
        _contact.c.email == sa.bindparam("email"),
        _contact.c.role.in_(sa.bindparam("roles", expanding=True)),
    )
)
_SELECT_EVIDENCE_ON_FILE = (
    sa.select(_evidence.c.id, _evidence.c.sha256)
    .where(_evidence.c.item_id == sa.bindparam("item_id"))
    .order_by(_evidence.c.id)
)
_INSERT_EVIDENCE = _evidence.insert().returning(_evidence.c.id)
_INSERT_OUTBOX = _outbox.insert()
_CANCEL_CHASING = (
    _outbox.update()
    .where(
        _outbox.c.item_id == sa.bindparam("b_item_id"),
        _outbox.c.status == "pending",
        _outbox.c.kind.in_(["reminder", "chase", "escalation"]),
    )
    .values(status="cancelled")
)
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
    expected_version: int | None = None
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


_HOW = {
    Requirement.EVIDENCE: "attach a file with --evidence FILE or write a --statement",
    Requirement.REASON: "give one with --reason",
    Requirement.MEETING_DATE: "give the panel meeting date with --meeting-date YYYY-MM-DD",
    Requirement.RAG: "give --rag red, amber or green",
    Requirement.DUE_DATE: "give the proposed date with --due-date YYYY-MM-DD",
}


def fire(services: Services, request: FireRequest) -> Fired:
    """Fire ``request.trigger`` on an item as ``request.actor``.

    Guarantees: one transaction; the item's state, the event (hash-chained) and any
    outbox rows are all written or none is.

    Raises:
        RecommendationNotFound, UnknownTrigger, TransitionNotAllowed, RoleNotAllowed,
        SeparationOfDuties, MissingInput, BadInput, GuardFailed, ConcurrentUpdate,
        EvidenceError.
    """
    if request.now.tzinfo is None:
        raise BadInput(str(request.item), request.trigger, "'now' must carry a timezone")
    stored = [
        (ev, store_file(services.data_dir, ev.path) if ev.path else None) for ev in request.evidence
    ]
    try:
        with services.db.write() as conn:
            return fire_in(conn, services.specs, request, stored, services.calendar)
    except IntegrityError as exc:
        if _is_seq_clash(exc):  # a concurrent writer took this event's seq first
            raise ConcurrentUpdate(str(request.item), request.trigger) from exc
        raise
    except OperationalError as exc:
        if "locked" in str(exc.orig) or "could not serialize" in str(exc.orig):
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
    if req.expected_version is not None and req.expected_version != row.version:
        raise ConcurrentUpdate(key, req.trigger)  # first: what they saw is no longer so
    transition = _transition(spec, key, req.trigger, row.state)
    actor = req.actor.strip().lower()
    wanted = {r for n in transition.notify for r in n.to}
    asking = _asks_on_entry(spec, transition)
    if asking is not None:  # the agency contacts who may answer the request made on entry
        wanted.update(asking.roles)
    notify_roles = sorted({cr for r in wanted for cr in spec.model.roles[r].contact_roles})
    contacts = conn.execute(_SELECT_CONTACTS, {"email": actor, "roles": notify_roles}).all()
    _authorise(spec, transition, key, actor, row.agency_id, contacts)
    for earlier in spec.forbidden_prior.get(req.trigger, ()):
        if req.actor in row.actors.get(earlier, ()):
            raise SeparationOfDuties(key, req.trigger, req.actor, earlier)
    _check_inputs(transition, key, req, stored)
    for guard in transition.guards:
        if not _GUARD_CHECKS[guard](row):
            raise GuardFailed(key, req.trigger, guard, f"needs {GUARDS[guard]}")
    changes = _apply_effects(transition, key, req, row)
    to_state = machine_for(spec).next_state(row.state, req.trigger)

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
    evidence_ids = []
    for ev, file in stored:
        evidence_ids.append(
            conn.execute(
                _INSERT_EVIDENCE,
                {
                    "item_id": row.id,
                    "submitted_by": req.actor,
                    "submitted_at": req.now,
                    "statement": ev.statement,
                    "filename": file.filename if file else None,
                    "stored_name": file.stored_name if file else None,
                    "sha256": file.sha256 if file else _sha(ev.statement or ""),
                    "size": file.size if file else len((ev.statement or "").encode()),
                    "content_type": ev.content_type if file else "text/plain",
                    "channel": req.channel,
                    "request_id": req.request_id,
                },
            ).scalar_one()
        )
    if evidence_ids:
        data["evidence"] = [
            {"id": i, "sha256": (f.sha256 if f else _sha(e.statement or ""))}
            for i, (e, f) in zip(evidence_ids, stored, strict=True)
        ]
    elif transition.dest is not None:
        # a decision records the evidence on file it was taken on
        data["evidence_on_file"] = [
            {"id": r.id, "sha256": r.sha256}
            for r in conn.execute(_SELECT_EVIDENCE_ON_FILE, {"item_id": row.id})
        ]

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
        conn.execute(_CANCEL_CHASING, {"b_item_id": row.id})
    sent = 0
    if transition.notify or asking is not None:
        directory = Directory(contacts, {})  # the one contacts read, for both below
        sent = _enqueue(conn, spec, transition, row, key, seq, to_state, req.now, directory)
        if asking is not None:
            sent += _request_on_entry(conn, spec, asking, row, key, seq, values, req, directory)
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


def _transition(spec: WorkflowSpec, key: str, trigger: str, state: str) -> Transition:
    transition = spec.table.get((trigger, state))
    if transition is not None:
        return transition
    known = {t.trigger for t in spec.model.transitions}
    if trigger not in known:
        raise UnknownTrigger(key, trigger, sorted(known), suggest(trigger, known))
    raise TransitionNotAllowed(key, trigger, state, spec.allowed_from(state))


def _authorise(
    spec: WorkflowSpec, t: Transition, key: str, actor: str, agency: str, contacts: Sequence[Any]
) -> None:
    held = [c for c in contacts if c.email == actor]
    for name in t.roles:
        role = spec.model.roles[name]
        for r in held:
            if r.role in role.contact_roles and (role.scope is Scope.ANY or r.agency_id == agency):
                return
    raise RoleNotAllowed(key, t.trigger, actor, t.roles)


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
            raise MissingInput(key, t.trigger, need.value.replace("_", " "), _HOW[need])
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


def _apply_effects(t: Transition, key: str, req: FireRequest, row: Any) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    for effect in t.effects:
        if effect == "propose_due_date":
            if row.due is not None and req.due_date is not None and req.due_date <= row.due:
                raise BadInput(
                    key,
                    t.trigger,
                    f"the proposed due date {req.due_date} must be "
                    f"later than the current one, {row.due}",
                )
            changes["pending_due"] = req.due_date
        elif effect == "grant_extension":
            history_ = list(row.due_history) or ([row.due.isoformat()] if row.due else [])
            changes.update(
                due=row.pending_due,
                pending_due=None,
                due_history=[*history_, row.pending_due.isoformat()],
            )
        elif effect == "refuse_extension":
            changes["pending_due"] = None
    return changes


_GUARD_CHECKS = {
    "extension_pending": lambda row: row.pending_due is not None,
    "no_extension_pending": lambda row: row.pending_due is None,
}


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
    rows = [
        {
            "dedupe_key": f"event:{row.id}:{seq}:{n.template}:{email}",
            "item_id": row.id,
            "kind": "decision",
            "template": n.template,
            "recipient": email,
            "context": {
                "key": key,
                "trigger": t.trigger,
                "from_state": row.state,
                "to_state": to_state,
                "seq": seq,
            },
            "status": "pending",
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
        }
        for n in t.notify
        for email in sorted({e for role in n.to for e in recipients.get(role, ())})
    ]
    if rows:
        conn.execute(_INSERT_OUTBOX, rows)
    return len(rows)


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
    )
    return 1


def _is_seq_clash(exc: IntegrityError) -> bool:
    text = str(exc.orig)
    return "event.item_id, event.seq" in text or "event_item_id_seq_key" in text


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _iso(value: dt.date | None) -> str | None:
    return value.isoformat() if value else None
