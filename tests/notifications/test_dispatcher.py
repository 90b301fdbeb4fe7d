"""The dispatcher against a real SMTP server: delivery, faults, retries, history."""

from __future__ import annotations

import datetime as dt
import random
import re
from typing import Any

import pytest
import sqlalchemy as sa

from app.settings import load_settings
from engine.hashchain import verify
from engine.outbox import Result
from engine.queries import show
from engine.replykeys import bounce_address
from engine.services import Services
from engine.sweep import run_once
from notifications.dispatcher import MAX_ATTEMPTS, classify, dispatch
from notifications.settings import MailSettings
from notifications.templates import Templates
from tests.conftest import BM, NOW, R1, REVIEW, submit_r1
from tests.smtpd import SmtpServer, free_port

TEMPLATES = Templates()


SECRET = "dispatcher-tests-secret-key-0123456789"


def settings_for(port: int) -> MailSettings:
    return load_settings(
        secret_key=SECRET,
        smtp_host="127.0.0.1",
        smtp_port=port,
        smtp_timeout=5,
        mail_from="Southend LSCB <lscb@southend-lscb.example.org>",
        base_url="https://signoff.example.org",
    ).mail()


def submit(services: Services) -> None:
    submit_r1(services, "done")


def go(services: Services, port: int, now: dt.datetime = NOW, **kw: Any) -> Any:
    return dispatch(
        services, settings_for(port), TEMPLATES, now, owner="test", rng=random.Random(1), **kw
    )


def statuses(services: Services) -> list[tuple[str, int]]:
    with services.db.engine.connect() as conn:
        return [
            tuple(r)
            for r in conn.execute(  # type: ignore[misc]
                sa.text("SELECT status, attempts FROM outbox ORDER BY id")
            )
        ]


def test_decision_email_arrives_and_is_recorded(demo: Services, smtp: SmtpServer) -> None:
    submit(demo)
    report = go(demo, smtp.port)
    assert (report.sent, report.failed) == (1, 0)
    [message] = smtp.messages
    assert message["To"] == BM
    # the ref only: no summary was marked safe for email, and never the recommendation's text
    assert message["Subject"] == "Submit evidence: R1"
    assert message["Message-ID"].endswith("@southend-lscb.example.org>")
    assert message["From"] == "Southend LSCB <lscb@southend-lscb.example.org>"
    # bounces go to the reply listener (SIGNOFF_REPLY_DOMAIN), which marks the address failing
    # only from a bounce to this email's own envelope sender (its outbox row, signed)
    with demo.db.engine.connect() as conn:
        [row_id] = conn.execute(sa.text("SELECT id FROM outbox")).scalars()
    assert smtp.recorder.envelope_senders == [bounce_address(SECRET.encode(), row_id, "localhost")]
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert "https://signoff.example.org/items/southend-iawg-scr-audit-2010/R1@" in text
    assert "<html" in html.lower()
    assert "done" not in text  # the evidence statement itself never goes into email
    assert statuses(demo) == [("sent", 1)]
    with demo.db.engine.connect() as conn:
        last = show(conn, demo.specs, R1)["items"][0]["history"][-1]
        assert verify(conn).ok
    assert (last["trigger"], last["data"]["recipient"], last["data"]["status"]) == (
        "notified",
        BM,
        "sent",
    )
    assert last["data"]["template_version"]


def test_reminders_and_escalations_reach_the_right_people(demo: Services, smtp: SmtpServer) -> None:
    now = dt.datetime(2011, 4, 26, 10, tzinfo=dt.UTC)  # R1: 24 days overdue
    run_once(demo, now)
    go(demo, smtp.port, now, batch=1000)
    # the chase to the business manager (who leads R1) and the highest escalation step
    # reached (step 2 of 3, up the LSCB's ladder to the chair), each in a digest or alone
    to_r1 = [
        (m["To"], m["X-Signoff-Kind"])
        for m in smtp.messages
        if re.search(f"/{REVIEW}/R1(@[a-z-]+)?\\s", m.get_body(("plain",)).get_content())  # type: ignore[union-attr]
    ]
    assert sorted(to_r1) == [(BM, "chase"), ("chair@southend-lscb.example.org", "escalation")]


def test_421_is_retried_later_then_sent(demo: Services, smtp: SmtpServer) -> None:
    submit(demo)
    smtp.recorder.script = ["421 try again later"]
    first = go(demo, smtp.port)
    assert (first.sent, first.retried) == (0, 1)
    assert statuses(demo) == [("pending", 1)]
    assert go(demo, smtp.port).claimed == 0  # not before its backoff
    second = go(demo, smtp.port, NOW + dt.timedelta(minutes=5))
    assert second.sent == 1
    assert len(smtp.messages) == 1


def test_550_fails_at_once_and_is_shown(demo: Services, smtp: SmtpServer) -> None:
    submit(demo)
    smtp.recorder.script = ["550 mailbox unavailable"]
    report = go(demo, smtp.port)
    assert (report.failed, report.errors) == (
        1,
        ["outbox #1: SMTPDataError: (550, 'mailbox unavailable')"],
    )
    assert statuses(demo) == [("failed", 1)]
    with demo.db.engine.connect() as conn:
        last = show(conn, demo.specs, R1)["items"][0]["history"][-1]
    assert last["trigger"] == "notification_failed"


def test_dropped_connection_is_retried(demo: Services, smtp: SmtpServer) -> None:
    submit(demo)
    smtp.recorder.script = ["DROP", "DROP"]
    assert go(demo, smtp.port).retried == 1
    assert go(demo, smtp.port, NOW + dt.timedelta(hours=1)).sent == 1


def test_refused_connection_is_retried(demo: Services) -> None:
    submit(demo)
    assert go(demo, free_port()).retried == 1
    assert statuses(demo) == [("pending", 1)]


def test_temporary_failures_give_up_after_max_attempts(demo: Services) -> None:
    submit(demo)
    port = free_port()
    now = NOW
    for _ in range(MAX_ATTEMPTS):
        now += dt.timedelta(days=1)
        go(demo, port, now)
    assert statuses(demo) == [("failed", MAX_ATTEMPTS)]


@pytest.mark.parametrize(
    ("code", "result"),
    [(421, Result.RETRY), (450, Result.RETRY), (550, Result.FAILED), (554, Result.FAILED)],
)
def test_classify_by_reply_code(code: int, result: Result) -> None:
    import aiosmtplib

    assert classify(aiosmtplib.SMTPResponseException(code, "x")) is result


def test_classify_timeouts_and_disconnects_as_temporary() -> None:
    import aiosmtplib

    assert classify(TimeoutError()) is Result.RETRY
    assert classify(aiosmtplib.SMTPServerDisconnected("gone")) is Result.RETRY
    assert classify(ConnectionRefusedError()) is Result.RETRY


def test_business_manager_gets_a_daily_summary_of_failures(
    demo: Services, smtp: SmtpServer
) -> None:
    submit(demo)
    smtp.recorder.script = ["550 mailbox unavailable"]
    go(demo, smtp.port)
    later = NOW + dt.timedelta(hours=1)
    run_once(demo, later)
    run_once(demo, later + dt.timedelta(minutes=5))  # the same day: no second summary
    go(demo, smtp.port, later)
    [summary] = [m for m in smtp.messages if m["X-Signoff-Kind"] == "failures"]
    assert summary["To"] == BM
    assert summary["Subject"] == "1 email from signoff could not be delivered"
    body = summary.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "southend-iawg-scr-audit-2010 R1: decision to " + BM in body
    assert "SMTPDataError: (550, 'mailbox unavailable')" in body


def test_digest_rule_sends_one_email_per_recipient_listing_every_item(
    demo: Services, smtp: SmtpServer
) -> None:
    from engine.spec import load_spec
    from engine.versions import publish
    from tests.conftest import WORKFLOWS

    text = (
        (WORKFLOWS / "recommendation.yaml")
        .read_text()
        .replace("      digest: [reminder, chase, escalation]\n", "")
        .replace(
            "      due: item_due\n      to: [agency]\n",
            "      due: item_due\n      to: [agency]\n      digest: true\n",
        )
    )
    with demo.db.write() as conn:
        publish(conn, load_spec(text, "digest.yaml"), actor=BM, now=NOW, migrate=True)
    now = dt.datetime(2011, 3, 22, 10, tzinfo=dt.UTC)  # R1, R2, R4, R7: 14-day reminders
    run_once(demo, now)
    go(demo, smtp.port, now)
    # one digest per kind: the reminders, and the chases of R8 and R9 (long overdue); R3 and
    # R5 have only start dates ('From January/April 2011'), so neither is reminded or chased
    digests = {m["X-Signoff-Kind"]: m for m in smtp.messages if m["To"] == BM}
    assert len(digests) == len([m for m in smtp.messages if m["To"] == BM]) == 2
    reminders = digests["reminder"].get_body(("plain",)).get_content()  # type: ignore[union-attr]
    chases = digests["chase"].get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert digests["reminder"]["Subject"] == "Southend LSCB: 4 items due soon"
    for ref in ("R1", "R2", "R4", "R7"):
        assert f"\n{ref}\r\n" in reminders
    assert digests["chase"]["Subject"] == "Southend LSCB: 2 overdue items"
    for ref in ("R8", "R9"):
        assert f"\n{ref}\r\n" in chases
    for ref in ("R3", "R5"):
        assert f"\n{ref}\r\n" not in reminders + chases
