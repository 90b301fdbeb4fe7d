"""Received messages (engine.inbox) and marking an address failing (engine.contacts)."""

from __future__ import annotations

import sqlalchemy as sa

from engine import inbox
from engine.contacts import mark_failing
from engine.inbox import Arrival, InboundStatus, Seen
from engine.services import Services
from engine.store.tables import Contact, InboundMessage
from tests.conftest import BM, NOW

ARRIVAL = Arrival(
    received_at=NOW,
    envelope_from="someone@example.org",
    recipient="reply+abc.def@reply.example",
    raw_sha256="0" * 64,
    size=10,
    sender="someone@example.org",
    subject="Re: evidence",
)


def test_a_message_is_recorded_once(demo: Services) -> None:
    first = inbox.record(
        demo, ARRIVAL, key="<m1@example.org>", status=InboundStatus.QUARANTINED, reason="why"
    )
    again = inbox.record(
        demo, ARRIVAL, key="<m1@example.org>", status=InboundStatus.AUTO_REPLY, reason="other"
    )
    assert first is None
    assert again == Seen(status=InboundStatus.QUARANTINED, reason="why", evidence_ids=())
    assert inbox.seen(demo, "<m1@example.org>") == again
    assert inbox.seen(demo, "<m2@example.org>") is None
    with demo.db.engine.connect() as conn:
        row = conn.execute(sa.select(InboundMessage)).one()
    assert (row.sender, row.subject, row.size, row.request_id) == (
        "someone@example.org",
        "Re: evidence",
        10,
        None,
    )


def test_an_unknown_outbox_row_was_not_sent(demo: Services) -> None:
    with demo.db.engine.connect() as conn:
        assert inbox.sent_message(conn, 987654) is None


def test_mark_failing_marks_every_row_of_the_address(demo: Services) -> None:
    with demo.db.engine.connect() as conn:
        rows = conn.execute(
            sa.select(sa.func.count()).select_from(Contact).where(Contact.email == BM)
        ).scalar_one()
    with demo.db.write() as conn:
        assert mark_failing(conn, f" {BM.upper()} ") == rows > 0
    with demo.db.engine.connect() as conn:
        failing = conn.execute(sa.select(Contact.failing).where(Contact.email == BM)).scalars()
        assert all(failing)
