"""/admin/workflows in a real browser (Debian's Chromium), by keyboard: create a draft, break
its YAML and see the message beside its line, fix it, see the diff in words, publish with a
note, see the version in the history, and republish the earlier version (rolling back), with
axe-core (WCAG 2.2 AA) finding 0 violations on every page (issue 11)."""

from __future__ import annotations

from pathlib import Path

from engine import signin
from engine.services import Services
from engine.versions import history
from tests.conftest import BM, WORKFLOWS
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

SHIPPED = (WORKFLOWS / "recommendation.yaml").read_text()
CHASE_7 = "      chase_every: 7 days\n      # 'ladder'"
BROKEN = SHIPPED.replace(CHASE_7, "      chase_every: 7 dayz\n      # 'ladder'")
FIXED = SHIPPED.replace(CHASE_7, "      chase_every: 14 days\n      # 'ladder'")
BROKEN_LINE = next(i for i, line in enumerate(BROKEN.splitlines(), 1) if "7 dayz" in line)


def _replace_yaml(page: object, text: str) -> None:
    """Focus the YAML box by keyboard, select all of it and type ``text`` in its place."""
    tab_to(page, "#text", limit=40)
    page.keyboard.press("Control+A")  # type: ignore[attr-defined]
    page.keyboard.insert_text(text)  # type: ignore[attr-defined]


def _focused(page: object) -> str:
    """The text of the element that has the focus."""
    return str(page.evaluate("document.activeElement.textContent")).strip()  # type: ignore[attr-defined]


def test_a_workflow_is_drafted_fixed_published_and_rolled_back_by_keyboard(
    demo: Services,
    server: tuple[str, Clock],  # noqa: F811
    tmp_path: Path,
) -> None:
    from playwright.sync_api import sync_playwright

    base, clock = server
    shots = tmp_path / "screenshots"
    shots.mkdir()
    token = signin.issue_link(demo, BM, clock.now, next_path="/admin/workflows")
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
            page.goto(f"{base}/admin/workflows")
            no_axe_violations(page, "workflows", shots)

            # create a draft of the recommendation workflow
            tab_to(page, 'form[action="/admin/workflows/recommendation/drafts"] button', 60)
            page.keyboard.press("Enter")
            page.wait_for_selector("h1:has-text('Review recommendation')")
            no_axe_violations(page, "draft", shots)
            assert "No changes yet" in page.inner_text("#summary")  # nothing to publish yet
            draft = page.url.removeprefix(base)
            tab_to(page, 'a.govuk-button[href$="/yaml"]', limit=40)
            page.keyboard.press("Enter")
            page.wait_for_selector("#text")
            no_axe_violations(page, "yaml", shots)

            # break it: saved, with the message in the summary and beside its line
            _replace_yaml(page, BROKEN)
            tab_to(page, 'form[action$="/yaml"] button', limit=10)
            page.keyboard.press("Enter")
            page.wait_for_selector(".govuk-error-summary")
            no_axe_violations(page, "yaml-error", shots)
            summary = page.inner_text(".govuk-error-summary")
            assert f"Line {BROKEN_LINE}: states.open.deadline.chase_every" in summary
            row = page.locator(f"#line-{BROKEN_LINE}")
            assert "chase_every: 7 dayz" in row.inner_text()
            beside = row.locator("xpath=following-sibling::tr[1]").inner_text()
            assert "cannot read '7 dayz' as a duration" in beside
            assert page.locator("#text").input_value() == BROKEN
            page.locator(f".govuk-error-summary a[href='#line-{BROKEN_LINE}']").focus()
            page.keyboard.press("Enter")  # the summary's link goes to the line
            assert page.evaluate("location.hash") == f"#line-{BROKEN_LINE}"

            # fix it, then see the differences in words on the draft's page
            _replace_yaml(page, FIXED)
            tab_to(page, 'form[action$="/yaml"] button', limit=10)
            page.keyboard.press("Enter")
            page.wait_for_selector(".govuk-notification-banner--success")
            assert page.locator(".govuk-error-summary").count() == 0
            tab_to(page, f'a[href="{draft}"]', limit=40)
            page.keyboard.press("Enter")
            page.wait_for_selector("#changes-in-words")
            words = page.inner_text("#changes-in-words")
            assert words == "State open: chase every 7 days → 14 days"
            assert page.locator("svg[role='img'] title").count() == 1
            no_axe_violations(page, "draft-fixed", shots)

            # publish with a note
            tab_to(page, 'a.govuk-button[href$="/publish"]', limit=40)
            page.keyboard.press("Enter")
            page.wait_for_selector("#note")
            no_axe_violations(page, "publish", shots)
            assert "fewer email" in page.inner_text("#consequences")
            tab_to(page, "#note", limit=80)
            page.keyboard.type("Agencies asked for fortnightly chasing")
            tab_to(page, 'button[value="publish"]', limit=5)
            assert _focused(page) == "Publish version 2"
            page.keyboard.press("Enter")
            page.wait_for_selector("text=Version 2 is published")
            no_axe_violations(page, "versions", shots)
            newest = page.locator("tbody tr").first.inner_text()
            assert "Agencies asked for fortnightly chasing" in newest
            assert BM in newest

            # roll back: republish version 1, a publish like any other
            tab_to(page, 'form[action$="/versions/1/republish"] button', limit=60)
            page.keyboard.press("Enter")
            page.wait_for_selector("#note")
            assert "chase every 14 days → 7 days" in page.inner_text("main")
            tab_to(page, "#note", limit=80)
            page.keyboard.type("Back to weekly chasing")
            tab_to(page, 'button[value="publish"]', limit=5)
            assert _focused(page) == "Publish version 3"
            page.keyboard.press("Enter")
            page.wait_for_selector("text=Version 3 is published")
            assert "Back to weekly chasing" in page.locator("tbody tr").first.inner_text()
            assert csp == []
        finally:
            browser.close()
    with demo.db.engine.connect() as conn:
        v3, _v2, v1 = history(conn, "recommendation")
    assert (v3.version, v3.sha256, v3.published_by) == (3, v1.sha256, BM)
