"""The reply address of every email that invites a reply, and what a reply to one is for.

A request's email carries its own request's address. Every other email that invites a
reply (a reminder, chase, escalation, decision or receipt) carries an address bound to its
item and its recipient, and a digest one bound to its recipient alone: each is an
``evidence_request`` row of its ``RequestKind``, with a public id, so every reply address is
``reply+<public_id>.<tag>@<reply domain>`` (``engine.replykeys``) and ``records.find``
recognises them all. An address is made when its email is composed (``addresses``), and an
unexpired one for the same item, recipient and state entry is used again, so a week of
reminders shares one.

Who may answer through an address (``standing``): its addressee, or the deputy standing in
for them, when they answer for the item's agency. A colleague at the agency is held for a
member of staff to confirm, and so is the addressee of a reminder about a decision or an
audit (the panel, an auditor), who answers for no agency; anyone else is refused. A reply
to a digest names its item by its ref (``named_items``).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from enum import StrEnum
from typing import Any

import sqlalchemy as sa

from engine import contacts
from engine.requests import records, tokens
from engine.services import Services
from engine.store.tables import EvidenceRequest, Item, Recommendation, RequestKind, RequestStatus

_req = EvidenceRequest.__table__  # type: ignore[attr-defined]
_item = Item.__table__  # type: ignore[attr-defined]
_rec = Recommendation.__table__  # type: ignore[attr-defined]

ISSUER = "system:mail"
EXPIRY = dt.timedelta(days=28)
MIN_LEFT = dt.timedelta(days=7)  # an address used again has at least this long to run


class Standing(StrEnum):
    """Who the sender of a reply is, to the address it was sent to."""

    ADDRESSEE = "addressee"  # the address's recipient, or their deputy, answering for the item
    COLLEAGUE = "colleague"  # a contact who is not the addressee: staff confirm
    NOT_AGENCY = "not_agency"  # the addressee, but not for the agency (the panel): staff read it
    OUTSIDER = "outsider"  # may not answer for the item at all


def addresses(
    services: Services, wanted: Iterable[tuple[int | None, str]], now: dt.datetime
) -> dict[tuple[int | None, str], str]:
    """The public id of the reply address for each (item, recipient); item None: a digest.

    Uses an open, unexpired address made for the same item, recipient and state entry (with
    at least ``MIN_LEFT`` to run), else makes one that runs for ``EXPIRY``. One transaction.
    An item that does not exist gets no address.
    """
    pairs = {(item, recipient.strip().lower()) for item, recipient in wanted}
    if not pairs:
        return {}
    with services.db.write() as conn:
        return _addresses_in(conn, pairs, now)


def _addresses_in(
    conn: sa.Connection, pairs: set[tuple[int | None, str]], now: dt.datetime
) -> dict[tuple[int | None, str], str]:
    item_ids = sorted({i for i, _ in pairs if i is not None})
    items = {
        r.id: r
        for r in conn.execute(
            sa.select(_item.c.id, _item.c.agency_id, _item.c.state, _item.c.entered_seq).where(
                _item.c.id.in_(item_ids)
            )
        )
    }
    usable = sa.and_(_req.c.status == RequestStatus.OPEN.value, _req.c.expires_at > now + MIN_LEFT)
    found: dict[tuple[int | None, str], str] = {}
    if items:
        for r in conn.execute(
            sa.select(_req.c.item_id, _req.c.recipient, _req.c.entered_seq, _req.c.public_id)
            .where(usable, _req.c.kind == RequestKind.REPLY.value, _req.c.item_id.in_(items))
            .order_by(_req.c.id)
        ):
            if r.entered_seq == items[r.item_id].entered_seq:
                found[(r.item_id, r.recipient)] = r.public_id
    digests = sorted({r for i, r in pairs if i is None})
    if digests:
        for r in conn.execute(
            sa.select(_req.c.recipient, _req.c.public_id)
            .where(usable, _req.c.kind == RequestKind.DIGEST.value, _req.c.recipient.in_(digests))
            .order_by(_req.c.id)
        ):
            found[(None, r.recipient)] = r.public_id
    out: dict[tuple[int | None, str], str] = {}
    for item_id, recipient in sorted(pairs, key=lambda p: (p[0] or 0, p[1])):
        public_id = found.get((item_id, recipient))
        if public_id is None:
            item = items.get(item_id) if item_id is not None else None
            if item_id is not None and item is None:
                continue
            public_id = tokens.new_public_id()
            records.insert(
                conn,
                {
                    "public_id": public_id,
                    "kind": (RequestKind.REPLY if item else RequestKind.DIGEST).value,
                    "item_id": item_id,
                    "agency_id": item.agency_id if item else None,
                    "recipient": recipient,
                    "asked": "",
                    "state": item.state if item else "",
                    "entered_seq": item.entered_seq if item else 0,
                    "issued_at": now,
                    "issued_by": ISSUER,
                    "expires_at": now + EXPIRY,
                },
            )
        out[(item_id, recipient)] = public_id
    return out


def standing(conn: sa.Connection, row: Any, sender: str) -> Standing:
    """What ``sender`` is to the reply address ``row`` (a ``records.find`` row)."""
    sender = sender.strip().lower()
    if not sender:
        return Standing.OUTSIDER
    addressee = sender == row.recipient or contacts.deputises(conn, sender, row.recipient)
    if row.agency_id is not None and not contacts.answers_for(conn, sender, row.agency_id):
        return Standing.NOT_AGENCY if addressee else Standing.OUTSIDER
    if addressee:
        return Standing.ADDRESSEE
    if row.agency_id is None and not contacts.agencies_of(conn, sender):
        return Standing.OUTSIDER
    return Standing.COLLEAGUE


def named_items(conn: sa.Connection, sender: str, text: str) -> list[int]:
    """The items of the agencies ``sender`` answers for whose ref ``text`` names, by id.

    A ref is named when it stands as a word of its own ("R1" in "evidence for R1.", not in
    "R10" or "R1.2").
    """
    agencies = sorted(contacts.agencies_of(conn, sender.strip().lower()))
    if not agencies or not text:
        return []
    rows = conn.execute(
        sa.select(_item.c.id, _rec.c.ref)
        .join(_rec, _rec.c.id == _item.c.recommendation_id)
        .where(_item.c.agency_id.in_(agencies))
        .order_by(_item.c.id)
    ).all()
    return [r.id for r in rows if _names(text, r.ref)]


def _names(text: str, ref: str) -> bool:
    pattern = r"(?<![\w.])" + re.escape(ref) + r"(?!\w|[.\-/]\w)"
    return re.search(pattern, text, re.IGNORECASE) is not None
