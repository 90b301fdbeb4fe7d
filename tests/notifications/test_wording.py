"""What the emails say, sent through the dispatcher to a real SMTP server (issue 9)."""

from __future__ import annotations

import datetime as dt
import re
from email.message import EmailMessage

from engine.services import Services
from engine.sweep import run_once
from notifications.templates import shorten_subject
from tests.conftest import BM, NOW, challenge_r1, make_item, submit_r1, without_digests
from tests.notifications.test_dispatcher import go
from tests.smtpd import SmtpServer

SEPT_19 = dt.datetime(2016, 9, 19, 10, tzinfo=dt.UTC)


def text(message: EmailMessage) -> str:
    return message.get_body(("plain",)).get_content()  # type: ignore[union-attr]


def about(smtp: SmtpServer, ref: str) -> list[EmailMessage]:
    return [m for m in smtp.messages if f" {ref} " in f" {m['Subject']} "]


def test_a_reminder_before_the_due_date_counts_the_days(demo: Services, smtp: SmtpServer) -> None:
    make_item(demo, ref="W1", due=dt.date(2016, 9, 30), now=SEPT_19 - dt.timedelta(days=30))
    run_once(demo, SEPT_19)
    go(demo, smtp.port, SEPT_19, batch=1000)
    [reminder] = about(smtp, "W1")
    assert reminder["Subject"] == "Reminder: W1 is due on 30 September 2016"
    assert "recommendation W1 is due in 11 days, on 30 September 2016." in text(reminder)
    assert "due today" not in text(reminder)


def test_overdue_items_say_since_when_urgent_steps_say_so_and_subjects_are_short(
    demo: Services, smtp: SmtpServer
) -> None:
    without_digests(demo)  # one email per item: their own wording
    run_once(demo, SEPT_19)  # the plan's items are years overdue
    go(demo, smtp.port, SEPT_19, batch=1000)
    assert smtp.messages
    for m in smtp.messages:
        subject = str(m["Subject"])
        assert len(subject) <= 78, subject
        assert not re.search(r"\d+ days? overdue", subject + text(m)), subject
    r1 = about(smtp, "R1")
    urgent = [m for m in r1 if str(m["Subject"]).startswith("Urgent: Escalation step 3: R1 ")]
    assert [m["To"] for m in urgent] == ["chair@southend-lscb.example.org"]
    [first] = urgent
    assert "This is urgent" in text(first)
    since = re.search(r"overdue since (\d{1,2} \w+ \d{4})", str(first["Subject"]))
    assert since is not None
    assert f"has been overdue since {since.group(1)}." in text(first)
    for m in r1:  # the recommendation's text never reaches a subject
        assert "Define the LSCB" not in str(m["Subject"]) + text(m)
    assert all("Urgent" not in str(m["Subject"]) for m in r1 if m not in urgent)


def test_subjects_are_cut_at_a_word() -> None:
    long = "Reminder: R1 is due on 1 April 2011: Define the LSCB process for monitoring it all"
    assert shorten_subject(long) == (
        "Reminder: R1 is due on 1 April 2011: Define the LSCB process for monitoring…"
    )
    assert shorten_subject("short") == "short"
    assert shorten_subject("x" * 100) == "x" * 77 + "…"
    assert shorten_subject("a" * 70 + ": " + "b" * 20) == "a" * 70 + "…"


def test_the_request_on_challenge_asks_by_the_challenged_states_deadline(
    demo: Services, smtp: SmtpServer
) -> None:
    submit_r1(demo)
    challenge_r1(demo)  # Monday 10 January 2011; challenged: due in 20 working days
    go(demo, smtp.port, NOW, batch=1000)
    [request] = [m for m in smtp.messages if m["X-Signoff-Kind"] == "request"]
    assert request["To"] == BM
    assert str(request["Subject"]).startswith("Evidence needed by 7 February 2011: R1")
    assert "By 7 February 2011." in text(request)
