"""/admin/emails in a real browser (Debian's Chromium): the list, an edit with an error and a
preview, by keyboard alone, with axe-core (WCAG 2.2 AA) finding 0 violations (issue 11)."""

from __future__ import annotations

from pathlib import Path

from engine import signin, wording
from engine.services import Services
from tests.conftest import BM
from tests.web.conftest import Clock
from tests.web.test_sign_in_browser import (
    ARGS,
    AXE,
    CHROMIUM,
    no_axe_violations,
    pytestmark,  # noqa: F401  (skipped without a browser, unless required)
    server,  # noqa: F401  (the fixture)
    tab_to,
)


def test_an_email_is_edited_by_keyboard_with_no_axe_violations(
    demo: Services,
    server: tuple[str, Clock],  # noqa: F811
    tmp_path: Path,
) -> None:
    from playwright.sync_api import sync_playwright

    base, clock = server
    shots = tmp_path / "screenshots"
    shots.mkdir()
    token = signin.issue_link(demo, BM, clock.now, next_path="/admin/emails")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            context = browser.new_context()
            context.add_init_script(path=str(AXE))
            page = context.new_page()
            csp: list[str] = []
            page.on(
                "console", lambda m: csp.append(m.text) if "Content Security" in m.text else None
            )
            page.goto(f"{base}/sign-in/{token}")
            page.get_by_role("button", name="Sign in").click()
            page.goto(f"{base}/admin/emails")
            no_axe_violations(page, "emails", shots)
            tab_to(page, 'a[href="/admin/emails/decision"]', limit=60)
            page.keyboard.press("Enter")
            page.wait_for_selector("#subject")
            tab_to(page, "#subject", limit=40)
            page.keyboard.press("Control+A")
            page.keyboard.type("{{ review_title }}")
            page.keyboard.press("Enter")  # submits with the first button: Save
            page.wait_for_selector(".govuk-error-summary")
            no_axe_violations(page, "email-error", shots)
            assert "unknown variable" in page.locator("#subject-error").inner_text()
            assert page.locator("#subject").input_value() == "{{ review_title }}"
            assert wording.history(demo, "decision") == []
            tab_to(page, "#subject", limit=60)
            page.keyboard.press("Control+A")
            page.keyboard.type("News for {{ recipient_name }}")
            tab_to(page, 'button[value="preview"]', limit=20)
            page.keyboard.press("Enter")
            page.wait_for_selector("#preview")
            no_axe_violations(page, "email-preview", shots)
            assert "News for " in page.inner_text("main")
            assert csp == []
        finally:
            browser.close()
