"""Issuing an evidence request, and sending a live one again.

A request belongs to one item and one recipient, in the state the item was in when it
was asked. Issuing writes the request row and queues its email; ``issue`` also appends
an ``evidence_requested`` event. ``issue_in`` is the low-level part ``engine.fire`` calls
when a state has ``request_on_entry``, so this module imports nothing from ``engine.fire``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from engine import contacts, deadlines, history, permissions
from engine.calendar import Calendar
from engine.contacts import Directory
from engine.errors import Refusal, RequestRefused
from engine.items import item_key, resolve_item
from engine.permissions import Permission
from engine.requests import mail, records, tokens
from engine.services import Services
from engine.spec import WorkflowSpec, answer_transition
from engine.store.tables import Contact, RequestStatus

_contact = Contact.__table__  # type: ignore[attr-defined]

DEFAULT_EXPIRY = dt.timedelta(days=28)


@dataclass(frozen=True, kw_only=True)
class Issued:
    public_id: str
    item_key: str
    recipient: str
    expires_at: dt.datetime
    issues: int


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
        RequestRefused: the state asks for no evidence (``NOT_ASKED_HERE``), the actor may
            not ask (``NOT_ISSUER``), nobody may answer (``NOBODY_TO_ASK``), or ``to`` is
            not a contact of the agency who may answer (``NOT_ANSWERER``, ``FAILING``).
    """
    with services.db.write() as conn:
        row = resolve_item(conn, item)
        key = item_key(row.review_id, row.ref, None)
        spec = services.specs.get(conn, row.workflow_version_id)
        _check_issuer(conn, key, row.agency_id, actor)
        recipient = _recipient(conn, spec, row, key, to)
        issued = issue_in(
            conn, spec, row, key, recipient=recipient, actor=actor, now=now,
            note=note, expires_in=expires_in, entered_seq=row.entered_seq,
            calendar=services.calendar,
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
    calendar: Calendar | None = None,
) -> Issued:
    """Write the request and its email inside the caller's transaction (no history event).

    ``row`` is an item as ``engine.items`` reads it; ``state`` and ``due`` default to the
    row's; fire() passes the ones it is moving to (the state then entered at ``now``). The
    email asks for evidence by the state's own deadline (``engine.deadlines``, in
    ``calendar``'s zone: the board's), or by ``due`` when the state has none of its own.

    Raises:
        RequestRefused: the state asks for no evidence (``NOT_ASKED_HERE``).
    """
    given, state = state, state or row.state
    st = spec.states[state]
    if "request" not in st.templates or answer_transition(spec.model, state) is None:
        raise _not_asked_here(spec, key, state)
    parts = (row.agreed_action, st.expects, note)
    asked = "\n\n".join(p.strip() for p in parts if p and p.strip())
    public_id = tokens.new_public_id()
    expires_at = now + expires_in
    # the request's own deadline: the email, the reply page and a reissue all say this date
    deadline = _deadline(
        st, due or row.due, row.entered_at if given is None else now, entered_seq,
        calendar or Calendar(),
    )  # fmt: skip
    request_id = records.insert(
        conn,
        {
            "public_id": public_id,
            "item_id": row.id,
            "agency_id": row.agency_id,
            "recipient": recipient,
            "asked": asked or "Evidence that the agreed action is in place.",
            "due": deadline,
            "state": state,
            "entered_seq": entered_seq,
            "issued_at": now,
            "issued_by": actor,
            "expires_at": expires_at,
        },
    )
    mail.queue_request(
        conn, st.templates["request"], item_id=row.id, request_id=request_id,
        public_id=public_id, issue_no=1, recipient=recipient, now=now, due=deadline,
    )  # fmt: skip
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
        RequestNotFound; RequestRefused: the actor may not ask (``NOT_ISSUER``), or the
        request was answered or withdrawn or the item moved on (``CLOSED``).
    """
    with services.db.write() as conn:
        row = records.load(conn, public_id)
        spec = services.specs.get(conn, row.workflow_version_id)
        key = item_key(row.review_id, row.ref, None)
        _check_issuer(conn, key, row.agency_id, actor)
        if row.status != RequestStatus.OPEN or row.entered_seq != row.item_entered_seq:
            raise RequestRefused(
                Refusal.CLOSED,
                f"request {public_id} for {key} is no longer open ({records.why_closed(row)})",
                key,
            )
        issues = row.issues + 1
        expires_at = now + expires_in
        tokens.revoke(conn, row.id, now)
        records.extend(conn, row.id, issues=issues, expires_at=expires_at)
        mail.queue_request(
            conn, spec.states[row.state].templates["request"], item_id=row.item_id,
            request_id=row.id, public_id=public_id, issue_no=issues, recipient=row.recipient,
            now=now, due=row.due,  # the request's deadline, as the first email gave it
        )  # fmt: skip
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


def _deadline(
    st: Any, due: dt.date | None, entered_at: dt.datetime, entered_seq: int, calendar: Calendar
) -> dt.date | None:
    """The last local day of state ``st``'s deadline for an entry at ``entered_at``, or ``due``."""
    plan = deadlines.plan(
        st, item_due=due, entered_at=entered_at, entered_seq=entered_seq, calendar=calendar
    )
    if plan is None:
        return due
    return calendar.local(plan.due_at - dt.timedelta(microseconds=1)).date()


def _not_asked_here(spec: WorkflowSpec, key: str, state: str) -> RequestRefused:
    asks = sorted(n for n, s in spec.states.items() if "request" in s.templates)
    return RequestRefused(
        Refusal.NOT_ASKED_HERE,
        f"{key} is {spec.states[state].label.lower()} ({state}); "
        f"evidence is requested only in {asks}",
        key,
    )


def _check_issuer(conn: sa.Connection, key: str, agency: str, actor: str) -> None:
    """Who may ask is the roles table's ``request_evidence`` (``engine.permissions``)."""
    if actor.startswith("system:"):
        return
    who = permissions.person(conn, actor)
    if who is not None and who.may(Permission.REQUEST_EVIDENCE, agency):
        return
    roles = ", ".join(r.value for r in permissions.who_may(Permission.REQUEST_EVIDENCE))
    raise RequestRefused(
        Refusal.NOT_ISSUER,
        f"{actor} may not request evidence on {key}: that needs one of the board's roles "
        f"({roles}) in the contacts file",
        key,
    )


def _recipient(conn: sa.Connection, spec: WorkflowSpec, row: Any, key: str, to: str | None) -> str:
    transition = answer_transition(spec.model, row.state)
    if transition is None:
        raise _not_asked_here(spec, key, row.state)
    directory = Directory.load(conn)
    may = sorted(
        {e for r in transition.roles for e in directory.workflow_role(spec, r, row.agency_id)}
    )
    if to is None:
        if not may:
            raise RequestRefused(
                Refusal.NOBODY_TO_ASK,
                f"{row.agency_id} has no contact who may answer for {key}; add a "
                "lead_officer to the contacts file and import it",
                key,
            )
        return may[0]
    email = to.strip().lower()
    contact_roles = {cr for r in transition.roles for cr in spec.model.roles[r].contact_roles}
    held = conn.execute(
        sa.select(
            _contact.c.email, _contact.c.failing, _contact.c.absent, _contact.c.deputy_email
        ).where(
            contacts.held_by(email),
            _contact.c.agency_id == row.agency_id,
            _contact.c.role.in_(sorted(contact_roles)),
        )
    ).all()
    if not held:
        raise RequestRefused(
            Refusal.NOT_ANSWERER,
            f"{email} is not a contact of {row.agency_id} who may answer for {key}; "
            f"contacts who may: {', '.join(may) or 'none (add one to the contacts file)'}",
            key,
        )
    if any(h.email != email for h in held):  # the deputy of an absent contact: ask them
        return email
    if all(h.failing for h in held):
        raise RequestRefused(
            Refusal.FAILING,
            f"{email} is marked failing (mail to it bounced); fix the address in the contacts "
            f"file, or choose another: {', '.join(may) or 'none'}",
            key,
        )
    # a contact who is away is asked through their deputy, as the directory would
    away = sorted(h.deputy_email for h in held if h.absent and h.deputy_email and not h.failing)
    return away[0] if away else email
