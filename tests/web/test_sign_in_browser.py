"""Signing in with a real browser, by keyboard alone, with axe-core on every page (issue 10).

Debian's Chromium (headless, driven by Playwright) against the app served by uvicorn on
loopback; the link comes from an email received by the test SMTP server. axe-core comes from
npm (``web/node_modules/axe-core``) and is injected by the test as an init script (which the
page's Content-Security-Policy does not apply to); every page must have no violation of WCAG
2.0, 2.1 and 2.2 A and AA. Screenshots are saved under the test's temporary folder.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from app.settings import load_settings
from engine.services import Services
from notifications.dispatcher import dispatch
from notifications.templates import Templates
from tests.conftest import BM, NOW
from tests.smtpd import SmtpServer, free_port
from tests.web.conftest import BOOK, SECRET, Clock
from web import build_server, create_app, start_in_thread, stop

CHROMIUM = Path("/usr/bin/chromium")
AXE = Path(__file__).resolve().parents[2] / "web" / "node_modules" / "axe-core" / "axe.min.js"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
WCAG = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]

pytestmark = pytest.mark.skipif(
    (not CHROMIUM.exists() or not AXE.exists()) and not os.environ.get("SIGNOFF_REQUIRE_BROWSER"),
    reason=f"needs a browser at {CHROMIUM} (apt install chromium) and axe-core at {AXE} "
    "(npm ci --prefix web); set SIGNOFF_REQUIRE_BROWSER=1 to make this a failure",
)


@pytest.fixture
def server(demo: Services) -> Iterator[tuple[str, Clock]]:
    port = free_port()
    settings = load_settings(
        data_dir=demo.data_dir, secret_key=SECRET, base_url=f"http://127.0.0.1:{port}"
    )
    clock = Clock(NOW + dt.timedelta(hours=1))
    app = create_app(demo, settings.web(), clock=clock, emails=BOOK)
    uvicorn_server = build_server(app, "127.0.0.1", port)
    thread = start_in_thread(uvicorn_server)
    try:
        yield f"http://127.0.0.1:{port}", clock
    finally:
        stop(uvicorn_server, thread)


def deliver(services: Services, smtp: SmtpServer, base_url: str, now: dt.datetime) -> str:
    """Send the outbox; the HTML of the one sign-in email that arrived."""
    for _ in range(100):  # the link is asked for just after the page is answered
        with services.db.engine.connect() as conn:
            if conn.execute(sa.text("SELECT count(*) FROM outbox")).scalar_one():
                break
        time.sleep(0.05)
    mail = load_settings(
        data_dir=services.data_dir,
        secret_key=SECRET,
        base_url=base_url,
        smtp_host="127.0.0.1",
        smtp_port=smtp.port,
    ).mail()
    dispatch(services, mail, Templates(), now, owner="test")
    [message] = [m for m in smtp.messages if m["X-Signoff-Kind"] == "sign_in"]
    html = message.get_body(("html",))
    assert html is not None
    return str(html.get_content())


def no_axe_violations(page: Any, name: str, shots: Path) -> None:
    page.screenshot(path=str(shots / f"{name}.png"), full_page=True)
    result = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", WCAG
    )
    problems = [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']]}"
        for v in result["violations"]
    ]
    assert problems == [], f"{name}: {problems}"


def tab_to(page: Any, selector: str, limit: int = 15) -> None:
    """Press Tab until the element matching ``selector`` has the focus."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("s => document.activeElement.matches(s)", selector):
            return
    raise AssertionError(f"Tab never reached {selector}")


def test_sign_in_and_out_by_keyboard_alone_with_no_axe_violations(
    demo: Services, smtp: SmtpServer, server: tuple[str, Clock], tmp_path: Path
) -> None:
    from playwright.sync_api import sync_playwright

    base, clock = server
    shots = tmp_path / "screenshots"
    shots.mkdir()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            context = browser.new_context()
            context.add_init_script(path=str(AXE))
            page = context.new_page()
            elsewhere: list[str] = []
            page.on(
                "request",
                lambda r: elsewhere.append(r.url) if not r.url.startswith(base) else None,
            )
            csp_errors: list[str] = []
            page.on(
                "console",
                lambda m: csp_errors.append(m.text) if "Content Security" in m.text else None,
            )

            # a page that needs signing in sends the browser to /sign-in
            page.goto(f"{base}/sessions")
            assert page.url == f"{base}/sign-in?next=%2Fsessions"
            no_axe_violations(page, "sign-in", shots)

            # nothing typed: the error summary and the message by the field
            tab_to(page, "#email")
            page.keyboard.press("Enter")
            page.get_by_text("There is a problem").wait_for()
            assert page.title().startswith("Error: ")
            no_axe_violations(page, "sign-in-error", shots)

            tab_to(page, "#email")
            page.keyboard.type(BM)
            page.keyboard.press("Enter")
            page.wait_for_url(f"{base}/sign-in/check-email")
            no_axe_violations(page, "check-email", shots)

            # the email, opened as from webmail: another origin
            with ThreadPoolExecutor(1) as pool:  # dispatch runs its own event loop
                html = pool.submit(deliver, demo, smtp, base, clock.now).result(timeout=60)
            link = re.search(re.escape(base) + r"/sign-in/[A-Za-z0-9_-]{43}", html)
            assert link is not None
            page.goto("about:blank")  # the email is shown by another origin, as webmail
            page.set_content(html)
            elsewhere.clear()
            page.click(f'a[href="{link.group(0)}"]')
            page.get_by_role("heading", name="Sign in").wait_for()
            no_axe_violations(page, "sign-in-link", shots)
            tab_to(page, "button.govuk-button")
            page.keyboard.press("Enter")
            page.wait_for_url(f"{base}/sessions")  # back to the page first asked for
            page.get_by_role("heading", name="Who is signed in").wait_for()
            assert BM in page.content()
            no_axe_violations(page, "sessions", shots)

            page.goto(f"{base}/")
            page.get_by_role("heading", name="What you can do").wait_for()
            no_axe_violations(page, "home", shots)
            page.goto(f"{base}/quarantine")
            no_axe_violations(page, "quarantine", shots)

            tab_to(page, "form[action='/sign-out'] button")
            page.keyboard.press("Enter")
            page.wait_for_url(f"{base}/signed-out")
            no_axe_violations(page, "signed-out", shots)
            page.goto(f"{base}/")
            assert page.url.startswith(f"{base}/sign-in")

            assert elsewhere == []  # nothing fetched from another origin
            assert csp_errors == []
        finally:
            browser.close()

    with demo.db.engine.connect() as conn:
        ended = conn.execute(sa.text("SELECT ended_reason FROM staff_session")).scalars().all()
    assert ended == ["signed out"]
