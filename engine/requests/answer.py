"""Answering an evidence request, through the reply page or by email.

Answering checks the files by content, stores them, and in one transaction marks the
request answered, revokes its links and fires the state's answering transition (e.g.
``submit_evidence``) as the person answering, so every workflow rule still applies.
This module builds on ``engine.fire``; ``engine.fire`` builds on ``engine.requests.issue``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from engine import contacts
from engine.errors import Refusal, RequestRefused
from engine.evidence import EvidenceInput, StoredFile, store_bytes
from engine.fire import Fired, FireRequest, fire_in
from engine.items import item_key
from engine.requests import mail, records, tokens
from engine.services import Services
from engine.spec import answer_transition
from engine.uploads import UploadLimits, check_files


@dataclass(frozen=True, kw_only=True)
class Upload:
    """One file handed in through the page or attached to a reply."""

    filename: str
    data: bytes


@dataclass(frozen=True, kw_only=True)
class ReplyTarget:
    """The request a reply address names, as the inbound listener checks it."""

    request_id: int
    agency_id: str
    sender_known: bool  # the sender is a contact of the request's agency (or a deputy of one)


def reply_target(services: Services, public_id: str, sender: str) -> ReplyTarget | None:
    """The request ``public_id`` and whether ``sender`` may answer for its agency.

    A contact of the agency may, and so may the deputy of one marked absent.

    None when there is no such request.
    """
    with services.db.engine.connect() as conn:
        req = records.find(conn, public_id)
        if req is None:
            return None
        known = contacts.answers_for(conn, sender, str(req.agency_id))
    return ReplyTarget(request_id=int(req.id), agency_id=str(req.agency_id), sender_known=known)


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
        UploadRefused; RequestRefused: nothing to submit (``EMPTY``), the request closed
        since the link was checked (``CLOSED``) or the workflow changed under it
        (``WORKFLOW_CHANGED``); and the workflow's refusals.
    """
    with services.db.engine.connect() as conn:
        row = tokens.by_token(conn, token, now)
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
    expected_version: int | None = None,
) -> Fired:
    """Record an answer and fire the state's answering transition, in one transaction.

    ``expected_version``: the item's version the person saw; ConcurrentUpdate when it moved.
    With ``conn``, runs inside the caller's write transaction (the inbound listener
    records the message in the same one, so a redelivered message adds nothing).

    Raises:
        RequestNotFound; RequestRefused: nothing submitted (``EMPTY``), no longer live
        (``CLOSED``), the state no longer takes evidence (``WORKFLOW_CHANGED``);
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
        return _answer_in(conn, services, public_id, actor, stored, now, channel, expected_version)
    with services.db.write() as own:
        return _answer_in(own, services, public_id, actor, stored, now, channel, expected_version)


def _answer_in(
    conn: sa.Connection,
    services: Services,
    public_id: str,
    actor: str,
    stored: list[tuple[EvidenceInput, Any]],
    now: dt.datetime,
    channel: str,
    expected_version: int | None = None,
) -> Fired:
    row = records.load(conn, public_id, for_update=not services.db.is_sqlite)
    key = item_key(row.review_id, row.ref, None)
    if not records.is_live(row, now):
        raise RequestRefused(
            Refusal.CLOSED,
            f"request {public_id} for {key} can no longer be answered "
            f"({records.why_closed(row, now)})",
            key,
        )
    spec = services.specs.get(conn, row.workflow_version_id)
    transition = answer_transition(spec.model, row.state)
    if transition is None:  # the workflow changed under the request
        raise RequestRefused(
            Refusal.WORKFLOW_CHANGED,
            f"{key}: the workflow no longer takes evidence in {row.state!r}",
            key,
        )
    records.mark_answered(conn, row.id, now=now, channel=channel)
    tokens.revoke(conn, row.id, now)
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
            expected_version=expected_version,
        ),
        stored,
        services.calendar,
    )
    mail.queue_receipt(
        conn, item_id=row.item_id, public_id=public_id, actor=actor.strip().lower(),
        stored=stored, to_state=fired.to_state, now=now,
    )  # fmt: skip
    return fired
