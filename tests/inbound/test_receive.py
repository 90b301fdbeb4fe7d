"""Replies by email, through the real inbound listener (aiosmtpd) and real SMTP clients.

Each hostile case asserts the message was recorded with its reason and that nothing
reached an item: no evidence, the state unchanged.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import io
import smtplib
import zipfile
from collections.abc import Iterator
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
from typing import Any

import aiosmtplib
import pytest
import sqlalchemy as sa

from app.settings import load_settings
from engine import requests as er
from engine.fire import FireRequest, fire
from engine.hashchain import verify
from engine.replykeys import bounce_address, reply_address, reply_tag
from engine.services import Services
from engine.store.tables import (
    Contact,
    Event,
    Evidence,
    EvidenceRequest,
    InboundMessage,
    Item,
    Outbox,
)
from engine.sweep import run_once
from engine.uploads import UploadLimits
from inbound import listener
from inbound.receive import Mailbox, receive
from notifications.dispatcher import dispatch
from notifications.templates import Templates
from tests.conftest import BM, DEPUTY, NOW, PANEL, make_item, sept_lead_officer
from tests.files import pdf
from tests.smtpd import SmtpServer, free_port

KEY = b"k" * 32
DOMAIN = "replies.board.example.org"
NURSE = "named.nurse@sept.example.org"
DIRECTOR = "director.nursing@sept.example.org"
PDF = pdf()  # a real one-page PDF: the upload check opens it
T1 = "southend-iawg-scr-audit-2010/T1"


class Listener:
    def __init__(self, services: Services, limits: UploadLimits, max_bytes: int) -> None:
        self.services = services
        self.port = free_port()
        self.mailbox = Mailbox(key=KEY, domain=DOMAIN, limits=limits, max_message_bytes=max_bytes)
        self.controller = listener.start(
            services, self.mailbox, "127.0.0.1", self.port, clock=lambda: NOW
        )

    def restart(self, key: bytes, **mailbox: Any) -> None:
        """Listen again on the same port, with ``key`` (and other mailbox settings)."""
        self.controller.stop()
        self.mailbox = dataclasses.replace(self.mailbox, key=key, **mailbox)
        self.controller = listener.start(
            self.services, self.mailbox, "127.0.0.1", self.port, clock=lambda: NOW
        )

    def send(self, msg: EmailMessage, to: str | None = None) -> None:
        asyncio.run(
            aiosmtplib.send(
                msg,
                hostname="127.0.0.1",
                port=self.port,
                recipients=[to or str(msg["To"])],
                sender="mailer@sept.example.org",
            )
        )


@pytest.fixture
def inbox(demo: Services) -> Iterator[Listener]:
    server = Listener(demo, UploadLimits(max_file_bytes=200_000), max_bytes=1_000_000)
    yield server
    server.controller.stop()


@pytest.fixture
def item(demo: Services) -> int:
    return make_item(demo, ref="T1", due=dt.date(2011, 3, 1), agency="sept")


@pytest.fixture
def public_id(demo: Services, item: int) -> str:
    return er.issue(demo, T1, actor=BM, now=NOW).public_id


def reply(
    public_id: str,
    body: str = "Training was delivered to all 40 staff in January.",
    *,
    sender: str = f"Named Nurse <{NURSE}>",
    attachments: list[tuple[str, str, bytes]] | None = None,
    to: str | None = None,
    message_id: str | None = None,
) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to or reply_address(KEY, public_id, DOMAIN)
    msg["Subject"] = "RE: Evidence needed by 1 March 2011: T1"
    msg["Message-ID"] = message_id or make_msgid(domain="sept.example.org")
    msg.set_content(body)
    for name, ctype, data in attachments or []:
        maintype, subtype = ctype.split("/")
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return msg


def inbound_rows(services: Services) -> list[InboundMessage]:
    with services.db.engine.connect() as conn:
        return list(conn.execute(sa.select(InboundMessage).order_by(InboundMessage.id)).all())


def nothing_on_the_item(services: Services, item: int) -> None:
    with services.db.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(Evidence)).scalar_one() == 0
        assert conn.execute(sa.select(Item.state).where(Item.id == item)).scalar_one() == "open"


def quarantined(services: Services, item: int, needle: str) -> None:
    rows = inbound_rows(services)
    assert [r.status for r in rows] == ["quarantined"], rows
    assert needle in (rows[0].reason or ""), rows[0].reason
    nothing_on_the_item(services, item)


def test_a_reply_becomes_evidence(
    demo: Services, inbox: Listener, item: int, public_id: str
) -> None:
    body = (
        "Training was delivered to all 40 staff in January.\n\n"
        "On Mon, 10 Jan 2011 at 09:00, signoff <signoff@localhost> wrote:\n"
        "> Dear Named Nurse,\n> We need evidence.\n"
    )
    inbox.send(reply(public_id, body, attachments=[("register.pdf", "application/pdf", PDF)]))
    with demo.db.engine.connect() as conn:
        evidence = conn.execute(sa.select(Evidence).order_by(Evidence.id)).all()
        state = conn.execute(sa.select(Item.state).where(Item.id == item)).scalar_one()
        req = conn.execute(sa.select(EvidenceRequest)).one()
        assert verify(conn).ok
    assert state == "evidence_submitted"
    assert [(e.filename, e.channel, e.submitted_by) for e in evidence] == [
        ("register.pdf", "email", NURSE),
        (None, "email", NURSE),
    ]
    assert evidence[1].statement == "Training was delivered to all 40 staff in January."
    assert (req.status, req.closed_reason) == ("answered", "email")
    [row] = inbound_rows(demo)
    assert (row.status, row.sender, row.evidence_ids) == (
        "accepted",
        NURSE,
        [e.id for e in evidence],
    )


def test_a_colleague_at_the_same_agency_may_answer(
    demo: Services, inbox: Listener, item: int, public_id: str
) -> None:
    inbox.send(reply(public_id, sender=DIRECTOR))
    assert [r.status for r in inbound_rows(demo)] == ["accepted"]


def test_the_same_message_twice_is_one_evidence_record(
    demo: Services, inbox: Listener, item: int, public_id: str
) -> None:
    msg = reply(public_id, message_id="<once@sept.example.org>")
    inbox.send(msg)
    inbox.send(msg)  # a retrying mail server
    msg["Received"] = "from mx2.sept.example.org by relay; Mon, 10 Jan 2011 09:05:00 +0000"
    inbox.send(msg)  # the same reply again by another route: other bytes, same Message-ID
    with demo.db.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(Evidence)).scalar_one() == 1
    address = reply_address(KEY, public_id, DOMAIN)
    assert [r.message_key for r in inbound_rows(demo)] == [f"{address} <once@sept.example.org>"]


def _tag_cases(public_id: str) -> dict[str, str]:
    tag = reply_tag(KEY, public_id)
    other = "a" * len(public_id)
    return {
        "forged tag": f"reply+{public_id}.{'b' * len(tag)}@{DOMAIN}",
        "truncated tag": f"reply+{public_id}.{tag[:-3]}@{DOMAIN}",
        "no tag": f"reply+{public_id}@{DOMAIN}",
        "another request's tag": f"reply+{other}.{tag}@{DOMAIN}",
        "tag of another key": reply_address(b"x" * 32, public_id, DOMAIN),
        "plain address": f"board@{DOMAIN}",
    }


BAD_ADDRESSES = [
    "forged tag", "truncated tag", "no tag", "another request's tag", "tag of another key",
    "plain address",
]  # fmt: skip


@pytest.mark.parametrize("case", BAD_ADDRESSES)
def test_bad_reply_addresses_are_refused_at_rcpt_to(
    demo: Services, inbox: Listener, item: int, public_id: str, case: str
) -> None:
    address = _tag_cases(public_id)[case]
    with pytest.raises(aiosmtplib.SMTPRecipientsRefused) as info:
        inbox.send(reply(public_id, to=address), to=address)
    [refusal] = info.value.recipients
    assert (refusal.code, refusal.message) == (
        550,
        "5.1.1 no such address here: replies go to the reply address of the email signoff "
        "sent (its Reply-To)",
    )
    assert inbound_rows(demo) == []
    nothing_on_the_item(demo, item)


@pytest.mark.parametrize("case", BAD_ADDRESSES)
def test_bad_reply_addresses_that_reach_receive_are_quarantined(
    demo: Services, item: int, public_id: str, case: str
) -> None:
    """Behind the listener's refusal, receive() itself takes nothing from a bad address."""
    address = _tag_cases(public_id)[case]
    msg = reply(public_id, to=address)
    got = receive(
        demo, Mailbox(key=KEY, domain=DOMAIN), msg.as_bytes(), rcpt_tos=[address],
        envelope_from="mailer@sept.example.org", now=NOW,
    )  # fmt: skip
    assert got.status == "quarantined"
    quarantined(demo, item, "is not a valid reply address")


def test_a_tag_for_a_request_that_does_not_exist(
    demo: Services, inbox: Listener, item: int, public_id: str
) -> None:
    ghost = "zzzzzzzzzzzzzzzz"
    address = reply_address(KEY, ghost, DOMAIN)
    with pytest.raises(aiosmtplib.SMTPRecipientsRefused) as info:
        inbox.send(reply(ghost), to=address)
    assert [r.code for r in info.value.recipients] == [550]
    got = receive(
        demo, inbox.mailbox, reply(ghost).as_bytes(), rcpt_tos=[address], envelope_from=None,
        now=NOW,
    )  # fmt: skip
    assert got.status == "quarantined"
    quarantined(demo, item, f"request {ghost} does not exist")


def test_another_agency_cannot_answer(
    demo: Services, inbox: Listener, item: int, public_id: str
) -> None:
    inbox.send(reply(public_id, sender="designated.nurse@nhs-see.example.org"))
    quarantined(demo, item, "is not a contact of sept")


def test_a_spoofed_display_name_is_not_the_sender(
    demo: Services, inbox: Listener, item: int, public_id: str
) -> None:
    inbox.send(reply(public_id, sender=f'"{NURSE}" <attacker@evil.example>'))
    quarantined(demo, item, "attacker@evil.example is not a contact of sept")


def test_an_empty_reply(demo: Services, inbox: Listener, item: int, public_id: str) -> None:
    quoted = "On Mon, 10 Jan 2011 at 09:00, signoff wrote:\n> We need evidence.\n"
    inbox.send(reply(public_id, quoted))
    quarantined(demo, item, "the reply is empty")


@pytest.mark.parametrize(
    ("name", "ctype", "data", "needle"),
    [
        ("report.pdf", "application/pdf", b"<html><script>x()</script></html>", "is not a PDF"),
        ("evidence.zip", "application/zip", b"zip", "archive"),
        ("big.pdf", "application/pdf", PDF + b"0" * 250_000, "allowed for one file"),
        ("run.exe", "application/octet-stream", b"MZ" + b"\0" * 300, "program"),
        ("..\\..\\boot.ini", "text/plain", b"[boot]", "folder"),
        ("invoice\u202efdp.exe", "application/pdf", PDF, "right-to-left character"),
    ],
)
def test_bad_attachments_are_quarantined(
    demo: Services,
    inbox: Listener,
    item: int,
    public_id: str,
    name: str,
    ctype: str,
    data: bytes,
    needle: str,
) -> None:
    if name == "evidence.zip":
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as z:
            z.writestr("a.txt", "hello")
        data = buf.getvalue()
    inbox.send(reply(public_id, attachments=[(name, ctype, data)]))
    quarantined(demo, item, needle)


def test_an_answered_request_takes_no_more_replies(
    demo: Services, inbox: Listener, item: int, public_id: str
) -> None:
    inbox.send(reply(public_id))
    inbox.send(reply(public_id, "and another thing"))
    rows = inbound_rows(demo)
    assert [r.status for r in rows] == ["accepted", "quarantined"]
    assert "can no longer be answered (answered on" in (rows[1].reason or "")


def test_an_expired_request(demo: Services, item: int, public_id: str) -> None:
    server = Listener(demo, UploadLimits(), 1_000_000)
    server.controller.stop()
    late = listener.start(
        demo, server.mailbox, "127.0.0.1", server.port, clock=lambda: NOW + dt.timedelta(days=29)
    )
    try:
        server.send(reply(public_id))
    finally:
        late.stop()
    quarantined(demo, item, "it expired on")


def test_a_request_the_item_moved_on_from(
    demo: Services, inbox: Listener, item: int, public_id: str
) -> None:
    fire(
        demo,
        FireRequest(
            item=item, trigger="close_without_assurance", actor=PANEL, now=NOW, reason="none"
        ),
    )
    inbox.send(reply(public_id))
    rows = inbound_rows(demo)
    assert [r.status for r in rows] == ["quarantined"]
    assert "moved on to 'closed_no_assurance'" in (rows[0].reason or "")


def test_an_out_of_office_reply_is_recorded_and_ignored(
    demo: Services, inbox: Listener, item: int, public_id: str
) -> None:
    msg = reply(public_id, "I am out of the office until Monday.")
    del msg["Subject"]
    msg["Subject"] = "Automatic reply: Evidence needed"
    msg["Auto-Submitted"] = "auto-replied"
    inbox.send(msg)
    assert [r.status for r in inbound_rows(demo)] == ["auto_reply"]
    nothing_on_the_item(demo, item)


def test_oversize_messages_are_refused_by_the_server(
    demo: Services, inbox: Listener, item: int, public_id: str
) -> None:
    msg = reply(public_id, attachments=[("a.pdf", "application/pdf", PDF + b"0" * 1_200_000)])
    with pytest.raises(aiosmtplib.SMTPResponseException) as info:
        inbox.send(msg)
    assert info.value.code == 552
    assert inbound_rows(demo) == []
    nothing_on_the_item(demo, item)


def test_other_domains_are_refused_not_relayed(demo: Services, inbox: Listener) -> None:
    with smtplib.SMTP("127.0.0.1", inbox.port) as client:
        client.ehlo()
        client.mail("x@sept.example.org")
        code, text = client.rcpt("someone@elsewhere.example")
    assert code == 550
    assert b"only takes replies" in text


def test_garbage_is_quarantined(demo: Services, inbox: Listener, item: int) -> None:
    with smtplib.SMTP("127.0.0.1", inbox.port) as client:
        client.sendmail("x@sept.example.org", [f"postmaster@{DOMAIN}"], b"\x00\x01\x02 not mail")
    rows = inbound_rows(demo)
    assert [r.status for r in rows] == ["quarantined"]
    nothing_on_the_item(demo, item)


def test_header_injection_in_the_subject_is_flattened(
    demo: Services, inbox: Listener, item: int, public_id: str
) -> None:
    raw = (
        f"From: {NURSE}\r\nTo: {reply_address(KEY, public_id, DOMAIN)}\r\n"
        "Subject: =?utf-8?q?hello=0D=0ABcc=3A_victim=40example=2Eorg?=\r\n"
        "Message-ID: <inj@sept.example.org>\r\n\r\nThe evidence is attached.\r\n"
    ).encode()
    with smtplib.SMTP("127.0.0.1", inbox.port) as client:
        client.sendmail(NURSE, [reply_address(KEY, public_id, DOMAIN)], raw)
    [row] = inbound_rows(demo)
    assert row.status == "accepted"
    assert "\r" not in (row.subject or "")
    assert "\n" not in (row.subject or "")


def dsn(message_id: str, recipient: str, *, to: str, status: str = "5.1.1") -> bytes:
    """A Postfix delivery status notification, as it arrives."""
    return (
        "From: MAILER-DAEMON@mx.sept.example.org (Mail Delivery System)\r\n"
        f"To: {to}\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\n"
        f"Message-ID: <{make_msgid()[1:-1]}>\r\n"
        "Auto-Submitted: auto-replied\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\r\n\r\n'
        "--B\r\nContent-Type: text/plain\r\n\r\n"
        "This is the mail system. Your message could not be delivered.\r\n\r\n"
        "--B\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.sept.example.org\r\n\r\n"
        f"Final-Recipient: rfc822; {recipient}\r\nAction: failed\r\nStatus: {status}\r\n\r\n"
        "--B\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        f"Message-ID: {message_id}\r\nTo: {recipient}\r\n\r\n"
        "--B--\r\n"
    ).encode()


def outbox_id_of(services: Services, recipient: str) -> int:
    with services.db.engine.connect() as conn:
        found: int = conn.execute(
            sa.select(Outbox.id).where(Outbox.recipient == recipient, Outbox.status == "sent")
        ).scalar_one()
    return found


def test_a_bounce_marks_the_address_failing(
    demo: Services, inbox: Listener, smtp: SmtpServer, item: int, public_id: str
) -> None:
    settings = load_settings(smtp_port=smtp.port, secret_key="s" * 32, reply_domain=DOMAIN).mail()
    inbox.restart(b"s" * 32)
    report = dispatch(demo, settings, Templates(), NOW, owner="test")
    assert report.sent >= 1
    [(sent, envelope)] = [
        (m, e) for m, e in zip(smtp.messages, smtp.recorder.envelope_senders, strict=True)
        if m["To"] == NURSE
    ]  # fmt: skip
    assert envelope == bounce_address(b"s" * 32, outbox_id_of(demo, NURSE), DOMAIN)
    with smtplib.SMTP("127.0.0.1", inbox.port) as client:
        client.sendmail("", [envelope], dsn(sent["Message-ID"], NURSE, to=envelope))
    rows = inbound_rows(demo)
    assert [r.status for r in rows] == ["bounce"], [r.reason for r in rows]
    with demo.db.engine.connect() as conn:
        failing = conn.execute(sa.select(Contact.failing).where(Contact.email == NURSE)).all()
        events = conn.execute(
            sa.select(Event.trigger, Event.data).where(Event.item_id == item).order_by(Event.seq)
        ).all()
        assert verify(conn).ok
    assert failing
    assert all(f.failing for f in failing)
    assert events[-1].trigger == "notification_bounced"
    assert events[-1].data["recipient"] == NURSE
    # the next request goes to the next contact who may answer
    assert er.issue(demo, T1, actor=BM, now=NOW).recipient == DIRECTOR


def test_a_bounce_of_something_we_never_sent(demo: Services, inbox: Listener, item: int) -> None:
    bounce = EmailMessage()
    bounce["From"] = "MAILER-DAEMON@mx.example.org"
    bounce["To"] = f"bounces@{DOMAIN}"
    bounce["Subject"] = "Undeliverable: hello"
    bounce["Message-ID"] = "<b2@mx.example.org>"
    bounce.set_content(
        f"Delivery has failed to these recipients or groups:\n\n{NURSE}\n\n"
        "Original-Message-ID: <never@localhost>\n"
    )
    inbox.send(bounce, to=f"bounces@{DOMAIN}")
    quarantined(demo, item, "did not come back to the bounce address of an email signoff sent")
    with demo.db.engine.connect() as conn:
        assert not any(conn.execute(sa.select(Contact.failing)).scalars())


def test_a_contact_answers_the_request_email_and_gets_a_receipt(
    demo: Services, inbox: Listener, smtp: SmtpServer, item: int, public_id: str
) -> None:
    """The whole email round: request out, reply in, receipt out, chasing stopped."""
    settings = load_settings(
        smtp_port=smtp.port, secret_key="s" * 32, reply_domain=DOMAIN, base_url="https://b.example"
    ).mail()
    inbox.restart(b"s" * 32)
    dispatch(demo, settings, Templates(), NOW, owner="test")
    [request] = [m for m in smtp.recorder.messages if m["X-Signoff-Kind"] == "request"]
    assert request["To"] == NURSE
    reply_to = str(request["Reply-To"])
    assert reply_to == reply_address(b"s" * 32, public_id, DOMAIN)
    body = request.get_body(("plain",))
    assert body is not None
    text = body.get_content()
    assert "https://b.example/r/" in text
    assert reply_to in text
    # the contact presses Reply in their mail program, writes one line, attaches a PDF
    answer = reply(public_id, "Audit report attached.", to=reply_to,
                   attachments=[("audit.pdf", "application/pdf", PDF)])  # fmt: skip
    answer["In-Reply-To"] = str(request["Message-ID"])
    inbox.send(answer)
    dispatch(demo, settings, Templates(), NOW, owner="test")
    [receipt] = [m for m in smtp.recorder.messages if m["X-Signoff-Kind"] == "receipt"]
    assert receipt["To"] == NURSE
    assert str(receipt["Subject"]).startswith("Evidence received: T1")
    receipt_body = receipt.get_body(("plain",))
    assert receipt_body is not None
    receipt_text = receipt_body.get_content().replace("\r\n", "\n")
    assert "- 1 file\n- a written statement" in receipt_text
    assert "audit.pdf" not in receipt_text  # counts only: file names may say too much
    with demo.db.engine.connect() as conn:
        assert conn.execute(sa.select(Item.state).where(Item.id == item)).scalar_one() == (
            "evidence_submitted"
        )
    # chasing for that request has stopped: the agency is not chased in the new state
    later = NOW + dt.timedelta(days=60)
    run_once(demo, later)
    with demo.db.engine.connect() as conn:
        agency_mail = conn.execute(
            sa.select(sa.func.count())
            .select_from(Outbox)
            .where(
                Outbox.recipient == NURSE,
                Outbox.kind.in_(["reminder", "chase", "escalation"]),
                Outbox.status == "pending",
            )
        ).scalar_one()
    assert agency_mail == 0


def test_no_reply_address_reaches_another_request_or_agency(demo: Services) -> None:
    """3 requests over 2 agencies: every mismatched address or sender is quarantined."""
    make_item(demo, ref="T1", due=dt.date(2011, 3, 1), agency="sept")
    make_item(demo, ref="T2", due=dt.date(2011, 3, 1), agency="sept")
    make_item(demo, ref="T3", due=dt.date(2011, 3, 1), agency="nhs-south-east-essex")
    ids = {
        ref: er.issue(demo, f"southend-iawg-scr-audit-2010/{ref}", actor=BM, now=NOW).public_id
        for ref in ("T1", "T2", "T3")
    }
    senders = {"T1": NURSE, "T2": NURSE, "T3": "designated.nurse@nhs-see.example.org"}
    mailbox = Mailbox(key=KEY, domain=DOMAIN)
    n = 0
    for tag_of in ids:
        for id_of in ids:
            for sender_of in ids:
                if tag_of == id_of and senders[sender_of] == senders[id_of]:
                    continue  # the one matching combination per request, tried last
                n += 1
                address = f"reply+{ids[id_of]}.{reply_tag(KEY, ids[tag_of])}@{DOMAIN}"
                msg = reply(ids[id_of], f"attempt {n}", sender=senders[sender_of], to=address)
                got = receive(
                    demo, mailbox, msg.as_bytes(), rcpt_tos=[address], envelope_from=None, now=NOW
                )
                assert got.status == "quarantined", (tag_of, id_of, sender_of, got.reason)
    with demo.db.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(Evidence)).scalar_one() == 0
    for ref, public_id in ids.items():
        address = reply_address(KEY, public_id, DOMAIN)
        msg = reply(public_id, f"answer for {ref}", sender=senders[ref], to=address)
        got = receive(
            demo, mailbox, msg.as_bytes(), rcpt_tos=[address], envelope_from=None, now=NOW
        )
        assert got.status == "accepted"
    with demo.db.engine.connect() as conn:
        placed = conn.execute(
            sa.select(Item.id, Evidence.statement).join(Evidence, Evidence.item_id == Item.id)
        ).all()
    assert sorted(s for _, s in placed) == ["answer for T1", "answer for T2", "answer for T3"]
    assert n == 3 * 3 * 3 - 5  # T1 and T2 share a sender, so each accepts two sender choices


def test_a_deputy_answers_for_an_absent_lead_officer(
    demo: Services, inbox: Listener, item: int, tmp_path: Path
) -> None:
    sept_lead_officer(demo, tmp_path, absent=True)
    asked = er.issue(demo, T1, actor=BM, now=NOW)
    assert asked.recipient == DEPUTY
    inbox.send(reply(asked.public_id, sender=f"Cover Nurse <{DEPUTY}>"))
    [row] = inbound_rows(demo)
    assert (row.status, row.sender) == ("accepted", DEPUTY), row.reason
    with demo.db.engine.connect() as conn:
        evidence = conn.execute(sa.select(Evidence)).all()
        event = conn.execute(sa.select(Event).order_by(Event.id.desc())).first()  # type: ignore[union-attr]
        state = conn.execute(sa.select(Item.state).where(Item.id == item)).scalar_one()
    assert state == "evidence_submitted"
    assert [(e.channel, e.submitted_by) for e in evidence] == [("email", DEPUTY)]
    assert event is not None
    assert (event.trigger, event.actor) == ("submit_evidence", DEPUTY)


def test_a_deputy_of_a_contact_who_is_back_is_quarantined(
    demo: Services, inbox: Listener, item: int, public_id: str, tmp_path: Path
) -> None:
    sept_lead_officer(demo, tmp_path, absent=False)
    inbox.send(reply(public_id, sender=DEPUTY))
    quarantined(demo, item, "is not a contact of sept")
