"""The /admin/emails pages: saving, previewing, refusing, reverting (issue 11)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from markupsafe import escape

from engine import wording
from engine.services import Services
from tests.conftest import BM
from tests.notifications.test_dispatcher import go
from tests.smtpd import SmtpServer
from tests.web.conftest import BOOK, Clock, csrf_of, sign_in
from web.emails import RENDERED_CSP, split

SUBJECT, BODY = split(BOOK.shipped("decision")[0])
HTML = BOOK.shipped("decision")[1]


@pytest.fixture
def manager(demo: Services, clock: Clock, make_client: Callable[..., TestClient]) -> TestClient:
    client = make_client(post_limit="1000/minute")
    sign_in(client, demo, BM, clock)
    return client


def post(client: TestClient, path: str = "/admin/emails/decision", **form: str) -> object:
    page = client.get("/admin/emails/decision")
    data = {"subject": SUBJECT, "body": BODY, "html": HTML, "action": "save", **form}
    return client.post(path, data={"csrf_token": csrf_of(page.text), **data})


def test_the_list_shows_every_email_and_which_are_changed(
    demo: Services, manager: TestClient
) -> None:
    page = manager.get("/admin/emails")
    assert page.status_code == 200
    assert page.text.count("Changed from shipped") == 0
    for name in BOOK.names:
        assert f'href="/admin/emails/{name}"' in page.text
    response = post(manager, subject="News: {{ ref }}", note="shorter")
    assert response.status_code == 303  # type: ignore[attr-defined]
    assert manager.get("/admin/emails").text.count("Changed from shipped") == 1
    [saved] = wording.history(demo, "decision")
    assert (saved.author, saved.note) == (BM, "shorter")
    assert saved.text_source.startswith("Subject: News: {{ ref }}\n")
    edit = manager.get("/admin/emails/decision").text
    assert 'value="News: {{ ref }}"' in edit
    assert saved.version in edit


def test_the_preview_renders_sample_values_and_saves_nothing(
    demo: Services, manager: TestClient
) -> None:
    page = post(manager, action="preview", subject="Hello {{ recipient_name }}")
    assert page.status_code == 200  # type: ignore[attr-defined]
    text = page.text  # type: ignore[attr-defined]
    assert "Preview with sample values" in text
    assert "Hello Designated" in text or "Hello " in text
    assert "&lt;!DOCTYPE html&gt;" in text  # the HTML shown as source, escaped
    assert wording.history(demo, "decision") == []


BAD = [
    ("subject", {"subject": "{{ review_title }}"}, "Subject", "unknown variable"),
    ("body", {"body": BODY + "{% if %}\n"}, "Text, line", "syntax error"),
    ("body", {"body": BODY + "{{ ref.__class__ }}\n"}, "Text, line", "not allowed"),
    ("subject", {"subject": "{{ ref }}{{ '\\r\\n' }}Bcc: x@example.org"}, "Subject", "break"),
    ("body", {"body": BODY + "{{ ref * 10000000 }}\n"}, "Text, line", "longer than"),
    ("html", {"html": HTML + "{{ cycler.__init__ }}"}, "HTML, line", "not allowed"),
    ("subject", {"subject": "a\nb"}, "Subject", "one line"),
    ("note", {"note": "x" * 501}, "note", "at most 500"),
]


@pytest.mark.parametrize(("field", "form", "where", "says"), BAD)
def test_each_refusal_reaches_the_page_keeps_what_was_typed_and_saves_nothing(
    demo: Services, manager: TestClient, field: str, form: dict[str, str], where: str, says: str
) -> None:
    for action in ("save",) if field == "note" else ("save", "preview"):  # a preview keeps no note
        page = post(manager, action=action, **form)
        text = page.text  # type: ignore[attr-defined]
        assert page.status_code == 422, (action, text[:300])  # type: ignore[attr-defined]
        assert "govuk-error-summary" in text
        assert f'href="#{field}"' in text
        assert f'id="{field}-error"' in text  # inline, at the field
        assert where in text
        assert str(escape(says)) in text
        typed = next(iter(form.values()))
        assert str(escape(typed.strip().splitlines()[-1])) in text  # what was typed is kept
    assert wording.history(demo, "decision") == []


def test_an_expired_form_keeps_what_was_typed(demo: Services, manager: TestClient) -> None:
    response = manager.post(
        "/admin/emails/decision",
        data={"csrf_token": "forged", "subject": "Kept {{ ref }}", "body": BODY, "html": HTML},
    )
    assert response.status_code == 400
    assert 'value="Kept {{ ref }}"' in response.text
    assert wording.history(demo, "decision") == []


def test_revert_goes_back_to_the_shipped_wording(demo: Services, manager: TestClient) -> None:
    post(manager, subject="News: {{ ref }}")
    page = manager.get("/admin/emails/decision")
    reverted = manager.post(
        "/admin/emails/decision/revert", data={"csrf_token": csrf_of(page.text)}
    )
    assert reverted.status_code == 303
    assert wording.current(demo) == {}
    assert [v.shipped for v in wording.history(demo, "decision")] == [True, False]
    edit = manager.get("/admin/emails/decision").text
    assert "Shipped wording" in edit
    assert f'value="{escape(SUBJECT)}"' in edit


def test_the_rendered_html_is_served_under_a_csp_that_runs_nothing(manager: TestClient) -> None:
    response = manager.get("/admin/emails/decision/rendered")
    assert response.status_code == 200
    assert response.headers["content-security-policy"] == RENDERED_CSP
    assert "script-src" not in RENDERED_CSP
    assert "sandbox" in RENDERED_CSP


def test_unknown_emails_are_404(manager: TestClient) -> None:
    assert manager.get("/admin/emails/nope").status_code == 404
    assert manager.get("/admin/emails/..%2Fsecrets").status_code == 404


def test_send_me_a_test_email_sends_the_saved_wording_with_sample_values(
    demo: Services, manager: TestClient, smtp: SmtpServer, clock: Clock
) -> None:
    post(manager, subject="News: {{ ref }}")
    [saved] = wording.history(demo, "decision")
    page = manager.get("/admin/emails/decision")
    sent = manager.post("/admin/emails/decision/test", data={"csrf_token": csrf_of(page.text)})
    assert sent.status_code == 303
    assert "A test email is on its way" in manager.get(sent.headers["location"]).text
    assert go(demo, smtp.port, clock.now).sent == 1
    [message] = smtp.messages
    assert message["To"] == BM
    assert message["Subject"] == "[Test] News: R1"
    assert saved.version  # the saved wording (its subject), not the shipped one
