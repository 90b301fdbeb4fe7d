"""The catch-up after an import of long-overdue items, through the dispatcher to a real SMTP
server: at most one email per recipient and kind, every item told once (issue 9)."""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from email.message import EmailMessage
from pathlib import Path

import sqlalchemy as sa

from engine.importer import import_files
from engine.services import Services
from engine.store.tables import Event, Outbox
from engine.sweep import run_once
from tests.conftest import CONTACTS, without_digests
from tests.notifications.test_dispatcher import go
from tests.smtpd import SmtpServer

REVIEW = "catch-up-2015"
AGENCIES = (  # five partners, each with its own ladder in the contacts file
    "nhs-south-east-essex",
    "sept",
    "southend-university-hospital-ft",
    "sbc-children-and-learning",
    "essex-probation",
)
OTHERS = ("southend-lscb", "sbc-adult-and-community-services", "south-essex-homes")
SWEEP = dt.datetime(2015, 9, 14, 6, 30, tzinfo=dt.UTC)  # Monday 07:30 in London: office shut
OFFICE = dt.datetime(2015, 9, 14, 8, 0, tzinfo=dt.UTC)  # 09:00 in London
CHAIR = "chair@southend-lscb.example.org"
_outbox = Outbox.__table__  # type: ignore[attr-defined]
_event = Event.__table__  # type: ignore[attr-defined]


def due_of(n: int) -> dt.date:
    """Item n's due date: 8 to 400 days before the sweep, so every escalation step is met."""
    return SWEEP.date() - dt.timedelta(days=8 + n * 10)


def plan_file(tmp_path: Path) -> Path:
    lines = [
        "review:",
        f"  id: {REVIEW}",
        "  title: Catch-up test review",
        "  board: Southend LSCB",
        "  kind: serious_case_review",
        "agencies:",
        *(f"- {{id: {a}, name: Agency {a}}}" for a in AGENCIES + OTHERS),
        "recommendations:",
    ]
    for n in range(40):
        lines += [
            f"- ref: C{n + 1}",
            f"  agency: {AGENCIES[n % 5]}",
            f"  text: Catch-up item {n + 1}",
            f"  due: [{due_of(n).isoformat()}]",
        ]
    path = tmp_path / "catch_up.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def imported(services: Services, tmp_path: Path) -> None:
    """40 items across 5 agencies, imported long overdue (an hour before the sweep)."""
    with services.db.write() as conn:
        import_files(
            conn,
            [plan_file(tmp_path), CONTACTS],
            specs=services.specs,
            actor="test",
            now=SWEEP - dt.timedelta(hours=1),
        )


def body(m: EmailMessage) -> str:
    return str(m.get_body(("plain",)).get_content())  # type: ignore[union-attr]


def refs_in(m: EmailMessage) -> list[str]:
    return re.findall(rf"/items/{REVIEW}/(C\d+)(?:@[a-z-]+)?\s", body(m))


def per_recipient_and_kind(messages: list[EmailMessage]) -> Counter[tuple[str, str]]:
    return Counter((str(m["To"]), str(m["X-Signoff-Kind"])) for m in messages)


def test_forty_overdue_items_bring_one_email_per_recipient_and_kind(
    published: Services, smtp: SmtpServer, tmp_path: Path
) -> None:
    imported(published, tmp_path)
    report = run_once(published, SWEEP)
    assert report.items == 40
    go(published, smtp.port, SWEEP, batch=1000)  # the urgent steps go at once
    urgent = list(smtp.messages)
    go(published, smtp.port, OFFICE, batch=1000)  # the rest when the office opens
    messages = list(smtp.messages)
    counts = per_recipient_and_kind(messages)
    assert max(counts.values()) == 1, counts
    # 5 chase digests (one per lead officer) and one escalation per person the items reached:
    # each agency's rungs and the board chair (urgent, at once)
    assert len(messages) == len(counts) <= 5 + 2 * 5 + 1
    assert [(m["To"], m["X-Signoff-Kind"]) for m in urgent] == [(CHAIR, "escalation")]
    assert str(urgent[0]["Subject"]).startswith("Urgent: Southend LSCB: ")
    # every item chased once and escalated once, at its highest step only
    chased = Counter(r for m in messages if m["X-Signoff-Kind"] == "chase" for r in refs_in(m))
    escalated = Counter(
        r for m in messages if m["X-Signoff-Kind"] == "escalation" for r in refs_in(m)
    )
    assert chased == Counter(f"C{n + 1}" for n in range(40))
    assert escalated == Counter(f"C{n + 1}" for n in range(40))
    for m in messages:
        assert len(str(m["Subject"])) <= 78
        assert not re.search(r"\d+ days? overdue", str(m["Subject"]) + body(m))
    # each (item, step, recipient) is one row, sent once, with its own history event
    with published.db.engine.connect() as conn:
        rows = conn.execute(sa.select(_outbox.c.kind, _outbox.c.status, _outbox.c.message_id))
        rows = rows.all()
        notified = conn.execute(
            sa.select(sa.func.count()).where(_event.c.trigger == "notified")
        ).scalar_one()
    assert {status for _k, status, _m in rows} == {"sent"}
    assert len(rows) == notified == 80  # a chase and an escalation for each of the 40
    assert len({mid for _k, _s, mid in rows}) == len(messages)
    # nothing is sent again: not by a second sweep, nor by a second dispatch
    assert run_once(published, OFFICE).queued == 0
    assert go(published, smtp.port, OFFICE + dt.timedelta(hours=1), batch=1000).claimed == 0
    assert len(smtp.messages) == len(messages)


def test_a_later_step_still_goes_after_the_catch_up(
    published: Services, smtp: SmtpServer, tmp_path: Path
) -> None:
    imported(published, tmp_path)
    run_once(published, OFFICE)
    go(published, smtp.port, OFFICE, batch=1000)
    first = len(smtp.messages)
    # C1 (due 8 days before) was at step 1 of 3 (7 days); at 21 days it reaches step 2,
    # the next rung of its agency's ladder; and a new chase period begins for every item
    later = dt.datetime.combine(due_of(0), dt.time(10), dt.UTC) + dt.timedelta(days=22)
    run_once(published, later)
    go(published, smtp.port, later, batch=1000)
    new = smtp.messages[first:]
    escalations = [m for m in new if m["X-Signoff-Kind"] == "escalation"]
    assert "C1" in [r for m in escalations for r in refs_in(m)]
    assert max(per_recipient_and_kind(new).values()) == 1


def test_small_batches_still_send_one_digest_per_recipient_and_kind(
    published: Services, smtp: SmtpServer, tmp_path: Path
) -> None:
    """A claim that takes one row of a digest takes the rest of it, past its limit."""
    imported(published, tmp_path)
    run_once(published, OFFICE)
    dispatches = 0
    while go(published, smtp.port, OFFICE, batch=3).claimed:
        dispatches += 1
    assert dispatches > 1
    counts = per_recipient_and_kind(smtp.messages)
    assert max(counts.values()) == 1, counts
    assert len(smtp.messages) == 10


def test_a_digest_that_must_wait_retries_as_one_message(
    published: Services, smtp: SmtpServer, tmp_path: Path
) -> None:
    imported(published, tmp_path)
    run_once(published, OFFICE)
    smtp.recorder.script = ["421 try again later"]  # the first message: a digest
    go(published, smtp.port, OFFICE, batch=1000)
    with published.db.engine.connect() as conn:
        waiting = conn.execute(
            sa.select(_outbox.c.recipient, _outbox.c.kind, _outbox.c.next_attempt_at).where(
                _outbox.c.status == "pending"
            )
        ).all()
    assert len(waiting) > 1  # every item of that digest
    assert len({(r.recipient, r.kind, r.next_attempt_at) for r in waiting}) == 1
    retry = max(r.next_attempt_at for r in waiting)
    go(published, smtp.port, retry, batch=1000)
    assert max(per_recipient_and_kind(smtp.messages).values()) == 1
    assert len(smtp.messages) == 10


def test_steps_reached_before_the_first_was_sent_merge_into_one_email(
    demo: Services, smtp: SmtpServer
) -> None:
    """R8 and R9 (due 31 January) reach step 1 on 8 February and step 2 on 22 February;
    with the dispatcher down between, the chair gets one email about each, at step 2."""
    without_digests(demo)  # merging is not a digest's doing: it holds for single emails too
    run_once(demo, dt.datetime(2011, 2, 8, 10, tzinfo=dt.UTC))
    later = dt.datetime(2011, 2, 22, 10, tzinfo=dt.UTC)
    run_once(demo, later)
    go(demo, smtp.port, later, batch=1000)
    to_chair = [m for m in smtp.messages if m["To"] == CHAIR]
    assert len(to_chair) == 2  # R8 and R9; R3 and R5 have only start dates: never escalated
    assert all("step 2" in str(m["Subject"]).lower() for m in to_chair)
    with demo.db.engine.connect() as conn:
        rows = conn.execute(
            sa.select(_outbox.c.dedupe_key, _outbox.c.status, _outbox.c.message_id).where(
                _outbox.c.recipient == CHAIR, _outbox.c.kind == "escalation"
            )
        ).all()
    # each step of each item recorded, and an item's two steps sent once, by the same message
    assert len(rows) == 4
    by_item: dict[str, set[tuple[str, str]]] = {}
    for r in rows:  # the dedupe key is kind:item:...
        by_item.setdefault(r.dedupe_key.split(":")[1], set()).add((r.status, r.message_id))
    assert len(by_item) == 2
    assert all(len(sends) == 1 for sends in by_item.values())
    assert {s for (s,) in by_item.values()} == {("sent", m["Message-ID"]) for m in to_chair}
