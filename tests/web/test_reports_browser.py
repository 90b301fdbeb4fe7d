"""The /reports pages in a real browser, by keyboard, with axe-core (WCAG 2.2 AA, 0
violations) on the form, its errors, a report with figures, the themes chart and the board
pack; and nothing blocked by the Content-Security-Policy (the chart is an image)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from engine.services import Services
from tests.conftest import BM
from tests.web.conftest import Clock
from tests.web.test_panel_browser import browser, press_button, sign_in_by_link, tab_to, type_into
from tests.web.test_sign_in_browser import (
    AXE,
    no_axe_violations,
    pytestmark,  # noqa: F401  # the same skip: no browser, no axe-core
    server,  # noqa: F401  # the app served by uvicorn on loopback (a fixture)
)

__all__ = ["browser"]  # a fixture, used by name


def test_reports_pages_by_keyboard_with_no_axe_violations(
    demo: Services,
    server: tuple[str, Clock],  # noqa: F811
    browser: Any,  # noqa: F811
    tmp_path: Path,
) -> None:
    base, clock = server
    shots = tmp_path / "shots"
    shots.mkdir()
    context = browser.new_context()
    context.add_init_script(path=str(AXE))
    page = context.new_page()
    blocked: list[str] = []
    page.on("console", lambda m: blocked.append(m.text) if "Content Security" in m.text else None)
    sign_in_by_link(page, demo, base, BM, clock)

    page.goto(f"{base}/reports")
    no_axe_violations(page, "reports-form", shots)

    # choose "themes" and a date that is not real, by keyboard
    tab_to(page, "#report")  # a radio group takes one Tab; the arrows choose in it
    for _ in range(4):
        page.keyboard.press("ArrowDown")
    assert page.is_checked("input[value=themes]")
    type_into(page, "#to-day", "31")
    page.keyboard.press("Tab")
    page.keyboard.type("2")
    page.keyboard.press("Tab")
    page.keyboard.type("2011")
    press_button(page, "Show report")
    page.wait_for_selector(".govuk-error-summary")
    assert "Date to must be a real date" in page.inner_text(".govuk-error-summary")
    # GOV.UK Frontend moves the focus to the summary; its link leads to the first wrong box
    assert page.evaluate("document.activeElement.classList.contains('govuk-error-summary')")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.getAttribute('href')") == "#to-day"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "to-day"
    typed = [page.input_value(f"#to-{p}") for p in ("day", "month", "year")]
    assert typed == ["31", "2", "2011"]  # what was typed is kept
    assert "govuk-input--error" in (page.get_attribute("#to-day", "class") or "")
    assert "govuk-input--error" not in (page.get_attribute("#to-month", "class") or "")
    no_axe_violations(page, "reports-errors", shots)

    # mend the day by keyboard: the report is built for that date
    page.focus("#to-day")  # where the summary's link left it, before axe ran
    page.keyboard.press("Control+A")
    page.keyboard.type("28")
    press_button(page, "Show report")
    page.wait_for_selector("#report-output")
    assert "As at the end of 28 February 2011." in page.inner_text("#report-output")

    page.goto(f"{base}/reports?report=themes&to-day=31&to-month=3&to-year=2011")
    assert page.locator("#report-output img[alt^='Items by theme and agency.']").count() == 1
    assert page.evaluate("document.querySelector('#report-output img').naturalWidth") > 0
    no_axe_violations(page, "reports-themes", shots)

    page.goto(f"{base}/reports?report=rag&to-day=31&to-month=3&to-year=2011")
    link = page.locator("#report-output ul a.govuk-link").first
    href = link.get_attribute("href")
    assert href is not None
    assert href.startswith("/items/")
    no_axe_violations(page, "reports-rag", shots)
    link.click()
    page.wait_for_url(f"{base}{href}")

    page.goto(
        f"{base}/reports?report=board-pack&from-day=1&from-month=1&from-year=2011&to-day=31&to-month=3&to-year=2011"
    )
    assert "Hash-chain heads at the end of the period" in page.inner_text("#report-output")
    no_axe_violations(page, "reports-board-pack", shots)
    assert blocked == []
    context.close()
