"""The emails a request sends: the request itself (with its link) and the receipt.

Both go into the outbox and are sent by the dispatcher like every other email; the
link's token is minted only when the request email is composed.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa

from engine.evidence import EvidenceInput
from engine.store.tables import Outbox

_outbox = Outbox.__table__  # type: ignore[attr-defined]
_INSERT_OUTBOX = _outbox.insert()


def queue_request(
    conn: sa.Connection,
    template: str,
    *,
    item_id: int,
    request_id: int,
    public_id: str,
    issue_no: int,
    recipient: str,
    now: dt.datetime,
    due: dt.date | None = None,
) -> None:
    """Issue ``issue_no`` of a request's email (one per issue: a redelivery adds nothing).

    ``due`` is the date the email asks for the evidence by; without it the email says the
    item's due date.
    """
    context: dict[str, Any] = {"request": public_id, "request_id": request_id, "issue": issue_no}
    if due is not None:
        context["due"] = due.isoformat()
    key = f"request:{public_id}:{issue_no}"
    _queue(conn, key, item_id, "request", template, recipient, context, now)


def queue_receipt(
    conn: sa.Connection,
    *,
    item_id: int,
    public_id: str,
    actor: str,
    stored: list[tuple[EvidenceInput, Any]],
    to_state: str,
    now: dt.datetime,
    follow_up: int | None = None,
) -> None:
    """Tell the person who answered that it arrived: counts only, never file names.

    ``follow_up``: the seq of the event that added more to an answer (one receipt each).
    """
    files = sum(1 for _, f in stored if f is not None)
    received = [f"{files} file{'s' if files != 1 else ''}"] if files else []
    if any(f is None for _, f in stored):
        received.append("a written statement")
    context = {"request": public_id, "received": received, "to_state": to_state}
    key = f"receipt:{public_id}" + (f":{follow_up}" if follow_up is not None else "")
    _queue(conn, key, item_id, "receipt", "receipt", actor, context, now)


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
