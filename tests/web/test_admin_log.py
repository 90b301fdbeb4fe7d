"""/admin and /admin/log: the administration pages and the log of every change (issue 11)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from markupsafe import escape

from engine import adminlog
from engine.services import Services
from tests.conftest import BM, NOW, PANEL
from tests.web.conftest import BOOK, Clock, csrf_of, sign_in
from web.emails import split

SUBJECT, BODY = split(BOOK.shipped("decision")[0])


@pytest.fixture
def manager(demo: Services, clock: Clock, make_client: Callable[..., TestClient]) -> TestClient:
    client = make_client(post_limit="1000/minute")
    sign_in(client, demo, BM, clock)
    return client


def save_wording(client: TestClient, subject: str, note: str) -> None:
    page = client.get("/admin/emails/decision")
    data = {"subject": subject, "body": BODY, "html": BOOK.shipped("decision")[1]}
    response = client.post(
        "/admin/emails/decision",
        data={"csrf_token": csrf_of(page.text), "action": "save", "note": note, **data},
    )
    assert response.status_code == 303


def test_the_administration_page_links_every_admin_page(manager: TestClient) -> None:
    page = manager.get("/admin")
    assert page.status_code == 200
    for path in ("/admin/workflows", "/admin/directory", "/admin/emails", "/admin/log"):
        assert f'href="{path}"' in page.text
    assert 'href="/admin"' in manager.get("/").text  # from the navigation and the home page


def test_a_wording_save_and_revert_are_logged_with_before_and_after(
    demo: Services, manager: TestClient
) -> None:
    # the demo's import of its plan and directory is logged too: wording changes are after it
    assert "No changes of this kind yet" in manager.get("/admin/log?kind=email").text
    with demo.db.engine.connect() as conn:
        start = adminlog.verify(conn).entries
    save_wording(manager, "News: {{ ref }}", "shorter subject")
    page = manager.get("/admin/emails/decision")
    manager.post("/admin/emails/decision/revert", data={"csrf_token": csrf_of(page.text)})
    with demo.db.engine.connect() as conn:
        found, total = adminlog.entries(conn, action_prefix="email.")
        assert adminlog.verify(conn).entries == start + 2
    assert total == 2
    revert, save = found
    assert (save.action, save.actor, save.note, save.before) == (
        "email.save", BM, "shorter subject", None,
    )  # fmt: skip
    assert save.after["text"].startswith("Subject: News: {{ ref }}\n")
    assert revert.action == "email.revert"
    assert revert.before["text"] == save.after["text"]
    log = manager.get("/admin/log?kind=email").text
    assert "2 changes, newest first" in log
    assert "Email wording saved" in log
    assert "Email wording reverted" in log
    assert str(escape("Subject: News: {{ ref }}")) in log  # before and after, shown
    assert "Why: shorter subject" in log
    assert log.index("Email wording reverted") < log.index("Email wording saved")


def test_the_log_narrows_to_one_kind_and_pages(demo: Services, manager: TestClient) -> None:
    # many entries, written directly: the page, not the editors, is under test (after those
    # of the demo's import)
    with demo.db.engine.connect() as conn:
        start = adminlog.verify(conn).entries
    for n in range(adminlog.PAGE + 3):
        with demo.db.write() as conn:
            adminlog.record(
                conn, actor=BM, at=NOW, action="workflow.publish" if n % 2 else "email.save",
                subject=f"change {n}", before=None, after={"n": n},
            )  # fmt: skip
    first = manager.get("/admin/log").text
    assert f"{adminlog.PAGE + 3 + start} changes" in first
    assert ">change 52<" in first
    assert ">change 2<" not in first
    assert 'href="/admin/log?page_number=2"' in first
    second = manager.get("/admin/log?page_number=2").text
    assert ">change 0<" in second
    workflows = manager.get("/admin/log?kind=workflow").text
    assert "26 changes" in workflows
    assert "Email wording saved" not in workflows
    assert manager.get("/admin/log?kind=nonsense").status_code == 200  # all kinds, as if none
    assert manager.get("/admin/log?page_number=999").status_code == 200


@pytest.mark.parametrize("path", ["/admin", "/admin/log", "/admin/log?kind=email"])
def test_anyone_but_the_business_manager_gets_the_plain_404(
    demo: Services, clock: Clock, make_client: Callable[..., TestClient], path: str
) -> None:
    client = make_client()
    sign_in(client, demo, PANEL, clock)
    response = client.get(path)
    assert response.status_code == 404
    assert response.text == client.get("/no-such-page").text
