"""/admin and /admin/log in a real browser (Debian's Chromium): reached from the navigation and
read by keyboard, with axe-core (WCAG 2.2 AA) finding 0 violations (issue 11)."""

from __future__ import annotations

from pathlib import Path

from engine import signin, wording
from engine.services import Services
from tests.conftest import BM
from tests.web.conftest import BOOK, Clock
from tests.web.test_sign_in_browser import (
    ARGS,
    AXE,
    CHROMIUM,
    no_axe_violations,
    pytestmark,  # noqa: F401  (skipped without a browser, unless required)
    server,  # noqa: F401  (the fixture)
    tab_to,
)


def test_the_log_shows_a_change_before_and_after_by_keyboard(
    demo: Services,
    server: tuple[str, Clock],  # noqa: F811
    tmp_path: Path,
) -> None:
    from playwright.sync_api import sync_playwright

    base, clock = server
    text, html = BOOK.shipped("decision")
    wording.save(
        demo, name="decision", text_source=text.replace("\n", "\nChanged line.\n", 1),
        html_source=html, author=BM, now=clock.now, check=BOOK.check, names=BOOK.names,
        note="a line added",
    )  # fmt: skip
    shots = tmp_path / "screenshots"
    shots.mkdir()
    token = signin.issue_link(demo, BM, clock.now, next_path="/")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            context = browser.new_context()
            context.add_init_script(path=str(AXE))
            page = context.new_page()
            page.goto(f"{base}/sign-in/{token}")
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_selector("h1")
            tab_to(page, '.govuk-service-navigation a[href="/admin"]', limit=30)
            page.keyboard.press("Enter")
            page.wait_for_selector("h1:has-text('Administration')")
            no_axe_violations(page, "admin", shots)
            tab_to(page, 'main a[href="/admin/log"]', limit=30)
            page.keyboard.press("Enter")
            page.wait_for_selector("h1:has-text('log')")
            assert "Why: a line added" in page.inner_text("main")
            tab_to(page, "summary.govuk-details__summary", limit=30)
            page.keyboard.press("Enter")
            assert "Changed line." in page.inner_text(".govuk-details__text")
            no_axe_violations(page, "admin-log", shots)
        finally:
            browser.close()
