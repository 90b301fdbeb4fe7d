"""Read views for people and for ``--json``: lists, one recommendation with its history.

The JSON shapes here are a public interface (README: "JSON output"). Fields are only
ever added; ``format`` changes if one is ever removed or redefined.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from engine.items import item_key, resolve_item, title_of
from engine.store import core

if TYPE_CHECKING:
    from engine.spec import WorkflowSpec
    from engine.versions import SpecCache

FORMAT = 1
# Core tables: ``signoff list`` runs this module without loading SQLModel and pydantic
_item = core.item
_rec = core.recommendation
_review = core.review
_event = core.event
_evidence = core.evidence
_wv = core.workflow_version
_req = core.evidence_request
_inbound = core.inbound_message
# engine.store.tables.InboundStatus.QUARANTINED, without loading the models for its value
_QUARANTINED = ("quarantined", "held")  # ... and HELD: a member of staff decides
_REQUEST = "request"  # engine.store.tables.RequestKind.REQUEST


def _multi(conn: sa.Connection, rec_ids: Sequence[int]) -> set[int]:
    counts = conn.execute(
        sa.select(_item.c.recommendation_id)
        .where(_item.c.recommendation_id.in_(rec_ids))
        .group_by(_item.c.recommendation_id)
        .having(sa.func.count() > 1)
    ).scalars()
    return set(counts)


def list_items(
    conn: sa.Connection,
    specs: SpecCache,
    *,
    state: str | None = None,
    agency: str | None = None,
    review: str | None = None,
) -> list[dict[str, Any]]:
    """Items in review and ref order, optionally filtered."""
    query = (
        sa.select(
            _item,
            _rec.c.review_id,
            _rec.c.ref,
            _rec.c.text,
            _rec.c.start_dates,
            _wv.c.name.label("workflow"),
            _wv.c.version.label("workflow_version"),
        )
        .join(_rec, _rec.c.id == _item.c.recommendation_id)
        .join(_wv, _wv.c.id == _item.c.workflow_version_id)
        .order_by(_rec.c.review_id, _rec.c.id, _item.c.agency_id)
    )
    if state:
        query = query.where(_item.c.state == state)
    if agency:
        query = query.where(_item.c.agency_id == agency)
    if review:
        query = query.where(_rec.c.review_id == review)
    rows = conn.execute(query).all()
    multi = _multi(conn, [r.recommendation_id for r in rows])
    out = []
    for r in rows:
        facts = specs.states(conn, r.workflow_version_id)[r.state]
        out.append(
            {
                "key": item_key(
                    r.review_id, r.ref, r.agency_id if r.recommendation_id in multi else None
                ),
                "review": r.review_id,
                "ref": r.ref,
                "agency": r.agency_id,
                "title": title_of(r.text),
                "state": r.state,
                "state_label": facts.label,
                "terminal": facts.terminal,
                "outcome": facts.outcome,
                "rag": r.rag,
                "due": r.due.isoformat() if r.due else None,
                "starts": min(r.start_dates) if r.start_dates else None,
                "pending_due": r.pending_due.isoformat() if r.pending_due else None,
                "workflow": r.workflow,
                "workflow_version": r.workflow_version,
                "version": r.version,
            }
        )
    return out


def _outcome(spec: WorkflowSpec, state: str) -> str | None:
    outcome = spec.states[state].outcome
    return outcome.value if outcome else None


def show(conn: sa.Connection, specs: SpecCache, key: str) -> dict[str, Any]:
    """One recommendation: its text, each agency's item with history, and the roll-up.

    ``REVIEW/REF`` shows every agency answering it; ``REVIEW/REF@AGENCY`` shows one.

    Raises:
        RecommendationNotFound: the key names nothing (with a close match).
    """
    review_id, _, rest = key.partition("/")
    ref, _, agency = rest.partition("@")
    rec = conn.execute(
        sa.select(_rec, _review.c.title.label("review_title"))
        .join(_review, _review.c.id == _rec.c.review_id)
        .where(_rec.c.review_id == review_id, _rec.c.ref == ref)
    ).one_or_none()
    if rec is None or agency:
        resolve_item(conn, key)  # raises the helpful not-found error, or finds one agency's item
    if rec is None:  # pragma: no cover - resolve_item raised
        raise AssertionError(key)
    query = (
        sa.select(_item, _wv.c.name.label("workflow"), _wv.c.version.label("wf_version"))
        .join(_wv, _wv.c.id == _item.c.workflow_version_id)
        .where(_item.c.recommendation_id == rec.id)
        .order_by(_item.c.agency_id)
    )
    if agency:
        query = query.where(_item.c.agency_id == agency)
    items = [_item_view(conn, specs, row) for row in conn.execute(query).all()]
    relative = conn.execute(
        sa.select(
            core.relative_due.c.wording,
            core.relative_due.c.after,
            core.anchor.c.name,
            core.anchor.c.date,
        )
        .join(core.anchor, core.anchor.c.id == core.relative_due.c.anchor_id)
        .where(core.relative_due.c.recommendation_id == rec.id)
    ).one_or_none()
    lead_contact = (rec.source or {}).get("lead_contact")
    return {
        "format": FORMAT,
        "key": item_key(review_id, ref, agency or None),
        "review": {"id": rec.review_id, "title": rec.review_title},
        "ref": rec.ref,
        "title": title_of(rec.text),
        "text": rec.text,
        "risk_if_not_actioned": rec.risk_if_not_actioned,
        "lead": rec.lead,
        "priority": rec.priority,
        "agreed_action": rec.agreed_action,
        "due_dates": rec.due_dates,
        "start_dates": rec.start_dates,
        # due a time after an anchor ("publication of this Review"): its date, once given
        "relative_due": {
            "wording": relative.wording,
            "after": relative.after,
            "anchor": relative.name,
            "anchor_date": relative.date.isoformat() if relative.date else None,
        }
        if relative
        else None,
        "lead_contact": lead_contact,  # the directory's contact the plan's lead officer is
        "themes": rec.themes,
        "note": rec.note,
        "rollup": rollup(items),
        "items": items,
    }


def _item_view(conn: sa.Connection, specs: SpecCache, row: Any) -> dict[str, Any]:
    spec = specs.get(conn, row.workflow_version_id)
    events = conn.execute(
        sa.select(_event).where(_event.c.item_id == row.id).order_by(_event.c.seq)
    ).all()
    evidence = conn.execute(
        sa.select(_evidence).where(_evidence.c.item_id == row.id).order_by(_evidence.c.id)
    ).all()
    return {
        "item_id": row.id,
        "agency": row.agency_id,
        "state": row.state,
        "state_label": spec.states[row.state].label,
        # the state was reached on an imported status signoff has not verified (no later move)
        "unverified": _unverified(events),
        "stage": spec.order(row.state),
        "terminal": spec.is_terminal(row.state),
        "outcome": _outcome(spec, row.state),
        "rag": row.rag,
        "due": row.due.isoformat() if row.due else None,
        "due_history": row.due_history,
        "pending_due": row.pending_due.isoformat() if row.pending_due else None,
        "workflow": row.workflow,
        "workflow_version": row.wf_version,
        "version": row.version,
        "seq": row.seq,
        "allowed": list(dict.fromkeys(spec.allowed_from(row.state))),
        "evidence": [
            {
                "id": e.id,
                "submitted_by": e.submitted_by,
                "submitted_at": e.submitted_at.isoformat(),
                "statement": e.statement,
                "filename": e.filename,
                "sha256": e.sha256,
                "size": e.size,
                "content_type": e.content_type,
                "channel": e.channel,
                "request_id": e.request_id,
                "public_id": e.public_id,
            }
            for e in evidence
        ],
        "requests": _requests(conn, row.id, row.entered_seq),
        "history": [
            {
                "seq": e.seq,
                "at": e.at.isoformat(),
                "actor": e.actor,
                "trigger": e.trigger,
                "from": e.from_state,
                "to": e.to_state,
                "reason": e.reason,
                "rag": e.rag,
                "data": e.data,
                "hash": e.hash,
            }
            for e in events
        ],
    }


def _unverified(events: Sequence[Any]) -> bool:
    """Whether the last event that moved the item was an imported, unverified status."""
    for e in reversed(events):
        if e.from_state != e.to_state:
            return (e.data or {}).get("verified") is False
    return False


def rollup(items: list[dict[str, Any]]) -> dict[str, Any]:
    """One status for a recommendation several agencies answer.

    While any item is open, the roll-up is the least advanced open state (the order
    states are declared in); when all are finished it is their outcome, or 'mixed'.
    """
    open_items = [i for i in items if not i["terminal"]]
    if open_items:
        least = min(open_items, key=lambda i: int(i["stage"]))
        return {
            "status": least["state"],
            "label": least["state_label"],
            "open": len(open_items),
            "of": len(items),
            "outcome": None,
        }
    outcomes = sorted({i["outcome"] for i in items})
    return {
        "status": "closed",
        "label": "All agencies finished",
        "open": 0,
        "of": len(items),
        "outcome": outcomes[0] if len(outcomes) == 1 else "mixed",
    }


def _requests(conn: sa.Connection, item_id: int, entered_seq: int) -> list[dict[str, Any]]:
    # the requests the board made, not the reply addresses of other emails (RequestKind)
    rows = conn.execute(
        sa.select(_req)
        .where(_req.c.item_id == item_id, _req.c.kind == _REQUEST)
        .order_by(_req.c.id)
    )
    return [
        {
            "id": r.id,
            "request": r.public_id,
            "recipient": r.recipient,
            "state": r.state,
            # an open request the item has moved on from can no longer be answered
            "status": "superseded"
            if r.status == "open" and r.entered_seq != entered_seq
            else r.status,
            "issued_at": r.issued_at.isoformat(),
            "issued_by": r.issued_by,
            "expires_at": r.expires_at.isoformat(),
            "issues": r.issues,
            "answered_via": r.closed_reason if r.status == "answered" else None,
        }
        for r in rows
    ]


def quarantine(conn: sa.Connection, include_all: bool = False) -> list[dict[str, Any]]:
    """Inbound messages refused or held for staff (newest first); ``include_all``: every one."""
    query = sa.select(_inbound).order_by(_inbound.c.id.desc())
    if not include_all:
        query = query.where(_inbound.c.status.in_(_QUARANTINED))
    return [
        {
            "id": m.id,
            "received_at": m.received_at.isoformat(),
            "status": m.status,
            "reason": m.reason,
            "sender": m.sender,
            "envelope_from": m.envelope_from,
            "recipient": m.recipient,
            "subject": m.subject,
            "size": m.size,
            "raw_sha256": m.raw_sha256,
            "request_id": m.request_id,
            "evidence_ids": list(m.evidence_ids),
        }
        for m in conn.execute(query)
    ]


def agency_names(conn: sa.Connection) -> dict[str, str]:
    """Every agency's name, by id."""
    agency = core.agency
    return {r.id: r.name for r in conn.execute(sa.select(agency.c.id, agency.c.name))}


def outbox(
    conn: sa.Connection, status: str | None = None, limit: int = 100, offset: int = 0
) -> list[dict[str, Any]]:
    """Outbox rows, oldest first: what was sent, is waiting or failed, and why (the JSON
    API's outbox). Never the email's context (it names items and people)."""
    table = core.outbox
    query = sa.select(table).order_by(table.c.id).limit(limit).offset(offset)
    if status:
        query = query.where(table.c.status == status)
    return [
        {
            "id": r.id,
            "kind": r.kind,
            "template": r.template,
            "to": r.recipient,
            "status": r.status,
            "attempts": r.attempts,
            "item_id": r.item_id,
            "error": r.last_error,
            "created_at": r.created_at,
            "next_attempt_at": r.next_attempt_at,
            "sent_at": r.sent_at,
        }
        for r in conn.execute(query)
    ]


def reviews(conn: sa.Connection, agencies: frozenset[str] | None) -> list[dict[str, Any]]:
    """Reviews with how many items each has among ``agencies`` (None: every agency); reviews
    with none of those are left out."""
    query = (
        sa.select(_review.c.id, _review.c.title, sa.func.count(_item.c.id).label("items"))
        .join(_rec, _rec.c.review_id == _review.c.id)
        .join(_item, _item.c.recommendation_id == _rec.c.id)
        .group_by(_review.c.id, _review.c.title)
        .order_by(_review.c.id)
    )
    if agencies is not None:
        query = query.where(_item.c.agency_id.in_(sorted(agencies)))
    return [{"id": r.id, "title": r.title, "items": r.items} for r in conn.execute(query)]
