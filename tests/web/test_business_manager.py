"""The business manager's pages: the outbox, the quarantine and the directory (issue 10)."""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa
from fastapi.testclient import TestClient

from engine import inbox
from engine.evidence import store_bytes
from engine.inbox import Arrival, InboundStatus
from engine.services import Services
from tests.conftest import BM, PANEL, REVIEW
from tests.web.conftest import Clock, ask, csrf_of, item_state, row_counts, sign_in

SEPT_LEAD = "named.nurse@sept.example.org"


def manager(make_client: Callable[..., TestClient], demo: Services, clock: Clock) -> TestClient:
    client = make_client()
    sign_in(client, demo, BM, clock)
    return client


def failed_email(demo: Services, clock: Clock, item_id: int | None = None) -> int:
    with demo.db.write() as conn:
        return int(
            conn.execute(
                sa.text(
                    "INSERT INTO outbox (dedupe_key, item_id, kind, template, recipient, context, "
                    "status, attempts, next_attempt_at, created_at, failed_at, last_error) "
                    "VALUES ('t:1', :i, 'reminder', 'reminder', :r, '{\"key\": \"K/T1\"}', "
                    "'failed', 5, :t, :t, :t, '550 5.1.1 mailbox unavailable') RETURNING id"
                ),
                {"i": item_id, "r": SEPT_LEAD, "t": clock.now},
            ).scalar_one()
        )


def held(demo: Services, clock: Clock, sender: str, n: int = 1) -> int:
    raw = f"From: {sender}\r\nSubject: minutes\r\n\r\nThe minutes {n}.\r\n".encode()
    stored = store_bytes(demo.data_dir, raw, "message.eml")
    arrival = Arrival(
        received_at=clock.now, envelope_from=sender, sender=sender,
        recipient="someone@signoff.example.org", raw_sha256=stored.sha256, size=len(raw),
    )  # fmt: skip
    inbox.record(
        demo, arrival, key=f"<m{n}@test>", status=InboundStatus.QUARANTINED,
        reason="not a valid reply address",
    )  # fmt: skip
    with demo.db.engine.connect() as conn:
        return int(conn.execute(sa.text("SELECT max(id) FROM inbound_message")).scalar_one())


def test_the_outbox_lists_failures_with_their_reason_and_sends_one_again(
    demo: Services, clock: Clock, make_client: Callable[..., TestClient]
) -> None:
    asked = ask(demo, "T1", "sept")
    row = failed_email(demo, clock, asked.item_id)
    client = manager(make_client, demo, clock)
    page = client.get("/outbox")
    assert page.status_code == 200
    assert "550 5.1.1 mailbox unavailable" in page.text
    assert f'action="/outbox/{row}/retry"' in page.text
    done = client.post(f"/outbox/{row}/retry", data={"csrf_token": csrf_of(page.text)})
    assert done.status_code == 303
    with demo.db.engine.connect() as conn:
        status, attempts = conn.execute(
            sa.text("SELECT status, attempts FROM outbox WHERE id = :i"), {"i": row}
        ).one()
        noted = conn.execute(
            sa.text("SELECT actor FROM event WHERE item_id = :i AND trigger = :t"),
            {"i": asked.item_id, "t": "notification_retried"},
        ).scalar_one()
    assert (status, attempts) == ("pending", 0)
    assert noted == BM
    # not failed any more: a second retry is the plain 404 and changes nothing
    before = row_counts(demo)
    again = client.post(f"/outbox/{row}/retry", data={"csrf_token": csrf_of(page.text)})
    assert again.status_code == 404
    assert row_counts(demo) == before
    pending = client.get("/outbox?status=pending").text
    assert "550 5.1.1 mailbox unavailable" in pending  # the last error, until it is sent
    assert "Failed (0)" in pending
    assert client.get("/outbox?status=nonsense").status_code == 200  # shows the failures


def test_retry_without_a_csrf_token_changes_nothing(
    demo: Services, clock: Clock, make_client: Callable[..., TestClient]
) -> None:
    row = failed_email(demo, clock)
    client = manager(make_client, demo, clock)
    client.get("/outbox")
    before = row_counts(demo)
    assert client.post(f"/outbox/{row}/retry", data={}).status_code == 404
    assert client.post(f"/outbox/{row}/retry", data={"csrf_token": "x"}).status_code == 404
    assert row_counts(demo) == before


def test_a_held_reply_is_put_on_an_item_as_evidence_from_its_sender(
    demo: Services, clock: Clock, make_client: Callable[..., TestClient]
) -> None:
    asked = ask(demo, "T1", "sept")
    message = held(demo, clock, SEPT_LEAD)
    client = manager(make_client, demo, clock)
    listing = client.get("/quarantine")
    assert f'href="/quarantine/{message}"' in listing.text
    page = client.get(f"/quarantine/{message}")
    assert page.status_code == 200
    done = client.post(
        f"/quarantine/{message}/assign",
        data={"csrf_token": csrf_of(page.text), "item": f"{REVIEW}/T1@sept",
              "assign-note": "Sent to the old address"},
    )  # fmt: skip
    assert done.status_code == 303, done.text
    assert item_state(demo, asked.item_id) == ("evidence_submitted", 1)  # the email itself
    with demo.db.engine.connect() as conn:
        status, reason = conn.execute(
            sa.text("SELECT status, reason FROM inbound_message WHERE id = :i"), {"i": message}
        ).one()
        event = conn.execute(
            sa.text("SELECT actor, reason FROM event WHERE item_id = :i AND trigger = :t"),
            {"i": asked.item_id, "t": "submit_evidence"},
        ).one()
    assert status == "accepted"
    assert f"assigned to {REVIEW}/T1@sept by {BM}" in reason
    assert event.actor == SEPT_LEAD
    assert event.reason == f"Assigned from the quarantine by {BM}: Sent to the old address"
    assert client.get(f"/quarantine/{message}").status_code == 404  # dealt with


def test_a_reply_from_a_stranger_cannot_be_put_on_an_item(
    demo: Services, clock: Clock, make_client: Callable[..., TestClient]
) -> None:
    asked = ask(demo, "T1", "sept")
    message = held(demo, clock, "someone@elsewhere.example.com")
    client = manager(make_client, demo, clock)
    page = client.get(f"/quarantine/{message}")
    before = row_counts(demo)
    tries = {
        f"{REVIEW}/T1@sept": "is not a contact of sept",
        f"{REVIEW}/T99@sept": "No such item",
        "": "Enter the item",
        "../../etc/passwd": "No such item",
    }
    for item, message_text in tries.items():
        refused = client.post(
            f"/quarantine/{message}/assign",
            data={"csrf_token": csrf_of(page.text), "item": item, "assign-note": "<b>why</b>"},
        )
        assert refused.status_code == 422, item
        assert message_text in refused.text, item
        assert "&lt;b&gt;why&lt;/b&gt;" in refused.text  # typed, kept, escaped
        page = refused
    assert row_counts(demo) == before
    assert item_state(demo, asked.item_id) == ("open", 0)


def test_a_held_reply_is_set_aside_with_a_note(
    demo: Services, clock: Clock, make_client: Callable[..., TestClient]
) -> None:
    message = held(demo, clock, "spam@elsewhere.example.com")
    client = manager(make_client, demo, clock)
    page = client.get(f"/quarantine/{message}")
    empty = client.post(f"/quarantine/{message}/discard", data={"csrf_token": csrf_of(page.text)})
    assert empty.status_code == 422
    assert "Say why" in empty.text
    done = client.post(
        f"/quarantine/{message}/discard",
        data={"csrf_token": csrf_of(empty.text), "discard-note": "Marketing email"},
    )
    assert done.status_code == 303
    with demo.db.engine.connect() as conn:
        status, reason = conn.execute(
            sa.text("SELECT status, reason FROM inbound_message WHERE id = :i"), {"i": message}
        ).one()
    assert status == "dismissed"
    assert reason.startswith("not a valid reply address | discarded by ")
    assert reason.endswith(": Marketing email")
    assert "Nothing in quarantine" in client.get("/quarantine").text


def test_the_directory_is_read_only_for_the_panel_and_hidden_from_agencies(
    demo: Services, clock: Clock, make_client: Callable[..., TestClient]
) -> None:
    panel = make_client()
    sign_in(panel, demo, PANEL, clock)
    page = panel.get("/directory")
    assert page.status_code == 200
    assert "Internal Audit Manager" in page.text
    assert "<form" not in page.text.split("<main")[1].split("</main>")[0]
    agency = make_client()
    sign_in(agency, demo, SEPT_LEAD, clock)
    assert agency.get("/directory").status_code == 404
    assert agency.get("/outbox").status_code == 404
    assert agency.get("/quarantine").status_code == 404
