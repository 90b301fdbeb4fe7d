"""Evidence requests: asking one agency contact for evidence, and taking the answer.

A request belongs to one item and one recipient, in the state the item was in when it
was asked. It is *live* while it is open, unexpired, and the item has not moved on
(the item's ``entered_seq`` is still the one the request was made in); nothing has to
be rewritten when the item moves, so revoking on a move costs the hot path nothing.

The link's token is minted when its email is composed (``mint_token``), so the raw
token exists only in that email; the store keeps its SHA-256. Answering (``answer``)
checks the files by content, stores them, and in one transaction marks the request
answered, revokes its links and fires the state's answering transition (e.g.
``submit_evidence``) as the person answering, so every workflow rule still applies.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from engine import history
from engine.errors import Refusal, RequestNotFound, RequestRefused
from engine.evidence import EvidenceInput, StoredFile, store_bytes
from engine.fire import Fired, FireRequest, fire_in
from engine.items import item_key, resolve_item
from engine.queries import title_of
from engine.recipients import Directory
from engine.replykeys import new_public_id, new_token, token_hash
from engine.services import Services
from engine.spec import Scope, WorkflowSpec, answer_transition
from engine.store.tables import (
    Agency,
    Contact,
    Event,
    Evidence,
    EvidenceRequest,
    Item,
    Outbox,
    Recommendation,
    RequestStatus,
    RequestToken,
    Review,
)
from engine.uploads import UploadLimits, check_files

_req = EvidenceRequest.__table__  # type: ignore[attr-defined]
_tok = RequestToken.__table__  # type: ignore[attr-defined]
_item = Item.__table__  # type: ignore[attr-defined]
_rec = Recommendation.__table__  # type: ignore[attr-defined]
_review = Review.__table__  # type: ignore[attr-defined]
_agency = Agency.__table__  # type: ignore[attr-defined]
_contact = Contact.__table__  # type: ignore[attr-defined]
_event = Event.__table__  # type: ignore[attr-defined]
_evidence = Evidence.__table__  # type: ignore[attr-defined]
_outbox = Outbox.__table__  # type: ignore[attr-defined]

DEFAULT_EXPIRY = dt.timedelta(days=28)
_INSERT_REQUEST = _req.insert().returning(_req.c.id)  # built once: fire() may call issue_in
_INSERT_OUTBOX = _outbox.insert()
# events whose reason the agency is shown on the reply page: the challenges it must answer
_CHALLENGES = ("challenge", "audit_not_confirmed", "refuse_extension")

_SELECT_REQUEST = (
    sa.select(
        _req,
        _item.c.state.label("item_state"),
        _item.c.entered_seq.label("item_entered_seq"),
        _item.c.workflow_version_id,
        _item.c.due.label("item_due"),
        _rec.c.ref,
        _rec.c.text,
        _rec.c.review_id,
        _review.c.title.label("review_title"),
        _review.c.board,
        _agency.c.name.label("agency_name"),
    )
    .join(_item, _item.c.id == _req.c.item_id)
    .join(_rec, _rec.c.id == _item.c.recommendation_id)
    .join(_review, _review.c.id == _rec.c.review_id)
    .join(_agency, _agency.c.id == _req.c.agency_id)
)


@dataclass(frozen=True, kw_only=True)
class Issued:
    public_id: str
    item_key: str
    recipient: str
    expires_at: dt.datetime
    issues: int


@dataclass(frozen=True, kw_only=True)
class Challenge:
    at: dt.datetime
    label: str
    reason: str


@dataclass(frozen=True, kw_only=True)
class Submission:
    at: dt.datetime
    what: str  # a file's cleaned name, or "Written statement"


@dataclass(frozen=True, kw_only=True)
class RequestView:
    """What the reply page shows: this request only, never another item's details."""

    id: int
    public_id: str
    item_id: int
    item_key: str
    ref: str
    title: str
    review_title: str
    board: str
    agency_name: str
    recipient: str
    asked: str
    due: dt.date | None
    state_label: str
    expires_at: dt.datetime
    challenges: tuple[Challenge, ...]
    submissions: tuple[Submission, ...]


@dataclass(frozen=True, kw_only=True)
class Upload:
    """One file handed in through the page or attached to a reply."""

    filename: str
    data: bytes


def is_live(row: Any, now: dt.datetime) -> bool:
    """Open, unexpired, and the item still in the state entry it was asked in."""
    return bool(
        row.status == RequestStatus.OPEN
        and row.expires_at > now
        and row.entered_seq == row.item_entered_seq
    )


def issue(
    services: Services,
    item: int | str,
    *,
    actor: str,
    now: dt.datetime,
    to: str | None = None,
    note: str | None = None,
    expires_in: dt.timedelta = DEFAULT_EXPIRY,
) -> Issued:
    """Ask the item's agency for evidence: a request row, its email, and a history event.

    Raises:
        RecommendationNotFound: no such item.
        RequestRefused: the state asks for no evidence, the actor may not ask, or the
            recipient is not a contact of the agency who may answer.
    """
    with services.db.write() as conn:
        row = resolve_item(conn, item)
        key = item_key(row.review_id, row.ref, None)
        spec = services.specs.get(conn, row.workflow_version_id)
        _check_issuer(conn, spec, key, actor)
        recipient = _recipient(conn, spec, row, key, to)
        issued = issue_in(
            conn, spec, row, key, recipient=recipient, actor=actor, now=now,
            note=note, expires_in=expires_in, entered_seq=row.entered_seq,
        )  # fmt: skip
        history.note(
            conn,
            item_id=row.id,
            at=now,
            actor=actor,
            trigger="evidence_requested",
            data={"request": issued.public_id, "recipient": recipient},
        )
        return issued


def issue_in(
    conn: sa.Connection,
    spec: WorkflowSpec,
    row: Any,
    key: str,
    *,
    recipient: str,
    actor: str,
    now: dt.datetime,
    entered_seq: int,
    state: str | None = None,
    due: dt.date | None = None,
    note: str | None = None,
    expires_in: dt.timedelta = DEFAULT_EXPIRY,
) -> Issued:
    """Write the request and its email inside the caller's transaction (no history event).

    ``state`` and ``due`` default to the row's; fire() passes the ones it is moving to.
    """
    state = state or row.state
    st = spec.states[state]
    if "request" not in st.templates or answer_transition(spec.model, state) is None:
        asks = sorted(n for n, s in spec.states.items() if "request" in s.templates)
        raise RequestRefused(
            Refusal.NOT_ASKED_HERE,
            f"{key} is {st.label.lower()} ({state}); evidence is requested only in {asks}",
        )
    parts = (row.agreed_action, st.expects, note)  # row: engine.items' item read
    asked = "\n\n".join(p.strip() for p in parts if p and p.strip())
    public_id = new_public_id()
    expires_at = now + expires_in
    request_id = conn.execute(
        _INSERT_REQUEST,
        {
            "public_id": public_id,
            "item_id": row.id,
            "agency_id": row.agency_id,
            "recipient": recipient,
            "asked": asked or "Evidence that the agreed action is in place.",
            "due": due or row.due,
            "state": state,
            "entered_seq": entered_seq,
            "issued_at": now,
            "issued_by": actor,
            "expires_at": expires_at,
            "issues": 1,
            "status": RequestStatus.OPEN.value,
        },
    ).scalar_one()
    _queue_email(conn, st.templates["request"], row.id, request_id, public_id, 1, recipient, now)
    return Issued(
        public_id=public_id, item_key=key, recipient=recipient, expires_at=expires_at, issues=1
    )


def reissue(
    services: Services,
    public_id: str,
    *,
    actor: str,
    now: dt.datetime,
    expires_in: dt.timedelta = DEFAULT_EXPIRY,
) -> Issued:
    """Send a fresh link for a live request: earlier links stop working, the expiry restarts.

    Raises:
        RequestNotFound, RequestRefused (answered, or the item moved on).
    """
    with services.db.write() as conn:
        row = _load(conn, public_id)
        spec = services.specs.get(conn, row.workflow_version_id)
        key = item_key(row.review_id, row.ref, None)
        _check_issuer(conn, spec, key, actor)
        if row.status != RequestStatus.OPEN or row.entered_seq != row.item_entered_seq:
            raise RequestRefused(
                Refusal.CLOSED,
                f"request {public_id} for {key} is no longer open ({_why_closed(row)}); "
                f"issue a new one with `signoff request {key}`",
            )
        issues = row.issues + 1
        expires_at = now + expires_in
        conn.execute(
            _tok.update()
            .where(_tok.c.request_id == row.id, _tok.c.revoked_at.is_(None))
            .values(revoked_at=now)
        )
        conn.execute(
            _req.update().where(_req.c.id == row.id).values(issues=issues, expires_at=expires_at)
        )
        template = spec.states[row.state].templates["request"]
        _queue_email(conn, template, row.item_id, row.id, public_id, issues, row.recipient, now)
        history.note(
            conn,
            item_id=row.item_id,
            at=now,
            actor=actor,
            trigger="evidence_request_reissued",
            data={"request": public_id, "recipient": row.recipient, "issue": issues},
        )
        return Issued(
            public_id=public_id,
            item_key=key,
            recipient=row.recipient,
            expires_at=expires_at,
            issues=issues,
        )


def mint_token(
    services: Services, public_id: str, outbox_id: int | None, now: dt.datetime
) -> str | None:
    """A new link token for a live request (None when it is no longer live)."""
    with services.db.write() as conn:
        row = _load(conn, public_id)
        if not is_live(row, now):
            return None
        token = new_token()
        conn.execute(
            _tok.insert(),
            {
                "request_id": row.id,
                "token_hash": token_hash(token),
                "outbox_id": outbox_id,
                "created_at": now,
                "expires_at": row.expires_at,
            },
        )
        return token


def asked(services: Services, public_id: str) -> str:
    """What a request asks for, as its email states it.

    Raises:
        RequestNotFound.
    """
    with services.db.engine.connect() as conn:
        text = conn.execute(
            sa.select(_req.c.asked).where(_req.c.public_id == public_id)
        ).scalar_one_or_none()
    if text is None:
        raise RequestNotFound(public_id)
    return str(text)


def view_by_token(services: Services, token: str, now: dt.datetime) -> RequestView | None:
    """The request a link opens, or None for a wrong, expired or revoked link (all alike)."""
    if not token or len(token) > 100:
        return None
    with services.db.engine.connect() as conn:
        row = _by_token(conn, token, now)
        return None if row is None else _view(conn, services, row)


def _by_token(conn: sa.Connection, token: str, now: dt.datetime) -> Any:
    row = conn.execute(
        _SELECT_REQUEST.add_columns(
            _tok.c.revoked_at.label("token_revoked_at"),
            _tok.c.expires_at.label("token_expires_at"),
        )
        .join(_tok, _tok.c.request_id == _req.c.id)
        .where(_tok.c.token_hash == token_hash(token))
    ).one_or_none()
    if row is None or row.token_revoked_at is not None or row.token_expires_at <= now:
        return None
    return row if is_live(row, now) else None


def view_by_public_id(services: Services, public_id: str) -> RequestView:
    """A request for staff and the inbound listener, live or not.

    Raises:
        RequestNotFound.
    """
    with services.db.engine.connect() as conn:
        return _view(conn, services, _load(conn, public_id))


def _view(conn: sa.Connection, services: Services, row: Any) -> RequestView:
    spec = services.specs.get(conn, row.workflow_version_id)
    challenges = tuple(
        Challenge(at=e.at, label=_label(spec, e.trigger), reason=e.reason)
        for e in conn.execute(
            sa.select(_event.c.at, _event.c.trigger, _event.c.reason)
            .where(
                _event.c.item_id == row.item_id,
                _event.c.trigger.in_(_CHALLENGES),
                _event.c.reason.is_not(None),
            )
            .order_by(_event.c.seq)
        )
    )
    submissions = tuple(
        Submission(at=e.submitted_at, what=e.filename or "Written statement")
        for e in conn.execute(
            sa.select(_evidence.c.submitted_at, _evidence.c.filename)
            .where(_evidence.c.item_id == row.item_id)
            .order_by(_evidence.c.id)
        )
    )
    return RequestView(
        id=row.id,
        public_id=row.public_id,
        item_id=row.item_id,
        item_key=item_key(row.review_id, row.ref, None),
        ref=row.ref,
        title=title_of(row.text),
        review_title=row.review_title,
        board=row.board,
        agency_name=row.agency_name,
        recipient=row.recipient,
        asked=row.asked,
        due=row.due,
        state_label=spec.states[row.state].label,
        expires_at=row.expires_at,
        challenges=challenges,
        submissions=submissions,
    )


def answer_by_token(
    services: Services,
    token: str,
    *,
    statement: str | None,
    uploads: Sequence[Upload],
    now: dt.datetime,
    limits: UploadLimits,
) -> Fired | None:
    """Answer through the reply page, as the request's recipient. None: the link is dead.

    Raises:
        UploadRefused, RequestRefused (nothing to submit), and the workflow's refusals.
    """
    with services.db.engine.connect() as conn:
        row = _by_token(conn, token, now)
    if row is None:
        return None
    return answer(
        services,
        row.public_id,
        actor=row.recipient,
        statement=statement,
        uploads=uploads,
        now=now,
        limits=limits,
        channel="web",
    )


def answer(
    services: Services,
    public_id: str,
    *,
    actor: str,
    statement: str | None,
    uploads: Sequence[Upload],
    now: dt.datetime,
    limits: UploadLimits,
    channel: str,
    conn: sa.Connection | None = None,
) -> Fired:
    """Record an answer and fire the state's answering transition, in one transaction.

    With ``conn``, runs inside the caller's write transaction (the inbound listener
    records the message in the same one, so a redelivered message adds nothing).

    Raises:
        RequestNotFound; RequestRefused (no longer live, or nothing submitted);
        UploadRefused (a file failed its content check: nothing is stored);
        RoleNotAllowed (the person may not answer for this agency) and other FireErrors.
    """
    statement = (statement or "").strip() or None
    if statement is None and not uploads:
        raise RequestRefused(
            Refusal.EMPTY, "nothing was submitted: write a statement or attach at least one file"
        )
    accepted = check_files([(u.filename, u.data) for u in uploads], limits)
    stored: list[tuple[EvidenceInput, StoredFile | None]] = [
        (
            EvidenceInput(content_type=a.content_type),
            store_bytes(services.data_dir, u.data, a.filename),
        )
        for u, a in zip(uploads, accepted, strict=True)
    ]
    if statement:
        stored.append((EvidenceInput(statement=statement), None))
    if conn is not None:
        return _answer_in(conn, services, public_id, actor, stored, now, channel)
    with services.db.write() as own:
        return _answer_in(own, services, public_id, actor, stored, now, channel)


def _answer_in(
    conn: sa.Connection,
    services: Services,
    public_id: str,
    actor: str,
    stored: list[tuple[EvidenceInput, Any]],
    now: dt.datetime,
    channel: str,
) -> Fired:
    row = _load(conn, public_id, for_update=not services.db.is_sqlite)
    key = item_key(row.review_id, row.ref, None)
    if not is_live(row, now):
        raise RequestRefused(
            Refusal.CLOSED,
            f"request {public_id} for {key} can no longer be answered ({_why_closed(row, now)})",
        )
    spec = services.specs.get(conn, row.workflow_version_id)
    transition = answer_transition(spec.model, row.state)
    if transition is None:  # the workflow changed under the request
        raise RequestRefused(
            Refusal.WORKFLOW_CHANGED,
            f"{key}: the workflow no longer takes evidence in {row.state!r}",
        )
    conn.execute(
        _req.update()
        .where(_req.c.id == row.id)
        .values(status=RequestStatus.ANSWERED.value, closed_at=now, closed_reason=channel)
    )
    conn.execute(
        _tok.update()
        .where(_tok.c.request_id == row.id, _tok.c.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    fired = fire_in(
        conn,
        services.specs,
        FireRequest(
            item=int(row.item_id),
            trigger=transition.trigger,
            actor=actor.strip().lower(),
            now=now,
            evidence=[e for e, _ in stored],
            channel=channel,
            request_id=int(row.id),
        ),
        stored,
        services.calendar,
    )
    _queue_receipt(conn, row, public_id, actor.strip().lower(), stored, fired.to_state, now)
    return fired


def _queue_receipt(
    conn: sa.Connection,
    row: Any,
    public_id: str,
    actor: str,
    stored: list[tuple[EvidenceInput, Any]],
    to_state: str,
    now: dt.datetime,
) -> None:
    """Tell the person who answered that it arrived: counts only, never file names."""
    files = sum(1 for _, f in stored if f is not None)
    received = [f"{files} file{'s' if files != 1 else ''}"] if files else []
    if any(f is None for _, f in stored):
        received.append("a written statement")
    context = {"request": public_id, "received": received, "to_state": to_state}
    _queue(conn, f"receipt:{public_id}", row.item_id, "receipt", "receipt", actor, context, now)


def _load(conn: sa.Connection, public_id: str, for_update: bool = False) -> Any:
    query = _SELECT_REQUEST.where(_req.c.public_id == public_id.strip().lower())
    if for_update:
        query = query.with_for_update(of=_req)
    row = conn.execute(query).one_or_none()
    if row is None:
        raise RequestNotFound(public_id)
    return row


def _why_closed(row: Any, now: dt.datetime | None = None) -> str:
    if row.status == RequestStatus.ANSWERED:
        return f"answered on {row.closed_at:%d %B %Y}"
    if row.status == RequestStatus.REVOKED:
        return f"withdrawn: {row.closed_reason}"
    if row.entered_seq != row.item_entered_seq:
        return f"the item has moved on to {row.item_state!r}"
    if now is not None and row.expires_at <= now:
        return f"it expired on {row.expires_at:%d %B %Y}"
    return "closed"


def _check_issuer(conn: sa.Connection, spec: WorkflowSpec, key: str, actor: str) -> None:
    """Only the board's staff roles (any role not scoped to an agency) may ask."""
    board_roles = {
        cr for r in spec.model.roles.values() if r.scope is Scope.ANY for cr in r.contact_roles
    }
    held = set(
        conn.execute(
            sa.select(_contact.c.role).where(_contact.c.email == actor.strip().lower())
        ).scalars()
    )
    if actor.startswith("system:") or held & board_roles:
        return
    raise RequestRefused(
        Refusal.NOT_ISSUER,
        f"{actor} may not request evidence on {key}: that needs one of the board's roles "
        f"({', '.join(sorted(board_roles))}) in the contacts file",
    )


def _recipient(conn: sa.Connection, spec: WorkflowSpec, row: Any, key: str, to: str | None) -> str:
    transition = answer_transition(spec.model, row.state)
    if transition is None:
        asks = sorted(n for n, s in spec.states.items() if "request" in s.templates)
        raise RequestRefused(
            Refusal.NOT_ASKED_HERE,
            f"{key} is {spec.states[row.state].label.lower()} ({row.state}); "
            f"evidence is requested only in {asks}",
        )
    directory = Directory.load(conn)
    may = sorted(
        {e for r in transition.roles for e in directory.workflow_role(spec, r, row.agency_id)}
    )
    if to is None:
        if not may:
            raise RequestRefused(
                Refusal.NOBODY_TO_ASK,
                f"{row.agency_id} has no contact who may answer for {key}; add a "
                "lead_officer to the contacts file and import it, or give --to EMAIL",
            )
        return may[0]
    email = to.strip().lower()
    contact_roles = {cr for r in transition.roles for cr in spec.model.roles[r].contact_roles}
    held = conn.execute(
        sa.select(_contact.c.failing).where(
            _contact.c.email == email,
            _contact.c.agency_id == row.agency_id,
            _contact.c.role.in_(sorted(contact_roles)),
        )
    ).all()
    if not held:
        raise RequestRefused(
            Refusal.NOT_ANSWERER,
            f"{email} is not a contact of {row.agency_id} who may answer for {key}; "
            f"contacts who may: {', '.join(may) or 'none (add one to the contacts file)'}",
        )
    if all(h.failing for h in held):
        raise RequestRefused(
            Refusal.FAILING,
            f"{email} is marked failing (mail to it bounced); fix the address in the contacts "
            f"file, or choose another: {', '.join(may) or 'none'}",
        )
    return email


def _queue_email(
    conn: sa.Connection,
    template: str,
    item_id: int,
    request_id: int,
    public_id: str,
    issue_no: int,
    recipient: str,
    now: dt.datetime,
) -> None:
    context = {"request": public_id, "request_id": request_id, "issue": issue_no}
    key = f"request:{public_id}:{issue_no}"
    _queue(conn, key, item_id, "request", template, recipient, context, now)


def _queue(
    conn: sa.Connection,
    dedupe_key: str,
    item_id: int,
    kind: str,
    template: str,
    recipient: str,
    context: dict[str, Any],
    now: dt.datetime,
) -> None:
    """One email into the outbox, sent by the dispatcher like every other."""
    conn.execute(
        _INSERT_OUTBOX,
        {
            "dedupe_key": dedupe_key,
            "item_id": item_id,
            "kind": kind,
            "template": template,
            "recipient": recipient,
            "context": context,
            "status": "pending",
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
        },
    )


def _label(spec: WorkflowSpec, trigger: str) -> str:
    for t in spec.model.transitions:
        if t.trigger == trigger:
            return t.label or trigger.replace("_", " ")
    return trigger.replace("_", " ")
