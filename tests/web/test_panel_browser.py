"""A full cycle in a real browser, by keyboard alone, with axe-core on every page (issue 10).

A panel member signs in from the emailed link, works the panel queue by keyboard and
challenges the evidence; the agency answers the challenge from the emailed request; a second
panel member's stale sign-off form is refused with what changed; the panel signs off; the
agency's internal auditor confirms. Then the business manager's pages. Every page is checked
with axe-core (WCAG 2.2 AA, 0 violations) and saved as a screenshot under the test's folder.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from app.settings import load_settings
from engine import signin
from engine.services import Services
from notifications.dispatcher import dispatch
from notifications.templates import Templates
from tests.conftest import BM, NOW, PANEL, PANEL_CHAIR, REVIEW
from tests.smtpd import SmtpServer
from tests.web.conftest import SECRET, Clock, ask, evidence_file
from tests.web.test_business_manager import failed_email, held
from tests.web.test_sign_in_browser import (
    ARGS,
    AXE,
    CHROMIUM,
    no_axe_violations,
    pytestmark,  # noqa: F401  # the same skip: no browser, no axe-core
    server,  # noqa: F401  # the app served by uvicorn on loopback (a fixture)
)

SEPT_LEAD = "named.nurse@sept.example.org"
SEPT_AUDITOR = "internal.audit@sept.example.org"


def deliver(services: Services, smtp: SmtpServer, base_url: str, now: dt.datetime) -> None:
    mail = load_settings(
        data_dir=services.data_dir, secret_key=SECRET, base_url=base_url,
        smtp_host="127.0.0.1", smtp_port=smtp.port,
    ).mail()  # fmt: skip
    with ThreadPoolExecutor(1) as pool:  # dispatch runs its own event loop
        pool.submit(dispatch, services, mail, Templates(), now, owner="test").result(timeout=60)


def last_to(smtp: SmtpServer, recipient: str, kind: str) -> str:
    """The HTML of the newest email of ``kind`` to ``recipient``."""
    found: list[EmailMessage] = [
        m for m in smtp.messages if m["X-Signoff-Kind"] == kind and recipient in str(m["To"])
    ]
    assert found, f"no {kind} email to {recipient}"
    html = found[-1].get_body(("html",))
    assert html is not None
    return str(html.get_content())


def tab_to(page: Any, selector: str, limit: int = 60) -> None:
    """Press Tab until the element matching ``selector`` has the focus."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("s => document.activeElement.matches(s)", selector):
            return
    raise AssertionError(f"Tab never reached {selector}")


def type_into(page: Any, selector: str, text: str) -> None:
    tab_to(page, selector)
    page.keyboard.type(text)


def press_button(page: Any, text: str, limit: int = 60) -> None:
    """Tab to the page's button labelled ``text`` and press Enter."""
    check = (
        "t => document.activeElement.matches('main button.govuk-button') && "
        "document.activeElement.textContent.trim().startsWith(t)"
    )
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate(check, text):
            page.keyboard.press("Enter")
            return
    raise AssertionError(f"Tab never reached the button {text!r}")


def state_of(demo: Services, item_id: int) -> str:
    with demo.db.engine.connect() as conn:
        return str(
            conn.execute(sa.text("SELECT state FROM item WHERE id = :i"), {"i": item_id}).scalar()
        )


def sign_in_by_link(page: Any, demo: Services, base: str, email: str, clock: Clock) -> None:
    """Sign in with a link as `signoff staff-link` prints it, pressing the button by keyboard."""
    token = signin.issue_link(demo, email, clock.now)
    page.goto(f"{base}/sign-in/{token}")
    tab_to(page, "main button.govuk-button")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{base}/")


@pytest.fixture
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        launched = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            yield launched
        finally:
            launched.close()


def test_a_full_cycle_by_keyboard_with_no_axe_violations(
    demo: Services,
    smtp: SmtpServer,
    server: tuple[str, Clock],  # noqa: F811
    browser: Any,
    tmp_path: Path,
) -> None:
    base, clock = server
    shots = tmp_path / "screenshots"
    shots.mkdir()
    asked = ask(demo, "T1", "sept")
    from fastapi.testclient import TestClient

    from web import create_app

    settings = load_settings(data_dir=demo.data_dir, secret_key=SECRET, base_url=base).web()
    with TestClient(create_app(demo, settings, clock=clock), follow_redirects=False) as agency:
        evidence_file(agency, demo, asked)  # the agency's first evidence
    assert state_of(demo, asked.item_id) == "evidence_submitted"
    challenge = f"/items/{REVIEW}/T1@sept/decide/challenge?back=/panel"
    sign_off = f"/items/{REVIEW}/T1@sept/decide/sign_off?back=/panel"

    elsewhere: list[str] = []
    csp: list[str] = []

    def watch(context: Any) -> Any:
        context.add_init_script(path=str(AXE))
        page = context.new_page()
        page.on("request", lambda r: None if r.url.startswith(base) else elsewhere.append(r.url))
        page.on("console", lambda m: csp.append(m.text) if "Content Security" in m.text else None)
        return page

    # the panel member asks for the queue, signs in from the emailed link
    panel = watch(browser.new_context())
    panel.goto(f"{base}/panel")
    type_into(panel, "#email", PANEL)
    panel.keyboard.press("Enter")
    panel.wait_for_url(f"{base}/sign-in/check-email")
    deliver(demo, smtp, base, clock.now)
    html = last_to(smtp, PANEL, "sign_in")
    link = re.search(re.escape(base) + r"/sign-in/[A-Za-z0-9_-]{43}", html)
    assert link is not None
    panel.goto("about:blank")
    panel.set_content(html)  # as webmail shows it
    panel.click(f'a[href="{link.group(0)}"]')
    panel.get_by_role("heading", name="Sign in").wait_for()
    tab_to(panel, "main button.govuk-button")
    panel.keyboard.press("Enter")
    panel.wait_for_url(f"{base}/panel")
    panel.get_by_role("heading", name="Decisions waiting for you").wait_for()
    no_axe_violations(panel, "panel-queue", shots)

    # works the queue by keyboard: the challenge form, first sent empty
    tab_to(panel, f'a[href="{challenge}"]')
    panel.keyboard.press("Enter")
    panel.wait_for_url(f"{base}{challenge}")
    no_axe_violations(panel, "challenge", shots)
    press_button(panel, "Challenge the evidence")
    panel.get_by_text("There is a problem").wait_for()
    assert panel.title().startswith("Error: ")
    no_axe_violations(panel, "challenge-errors", shots)
    type_into(panel, "#meeting_date-day", "10")
    type_into(panel, "#meeting_date-month", "1")
    type_into(panel, "#meeting_date-year", "2011")
    type_into(panel, "#reason", "The minutes predate the review: send the re-audit results.")
    press_button(panel, "Challenge the evidence")
    panel.wait_for_url(re.compile(re.escape(f"{base}/panel?done=")))
    panel.get_by_text("Challenge the evidence: recorded for").wait_for()
    no_axe_violations(panel, "challenged", shots)
    assert state_of(demo, asked.item_id) == "challenged"

    # the agency answers the challenge from the emailed request
    deliver(demo, smtp, base, clock.now)
    html = last_to(smtp, SEPT_LEAD, "request")
    reply_link = re.search(re.escape(base) + r"/r/[A-Za-z0-9_-]+", html)
    assert reply_link is not None
    agency_page = watch(browser.new_context())
    agency_page.set_content(html)
    agency_page.click(f'a[href="{reply_link.group(0)}"]')
    agency_page.get_by_role("heading", name="Send evidence for recommendation T1").wait_for()
    assert "The minutes predate the review" in agency_page.content()
    # the plain file input (not GOV.UK Frontend's enhanced upload, whose button is named
    # unlike its visible text: label-content-name-mismatch) leaves the reply page clean
    no_axe_violations(agency_page, "agency-reply", shots)
    type_into(agency_page, "#statement", "Re-audit results: 18 of 20 files met the standard.")
    press_button(agency_page, "Send evidence")
    agency_page.get_by_role("heading", name="Evidence sent").wait_for()
    assert state_of(demo, asked.item_id) == "evidence_submitted"

    # another panel member opens the sign-off form; the first signs off before them
    chair = watch(browser.new_context())
    sign_in_by_link(chair, demo, base, PANEL_CHAIR, clock)
    chair.goto(f"{base}{sign_off}")
    panel.goto(f"{base}/panel")
    tab_to(panel, f'a[href="{sign_off}"]')
    panel.keyboard.press("Enter")
    panel.wait_for_url(f"{base}{sign_off}")
    assert "18 of 20 files" in panel.content()  # the answer, on screen
    no_axe_violations(panel, "sign-off", shots)
    type_into(panel, "#meeting_date-day", "10")
    type_into(panel, "#meeting_date-month", "1")
    type_into(panel, "#meeting_date-year", "2011")
    tab_to(panel, "#rag")
    panel.keyboard.press("ArrowDown")
    panel.keyboard.press("ArrowDown")
    assert panel.is_checked("#rag-3")  # green
    type_into(panel, "#reason", "The re-audit shows the change is in place.")
    press_button(panel, "Sign off")
    panel.wait_for_url(re.compile(re.escape(f"{base}/panel?done=")))
    assert state_of(demo, asked.item_id) == "panel_signed_off"

    # the second panel member's form is stale: refused, with what changed
    type_into(chair, "#reason", "Amber: one more month of audits.")
    press_button(chair, "Sign off")
    chair.get_by_text("This item changed since you opened it").wait_for()
    assert "The re-audit shows the change is in place." in chair.content()
    no_axe_violations(chair, "conflict", shots)

    # the agency's internal auditor confirms from their queue
    auditor = watch(browser.new_context())
    sign_in_by_link(auditor, demo, base, SEPT_AUDITOR, clock)
    confirm = f"/items/{REVIEW}/T1@sept/decide/confirm_audit?back=/audit"
    tab_to(auditor, 'a[href="/audit"]')
    auditor.keyboard.press("Enter")
    auditor.wait_for_url(f"{base}/audit")
    no_axe_violations(auditor, "audit-queue", shots)
    tab_to(auditor, f'a[href="{confirm}"]')
    auditor.keyboard.press("Enter")
    auditor.wait_for_url(f"{base}{confirm}")
    no_axe_violations(auditor, "confirm-audit", shots)
    type_into(auditor, "#statement", "Audit 2011/14 confirms the new supervision policy is used.")
    press_button(auditor, "Confirm implementation")
    auditor.wait_for_url(re.compile(re.escape(f"{base}/audit?done=")))
    assert state_of(demo, asked.item_id) == "audit_confirmed"

    # the business manager's pages
    failed_email(demo, clock, asked.item_id)
    message = held(demo, clock, SEPT_LEAD)
    manager = watch(browser.new_context())
    sign_in_by_link(manager, demo, base, BM, clock)
    for path, name in (
        ("/outbox", "outbox"),
        ("/outbox?status=sent", "outbox-sent"),
        ("/quarantine", "quarantine"),
        (f"/quarantine/{message}", "held-reply"),
        ("/directory", "directory"),
        ("/sessions", "sessions"),
        ("/panel", "manager-panel-queue"),
    ):
        manager.goto(f"{base}{path}")
        no_axe_violations(manager, name, shots)
    manager.goto(f"{base}/quarantine/{message}")
    press_button(manager, "Put it on the item")
    manager.get_by_text("There is a problem").wait_for()
    no_axe_violations(manager, "held-reply-errors", shots)
    # a person refused a decision is told who may instead
    manager.goto(f"{base}/items/{REVIEW}/T1@sept/decide/set_rag")
    manager.get_by_text("Only the Case review panel may").wait_for()
    no_axe_violations(manager, "refused", shots)

    assert elsewhere == []  # nothing fetched from another origin
    assert csp == []
    assert len(list(shots.glob("*.png"))) >= 15
    assert NOW < clock.now
