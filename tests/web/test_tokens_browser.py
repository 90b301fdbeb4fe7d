"""/tokens and the API docs in a real browser (Debian's Chromium): a token made by keyboard
alone, axe-core (WCAG 2.2 AA) with 0 violations, and nothing loaded from another origin or
refused by the CSP (issue 10)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from engine import signin
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


def _watch(page: Any, base: str) -> tuple[list[str], list[str]]:
    elsewhere: list[str] = []
    page.on("request", lambda r: elsewhere.append(r.url) if not r.url.startswith(base) else None)
    csp: list[str] = []
    page.on("console", lambda m: csp.append(m.text) if "Content Security" in m.text else None)
    return elsewhere, csp


def test_a_token_is_made_by_keyboard_with_no_axe_violations(
    demo: Services,
    server: tuple[str, Clock],  # noqa: F811
    tmp_path: Path,
) -> None:
    from playwright.sync_api import sync_playwright

    base, clock = server
    shots = tmp_path / "screenshots"
    shots.mkdir()
    token = signin.issue_link(demo, BM, clock.now, next_path="/tokens")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            context = browser.new_context()
            context.add_init_script(path=str(AXE))
            page = context.new_page()
            elsewhere, csp = _watch(page, base)
            page.goto(f"{base}/sign-in/{token}")
            page.get_by_role("button", name="Sign in").click()
            page.goto(f"{base}/tokens")
            no_axe_violations(page, "tokens", shots)
            tab_to(page, "#name", limit=40)
            page.keyboard.type("Board report")
            page.keyboard.press("Enter")  # the role left as the first: business manager
            page.wait_for_selector("#new-token")
            no_axe_violations(page, "token-made", shots)
            assert page.locator("#new-token").inner_text().startswith("sot_")
            tab_to(page, "#name", limit=60)
            page.keyboard.press("Enter")  # no name: the error summary
            page.wait_for_selector(".govuk-error-summary")
            no_axe_violations(page, "token-error", shots)
            page.goto(f"{base}/api/v1/docs")
            page.wait_for_selector(".swagger-ui .opblock", timeout=15000)
            page.screenshot(path=str(shots / "api-docs.png"), full_page=True)
            assert elsewhere == []
            assert csp == []
        finally:
            browser.close()
