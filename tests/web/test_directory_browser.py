"""The directory editor in a real browser (Debian's Chromium), by keyboard alone, with
axe-core (WCAG 2.2 AA) finding 0 violations on every page (issue 11).

Done when: the business manager marks the chair as conflicted for one agency, with a named
alternate, and sees that agency's next escalation go to the alternate in the forecast (the
outbox's "Coming in the next 30 days").
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

from engine import directory, signin
from engine.services import Services
from tests.conftest import BM, PANEL_CHAIR, make_item
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

CHAIR = "chair@southend-lscb.example.org"
SEPT = "/admin/directory/agencies/sept"


def snapshot(services: Services) -> directory.Snapshot:
    with services.db.engine.connect() as conn:
        return directory.read(conn)


def choose(page: Any, selector: str, text: str, value: str) -> None:
    """Pick an option of a select by typing its first letters, as a keyboard user does."""
    tab_to(page, selector, limit=120)
    page.keyboard.type(text, delay=20)
    assert page.eval_on_selector(selector, "e => e.value") == value


def escalations(page: Any) -> dict[str, str]:
    """Agency -> recipients of each 'Escalation (step 3)' row of the forecast shown."""
    out = {}
    for row in page.locator("#forecast tbody tr").all():
        cells = [c.inner_text().strip() for c in row.locator("td").all()]
        if cells[1].startswith("Escalation (step 3)"):
            out[cells[3]] = cells[4]
    return out


def test_the_chair_is_marked_conflicted_by_keyboard_and_the_forecast_follows(
    demo: Services,
    server: tuple[str, Clock],  # noqa: F811
    tmp_path: Path,
) -> None:
    from playwright.sync_api import sync_playwright

    base, clock = server
    shots = tmp_path / "screenshots"
    shots.mkdir()
    # overdue since 10 December: their third escalation (the chair's) falls on 21 January
    make_item(demo, ref="S1", due=dt.date(2010, 12, 10), agency="sept")
    make_item(demo, ref="N1", due=dt.date(2010, 12, 10), agency="nhs-south-east-essex")
    token = signin.issue_link(demo, BM, clock.now, next_path="/admin/directory")
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
            page.wait_for_url(f"{base}/admin/directory")

            # the forecast before: both agencies' third escalation goes to the chair
            page.goto(f"{base}/outbox/forecast")
            no_axe_violations(page, "coming", shots)
            assert escalations(page) == {"sept": CHAIR, "nhs-south-east-essex": CHAIR}

            page.goto(f"{base}/admin/directory")
            no_axe_violations(page, "directory", shots)
            tab_to(page, f'a[href="{SEPT}"]', limit=120)
            page.keyboard.press("Enter")
            page.wait_for_url(f"{base}{SEPT}")
            no_axe_violations(page, "agency", shots)

            # the ladder: senior contact moved up a rung, by its button
            up = 'form:has(input[name="role"][value="senior_contact"]) button[value="up"]'
            tab_to(page, up, limit=60)
            page.keyboard.press("Enter")
            page.get_by_text("Escalation ladder saved").wait_for()
            assert snapshot(demo)["sept"].ladder == (
                "lead_officer", "senior_contact", "safeguarding_lead"
            )  # fmt: skip
            no_axe_violations(page, "agency-saved", shots)

            # the chair as their own alternate: refused at the field, with the choice kept
            choose(page, "#conflict-contact", "LSCB C", CHAIR)
            choose(page, "#conflict-alternate", "LSCB C", CHAIR)
            tab_to(page, "form:has(#conflict-alternate) button", limit=80)
            page.keyboard.press("Enter")
            page.get_by_text("There is a problem").wait_for()
            assert "cannot be their own alternate" in page.inner_text("#conflict-alternate-error")
            assert page.eval_on_selector("#conflict-contact", "e => e.value") == CHAIR
            assert snapshot(demo)["sept"].conflicts == ()
            no_axe_violations(page, "agency-error", shots)

            # then the panel's chair as the alternate
            choose(page, "#conflict-alternate", "Case Review Panel C", PANEL_CHAIR)
            tab_to(page, "form:has(#conflict-alternate) button", limit=80)
            page.keyboard.press("Enter")
            page.get_by_text("Conflicts of interest saved").wait_for()
            [conflict] = snapshot(demo)["sept"].conflicts
            assert (conflict.email, conflict.alternate) == (CHAIR, PANEL_CHAIR)

            # the forecast after: SEPT's goes to the alternate, NHS South East Essex's not
            page.goto(f"{base}/outbox/forecast")
            assert escalations(page) == {"sept": PANEL_CHAIR, "nhs-south-east-essex": CHAIR}

            # a contact's absence with the dates the wrong way round
            page.goto(f"{base}{SEPT}")
            nurse = snapshot(demo)["sept"].person("named.nurse@sept.example.org")
            assert nurse is not None
            tab_to(page, f'a[href="{SEPT}/contacts/{nurse.id}"]', limit=80)
            page.keyboard.press("Enter")
            page.wait_for_url(re.compile(re.escape(f"{base}{SEPT}/contacts/") + r"\d+"))
            no_axe_violations(page, "contact", shots)
            tab_to(page, "#absent", limit=80)  # the group's checked radio, No: an arrow picks Yes
            page.keyboard.press("ArrowRight")
            assert page.is_checked("#absent-2")
            for field, day in (("absent_from", "14"), ("absent_until", "1")):
                tab_to(page, f"#{field}-day", limit=80)
                page.keyboard.type(day)
                page.keyboard.press("Tab")
                page.keyboard.type("2")
                page.keyboard.press("Tab")
                page.keyboard.type("2011")
            choose(page, "#deputy", "Director of N", "director.nursing@sept.example.org")
            tab_to(page, "form button.govuk-button", limit=80)
            page.keyboard.press("Enter")
            page.get_by_text("There is a problem").wait_for()
            assert "is before the first" in page.inner_text("#absent_until-error")
            assert page.input_value("#absent_from-day") == "14"
            no_axe_violations(page, "contact-error", shots)

            # the import page, a file's dry run and its confirmation
            page.goto(f"{base}/admin/directory/import")
            no_axe_violations(page, "import", shots)
            upload = tmp_path / "directory.csv"
            upload.write_text(
                "Agency,Record,Agency name\r\nessex-police,agency,Essex Police\r\n",
                encoding="utf-8",
            )
            page.set_input_files("#file", str(upload))
            tab_to(page, "main form button", limit=80)
            page.keyboard.press("Enter")
            page.get_by_role("heading", name="Check the changes").wait_for()
            assert "Agency Essex Police (essex-police): added" in page.inner_text("#changes")
            assert "essex-police" not in snapshot(demo)
            no_axe_violations(page, "import-check", shots)
            tab_to(page, "main form button", limit=80)
            page.keyboard.press("Enter")
            page.get_by_text("The file was imported").wait_for()
            assert snapshot(demo)["essex-police"].name == "Essex Police"
            assert csp == []
        finally:
            browser.close()
