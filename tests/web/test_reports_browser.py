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

    # choose "themes" and a bad date by keyboard: the error summary names the field
    tab_to(page, "#report")  # a radio group takes one Tab; the arrows choose in it
    for _ in range(4):
        page.keyboard.press("ArrowDown")
    assert page.is_checked("input[value=themes]")
    type_into(page, "#to", "31/03/2011")
    press_button(page, "Show report")
    page.wait_for_selector(".govuk-error-summary")
    assert "is not a date" in page.inner_text(".govuk-error-summary")
    no_axe_violations(page, "reports-errors", shots)

    page.goto(f"{base}/reports?report=themes&to=2011-03-31")
    assert page.locator("#report-output img[alt^='Items by theme and agency.']").count() == 1
    assert page.evaluate("document.querySelector('#report-output img').naturalWidth") > 0
    no_axe_violations(page, "reports-themes", shots)

    page.goto(f"{base}/reports?report=rag&to=2011-03-31")
    link = page.locator("#report-output ul a.govuk-link").first
    href = link.get_attribute("href")
    assert href is not None
    assert href.startswith("/items/")
    no_axe_violations(page, "reports-rag", shots)
    link.click()
    page.wait_for_url(f"{base}{href}")

    page.goto(f"{base}/reports?report=board-pack&from=2011-01-01&to=2011-03-31")
    assert "Hash-chain heads at the end of the period" in page.inner_text("#report-output")
    no_axe_violations(page, "reports-board-pack", shots)
    assert blocked == []
    context.close()
