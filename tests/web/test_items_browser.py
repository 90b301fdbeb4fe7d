"""The agency's week in a real browser, by keyboard alone, with axe-core on every page (issue 10).

Debian's Chromium (headless, Playwright) against the app on loopback: SEPT's lead officer
opens the chase email's link, signs in from the emailed link, is returned to the item, sees
only SEPT's items in the list, asks for more time (first with nothing typed, then properly);
a stale form gives the conflict page. Every page is checked with axe-core (WCAG 2.0, 2.1 and
2.2, A and AA): no violations. Screenshots are saved under the test's temporary folder.
"""

from __future__ import annotations

import datetime as dt
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import sqlalchemy as sa

from app.settings import load_settings
from engine.fire import FireRequest, fire
from engine.services import Services
from engine.store.tables import Rag
from engine.sweep import run_once
from notifications.dispatcher import dispatch
from notifications.templates import Templates
from tests.conftest import NOW, PANEL, REVIEW
from tests.smtpd import SmtpServer
from tests.web.conftest import SECRET, SEPT, Clock, ask
from tests.web.test_sign_in_browser import (
    ARGS,
    AXE,
    CHROMIUM,
    no_axe_violations,
    pytestmark,  # noqa: F401  (the same skip: no browser or no axe-core)
    server,  # noqa: F401  (the app on loopback)
)

LATER = NOW + dt.timedelta(days=75)  # T1's evidence (asked for by 7 February) chased


def deliver(services: Services, smtp: SmtpServer, base: str, now: dt.datetime) -> None:
    mail = load_settings(
        data_dir=services.data_dir, secret_key=SECRET, base_url=base,
        smtp_host="127.0.0.1", smtp_port=smtp.port,
        office_start=dt.time(0, 0), office_end=dt.time(23, 59),
    ).mail()  # fmt: skip
    with ThreadPoolExecutor(1) as pool:  # dispatch runs its own event loop
        pool.submit(dispatch, services, mail, Templates(), now, owner="test").result(timeout=60)


def html_of(smtp: SmtpServer, kind: str, to: str) -> str:
    found = [m for m in smtp.messages if m["X-Signoff-Kind"] == kind and m["To"] == to]
    assert found, f"no {kind} email to {to}"
    body = found[-1].get_body(("html",))
    assert body is not None
    return str(body.get_content())


def tab_to(page: object, selector: str, limit: int = 80) -> None:
    """Press Tab until the element matching ``selector`` has the focus."""
    for _ in range(limit):
        page.keyboard.press("Tab")  # type: ignore[attr-defined]
        if page.evaluate("s => document.activeElement.matches(s)", selector):  # type: ignore[attr-defined]
            return
    raise AssertionError(f"Tab never reached {selector}")


def test_an_agency_opens_a_chase_signs_in_and_asks_for_more_time_by_keyboard(
    demo: Services,
    smtp: SmtpServer,
    server: tuple[str, Clock],  # noqa: F811
    tmp_path: Path,
) -> None:
    from playwright.sync_api import sync_playwright

    base, clock = server
    shots = tmp_path / "screenshots"
    shots.mkdir()
    ask(demo, "T1", "sept")
    ask(demo, "T2", "nhs-south-east-essex")
    clock.now = LATER
    for days in range(0, 76, 5):
        run_once(demo, NOW + dt.timedelta(days=days))
    deliver(demo, smtp, base, LATER)
    chase = html_of(smtp, "chase", SEPT)
    item = f"/items/{REVIEW}/T1@sept"
    assert f'href="{base}{item}"' in chase

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            context = browser.new_context()
            context.add_init_script(path=str(AXE))
            page = context.new_page()
            elsewhere: list[str] = []
            page.set_content(chase)  # the email, as webmail shows it
            page.on(
                "request",
                lambda r: elsewhere.append(r.url) if not r.url.startswith(base) else None,
            )
            tab_to(page, f'a[href="{base}{item}"]')
            page.keyboard.press("Enter")
            page.wait_for_url(re.compile(re.escape(base) + r"/sign-in\?next="))
            tab_to(page, "#email")
            page.keyboard.type(SEPT)
            page.keyboard.press("Enter")
            page.wait_for_url(f"{base}/sign-in/check-email")
            deliver(demo, smtp, base, LATER)
            link = re.search(
                re.escape(base) + r"/sign-in/[A-Za-z0-9_-]{43}", html_of(smtp, "sign_in", SEPT)
            )
            assert link is not None
            page.goto(link.group(0))
            tab_to(page, "button.govuk-button")
            page.keyboard.press("Enter")
            page.wait_for_url(f"{base}{item}")  # back to the item the chase linked
            page.get_by_role("heading", name="Recommendation T1").wait_for()
            no_axe_violations(page, "item", shots)

            tab_to(page, "a[href='/items']")
            page.keyboard.press("Enter")
            page.wait_for_url(f"{base}/items")
            assert "T1" in page.content()
            assert "/T2" not in page.content()
            no_axe_violations(page, "items", shots)
            page.goto(f"{base}/items?rag=purple&page=0")
            page.get_by_text("There is a problem").wait_for()
            no_axe_violations(page, "items-error", shots)
            page.goto(f"{base}/")
            page.get_by_role("heading", name="What needs you now").wait_for()
            no_axe_violations(page, "home", shots)

            tab_to(page, f'a[href="{item}"]')
            page.keyboard.press("Enter")
            page.wait_for_url(f"{base}{item}")
            decide = "main a[href*='/decide/request_extension']"
            tab_to(page, decide)  # every action is a link to its decision page
            page.keyboard.press("Enter")
            page.wait_for_url(re.compile(r".*/decide/request_extension\?back=.*"))
            tab_to(page, "main form button")
            page.keyboard.press("Enter")  # nothing typed
            page.get_by_text("There is a problem").wait_for()
            no_axe_violations(page, "item-error", shots)

            def ask_for_more_time() -> None:
                tab_to(page, "#due_date-day")
                page.keyboard.type("1")
                page.keyboard.press("Tab")
                page.keyboard.type("6")
                page.keyboard.press("Tab")
                page.keyboard.type("2011")
                tab_to(page, "#reason")
                page.keyboard.type("Our named nurse is on long-term leave.")
                tab_to(page, "main form button")
                page.keyboard.press("Enter")

            # someone else acts while the page is open: the stale form is refused
            fire(demo, FireRequest(item=f"{REVIEW}/T1", trigger="set_rag", actor=PANEL,
                                   now=LATER, rag=Rag.AMBER, reason="Slipping"))  # fmt: skip
            ask_for_more_time()
            page.get_by_text("This item changed since you opened it").wait_for()
            assert "Slipping" in page.content()
            no_axe_violations(page, "conflict", shots)

            ask_for_more_time()  # the form again, at the new version
            page.get_by_text("You asked for more time.").wait_for()
            assert "1 June 2011 (waiting for the panel)" in page.content()
            no_axe_violations(page, "item-asked", shots)
            assert elsewhere == []
        finally:
            browser.close()

    with demo.db.engine.connect() as conn:
        pending = conn.execute(
            sa.text(
                "SELECT pending_due FROM item i JOIN recommendation r "
                "ON r.id = i.recommendation_id WHERE r.ref = 'T1'"
            )
        ).scalar_one()
    assert str(pending) == "2011-06-01"


_ = pytest
