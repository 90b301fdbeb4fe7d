"""Ways in from outside over SMTP (issue 9), each reproduced against the real listener.

Every attack goes through aiosmtpd on a free loopback port, as ``signoff serve`` runs it,
with real SMTP clients: forged bounces, made-up recipients, floods, junk that borrows a
genuine reply's Message-ID, and hostile MIME.
"""

from __future__ import annotations

import datetime as dt
import smtplib
import time
from collections.abc import Callable, Iterator
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from app.settings import load_settings
from engine import requests as er
from engine.forecast import forecast
from engine.inbox import local_address
from engine.replykeys import bounce_address, reply_address
from engine.services import Services
from engine.store.db import Database
from engine.store.tables import Contact, Evidence, InboundMessage, Outbox
from engine.sweep import run_once
from engine.uploads import UploadLimits
from inbound import listener
from inbound.parse import Unreadable, parse_message
from inbound.receive import KEEP_BODY_BYTES, Mailbox, receive
from notifications.compose import message_id
from notifications.dispatcher import dispatch
from notifications.templates import Templates
from tests.conftest import BM, NOW, make_item, without_digests
from tests.smtpd import SmtpServer, free_port

SECRET = "smtp-surface-tests-secret-0123456789"
KEY = SECRET.encode()
DOMAIN = "replies.board.example.org"
NURSE = "named.nurse@sept.example.org"
OVERDUE = dt.datetime.fromisoformat("2011-06-13T10:00+01:00")  # chases and escalations due
T1 = "southend-iawg-scr-audit-2010/T1"


class Listener:
    """The reply listener on a free loopback port, with a mailbox of its own."""

    def __init__(self, services: Services, **mailbox: Any) -> None:
        self.port = free_port()
        self.mailbox = Mailbox(
            key=KEY, domain=DOMAIN, limits=UploadLimits(max_file_bytes=200_000), **mailbox
        )
        self.controller = listener.start(
            services, self.mailbox, "127.0.0.1", self.port, clock=lambda: NOW
        )

    def client(self) -> smtplib.SMTP:
        client = smtplib.SMTP("127.0.0.1", self.port, timeout=30)
        client.ehlo("mx.outside.example")
        return client

    def deliver(self, raw: bytes, to: str, *, sender: str = "someone@outside.example") -> str:
        """One message in one connection; the final reply's text."""
        with self.client() as client:
            client.mail(sender)
            code, text = client.rcpt(to)
            assert code == 250, (to, code, text)
            code, text = client.data(raw)
            assert code == 250, (code, text)
        return text.decode()


@pytest.fixture
def inbox(demo: Services) -> Iterator[Listener]:
    server = Listener(demo, max_message_bytes=2_000_000)
    yield server
    server.controller.stop()


def rows(services: Services) -> list[Any]:
    with services.db.engine.connect() as conn:
        return list(conn.execute(sa.select(InboundMessage).order_by(InboundMessage.id)).all())


def failing(services: Services) -> list[str]:
    with services.db.engine.connect() as conn:
        return list(conn.execute(sa.select(Contact.email).where(Contact.failing)).scalars())


def planned(services: Services) -> list[tuple[str, str, tuple[str, ...]]]:
    """Who the next 30 days' reminders, chases and escalations go to."""
    return [(e["kind"], e["at"], tuple(e["to"])) for e in forecast(services, OVERDUE, 30)]


def dsn(message_id: str, recipient: str, *, to: str, status: str = "5.1.1") -> bytes:
    """A Postfix delivery status notification naming ``message_id`` and ``recipient``."""
    return (
        "From: MAILER-DAEMON@mx.sept.example.org (Mail Delivery System)\r\n"
        f"To: {to}\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\n"
        f"Message-ID: {make_msgid(domain='mx.sept.example.org')}\r\n"
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


def textual_bounce(message_id: str, recipient: str, *, to: str) -> bytes:
    """An Exchange-style bounce written for people."""
    return (
        "From: MicrosoftExchange329e71ec88ae4615bbc36ab6ce41109e@sept.example.org\r\n"
        f"To: {to}\r\nSubject: Undeliverable: Evidence needed\r\n"
        f"Message-ID: {make_msgid(domain='sept.example.org')}\r\n\r\n"
        f"Delivery has failed to these recipients or groups:\r\n\r\n{recipient}\r\n\r\n"
        f"Remote Server returned '550 5.1.1 RESOLVER.ADR.RecipNotFound'\r\n"
        f"Message-ID: {message_id}\r\n"
    ).encode()


@pytest.fixture
def sent(demo: Services, smtp: SmtpServer) -> list[tuple[EmailMessage, str]]:
    """The chasing of 13 June 2011 sent for real: (message, envelope sender) each (R3 and R5
    are start dates, never chased, so April has too few emails for these attacks)."""
    without_digests(demo)  # one message per outbox row
    run_once(demo, OVERDUE)
    settings = load_settings(smtp_port=smtp.port, secret_key=SECRET, reply_domain=DOMAIN).mail()
    report = dispatch(demo, settings, Templates(), OVERDUE, owner="test")
    assert report.sent >= 3
    return list(zip(smtp.messages, smtp.recorder.envelope_senders, strict=True))


def test_forged_bounces_mark_no_one_failing_issue_9(
    demo: Services, sent: list[tuple[EmailMessage, str]]
) -> None:
    """20 forged DSNs naming our real Message-IDs and recipients change nothing; a genuine
    bounce to the email's own bounce address still marks its recipient failing."""
    server = Listener(demo, messages_per_minute=1000, refusals_per_minute=1000)
    try:
        before = planned(demo)
        assert before, "the forecast must plan emails for the forgeries to redirect"
        # the attacker knows every Message-ID and recipient (and, for the last kinds, has
        # seen one email's real bounce address)
        leaked_envelope = sent[0][1]
        forged_tag = bounce_address(b"x" * 32, 1, DOMAIN)
        unsent = bounce_address(KEY, 999_999, DOMAIN)  # even with the key: never sent
        accepted = refused = 0
        for n in range(20):
            message, envelope = sent[n % len(sent)]
            mid, to = str(message["Message-ID"]), str(message["To"])
            kind = n % 5
            if kind == 0:  # to the shared bounce address of old
                target, mail_from, raw = f"bounces@{DOMAIN}", "", dsn(mid, to, to="bounces")
            elif kind == 1:  # written for people, to postmaster
                target, mail_from = f"postmaster@{DOMAIN}", ""
                raw = textual_bounce(mid, to, to=target)
            elif kind == 2:  # a bounce address with a made-up tag, or of an unsent email
                target, mail_from = (forged_tag if n % 2 else unsent), ""
                raw = dsn(mid, to, to=target)
            elif kind == 3:  # the real bounce address, but not from the null sender
                target, mail_from = envelope, "attacker@outside.example"
                raw = dsn(mid, to, to=target)
            else:  # a leaked bounce address, naming another email and recipient
                other, _ = next((m, e) for m, e in sent if e != leaked_envelope)
                target, mail_from = leaked_envelope, ""
                raw = dsn(str(other["Message-ID"]), str(other["To"]), to=target)
            with server.client() as client:
                client.mail(mail_from)
                code, _ = client.rcpt(target)
                if code != 250:
                    refused += 1
                    assert code == 550
                    continue
                assert client.data(raw)[0] == 250
                accepted += 1
        assert (accepted, refused) == (16, 4)
        assert failing(demo) == []
        statuses = [r.status for r in rows(demo)]
        assert statuses == ["quarantined"] * 16
        assert all("nothing changed" in (r.reason or "") for r in rows(demo))
        assert planned(demo) == before  # no email of the next 30 days changed recipient
        # a genuine bounce: the null sender, to the email's own bounce address
        message, envelope = sent[-1]
        to = str(message["To"])
        with server.client() as client:
            client.mail("")
            assert client.rcpt(envelope)[0] == 250
            assert client.data(dsn(str(message["Message-ID"]), to, to=envelope))[0] == 250
        assert rows(demo)[-1].status == "bounce"
        assert set(failing(demo)) == {to}
        after = planned(demo)
        assert after != before  # and the chasing moves on to the next person
        assert to in {t for _, _, tos in before for t in tos}
        assert to not in {t for _, _, tos in after for t in tos}
    finally:
        server.controller.stop()


def test_a_genuine_bounce_that_names_another_recipient_changes_nothing(
    demo: Services, sent: list[tuple[EmailMessage, str]], inbox: Listener
) -> None:
    message, envelope = sent[0]
    raw = dsn(str(message["Message-ID"]), "someone.else@sept.example.org", to=envelope)
    inbox.deliver(raw, envelope, sender="")
    [row] = rows(demo)
    assert row.status == "quarantined"
    assert "names other recipients than" in (row.reason or "")
    assert failing(demo) == []


def test_message_ids_are_hmacs_stable_for_resends_and_unpredictable(
    sent: list[tuple[EmailMessage, str]], demo: Services
) -> None:
    with demo.db.engine.connect() as conn:
        keys = dict(conn.execute(sa.select(Outbox.message_id, Outbox.dedupe_key)).all())
    message, _ = sent[0]
    mid = str(message["Message-ID"])
    key = keys[mid]
    domain = mid.rpartition("@")[2][:-1]
    assert message_id(KEY, [key], domain) == mid  # a resend gets the same one
    assert message_id(b"y" * 32, [key], domain) != mid  # without the key, no match
    import hashlib

    public = hashlib.sha256(key.encode()).hexdigest()[:40]  # what it was before issue 9
    assert mid != f"<{public}@{domain}>"


# -- RCPT TO ----------------------------------------------------------------------------


def test_made_up_recipients_are_refused_before_any_data(demo: Services, inbox: Listener) -> None:
    """The disk-filling attack: 5 messages of 1.5 MB to made-up local parts keep nothing."""
    big = b"Subject: x\r\nFrom: a@outside.example\r\n\r\n" + (b"x" * 998 + b"\r\n") * 1500
    stored = inbox_files(demo.data_dir)
    refused = []
    for local in ("admin", "info", "reply+abc", "reply+abc.def", "bounces+1.aaaa"):
        with pytest.raises(smtplib.SMTPRecipientsRefused) as info:
            with inbox.client() as client:
                client.sendmail("a@outside.example", [f"{local}@{DOMAIN}"], big)
        [(code, text)] = info.value.recipients.values()
        refused.append(code)
        assert b"no such address here" in text
    assert refused == [550] * 5
    assert rows(demo) == []
    assert inbox_files(demo.data_dir) == stored


def inbox_files(data_dir: Path) -> list[Path]:
    return sorted(p for p in data_dir.rglob("*") if p.is_file())


def test_known_addresses_are_taken(
    demo: Services, sent: list[tuple[EmailMessage, str]], inbox: Listener
) -> None:
    make_item(demo, ref="T1", due=dt.date(2011, 3, 1), agency="sept")
    public_id = er.issue(demo, T1, actor=BM, now=NOW).public_id
    envelope = sent[0][1]
    known = [
        reply_address(KEY, public_id, DOMAIN),
        reply_address(KEY, public_id, DOMAIN).upper(),  # mail systems may change the case
        envelope,
        f"postmaster@{DOMAIN}",
        f"bounces@{DOMAIN}",
    ]
    with inbox.client() as client:
        client.mail("")
        assert [client.rcpt(a)[0] for a in known] == [250] * len(known)


def test_a_local_fault_is_a_temporary_failure_that_says_nothing(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The database is unreachable (here: no tables): 451, so the reply is sent again later,
    not bounced by a 500 that names signoff's internals."""
    broken = Services(db=Database(f"sqlite:///{tmp_path / 'empty.db'}"), data_dir=tmp_path)
    server = Listener(broken)
    try:
        with server.client() as client:
            client.mail("a@outside.example")
            code, text = client.rcpt(reply_address(KEY, "abcdefghijklmnop", DOMAIN))
    finally:
        server.controller.stop()
        broken.db.dispose()
    assert (code, text) == (451, b"4.3.0 a local problem; try again later")
    assert "OperationalError" in caplog.text


@pytest.mark.parametrize(
    "address",
    [
        f"reply+abcdefghijklmnop.\u00e9\u00e9\u00e9@{DOMAIN}",  # compare_digest refuses non-ASCII
        f"bounces+\u0667.aaaa@{DOMAIN}",  # an Arabic-Indic seven is a digit to isdigit()
        f"bounces+007.aaaa@{DOMAIN}",
        f"bounces+-1.aaaa@{DOMAIN}",
        f"bounces+{10**30}.aaaa@{DOMAIN}",
    ],
)
def test_odd_local_parts_are_no_address(demo: Services, address: str) -> None:
    assert local_address(demo, address, key=KEY, domain=DOMAIN) is None
    got = receive(
        demo, Mailbox(key=KEY, domain=DOMAIN), b"Subject: x\r\nFrom: a@b.example\r\n\r\nx",
        rcpt_tos=[address], envelope_from="", now=NOW,
    )  # fmt: skip
    assert got.status == "quarantined"


def test_at_most_ten_recipients_a_message(demo: Services, inbox: Listener) -> None:
    with inbox.client() as client:
        client.mail("a@outside.example")
        codes = [client.rcpt(f"postmaster@{DOMAIN}")[0] for _ in range(11)]
    assert codes == [250] * 10 + [452]


# -- size, quarantine cap, rate limits ---------------------------------------------------


def test_size_is_advertised_and_a_declared_size_over_it_refused(
    demo: Services, inbox: Listener
) -> None:
    with inbox.client() as client:
        assert client.has_extn("size")
        assert int(client.esmtp_features["size"]) == 2_000_000
        code, _ = client.mail("a@outside.example", ["SIZE=2000001"])
    assert code == 552
    with inbox.client() as client:
        client.mail("a@outside.example")
        client.rcpt(f"postmaster@{DOMAIN}")
        code, _ = client.data(b"Subject: x\r\n\r\n" + (b"x" * 998 + b"\r\n") * 2100)
    assert code == 552
    assert rows(demo) == []


def test_a_quarantined_message_is_kept_cut_and_says_so(demo: Services, inbox: Listener) -> None:
    head = (
        f"From: someone@outside.example\r\nTo: postmaster@{DOMAIN}\r\nSubject: big\r\n"
        "Message-ID: <big@outside.example>\r\n\r\n"
    ).encode()
    raw = head + (b"y" * 998 + b"\r\n") * 1500  # 1.5 MB
    inbox.deliver(raw, f"postmaster@{DOMAIN}")
    [row] = rows(demo)
    assert row.status == "quarantined"
    assert row.size == len(raw)
    kept = demo.data_dir / "evidence" / row.raw_sha256[:2] / row.raw_sha256
    assert kept.stat().st_size == len(head) + KEEP_BODY_BYTES
    assert kept.read_bytes().startswith(head)
    assert f"kept the first {len(head) + KEEP_BODY_BYTES:,} of {len(raw):,} bytes" in (
        row.reason or ""
    )


def test_too_many_messages_from_one_client_are_deferred(demo: Services) -> None:
    server = Listener(demo, messages_per_minute=3)
    try:
        codes = []
        for _ in range(5):
            with server.client() as client:
                codes.append(client.mail("a@outside.example")[0])
    finally:
        server.controller.stop()
    assert codes == [250, 250, 250, 450, 450]


def test_a_client_guessing_addresses_is_cut_off(demo: Services) -> None:
    server = Listener(demo, refusals_per_minute=3)
    try:
        client = server.client()
        client.mail("a@outside.example")
        codes = [client.rcpt(f"guess{n}@{DOMAIN}")[0] for n in range(4)]
        with pytest.raises(smtplib.SMTPServerDisconnected):
            client.noop()  # the server closed the connection after its 421
        client.close()
        with server.client() as again:  # and the next connection is refused too
            again.mail("a@outside.example")
            later = again.rcpt(f"postmaster@{DOMAIN}")[0]
    finally:
        server.controller.stop()
    assert codes == [550, 550, 550, 421]
    assert later == 421


# -- dedupe per accepted delivery ---------------------------------------------------------


def genuine_reply(public_id: str, mid: str, sender: str = NURSE, body: str = "Done.") -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = reply_address(KEY, public_id, DOMAIN)
    msg["Subject"] = "RE: Evidence needed"
    msg["Message-ID"] = mid
    msg.set_content(body)
    return msg.as_bytes()


def test_junk_with_a_genuine_reply_message_id_does_not_preempt_it_issue_9(
    demo: Services, inbox: Listener
) -> None:
    make_item(demo, ref="T1", due=dt.date(2011, 3, 1), agency="sept")
    public_id = er.issue(demo, T1, actor=BM, now=NOW).public_id
    address = reply_address(KEY, public_id, DOMAIN)
    mid = "<CAB1234@mail.sept.example.org>"  # seen by the outsider (a Cc, a forward)
    # junk first: to postmaster, and to the reply address itself from an outsider
    inbox.deliver(genuine_reply(public_id, mid, "attacker@outside.example", "x"), address)
    inbox.deliver(genuine_reply(public_id, mid, "attacker@outside.example"), f"postmaster@{DOMAIN}")
    got = inbox.deliver(genuine_reply(public_id, mid), address, sender=NURSE)
    assert "already received" not in got
    again = inbox.deliver(genuine_reply(public_id, mid), address, sender=NURSE)
    assert "already received" in again  # the genuine one, redelivered, is the duplicate
    assert [r.status for r in rows(demo)] == ["quarantined", "quarantined", "accepted"]
    with demo.db.engine.connect() as conn:
        assert conn.execute(sa.select(Evidence.statement)).scalars().all() == ["Done."]


# -- hostile MIME ------------------------------------------------------------------------

_H = b"From: named.nurse@sept.example.org\r\nSubject: evidence\r\nMessage-ID: <h@x>\r\n"


def _nested_multipart(depth: int) -> bytes:
    out = _H + b'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="b0"\r\n\r\n'
    for i in range(1, depth):
        out += b'--b%d\r\nContent-Type: multipart/mixed; boundary="b%d"\r\n\r\n' % (i - 1, i)
    out += b"--b%d\r\nContent-Type: text/plain\r\n\r\nhello\r\n" % (depth - 1)
    return out + b"".join(b"--b%d--\r\n" % i for i in reversed(range(depth)))


def _nested_rfc822(depth: int) -> bytes:
    inner = _H + b"\r\nhello\r\n"
    for _ in range(depth):
        inner = _H + b"MIME-Version: 1.0\r\nContent-Type: message/rfc822\r\n\r\n" + inner
    return inner


def _parts(n: int, boundary: bytes = b"b") -> bytes:
    out = _H + b'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="%s"\r\n\r\n' % (
        boundary
    )
    part = b"--%s\r\nContent-Type: text/plain\r\n\r\nx\r\n" % boundary
    return out + part * n + b"--%s--\r\n" % boundary


def _fields(n: int, name: bytes = b"X-Filler") -> bytes:
    return _H + b"".join(b"%s: %d\r\n" % (name, i) for i in range(n)) + b"\r\nbody\r\n"


def _dsn_blocks(n: int) -> bytes:
    out = _H + (
        b"MIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status; "
        b'boundary="B"\r\n\r\n--B\r\nContent-Type: message/delivery-status\r\n\r\n'
        b"Reporting-MTA: dns; x\r\n\r\n"
    )
    block = (
        b"Final-Recipient: rfc822; a@sept.example.org\r\nAction: failed\r\nStatus: 5.1.1\r\n\r\n"
    )
    return out + block * n + b"--B--\r\n"


def _fields_over_parts(parts: int, per_part: int) -> bytes:
    out = _H + b'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\n'
    fields = b"".join(b"X-F: %d\r\n" % i for i in range(per_part))
    part = b"--b\r\n" + fields + b"Content-Type: text/plain\r\n\r\nx\r\n"
    return out + part * parts + b"--b--\r\n"


HOSTILE: dict[str, Callable[[], bytes]] = {
    "multipart nested 21 deep": lambda: _nested_multipart(22),
    "multipart nested 900 deep": lambda: _nested_multipart(900),
    "message/rfc822 nested 21 deep": lambda: _nested_rfc822(21),
    "message/rfc822 nested 3000 deep": lambda: _nested_rfc822(3000),
    "1001 parts": lambda: _parts(1001),
    "20000 parts": lambda: _parts(20_000),
    "1001 header fields": lambda: _fields(1001),
    "30000 header fields": lambda: _fields(30_000),
    "20000 From fields": lambda: _fields(20_000, b"From"),
    "20000 Received fields": lambda: _fields(20_000, b"Received"),
    "10001 fields over 11 parts": lambda: _fields_over_parts(11, 920),
    "1001 delivery report blocks": lambda: _dsn_blocks(1001),
    "15000 delivery report blocks": lambda: _dsn_blocks(15_000),
}


@pytest.mark.parametrize("case", list(HOSTILE))
def test_hostile_mime_is_refused_in_bounded_time(case: str) -> None:
    raw = HOSTILE[case]()
    started = time.perf_counter()
    with pytest.raises(Unreadable) as info:
        parse_message(raw)
    assert time.perf_counter() - started < 5.0, case  # well under a second unloaded
    assert "more than" in info.value.reason or "deeper than" in info.value.reason


def test_the_limits_leave_real_sized_messages_alone() -> None:
    """Just under each limit still parses: the bounds refuse floods, not mail."""
    for raw in (_nested_multipart(19), _parts(990), _fields(990), _dsn_blocks(990)):
        parse_message(raw)


def test_hostile_mime_over_smtp_is_quarantined_and_nothing_else(
    demo: Services, inbox: Listener
) -> None:
    make_item(demo, ref="T1", due=dt.date(2011, 3, 1), agency="sept")
    public_id = er.issue(demo, T1, actor=BM, now=NOW).public_id
    address = reply_address(KEY, public_id, DOMAIN)
    started = time.perf_counter()
    sent = 0
    for case, make in HOSTILE.items():
        raw = make()
        if len(raw) > inbox.mailbox.max_message_bytes:
            continue  # refused by size alone (552), tested above
        raw = raw.replace(b"Message-ID: <h@x>", f"Message-ID: <{sent}@x>".encode(), 1)
        inbox.deliver(raw, address, sender=NURSE)
        sent += 1
        assert rows(demo)[-1].status == "quarantined", case
    assert sent == len(HOSTILE)
    assert time.perf_counter() - started < 30
    with demo.db.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(Evidence)).scalar_one() == 0
