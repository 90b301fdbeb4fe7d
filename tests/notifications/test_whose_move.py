"""Every email says whose move it is, says so when urgent, and is signed by the board (issue 9).

Sent through the dispatcher to a real SMTP server; each test reads the text and HTML parts.
"""

from __future__ import annotations

import datetime as dt
from email.message import EmailMessage
from pathlib import Path

from engine.fire import FireRequest, fire
from engine.requests import issue, reissue
from engine.services import Services
from engine.spec import Owed, load_spec_file, move_in
from engine.store.tables import Rag
from engine.sweep import run_once
from notifications.templates import available
from tests.conftest import (
    BM,
    NOW,
    PANEL,
    R1,
    WORKFLOWS,
    challenge_r1,
    make_item,
    submit_r1,
    without_digests,
)
from tests.notifications.test_dispatcher import go
from tests.smtpd import SmtpServer

CHAIR = "chair@southend-lscb.example.org"


def parts(message: EmailMessage) -> tuple[str, str]:
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    return text, html


def about(smtp: SmtpServer, ref: str, kind: str) -> list[EmailMessage]:
    return [
        m
        for m in smtp.messages
        if f" {ref} " in f" {m['Subject']} ".replace(",", " ") and m["X-Signoff-Kind"] == kind
    ]


def sweep_and_send(services: Services, smtp: SmtpServer, now: dt.datetime) -> None:
    without_digests(services)  # one email per item: each its own wording
    run_once(services, now)
    go(services, smtp.port, now, batch=1000)


def test_whose_move_follows_the_role_the_deadline_is_addressed_to() -> None:
    spec = load_spec_file(WORKFLOWS / "recommendation.yaml", available())
    owed = {s: m.owed for s in spec.states if (m := move_in(spec.model, s)) is not None}
    assert owed == {
        "open": Owed.EVIDENCE,
        "evidence_submitted": Owed.DECISION,
        "challenged": Owed.EVIDENCE,
        "panel_signed_off": Owed.CONFIRMATION,
        "embedded_reaudit": Owed.CONFIRMATION,
    }
    imr = load_spec_file(WORKFLOWS / "imr_action.yaml", available())
    assert move_in(imr.model, "completed").owed is Owed.DECISION  # type: ignore[union-attr]


def test_the_panel_s_reminder_asks_for_a_decision_not_evidence(
    demo: Services, smtp: SmtpServer
) -> None:
    submit_r1(demo)  # Monday 10 January 2011: the panel has 20 working days
    sweep_and_send(demo, smtp, dt.datetime(2011, 2, 1, 10, tzinfo=dt.UTC))  # 5 days before
    reminders = about(smtp, "R1", "reminder")
    assert {m["To"] for m in reminders} == {PANEL, "panel.chair@southend-lscb.example.org"}
    for m in reminders:
        for part in parts(m):
            assert "upload evidence" not in part.lower()
            assert "attach your evidence" not in part
            assert "waiting for a decision from Case review panel" in part
            assert "record the decision" in part


def test_an_escalation_about_a_late_panel_does_not_blame_the_agency(
    demo: Services, smtp: SmtpServer
) -> None:
    submit_r1(demo)
    sweep_and_send(demo, smtp, dt.datetime(2011, 2, 22, 10, tzinfo=dt.UTC))  # 10 working days late
    [escalation] = about(smtp, "R1", "escalation")
    assert escalation["To"] == CHAIR
    for part in parts(escalation):
        assert "Case review panel has not yet decided on the evidence for recommendation R1" in (
            part
        )
        assert "Make sure Case review panel decides on the evidence" in part
        assert "sent evidence" not in part
        assert "sends the evidence" not in part
        assert "assurance" not in part


def test_the_board_chasing_its_own_item_does_not_write_to_itself(
    demo: Services, smtp: SmtpServer
) -> None:
    sweep_and_send(demo, smtp, dt.datetime(2011, 6, 1, 10, tzinfo=dt.UTC))  # R1 long overdue
    escalations = about(smtp, "R1", "escalation")
    assert escalations
    for m in escalations:
        for part in parts(m):
            assert "has not yet given" not in part
            assert "Southend LSCB has not yet sent evidence for recommendation R1." in part
            assert "Southend Local Safeguarding Children Board" not in part


def test_an_agency_s_escalation_names_the_agency_and_urgent_steps_say_so_in_the_body(
    demo: Services, smtp: SmtpServer
) -> None:
    make_item(demo, ref="S1", due=dt.date(2011, 1, 31), agency="sept")
    sweep_and_send(demo, smtp, dt.datetime(2011, 3, 20, 10, tzinfo=dt.UTC))  # 48 days late
    escalations = about(smtp, "S1", "escalation")
    urgent = [m for m in escalations if str(m["Subject"]).startswith("Urgent: ")]
    assert [m["To"] for m in urgent] == [CHAIR]
    for m in escalations:
        text, html = parts(m)
        sept = "South Essex Partnership Foundation NHS Trust (SEPT)"
        assert f"{sept} has not yet sent evidence for recommendation S1." in text
        assert ("This is urgent" in text) is (m in urgent)
        assert ("This is urgent" in html) is (m in urgent)


def test_internal_audit_is_asked_to_confirm(demo: Services, smtp: SmtpServer) -> None:
    submit_r1(demo)
    fire(
        demo,
        FireRequest(
            item=R1,
            trigger="sign_off",
            actor=PANEL,
            now=NOW,
            rag=Rag.GREEN,
            reason="seen",
            meeting_date=NOW.date(),
        ),
    )  # internal audit has 3 months: reminded 14 days before
    sweep_and_send(demo, smtp, dt.datetime(2011, 3, 28, 10, tzinfo=dt.UTC))
    [reminder] = about(smtp, "R1", "reminder")
    for part in parts(reminder):
        assert "waiting for Internal audit to confirm that it has been implemented" in part
        assert "upload evidence" not in part.lower()


def test_emails_are_signed_by_the_business_manager_not_signoff(
    demo: Services, smtp: SmtpServer
) -> None:
    sweep_and_send(demo, smtp, dt.datetime(2011, 4, 26, 10, tzinfo=dt.UTC))
    assert smtp.messages
    for m in smtp.messages:
        text, html = parts(m)
        assert text.rstrip().endswith(
            "LSCB Business Manager\r\nBusiness manager, Southend LSCB"
        ) or text.rstrip().endswith("LSCB Business Manager\nBusiness manager, Southend LSCB")
        assert "LSCB Business Manager<br>Business manager, Southend LSCB" in html
        assert "\nsignoff\n" not in text.replace("\r\n", "\n")


def test_a_reissued_request_says_the_request_s_deadline_not_the_item_s_due_date(
    demo: Services, smtp: SmtpServer
) -> None:
    submit_r1(demo)
    challenge_r1(demo)  # challenged on 10 January 2011: due in 20 working days, 7 February
    go(demo, smtp.port, NOW, batch=1000)
    [first] = [m for m in smtp.messages if m["X-Signoff-Kind"] == "request"]
    public_id = str(first["Reply-To"]).split("+", 1)[1].split(".", 1)[0]
    later = NOW + dt.timedelta(days=2)
    reissue(demo, public_id, actor=BM, now=later)
    go(demo, smtp.port, later, batch=1000)
    [_, again] = [m for m in smtp.messages if m["X-Signoff-Kind"] == "request"]
    assert str(again["Subject"]).startswith("Evidence needed by 7 February 2011: R1")
    assert "By 7 February 2011." in parts(again)[0]
    assert "1 April 2011" not in parts(again)[0]  # R1's own due date


def test_the_catcher_logs_the_kind_never_the_subject(
    demo: Services, smtp: SmtpServer, tmp_path: Path, caplog: object
) -> None:
    import logging
    import smtplib

    import pytest

    from notifications import catcher
    from tests.smtpd import free_port

    assert isinstance(caplog, pytest.LogCaptureFixture)
    issue(demo, R1, actor=BM, now=NOW, note="Ellie Butler's mother")
    go(demo, smtp.port, NOW, batch=1000)
    [request] = smtp.messages
    port = free_port()
    controller = catcher.start(tmp_path / "mail", port)
    try:
        with (
            caplog.at_level(logging.INFO, logger="signoff.mail"),
            smtplib.SMTP("127.0.0.1", port) as client,
        ):
            client.send_message(request, "bounces@localhost", [BM])
    finally:
        controller.stop()
    [line] = [r.getMessage() for r in caplog.records if r.name == "signoff.mail"]
    assert line.startswith(f"caught request email to {BM} (")
    assert "R1" not in line
    assert "Evidence" not in line
