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

from engine import contacts, history
from engine.errors import Refusal, RequestNotFound, RequestRefused
from engine.evidence import EvidenceInput, StoredFile, store_bytes
from engine.fire import Fired, FireRequest, evidence_record, fire_in, insert_evidence
from engine.items import item_key, resolve_item
from engine.requests import mail, records, replies, tokens
from engine.requests.replies import Standing
from engine.services import Services
from engine.spec import answer_transition
from engine.store.tables import Item, RequestKind
from engine.uploads import UploadLimits, check_files

_item = Item.__table__  # type: ignore[attr-defined]
FOLLOW_UPS = dt.timedelta(days=28)  # how long after an answer replies add to it


@dataclass(frozen=True, kw_only=True)
class Upload:
    """One file handed in through the page or attached to a reply."""

    filename: str
    data: bytes


@dataclass(frozen=True, kw_only=True)
class ReplyTarget:
    """The reply address a message was sent to, and what its sender is to it."""

    request_id: int
    public_id: str
    kind: RequestKind
    item_id: int | None  # None: a digest's address, until a reply names its item
    agency_id: str | None
    standing: Standing


def reply_target(services: Services, public_id: str, sender: str) -> ReplyTarget | None:
    """The reply address ``public_id`` and what ``sender`` is to it (``replies.standing``).

    None when there is no such address.
    """
    with services.db.engine.connect() as conn:
        row = records.find(conn, public_id)
        if row is None:
            return None
        standing = replies.standing(conn, row, sender)
    return ReplyTarget(
        request_id=int(row.id),
        public_id=public_id,
        kind=RequestKind(row.kind),
        item_id=row.item_id,
        agency_id=row.agency_id,
        standing=standing,
    )


def digest_target(
    services: Services, target: ReplyTarget, sender: str, text: str, now: dt.datetime
) -> ReplyTarget | list[int]:
    """The reply address for the one item a reply to a digest names (by its ref in ``text``).

    The address is the item's, bound to the digest's recipient. Returns the items named
    instead when there is not exactly one.
    """
    with services.db.engine.connect() as conn:
        digest = records.find(conn, target.public_id)
        named = replies.named_items(conn, sender, text)
    if digest is None or len(named) != 1:
        return named
    public_id = replies.addresses(services, [(named[0], digest.recipient)], now)[
        (named[0], digest.recipient)
    ]
    found = reply_target(services, public_id, sender)
    return found if found is not None else named


def assign_digest(services: Services, public_id: str, item: str, now: dt.datetime) -> str:
    """The reply address, bound to the digest's recipient, of ``item`` (a staff's choice).

    Raises:
        RequestNotFound; RecommendationNotFound; RequestRefused (``NO_ITEM``): ``public_id``
        is not a digest's address, or the item is not one its recipient answers for.
    """
    with services.db.engine.connect() as conn:
        digest = records.find(conn, public_id)
        if digest is None:
            raise RequestNotFound(public_id)
        row = resolve_item(conn, item)
        key = item_key(row.review_id, row.ref, None)
        if digest.kind != RequestKind.DIGEST:
            raise RequestRefused(Refusal.NO_ITEM, f"{public_id} is not a digest's address", key)
        if row.agency_id not in contacts.agencies_of(conn, digest.recipient):
            raise RequestRefused(
                Refusal.NO_ITEM,
                f"{key} belongs to {row.agency_id}, which {digest.recipient} does not answer for",
                key,
            )
    pair = (int(row.id), str(digest.recipient))
    return replies.addresses(services, [pair], now)[pair]


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
    spec = services.specs.get(conn, row.workflow_version_id)
    transition = answer_transition(spec.model, row.state)
    live = records.is_live(row, now)
    if not (live and transition is not None) and records.takes_follow_up(conn, row, now):
        return _follow_up_in(conn, row, key, actor, stored, now, channel)
    if not live:
        raise RequestRefused(
            Refusal.CLOSED,
            f"request {public_id} for {key} can no longer be answered "
            f"({records.why_closed(row, now)})",
            key,
        )
    if transition is None:  # the workflow changed under the request, or it asks for none now
        if row.kind != RequestKind.REQUEST:
            raise RequestRefused(
                Refusal.CLOSED,
                f"{key} takes no evidence while {spec.states[row.state].label.lower()}",
                key,
            )
        raise RequestRefused(
            Refusal.WORKFLOW_CHANGED,
            f"{key}: the workflow no longer takes evidence in {row.state!r}",
            key,
        )
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
    records.mark_answered(
        conn, row.id, now=now, channel=channel, followup_seq=fired.seq,
        followups_until=now + FOLLOW_UPS,
    )  # fmt: skip
    mail.queue_receipt(
        conn, item_id=row.item_id, public_id=public_id, actor=actor.strip().lower(),
        stored=stored, to_state=fired.to_state, now=now,
    )  # fmt: skip
    return fired


def _follow_up_in(
    conn: sa.Connection,
    row: Any,
    key: str,
    actor: str,
    stored: list[tuple[EvidenceInput, Any]],
    now: dt.datetime,
    channel: str,
) -> Fired:
    """More evidence for what was already sent: kept on the item, the item does not move.

    Raises:
        RequestRefused: the actor does not answer for the item's agency (``NOT_ANSWERER``).
    """
    actor = actor.strip().lower()
    if not contacts.answers_for(conn, actor, row.agency_id):
        raise RequestRefused(
            Refusal.NOT_ANSWERER, f"{actor} does not answer for {row.agency_id} on {key}", key
        )
    ids = insert_evidence(
        conn, row.item_id, stored, actor=actor, now=now, channel=channel, request_id=row.id
    )
    digest = history.note(
        conn,
        item_id=row.item_id,
        at=now,
        actor=actor,
        trigger="evidence_added",
        data={
            "request_id": int(row.id),
            "channel": channel,
            "evidence": evidence_record(ids, stored),
        },
    )
    head = conn.execute(
        sa.select(_item.c.seq, _item.c.version).where(_item.c.id == row.item_id)
    ).one()
    mail.queue_receipt(
        conn, item_id=row.item_id, public_id=row.public_id, actor=actor, stored=stored,
        to_state=row.item_state, now=now, follow_up=head.seq,
    )  # fmt: skip
    return Fired(
        item_id=int(row.item_id), key=key, trigger="evidence_added", from_state=row.item_state,
        to_state=row.item_state, seq=int(head.seq), hash=digest, version=int(head.version),
        evidence_ids=tuple(ids),
    )  # fmt: skip
