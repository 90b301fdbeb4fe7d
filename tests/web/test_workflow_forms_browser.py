"""The structured workflow editor in a real browser (Debian's Chromium), issue 11's "done when":
the business manager, after the demo data, changes the chase interval of ``open`` from 7 to
14 days (by keyboard alone, a bad value first) and one escalation step's delay, sees on the
publish page the emails that move, publishes with a note, and sees the forecast change by
what the preview said. axe-core (WCAG 2.2 AA) finds 0 violations on every page on the way."""

from __future__ import annotations

import re
from pathlib import Path

from engine import forecast, signin, versions
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

# the question pages not visited above, each checked by axe
STATE_QUESTIONS = [
    "label", "clock", "deadline", "recipients", "reminders", "digest", "templates", "expects",
    "escalation/new",
]  # fmt: skip
TRANSITION_PAGES = [
    "transitions/1", "transitions/1/label", "transitions/1/roles", "transitions/1/requires",
    "transitions/1/notify",
]  # fmt: skip
_TOTAL = re.compile(r"(\d+) emails? in the next 30 days")


def total_on(page: object) -> int:
    found = _TOTAL.search(page.inner_text("#forecast-total"))  # type: ignore[attr-defined]
    assert found is not None
    return int(found.group(1))


def test_a_workflow_change_is_made_previewed_published_and_forecast_in_a_browser(
    demo: Services,
    server: tuple[str, Clock],  # noqa: F811
    tmp_path: Path,
) -> None:
    from playwright.sync_api import sync_playwright

    base, clock = server
    shots = tmp_path / "screenshots"
    shots.mkdir()
    expected_before = sum(len(e["to"]) for e in forecast.forecast(demo, clock.now, 30))
    token = signin.issue_link(demo, BM, clock.now, next_path="/outbox/forecast")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            context = browser.new_context()
            context.add_init_script(path=str(AXE))
            page = context.new_page()
            page.goto(f"{base}/sign-in/{token}")
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_selector("#forecast-total")
            no_axe_violations(page, "forecast-before", shots)
            before = total_on(page)
            assert before == expected_before
            assert before > 0

            # a draft of the default workflow, and its state 'open'
            page.goto(f"{base}/admin/workflows")
            create = re.compile("Create a draft of Review recommendation")
            page.get_by_role("button", name=create).click()
            page.wait_for_selector("#states")
            draft = page.url.removeprefix(base)
            no_axe_violations(page, "draft", shots)
            page.get_by_role("link", name="Change Open, awaiting evidence").click()
            page.wait_for_selector("#settings")
            no_axe_violations(page, "state", shots)
            assert "Every 7 days once overdue" in page.inner_text("#settings")

            # the chase interval, by keyboard alone: a bad value is refused, then 14 days
            tab_to(page, f'a[href="{draft}/states/open/chase"]', limit=80)
            page.keyboard.press("Enter")
            page.wait_for_selector("#chase_every")
            no_axe_violations(page, "chase", shots)
            tab_to(page, "#chase_every", limit=40)
            page.keyboard.press("Control+A")
            page.keyboard.type("14 dayz")
            page.keyboard.press("Enter")
            page.wait_for_selector(".govuk-error-summary")
            no_axe_violations(page, "chase-error", shots)
            assert "Cannot read '14 dayz' as a duration" in page.inner_text("#chase_every-error")
            assert page.locator("#chase_every").input_value() == "14 dayz"
            tab_to(page, "#chase_every", limit=40)
            page.keyboard.press("Control+A")
            page.keyboard.type("14 days")
            page.keyboard.press("Enter")
            page.wait_for_selector(".govuk-notification-banner")
            assert "Chasing changed" in page.inner_text(".govuk-notification-banner")
            assert "Every 14 days once overdue" in page.inner_text("#settings")

            # the first escalation step goes after 5 days overdue instead of 7
            page.get_by_role("link", name="Change step 1").click()
            page.wait_for_selector("#after")
            no_axe_violations(page, "escalation", shots)
            assert page.locator("#after").input_value() == "7 days"
            page.fill("#after", "5 days")
            page.get_by_role("button", name="Save", exact=True).click()
            page.wait_for_selector(".govuk-notification-banner")
            assert "5 days overdue" in page.inner_text("#steps")

            # every other question, and a refusal under a revealed field
            for part in [*STATE_QUESTIONS, *TRANSITION_PAGES]:
                where = part if part.startswith("transitions") else f"states/open/{part}"
                page.goto(f"{base}{draft}/{where}")
                no_axe_violations(page, where.replace("/", "-"), shots)
            page.goto(f"{base}{draft}/states/panel_signed_off/deadline")
            page.get_by_label("A time after the item enters this state").check()
            page.fill("#due", "soon")
            page.get_by_role("button", name="Save", exact=True).click()
            page.wait_for_selector("#due-error")
            no_axe_violations(page, "deadline-error", shots)
            assert "Cannot read 'soon' as a duration" in page.inner_text("#due-error")
            assert page.locator("#due").input_value() == "soon"

            # the publish page lists the emails that move
            page.goto(f"{base}{draft}")
            page.get_by_role("link", name="Publish", exact=True).click()
            page.wait_for_selector("#consequences")
            no_axe_violations(page, "publish", shots)
            shown = page.inner_text("#consequences")
            assert "2 fewer emails in the next 30 days" in shown
            once = re.search(r"Emails once published\s+(\d+)", shown)
            assert once is not None
            assert int(once.group(1)) == before - 2
            assert re.search(r"Removed\s+Chase", shown)
            assert re.search(r"Moved\s+Escalation \(step 1\)", shown)
            page.fill("#note", "Chase fortnightly; escalate sooner")
            page.get_by_role("button", name=re.compile(r"Publish version \d+")).click()
            page.wait_for_url(re.compile(r"/versions\?published=\d+"))

            # the forecast changes by what the preview said
            page.goto(f"{base}/outbox")
            page.get_by_role("link", name="Emails coming up in the next 30 days").click()
            page.wait_for_selector("#forecast-total")
            no_axe_violations(page, "forecast-after", shots)
            assert total_on(page) == int(once.group(1))
        finally:
            browser.close()
    with demo.db.engine.connect() as conn:
        [newest, *_] = versions.history(conn, "recommendation")
    assert newest.note == "Chase fortnightly; escalate sooner"
    assert newest.published_by == BM
