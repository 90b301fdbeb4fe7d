"""Issue 9: every email that invites a reply carries a reply address, and replies to it work.

Each test sends the board's mail through a real SMTP server (the dispatcher to aiosmtpd),
takes the Reply-To of what arrived, and answers it through the real inbound listener.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from email.message import EmailMessage
from email.utils import make_msgid

import pytest
import sqlalchemy as sa

from app.settings import load_settings
from engine import inbox as received
from engine import outbox
from engine import requests as er
from engine.errors import ActorRefused, NotHeld, RequestRefused
from engine.fire import FireRequest, fire
from engine.hashchain import verify
from engine.replykeys import parse_reply_address
from engine.services import Services
from engine.store.tables import Event, Evidence, EvidenceRequest, InboundMessage, Item, Outbox
from engine.sweep import run_once
from engine.uploads import UploadLimits
from inbound import listener
from inbound.receive import Mailbox, confirm
from notifications.dispatcher import dispatch
from notifications.settings import MailSettings
from notifications.templates import Templates
from tests.conftest import BM, NOW, PANEL, make_item
from tests.inbound.test_receive import DIRECTOR, DOMAIN, NURSE, PDF, T1, Listener
from tests.smtpd import SmtpServer

KEY = b"k" * 32
CEO = "chief.executive@sept.example.org"
OUTSIDER = "someone@evil.example"
AUTHSERV = "mx.replies.board.example.org"


@pytest.fixture
def mail(smtp: SmtpServer) -> MailSettings:
    return load_settings(
        smtp_port=smtp.port,
        secret_key="k" * 32,
        reply_domain=DOMAIN,
        base_url="https://b.example",
        mail_from="Southend LSCB <board@southend-lscb.example.org>",
    ).mail()


@pytest.fixture
def inbox(demo: Services) -> Iterator[Listener]:
    server = Listener(demo, UploadLimits(max_file_bytes=200_000), max_bytes=1_000_000)
    yield server
    server.controller.stop()


def with_authserv(inbox: Listener, services: Services, authserv_id: str | None) -> None:
    """Restart the listener with our receiving server's authserv-id set."""
    inbox.controller.stop()
    inbox.mailbox = Mailbox(
        key=KEY, domain=DOMAIN, limits=inbox.mailbox.limits, authserv_id=authserv_id
    )
    inbox.controller = listener.start(services, inbox.mailbox, "127.0.0.1", inbox.port, lambda: NOW)


def sent(smtp: SmtpServer, kind: str, to: str, needle: str = "T1") -> EmailMessage:
    found = [
        m
        for m in smtp.recorder.messages
        if m["X-Signoff-Kind"] == kind and m["To"] == to and needle in str(m["Subject"])
    ]
    assert found, [(m["X-Signoff-Kind"], m["To"], m["Subject"]) for m in smtp.recorder.messages]
    return found[-1]


def text_of(message: EmailMessage) -> str:
    body = message.get_body(("plain",))
    assert body is not None
    return str(body.get_content())


def answer(
    to: str,
    body: str = "Training register attached.",
    *,
    sender: str = NURSE,
    pdf: bool = True,
    headers: dict[str, str] | None = None,
    subject: str = "RE: your email",
) -> EmailMessage:
    msg = EmailMessage()
    for name, value in (headers or {}).items():
        msg[name] = value
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    msg["Message-ID"] = make_msgid(domain="sept.example.org")
    msg.set_content(body)
    if pdf:
        msg.add_attachment(PDF, maintype="application", subtype="pdf", filename="register.pdf")
    return msg


def send(inbox: Listener, msg: EmailMessage, envelope: str) -> None:
    import asyncio

    import aiosmtplib

    asyncio.run(
        aiosmtplib.send(
            msg, hostname="127.0.0.1", port=inbox.port, recipients=[str(msg["To"])], sender=envelope
        )
    )


def inbound(services: Services) -> list[InboundMessage]:
    with services.db.engine.connect() as conn:
        return list(conn.execute(sa.select(InboundMessage).order_by(InboundMessage.id)).all())


def state_and_evidence(services: Services, item: int) -> tuple[str, int]:
    with services.db.engine.connect() as conn:
        state = conn.execute(sa.select(Item.state).where(Item.id == item)).scalar_one()
        count = conn.execute(
            sa.select(sa.func.count()).select_from(Evidence).where(Evidence.item_id == item)
        ).scalar_one()
    return state, count


def auto_answers(services: Services) -> list[Outbox]:
    with services.db.engine.connect() as conn:
        return list(
            conn.execute(sa.select(Outbox).where(Outbox.kind == "auto_answer").order_by(Outbox.id))
        )


@pytest.fixture
def reminded(demo: Services, smtp: SmtpServer, mail: MailSettings) -> tuple[int, EmailMessage]:
    """T1 (SEPT, due 20 January 2011) and the reminder sent to its lead officer on 10 January."""
    item = make_item(demo, ref="T1", due=dt.date(2011, 1, 20), agency="sept")
    run_once(demo, NOW)
    dispatch(demo, mail, Templates(), NOW, owner="test")
    return item, sent(smtp, "reminder", NURSE)


def test_a_reminder_carries_a_reply_address_bound_to_its_item_and_recipient(
    demo: Services, reminded: tuple[int, EmailMessage]
) -> None:
    item, reminder = reminded
    reply_to = str(reminder["Reply-To"])
    assert reply_to != "board@southend-lscb.example.org"
    public_id = parse_reply_address(KEY, reply_to, DOMAIN)
    assert public_id is not None
    assert reply_to in text_of(reminder)
    with demo.db.engine.connect() as conn:
        row = conn.execute(
            sa.select(EvidenceRequest).where(EvidenceRequest.public_id == public_id)
        ).one()
    assert (row.kind, row.item_id, row.recipient) == ("reply", item, NURSE)


def test_a_reply_to_a_reminder_is_evidence(
    demo: Services, inbox: Listener, reminded: tuple[int, EmailMessage]
) -> None:
    """Issue 9: it was quarantined, and the sender heard nothing."""
    item, reminder = reminded
    send(inbox, answer(str(reminder["Reply-To"])), NURSE)
    assert [r.status for r in inbound(demo)] == ["accepted"]
    assert state_and_evidence(demo, item) == ("evidence_submitted", 2)
    with demo.db.engine.connect() as conn:
        last = conn.execute(
            sa.select(Event.actor, Event.trigger).where(Event.item_id == item).order_by(Event.seq)
        ).all()[-1]
    assert tuple(last) == (NURSE, "submit_evidence")


def test_every_email_that_invites_a_reply_has_its_own_reply_address(
    demo: Services, smtp: SmtpServer, mail: MailSettings, inbox: Listener
) -> None:
    """Reminder, decision and receipt: each a Reply-To at the reply domain, none the From."""
    item = make_item(demo, ref="T1", due=dt.date(2011, 1, 20), agency="sept")
    run_once(demo, NOW)
    dispatch(demo, mail, Templates(), NOW, owner="test")
    send(inbox, answer(str(sent(smtp, "reminder", NURSE)["Reply-To"])), NURSE)
    fire(demo, FireRequest(item=item, trigger="challenge", actor=PANEL, now=NOW,
                           reason="thin", meeting_date=dt.date(2011, 1, 9)))  # fmt: skip
    dispatch(demo, mail, Templates(), NOW, owner="test")
    kinds = {}
    for m in smtp.recorder.messages:
        if "T1" in str(m["Subject"]) and str(m["X-Signoff-Kind"]) in set(outbox.Kind):
            kinds.setdefault(str(m["X-Signoff-Kind"]), set()).add(str(m["Reply-To"]))
    assert {"reminder", "receipt", "decision", "request"} <= set(kinds), kinds
    for kind, addresses in kinds.items():
        for address in addresses:
            assert parse_reply_address(KEY, address, DOMAIN), (kind, address)


def test_a_reply_to_the_decision_answers_the_challenge(
    demo: Services, smtp: SmtpServer, mail: MailSettings, inbox: Listener
) -> None:
    item = make_item(demo, ref="T1", due=dt.date(2011, 3, 1), agency="sept")
    er.issue(demo, T1, actor=BM, now=NOW)
    dispatch(demo, mail, Templates(), NOW, owner="test")
    send(inbox, answer(str(sent(smtp, "request", NURSE)["Reply-To"])), NURSE)
    fire(demo, FireRequest(item=item, trigger="challenge", actor=PANEL, now=NOW,
                           reason="thin", meeting_date=dt.date(2011, 1, 9)))  # fmt: skip
    dispatch(demo, mail, Templates(), NOW, owner="test")
    decision = sent(smtp, "decision", NURSE)
    send(inbox, answer(str(decision["Reply-To"]), "Further evidence attached."), NURSE)
    assert [r.status for r in inbound(demo)] == ["accepted", "accepted"]
    assert state_and_evidence(demo, item) == ("evidence_submitted", 4)


def test_a_reply_to_the_receipt_is_a_follow_up(
    demo: Services, smtp: SmtpServer, mail: MailSettings, inbox: Listener,
    reminded: tuple[int, EmailMessage],
) -> None:  # fmt: skip
    item, reminder = reminded
    send(inbox, answer(str(reminder["Reply-To"])), NURSE)
    dispatch(demo, mail, Templates(), NOW, owner="test")
    receipt = sent(smtp, "receipt", NURSE)
    assert "reply to this email and attach it" in text_of(receipt)
    send(inbox, answer(str(receipt["Reply-To"]), "One more file."), NURSE)
    assert [r.status for r in inbound(demo)] == ["accepted", "accepted"]
    assert state_and_evidence(demo, item) == ("evidence_submitted", 4)
    with demo.db.engine.connect() as conn:
        triggers = conn.execute(
            sa.select(Event.trigger).where(Event.item_id == item).order_by(Event.seq)
        ).scalars()
        assert [t for t in triggers if "evidence" in t] == ["submit_evidence", "evidence_added"]
        assert verify(conn).ok
    # the follow-up gets its own receipt
    dispatch(demo, mail, Templates(), NOW, owner="test")
    assert len([m for m in smtp.recorder.messages if m["X-Signoff-Kind"] == "receipt"]) == 2


# -- replies that cannot be used: one short automatic answer -------------------------------


def test_a_sender_who_may_not_answer_gets_one_automatic_answer_a_day(
    demo: Services, smtp: SmtpServer, mail: MailSettings, inbox: Listener,
    reminded: tuple[int, EmailMessage],
) -> None:  # fmt: skip
    item, reminder = reminded
    address = str(reminder["Reply-To"])
    for n in range(3):
        send(inbox, answer(address, f"attempt {n}", sender=OUTSIDER), OUTSIDER)
    assert [r.status for r in inbound(demo)] == ["quarantined"] * 3
    assert state_and_evidence(demo, item) == ("open", 0)
    [queued] = auto_answers(demo)
    assert queued.item_id is None
    assert queued.recipient == OUTSIDER
    before = len(smtp.recorder.messages)
    dispatch(demo, mail, Templates(), NOW, owner="test")
    [auto] = smtp.recorder.messages[before:]
    assert auto["To"] == OUTSIDER
    assert auto["Auto-Submitted"] == "auto-replied"
    text = text_of(auto)
    assert "could not use it" in text
    assert address in text
    for case_detail in ("T1", "test item", "register"):  # no ref, no text, no file name
        assert case_detail not in text
        assert case_detail not in str(auto["Subject"])


def test_each_kind_of_unusable_reply_says_why(
    demo: Services, inbox: Listener, reminded: tuple[int, EmailMessage]
) -> None:
    item, reminder = reminded
    address = str(reminder["Reply-To"])
    send(inbox, answer(address, "", pdf=False), "a@sept.example.org")  # empty
    bad = answer(address, "see file", pdf=False)
    bad.add_attachment(b"MZ" + b"\0" * 300, maintype="application", subtype="octet-stream",
                       filename="run.exe")  # fmt: skip
    send(inbox, bad, "b@sept.example.org")  # refused file
    send(inbox, answer(address), NURSE)  # accepted
    fire(demo, FireRequest(item=item, trigger="challenge", actor=PANEL, now=NOW,
                           reason="thin", meeting_date=dt.date(2011, 1, 9)))  # fmt: skip
    send(inbox, answer(address, "late"), "c@sept.example.org")  # moved on: closed
    assert [r.status for r in inbound(demo)] == ["quarantined", "quarantined", "accepted",
                                                  "quarantined"]  # fmt: skip
    reasons = {a.recipient: a.context["reason"] for a in auto_answers(demo)}
    assert reasons == {
        "a@sept.example.org": "empty",
        "b@sept.example.org": "file_refused",
        "c@sept.example.org": "closed",
    }


def test_an_expired_reply_address_is_answered(
    demo: Services, inbox: Listener, reminded: tuple[int, EmailMessage]
) -> None:
    item, reminder = reminded
    inbox.controller.stop()
    late = NOW + dt.timedelta(days=40)
    inbox.controller = listener.start(demo, inbox.mailbox, "127.0.0.1", inbox.port, lambda: late)
    send(inbox, answer(str(reminder["Reply-To"])), NURSE)
    [row] = inbound(demo)
    assert row.status == "quarantined"
    assert "expired" in (row.reason or "")
    assert [a.context["reason"] for a in auto_answers(demo)] == ["closed"]
    assert state_and_evidence(demo, item) == ("open", 0)


@pytest.mark.parametrize(
    ("headers", "envelope"),
    [
        ({"Auto-Submitted": "auto-replied"}, "x@sept.example.org"),
        ({"Subject": "Automatic reply: away"}, "x@sept.example.org"),
        ({"List-Id": "<staff.sept.example.org>"}, "x@sept.example.org"),
        ({"Precedence": "list"}, "x@sept.example.org"),
        ({}, ""),  # a null envelope sender: a bounce
        ({}, f"loop@{DOMAIN}"),  # our own domain
    ],
    ids=["auto-submitted", "out-of-office", "list-id", "precedence", "null-sender", "own-domain"],
)
def test_no_automatic_answer_to_machines_lists_or_ourselves(
    demo: Services, inbox: Listener, reminded: tuple[int, EmailMessage],
    headers: dict[str, str], envelope: str,
) -> None:  # fmt: skip
    _, reminder = reminded
    headers = dict(headers)  # the parameter is shared by the sqlite and postgres runs
    subject = headers.pop("Subject", "RE: your email")
    msg = answer(str(reminder["Reply-To"]), "", pdf=False, headers=headers, subject=subject)
    send(inbox, msg, envelope)
    assert len(inbound(demo)) == 1
    assert auto_answers(demo) == []


# -- who is believed: the addressee, and DMARC at our own server ----------------------------


def _spoof(address: str, *, sender: str = CEO, results: list[str]) -> EmailMessage:
    msg = answer(address, "I confirm this is done.", sender=sender)
    for value in results:  # topmost first, as a server prepends its own
        msg["Authentication-Results"] = value
    return msg


def test_a_spoofed_chief_executive_is_held_not_believed(
    demo: Services, inbox: Listener, reminded: tuple[int, EmailMessage]
) -> None:
    """Issue 9's attack: From: the chief executive, an outsider's envelope, dmarc=fail."""
    item, reminder = reminded
    with_authserv(inbox, demo, AUTHSERV)
    results = [f"{AUTHSERV}; spf=fail smtp.mailfrom=evil.example; dkim=none; "
               "dmarc=fail (p=none) header.from=sept.example.org"]  # fmt: skip
    send(inbox, _spoof(str(reminder["Reply-To"]), results=results), OUTSIDER)
    [row] = inbound(demo)
    assert row.status == "held"
    assert (row.sender, row.envelope_from) == (CEO, OUTSIDER)
    assert f"From: {CEO}, envelope sender: {OUTSIDER}" in (row.reason or "")
    assert "DMARC fail" in (row.reason or "")
    assert state_and_evidence(demo, item) == ("open", 0)
    with demo.db.engine.connect() as conn:
        actors = conn.execute(sa.select(Event.actor).where(Event.item_id == item)).scalars()
        assert CEO not in set(actors)
    assert auto_answers(demo) == []


def test_the_chief_executive_is_not_the_addressee_even_without_authentication_results(
    demo: Services, inbox: Listener, reminded: tuple[int, EmailMessage]
) -> None:
    item, reminder = reminded
    send(inbox, _spoof(str(reminder["Reply-To"]), results=[]), OUTSIDER)
    assert [r.status for r in inbound(demo)] == ["held"]
    assert state_and_evidence(demo, item) == ("open", 0)


@pytest.mark.parametrize(
    ("results", "verdict"),
    [
        ([], "absent"),
        ([f"{AUTHSERV}; dmarc=fail header.from=sept.example.org"], "fail"),
        ([f"{AUTHSERV}; dmarc=none"], "none"),
        ([f"{AUTHSERV}; spf=pass smtp.mailfrom=sept.example.org"], "absent"),
        (["mx.evil.example; dmarc=pass header.from=sept.example.org"], "absent"),
        ([f"{AUTHSERV}; dmarc=fail", f"{AUTHSERV}; dmarc=pass"], "fail"),  # theirs below ours
        ([f"{AUTHSERV}; dmarc=pass header.from=evil.example"], "misaligned"),
        ([f"{AUTHSERV}; ;;; ==="], "unreadable"),
    ],
    ids=[
        "none",
        "fail",
        "dmarc-none",
        "no-dmarc",
        "foreign-authserv",
        "forged-below",
        "other-domain",
        "garbage",
    ],  # fmt: skip
)
def test_the_addressee_without_a_dmarc_pass_is_held(
    demo: Services, inbox: Listener, reminded: tuple[int, EmailMessage],
    results: list[str], verdict: str,
) -> None:  # fmt: skip
    item, reminder = reminded
    with_authserv(inbox, demo, AUTHSERV)
    send(inbox, _spoof(str(reminder["Reply-To"]), sender=NURSE, results=results), NURSE)
    [row] = inbound(demo)
    assert row.status == "held", row.reason
    assert f"DMARC {verdict}" in (row.reason or "")
    assert state_and_evidence(demo, item) == ("open", 0)


def test_the_addressee_with_a_dmarc_pass_is_believed(
    demo: Services, inbox: Listener, reminded: tuple[int, EmailMessage]
) -> None:
    item, reminder = reminded
    with_authserv(inbox, demo, AUTHSERV)
    results = [
        f"{AUTHSERV.upper()}; spf=pass smtp.mailfrom=sept.example.org; "
        "dkim=pass header.d=sept.example.org; dmarc=pass header.from=sept.example.org"
    ]
    send(inbox, _spoof(str(reminder["Reply-To"]), sender=NURSE, results=results), NURSE)
    assert [r.status for r in inbound(demo)] == ["accepted"]
    assert state_and_evidence(demo, item)[0] == "evidence_submitted"


def test_a_colleague_replying_to_the_reminder_is_held(
    demo: Services, inbox: Listener, reminded: tuple[int, EmailMessage]
) -> None:
    item, reminder = reminded
    send(inbox, answer(str(reminder["Reply-To"]), sender=DIRECTOR), DIRECTOR)
    [row] = inbound(demo)
    assert row.status == "held"
    assert "not the person this address was sent to" in (row.reason or "")
    assert state_and_evidence(demo, item) == ("open", 0)
    assert auto_answers(demo) == []


# -- digests: an address bound to the recipient, matched by ref -----------------------------


@pytest.fixture
def digested(
    demo: Services, smtp: SmtpServer, mail: MailSettings
) -> tuple[dict[str, int], EmailMessage]:
    """T1 and T2 (SEPT) in one digest to the lead officer."""
    items = {
        ref: make_item(demo, ref=ref, due=dt.date(2011, 1, 20), agency="sept")
        for ref in ("T1", "T2")
    }
    with demo.db.write() as conn:
        outbox.enqueue(
            conn,
            [
                outbox.Notice(
                    dedupe_key=f"test-digest:{ref}",
                    item_id=item,
                    kind=outbox.Kind.REMINDER,
                    template="reminder",
                    recipient=NURSE,
                    context={"digest": True, "due": "2011-01-20"},
                    send_at=NOW,
                )  # fmt: skip
                for ref, item in items.items()
            ],
            NOW,
        )
    dispatch(demo, mail, Templates(), NOW, owner="test")
    [digest] = [m for m in smtp.recorder.messages if m["To"] == NURSE]
    return items, digest


def test_a_digest_has_a_reply_address_bound_to_its_recipient(
    demo: Services, digested: tuple[dict[str, int], EmailMessage]
) -> None:
    _, digest = digested
    public_id = parse_reply_address(KEY, str(digest["Reply-To"]), DOMAIN)
    assert public_id is not None
    assert str(digest["Reply-To"]) in text_of(digest)
    with demo.db.engine.connect() as conn:
        row = conn.execute(
            sa.select(EvidenceRequest).where(EvidenceRequest.public_id == public_id)
        ).one()
    assert (row.kind, row.item_id, row.recipient) == ("digest", None, NURSE)


def test_a_reply_to_a_digest_naming_a_ref_is_evidence_on_that_item(
    demo: Services, inbox: Listener, digested: tuple[dict[str, int], EmailMessage]
) -> None:
    items, digest = digested
    send(inbox, answer(str(digest["Reply-To"]), "Evidence for T2 attached."), NURSE)
    assert [r.status for r in inbound(demo)] == ["accepted"]
    assert state_and_evidence(demo, items["T2"])[0] == "evidence_submitted"
    assert state_and_evidence(demo, items["T1"]) == ("open", 0)


@pytest.mark.parametrize(
    ("body", "why"),
    [
        ("Evidence attached.", "names no item"),
        ("Evidence for T1 and T2 attached.", "names 2 items"),
        ("Evidence for T10 and XT1 and T1.5 attached.", "names no item"),
    ],
)
def test_a_digest_reply_naming_no_single_item_is_held_for_staff_to_assign(
    demo: Services, inbox: Listener, digested: tuple[dict[str, int], EmailMessage],
    body: str, why: str,
) -> None:  # fmt: skip
    items, digest = digested
    send(inbox, answer(str(digest["Reply-To"]), body), NURSE)
    [row] = inbound(demo)
    assert row.status == "held"
    assert f"held for staff to assign: a reply to a digest that {why}" in (row.reason or "")
    assert all(state_and_evidence(demo, i) == ("open", 0) for i in items.values())


def test_an_outsider_cannot_use_a_digest_address(
    demo: Services, inbox: Listener, digested: tuple[dict[str, int], EmailMessage]
) -> None:
    items, digest = digested
    send(inbox, answer(str(digest["Reply-To"]), "Evidence for T1", sender=OUTSIDER), OUTSIDER)
    assert [r.status for r in inbound(demo)] == ["quarantined"]
    assert [a.context["reason"] for a in auto_answers(demo)] == ["not_allowed"]
    assert all(state_and_evidence(demo, i) == ("open", 0) for i in items.values())


def test_reply_addresses_are_reused_within_a_state_entry(
    demo: Services, smtp: SmtpServer, mail: MailSettings, reminded: tuple[int, EmailMessage]
) -> None:
    """A week of chasing shares one address: the sweep does not grow the table per email."""
    item, reminder = reminded
    later = NOW + dt.timedelta(days=8)  # the reminder 3 days before the due date
    run_once(demo, later)
    dispatch(demo, mail, Templates(), later, owner="test")
    again = sent(smtp, "reminder", NURSE)
    assert again["Message-ID"] != reminder["Message-ID"]
    assert again["Reply-To"] == reminder["Reply-To"]
    with demo.db.engine.connect() as conn:
        kinds = conn.execute(
            sa.select(EvidenceRequest.kind).where(EvidenceRequest.item_id == item)
        ).scalars()
        assert list(kinds) == ["reply"]


# -- a member of staff confirms what was held ------------------------------------------------


def test_staff_confirm_a_held_reply_and_it_becomes_the_senders_answer(
    demo: Services, inbox: Listener, reminded: tuple[int, EmailMessage]
) -> None:
    item, reminder = reminded
    send(inbox, answer(str(reminder["Reply-To"]), sender=DIRECTOR), DIRECTOR)
    [row] = inbound(demo)
    with pytest.raises(ActorRefused):
        confirm(demo, inbox.mailbox, row.id, staff=NURSE, now=NOW)
    assert state_and_evidence(demo, item) == ("open", 0)
    done = confirm(demo, inbox.mailbox, row.id, staff=BM, now=NOW)
    assert done.status == "accepted"
    assert len(done.evidence_ids) == 2
    assert state_and_evidence(demo, item) == ("evidence_submitted", 2)
    with demo.db.engine.connect() as conn:
        events = conn.execute(
            sa.select(Event.actor, Event.trigger, Event.data)
            .where(Event.item_id == item)
            .order_by(Event.seq)
        ).all()[-2:]
        assert verify(conn).ok
    assert [(e.actor, e.trigger) for e in events] == [
        (DIRECTOR, "submit_evidence"),
        (BM, "reply_confirmed"),
    ]
    assert events[1].data["envelope_from"] == DIRECTOR
    [after] = inbound(demo)
    assert after.status == "accepted"
    assert (after.reason or "").startswith(f"confirmed by {BM}")
    with pytest.raises(NotHeld):
        confirm(demo, inbox.mailbox, row.id, staff=BM, now=NOW)


def test_staff_name_the_item_of_a_held_digest_reply(
    demo: Services, inbox: Listener, digested: tuple[dict[str, int], EmailMessage]
) -> None:
    items, digest = digested
    other = make_item(demo, ref="T9", due=dt.date(2011, 1, 20), agency="nhs-south-east-essex")
    assert other
    send(inbox, answer(str(digest["Reply-To"]), "Evidence attached."), NURSE)
    [row] = inbound(demo)
    with pytest.raises(RequestRefused, match="name its item"):
        confirm(demo, inbox.mailbox, row.id, staff=BM, now=NOW)
    with pytest.raises(RequestRefused, match="does not answer for"):
        confirm(demo, inbox.mailbox, row.id, staff=BM, now=NOW,
                item="southend-iawg-scr-audit-2010/T9")  # fmt: skip
    assert all(state_and_evidence(demo, i) == ("open", 0) for i in items.values())
    confirm(demo, inbox.mailbox, row.id, staff=BM, now=NOW, item=T1)
    assert state_and_evidence(demo, items["T1"]) == ("evidence_submitted", 2)
    assert state_and_evidence(demo, items["T2"]) == ("open", 0)


def test_only_held_messages_can_be_confirmed(
    demo: Services, inbox: Listener, reminded: tuple[int, EmailMessage]
) -> None:
    _, reminder = reminded
    send(inbox, answer(str(reminder["Reply-To"]), sender=OUTSIDER), OUTSIDER)  # refused
    [row] = inbound(demo)
    for message_id in (row.id, 999_999):
        with pytest.raises(NotHeld):
            confirm(demo, inbox.mailbox, message_id, staff=BM, now=NOW)


def test_every_kind_of_reply_address_is_taken_at_rcpt_to(
    demo: Services, smtp: SmtpServer, mail: MailSettings,
    reminded: tuple[int, EmailMessage],
) -> None:  # fmt: skip
    """The listener's one test of an address (``engine.inbox.local_address``) knows them all."""
    _, reminder = reminded
    with demo.db.write() as conn:
        outbox.enqueue(conn, [outbox.Notice(
            dedupe_key="test-digest:x", item_id=reminded[0], kind=outbox.Kind.CHASE,
            template="chase", recipient=DIRECTOR, context={"digest": True}, send_at=NOW,
        )], NOW)  # fmt: skip
    dispatch(demo, mail, Templates(), NOW, owner="test")
    [digest] = [m for m in smtp.recorder.messages if m["To"] == DIRECTOR]
    for address in (str(reminder["Reply-To"]), str(digest["Reply-To"])):
        found = received.local_address(demo, address, key=KEY, domain=DOMAIN)
        assert found is not None, address
        assert found.kind == received.AddressKind.REPLY
    forged = str(digest["Reply-To"]).replace("reply+", "reply+a", 1)
    assert received.local_address(demo, forged, key=KEY, domain=DOMAIN) is None


def test_the_panel_replying_to_its_reminder_is_held_for_staff_to_read(
    demo: Services, smtp: SmtpServer, mail: MailSettings, inbox: Listener
) -> None:
    """The addressee who answers for no agency (the panel) is neither evidence nor refused."""
    item = make_item(demo, ref="T1", due=dt.date(2011, 1, 20), agency="sept")
    with demo.db.write() as conn:
        outbox.enqueue(conn, [outbox.Notice(
            dedupe_key="test-panel-reminder", item_id=item, kind=outbox.Kind.REMINDER,
            template="reminder", recipient=PANEL, context={"due": "2011-01-20"}, send_at=NOW,
        )], NOW)  # fmt: skip
    dispatch(demo, mail, Templates(), NOW, owner="test")
    reminder = sent(smtp, "reminder", PANEL)
    send(inbox, answer(str(reminder["Reply-To"]), "On the agenda for March.", sender=PANEL), PANEL)
    [row] = inbound(demo)
    assert row.status == "held"
    assert "does not answer for sept, so it is not evidence" in (row.reason or "")
    assert state_and_evidence(demo, item) == ("open", 0)
    assert auto_answers(demo) == []
