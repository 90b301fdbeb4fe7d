"""Deciding an item from a page: what the person sees, whether they may, and the decision.

A decision page shows one of the workflow's triggers on one item, with what the transition
``requires`` (a reason, a meeting date, a RAG, a due date, evidence) and the evidence on file.
The page carries the item's version and the ids of that evidence; :func:`decide` passes them to
``engine.fire`` as ``expected_version`` and ``expected_evidence``, so a decision is recorded
only on the item as the person saw it, and otherwise refused with ``ItemChanged``, after which
:func:`changes_since` says what changed. When the person may not take the decision, the view
says why and who may instead (:class:`Refused`), from the same checks ``fire`` makes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from engine import timeline
from engine.contacts import CONTACT_COLUMNS
from engine.errors import NotPermitted, RoleNotAllowed
from engine.evidence import EvidenceInput, StoredFile, store_bytes
from engine.fire import Fired, FireRequest, authorise, fire, fire_stored
from engine.items import SELECT_ITEM, item_key
from engine.requests import records
from engine.requests.answer import Upload, answer
from engine.services import Services
from engine.spec import Requirement, Transition, WorkflowSpec, answer_transition
from engine.spec.rules import failed_guard
from engine.store import core
from engine.store.tables import Contact
from engine.timeline import Entry, Who
from engine.uploads import UploadLimits, check_files

_item, _rec, _agency = core.item, core.recommendation, core.agency
_evidence, _event = core.evidence, core.event
_contact = Contact.__table__  # type: ignore[attr-defined]  # the table CONTACT_COLUMNS name


@dataclass(frozen=True, kw_only=True)
class OnFile:
    """One piece of evidence on file, as the decision page shows it."""

    id: int
    public_id: str
    submitted_by: str
    submitted_at: dt.datetime
    statement: str | None
    filename: str | None
    size: int
    content_type: str | None
    sha256: str


@dataclass(frozen=True, kw_only=True)
class Refused:
    """Why the person may not take this decision now, and who may instead."""

    why: str
    instead: tuple[str, ...] = ()  # "Name <email>" of each person who may


@dataclass(frozen=True, kw_only=True)
class DecisionView:
    """One trigger on one item, as the person deciding sees it."""

    item_id: int
    key: str
    review_id: str
    ref: str
    agency_id: str
    agency: str
    text: str
    state: str
    state_label: str
    rag: str | None
    due: dt.date | None
    pending_due: dt.date | None
    version: int
    seq: int
    evidence: tuple[OnFile, ...]
    trigger: str
    label: str
    requires: tuple[Requirement, ...]
    moves: bool
    asks_agency: bool  # a challenge: the agency is emailed and asked for more
    refused: Refused | None


def load_item(conn: sa.Connection, review_id: str, ref: str, agency_id: str | None) -> Any:
    """The item row of ``review_id``/``ref`` (of ``agency_id`` when given), or None when there
    is none or, without an agency, several agencies answer the recommendation."""
    if not all(_plain(p) for p in (review_id, ref, agency_id or "")):
        return None  # no key has control characters (PostgreSQL refuses NUL in text)
    query = SELECT_ITEM.where(_rec.c.review_id == review_id, _rec.c.ref == ref)
    if agency_id:
        query = query.where(_item.c.agency_id == agency_id)
    rows = conn.execute(query.limit(2)).all()
    return rows[0] if len(rows) == 1 else None


def _plain(part: str) -> bool:
    return len(part) <= 200 and part.isprintable()


def view(
    services: Services, review_id: str, ref: str, agency_id: str | None, trigger: str, actor: str
) -> DecisionView | None:
    """What deciding ``trigger`` on the item looks like for ``actor``; None when there is no
    such item, or the workflow has no such trigger."""
    actor = actor.strip().lower()
    with services.db.engine.connect() as conn:
        row = load_item(conn, review_id, ref, agency_id)
        if row is None:
            return None
        spec = services.specs.get(conn, row.workflow_version_id)
        known = {t.trigger: t for t in spec.model.transitions}  # a dict: any string is safe
        if trigger not in known:
            return None
        t = spec.table.get((trigger, row.state), known[trigger])
        contacts = conn.execute(sa.select(*CONTACT_COLUMNS, _contact.c.name)).all()
        refused = why_not(spec, row, t, actor, contacts)
        full = conn.execute(
            sa.select(_rec.c.text, _agency.c.name)
            .select_from(_item.join(_rec, _rec.c.id == _item.c.recommendation_id))
            .join(_agency, _agency.c.id == _item.c.agency_id)
            .where(_item.c.id == row.id)
        ).one()
        evidence = evidence_on_file(conn, row.id)
    return DecisionView(
        item_id=row.id,
        key=item_key(row.review_id, row.ref, row.agency_id),
        review_id=row.review_id,
        ref=row.ref,
        agency_id=row.agency_id,
        agency=full.name,
        text=full.text,
        state=row.state,
        state_label=spec.states[row.state].label,
        rag=row.rag,
        due=row.due,
        pending_due=row.pending_due,
        version=row.version,
        seq=row.seq,
        evidence=evidence,
        trigger=trigger,
        label=label_of(t),
        requires=tuple(t.requires),
        moves=t.dest is not None,
        asks_agency=trigger in spec.challenge_triggers,
        refused=refused,
    )


def label_of(t: Transition) -> str:
    return t.label or t.trigger.replace("_", " ").capitalize()


def evidence_on_file(conn: sa.Connection, item_id: int) -> tuple[OnFile, ...]:
    """Every piece of evidence on the item, oldest first."""
    rows = conn.execute(
        sa.select(
            _evidence.c.id,
            _evidence.c.public_id,
            _evidence.c.submitted_by,
            _evidence.c.submitted_at,
            _evidence.c.statement,
            _evidence.c.filename,
            _evidence.c.size,
            _evidence.c.content_type,
            _evidence.c.sha256,
        )
        .where(_evidence.c.item_id == item_id)
        .order_by(_evidence.c.id)
    )
    return tuple(OnFile(**r._asdict()) for r in rows)


def why_not(
    spec: WorkflowSpec, row: Any, t: Transition, actor: str, contacts: Sequence[Any]
) -> Refused | None:
    """None when ``actor`` may fire ``t`` on ``row`` now (as far as who they are and the
    item's state go: what they type is checked when it fires); else why not, and who may.

    ``contacts``: every contact row (``CONTACT_COLUMNS`` and ``name``).
    """
    key = item_key(row.review_id, row.ref, row.agency_id)
    label = label_of(t).lower()
    if spec.table.get((t.trigger, row.state)) is not t:
        state = spec.states[row.state].label.lower()
        return Refused(why=f"This item is {state}: it cannot be given “{label}” now.")
    try:
        authorise(spec, t, key, actor, row.agency_id, contacts)
    except RoleNotAllowed:
        roles = " or ".join(spec.model.roles[r].label or r for r in t.roles)
        return Refused(
            why=f"Only the {roles} may {label} on this item.",
            instead=_who_may(spec, row, t, actor, contacts),
        )
    except NotPermitted:
        return Refused(why="You may not act on this agency's items.")
    for rule in spec.model.separation_of_duties:
        if rule.trigger != t.trigger:
            continue
        did = [e for e in rule.not_actor_of if actor in row.actors.get(e, ())]
        if did:
            what = rule.why or f"whoever did “{did[0].replace('_', ' ')}” cannot {label}"
            return Refused(
                why=f"You cannot {label} on this item: {what} (separation of duties).",
                instead=_who_may(spec, row, t, actor, contacts),
            )
    failed = failed_guard(t, row)
    if failed is not None:
        return Refused(
            why=f"This item cannot be given “{label}” now: it needs {failed.description}."
        )
    return None


def _who_may(
    spec: WorkflowSpec, row: Any, t: Transition, actor: str, contacts: Sequence[Any]
) -> tuple[str, ...]:
    """The people who may fire ``t`` on ``row`` instead of ``actor``."""
    barred = {a for e in spec.forbidden_prior.get(t.trigger, ()) for a in row.actors.get(e, ())}
    key = item_key(row.review_id, row.ref, row.agency_id)
    names: dict[str, str] = {}
    wanted = {cr for r in t.roles for cr in spec.model.roles[r].contact_roles}
    for c in contacts:
        if c.role not in wanted or c.email in barred or c.email == actor or c.absent:
            continue
        try:
            authorise(spec, t, key, c.email, row.agency_id, contacts)
        except (RoleNotAllowed, NotPermitted):
            continue
        names.setdefault(c.email, f"{c.name} <{c.email}>" if c.name else c.email)
    return tuple(sorted(names.values()))


def decide(
    services: Services,
    request: FireRequest,
    *,
    statement: str | None = None,
    uploads: Sequence[Upload] = (),
    limits: UploadLimits | None = None,
) -> Fired:
    """Fire ``request`` with the statement and files given on a page as its evidence.

    The files are checked by content (``engine.uploads``) and stored before the transaction;
    a refused file stores nothing. Evidence that answers the item's live request (the
    agency's, from the item page) goes through it (``engine.requests.answer``: the request is
    closed and a receipt sent, as from the reply page). ``request.expected_version`` and
    ``request.expected_evidence`` bind the decision to what the page showed.

    Raises:
        UploadRefused, and everything ``engine.fire.fire`` raises (ItemChanged when the item
        is no longer as the page showed it).
    """
    limits = limits or UploadLimits()
    live = _answers(services, request) if (statement or "").strip() or uploads else None
    if live is not None:
        return answer(
            services, live, actor=request.actor, statement=statement, uploads=uploads,
            now=request.now, limits=limits, channel=request.channel,
            expected_version=request.expected_version,
        )  # fmt: skip
    accepted = check_files([(u.filename, u.data) for u in uploads], limits) if uploads else []
    stored: list[tuple[EvidenceInput, StoredFile | None]] = [
        (
            EvidenceInput(content_type=a.content_type),
            store_bytes(services.data_dir, u.data, a.filename),
        )
        for u, a in zip(uploads, accepted, strict=True)
    ]
    statement = (statement or "").strip() or None
    if statement:
        stored.append((EvidenceInput(statement=statement), None))
    if not stored:
        return fire(services, request)
    return fire_stored(services, request, stored)


def _answers(services: Services, request: FireRequest) -> str | None:
    """The public id of the live request ``request`` answers (its trigger is the state's
    answering transition), or None."""
    if not isinstance(request.item, int):
        return None
    with services.db.engine.connect() as conn:
        row = conn.execute(
            sa.select(_item.c.state, _item.c.entered_seq, _item.c.workflow_version_id).where(
                _item.c.id == request.item
            )
        ).one_or_none()
        if row is None:
            return None
        spec = services.specs.get(conn, row.workflow_version_id)
        answering = answer_transition(spec.model, row.state)
        if answering is None or answering.trigger != request.trigger:
            return None
        live = records.live_for_item(conn, request.item, row.entered_seq, request.now)
    return None if live is None else str(live.public_id)


def changes_since(services: Services, item_id: int, seq: int) -> list[Entry]:
    """What was done to the item after event ``seq``, in words (``engine.timeline``): the
    workflow's transitions (decisions and evidence), not notes about the mail sent."""
    with services.db.engine.connect() as conn:
        wv = conn.execute(
            sa.select(_item.c.workflow_version_id).where(_item.c.id == item_id)
        ).scalar_one()
        spec = services.specs.get(conn, wv)
        rows = conn.execute(
            sa.select(_event)
            .where(_event.c.item_id == item_id, _event.c.seq > seq)
            .order_by(_event.c.seq)
        ).all()
        found: dict[str, tuple[str, set[str]]] = {}
        for c in conn.execute(sa.select(_contact.c.email, _contact.c.name, _contact.c.role)):
            found.setdefault(c.email, (c.name, set()))[1].add(c.role)
    people = {email: Who(name, frozenset(roles)) for email, (name, roles) in found.items()}
    triggers = {t.trigger for t in spec.model.transitions}
    return [
        timeline.describe(
            spec,
            {
                "seq": r.seq,
                "at": r.at.isoformat(),
                "trigger": r.trigger,
                "actor": r.actor,
                "from": r.from_state,
                "to": r.to_state,
                "rag": r.rag,
                "reason": r.reason,
                "data": r.data,
            },
            people,
            services.calendar.local,
        )  # fmt: skip
        for r in rows
        if r.trigger in triggers  # not notes about mail or retries
    ]
