"""/admin/import and /admin/anchors in a real browser (Debian's Chromium): a hostile file refused,
the example workbook uploaded, checked row by row and imported, then the event its relative
due date waits for given a date, by keyboard, with axe-core (WCAG 2.2 AA) finding 0
violations on every page (issue 12)."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from engine import signin
from engine.services import Services
from engine.store import core
from tests.conftest import BM, EXAMPLES
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

EXAMPLE = EXAMPLES / "southend_scr_action_plan.xlsx"
REVIEW = "southend-scr-action-plan"


def _items(services: Services) -> dict[str, str]:
    rec, item = core.recommendation, core.item
    with services.db.engine.connect() as conn:
        rows = conn.execute(
            sa.select(rec.c.ref, item.c.due)
            .join(item, item.c.recommendation_id == rec.c.id)
            .where(rec.c.review_id == REVIEW, item.c.agency_id == "essex-probation")
        ).all()
    return {r.ref: r.due.isoformat() if r.due else "" for r in rows}


def test_a_plan_is_imported_and_an_event_dated_by_keyboard_with_no_axe_violations(
    demo: Services,
    server: tuple[str, Clock],  # noqa: F811
    tmp_path: Path,
) -> None:
    from playwright.sync_api import sync_playwright

    base, clock = server
    shots = tmp_path / "screenshots"
    shots.mkdir()
    hostile = tmp_path / "plan.csv"
    hostile.write_bytes(b"Ref,Recommendation\nR1,=cmd|' /C calc'!A0\n")
    token = signin.issue_link(demo, BM, clock.now, next_path="/admin/import")
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
            page.goto(f"{base}/admin/import")
            no_axe_violations(page, "import", shots)

            # a file a spreadsheet would run is refused, in words, at the file input
            page.set_input_files("#plan", str(hostile))
            tab_to(page, "button.govuk-button:not(.govuk-button--secondary)", limit=40)
            page.keyboard.press("Enter")
            page.wait_for_selector(".govuk-error-summary")
            no_axe_violations(page, "import-refused", shots)
            assert "run as a formula" in page.locator("#plan-error").inner_text()

            # the example: checked row by row, nothing written until confirmed
            page.set_input_files("#plan", str(EXAMPLE))
            tab_to(page, "button.govuk-button:not(.govuk-button--secondary)", limit=40)
            page.keyboard.press("Enter")
            page.wait_for_selector("#rows")
            no_axe_violations(page, "import-check", shots)
            assert "Summer 2010" in page.locator("#problems").inner_text()
            assert "SCR actions, row 9" in page.locator("#rows").inner_text()
            assert _items(demo) == {}
            tab_to(page, 'form[action$="/confirm"] button', limit=400)
            page.keyboard.press("Enter")
            page.wait_for_selector(".govuk-panel")
            no_axe_violations(page, "import-done", shots)
            assert "Plan imported" in page.inner_text("main")
            assert _items(demo) == {"4": "2010-08-31", "5": ""}

            # the event row 5's due date counts from, given by keyboard
            tab_to(page, 'a[href="/admin/anchors"]', limit=60)
            page.keyboard.press("Enter")
            page.wait_for_selector("h1:has-text('Dates of events')")
            no_axe_violations(page, "anchors", shots)
            day = page.locator("input[name$='-day']").first
            tab_to(page, f"#{day.get_attribute('id')}", limit=60)
            page.keyboard.type("31")
            page.keyboard.press("Tab")
            page.keyboard.type("2")
            page.keyboard.press("Tab")
            page.keyboard.type("2011")
            page.keyboard.press("Enter")
            page.wait_for_selector(".govuk-error-summary")
            no_axe_violations(page, "anchors-error", shots)
            assert "must be a real date" in page.inner_text(".govuk-error-message")
            assert _items(demo)["5"] == ""
            month = page.locator("input[name$='-month']").first
            tab_to(page, f"#{month.get_attribute('id')}", limit=60)
            page.keyboard.press("Control+A")
            page.keyboard.type("1")
            page.keyboard.press("Enter")
            page.wait_for_selector(".govuk-notification-banner--success")
            no_axe_violations(page, "anchors-dated", shots)
            assert _items(demo)["5"] == "2011-07-31"
            assert csp == []
        finally:
            browser.close()
