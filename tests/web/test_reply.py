"""The reply page over real HTTP, on SQLite and PostgreSQL: the happy path and every refusal."""

from __future__ import annotations

import dataclasses
import datetime as dt
import html
import logging
import re
from collections.abc import Callable
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from engine.errors import (
    ConcurrentUpdate,
    FireError,
    GuardFailed,
    Refusal,
    RequestRefused,
    RoleNotAllowed,
    SeparationOfDuties,
)
from engine.replykeys import reply_address
from engine.services import Services
from inbound.receive import Mailbox, receive
from tests.conftest import DEPUTY, NOW, sept_lead_officer
from tests.web.conftest import PDF, SEPT, Asked, Clock, ask, item_state, row_counts
from web import reply

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
Files = list[tuple[str, tuple[str, bytes, str]]]


def land(client: TestClient, asked: Asked) -> str:
    """Open the emailed link, follow it to the reply page, and return the form's CSRF token."""
    opened = client.get(f"/r/{asked.token}")
    assert opened.status_code == 303
    assert opened.headers["location"] == f"/reply/{asked.public_id}"
    page = client.get(f"/reply/{asked.public_id}")
    assert page.status_code == 200, page.text
    found = _CSRF.search(page.text)
    assert found is not None
    return found.group(1)


def post(
    client: TestClient,
    asked: Asked,
    csrf: str | None,
    *,
    statement: str = "",
    files: Files | None = None,
) -> httpx.Response:
    data: dict[str, Any] = {"statement": statement}
    if csrf is not None:
        data["csrf_token"] = csrf
    return client.post(f"/reply/{asked.public_id}", data=data, files=files or [])


def pdf(name: str = "minutes.pdf", data: bytes = PDF) -> tuple[str, tuple[str, bytes, str]]:
    return ("files", (name, data, "application/pdf"))


def assert_untouched(services: Services, asked: Asked) -> None:
    assert item_state(services, asked.item_id) == ("open", 0)


def test_link_redirects_to_the_page_with_the_token_in_a_strict_cookie(
    client: TestClient, sept: Asked
) -> None:
    response = client.get(f"/r/{sept.token}")
    assert response.status_code == 303
    assert response.headers["location"] == f"/reply/{sept.public_id}"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"signoff_reply={sept.token};")
    for part in ("HttpOnly", "SameSite=strict", f"Path=/reply/{sept.public_id}"):
        assert part.lower() in cookie.lower()
    assert "secure" not in cookie.lower()  # the test site is http


def test_cookie_is_secure_when_the_site_is_https(
    make_client: Callable[..., TestClient], settings: Any, sept: Asked
) -> None:
    client = make_client(settings=dataclasses.replace(settings, base_url="https://board.example"))
    response = client.get(f"/r/{sept.token}")
    assert "secure" in response.headers["set-cookie"].lower()


def test_page_shows_the_request(client: TestClient, sept: Asked) -> None:
    land(client, sept)
    page = client.get(f"/reply/{sept.public_id}").text
    for text in (
        "Southend LSCB",
        "T1 test item T1",
        "Southend Together Internal Audit Working Group",
        "South Essex Partnership",  # the agency
        "4 March 2011",
        'type="file"',
        "multiple",
        "Send evidence",
        "each up to 1 MB",
        "up to 3 files",
        "children",
    ):
        assert text in page, text


def test_page_shows_challenges_and_earlier_submissions(
    client: TestClient, demo: Services, sept: Asked, clock: Clock
) -> None:
    csrf = land(client, sept)
    assert post(client, sept, csrf, statement="First go").status_code == 303
    from engine.fire import FireRequest, fire
    from tests.conftest import PANEL

    fire(
        demo,
        FireRequest(
            item=sept.item_id,
            trigger="challenge",
            actor=PANEL,
            now=clock.now,
            reason="No minutes attached\nPlease send the signed minutes",
            meeting_date=clock.now.date(),
        ),
    )
    again = ask_again(demo, sept, clock)
    land(client, again)
    page = client.get(f"/reply/{again.public_id}").text
    assert "No minutes attached<br>" in page
    assert "Please send the signed minutes" in page
    assert "Written statement" in page


def ask_again(services: Services, asked: Asked, clock: Clock) -> Asked:
    from engine import requests as evidence_requests
    from tests.conftest import BM

    issued = evidence_requests.issue(services, asked.key, actor=BM, now=clock.now)
    token = evidence_requests.mint_token(services, issued.public_id, None, clock.now)
    assert token is not None
    return Asked(asked.item_id, issued.public_id, token, asked.key)


def test_statement_and_pdf_are_recorded_and_confirmed(
    client: TestClient, demo: Services, sept: Asked
) -> None:
    csrf = land(client, sept)
    sent = post(client, sept, csrf, statement="Minutes attached", files=[pdf()])
    assert sent.status_code == 303, sent.text
    assert sent.headers["location"] == f"/reply/{sept.public_id}/done"
    assert item_state(demo, sept.item_id) == ("evidence_submitted", 2)
    with demo.db.engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT channel, submitted_by, filename, content_type FROM evidence "
                "WHERE filename IS NOT NULL"
            )
        ).all()
    assert [tuple(r) for r in rows] == [("web", SEPT, "minutes.pdf", "application/pdf")]
    done = client.get(f"/reply/{sept.public_id}/done")
    assert done.status_code == 200
    assert "Evidence sent" in done.text
    assert "minutes.pdf" in done.text
    assert "Written statement" in done.text
    assert "case review panel will review" in done.text
    assert client.get(f"/reply/{sept.public_id}/done").status_code == 200  # refresh
    # the link is spent
    assert client.get(f"/reply/{sept.public_id}?again=1").status_code == 404
    client.cookies.set("signoff_reply", sept.token, path=f"/reply/{sept.public_id}")
    assert client.get(f"/reply/{sept.public_id}").status_code == 404
    assert client.get(f"/r/{sept.token}").status_code == 404


def test_several_files_in_one_answer(client: TestClient, demo: Services, sept: Asked) -> None:
    csrf = land(client, sept)
    files = [pdf("a.pdf"), ("files", ("notes.txt", b"plain notes\n", "text/plain"))]
    assert post(client, sept, csrf, files=files).status_code == 303
    assert item_state(demo, sept.item_id) == ("evidence_submitted", 2)


def test_done_page_needs_its_cookie(client: TestClient, sept: Asked) -> None:
    assert client.get(f"/reply/{sept.public_id}/done").status_code == 404


NOT_FOUND_BODIES: set[bytes] = set()


@pytest.mark.parametrize("how", ["wrong", "truncated", "expired", "revoked"])
def test_dead_link_is_the_same_plain_404(
    client: TestClient, demo: Services, sept: Asked, clock: Clock, how: str
) -> None:
    token = {"wrong": "x" * 43, "truncated": sept.token[:-1]}.get(how, sept.token)
    if how == "expired":
        clock.now = clock.now.replace(year=2012)
    if how == "revoked":
        csrf = land(client, sept)
        assert post(client, sept, csrf, statement="done").status_code == 303
        client.cookies.clear()
    before = row_counts(demo)
    response = client.get(f"/r/{token}")
    assert response.status_code == 404
    assert "set-cookie" not in response.headers
    assert b"This link does not work" in response.content
    assert row_counts(demo) == before
    # one body for every kind of dead link: compare against a wrong one
    assert response.content == client.get("/r/" + "y" * 43).content


@pytest.mark.parametrize("how", ["wrong", "truncated", "expired"])
def test_dead_link_cannot_post(
    client: TestClient, demo: Services, sept: Asked, clock: Clock, how: str
) -> None:
    csrf = land(client, sept)
    if how == "expired":
        clock.now = clock.now.replace(year=2012)
    else:
        bad = "x" * 43 if how == "wrong" else sept.token[:-1]
        client.cookies.set("signoff_reply", bad, path=f"/reply/{sept.public_id}")
    response = post(client, sept, csrf, statement="sneaky", files=[pdf()])
    assert response.status_code == 404
    assert_untouched(demo, sept)


def test_answered_link_cannot_post_again(client: TestClient, demo: Services, sept: Asked) -> None:
    csrf = land(client, sept)
    assert post(client, sept, csrf, statement="done").status_code == 303
    client.cookies.set("signoff_reply", sept.token, path=f"/reply/{sept.public_id}")
    response = post(client, sept, csrf, statement="again")
    assert response.status_code == 404
    assert item_state(demo, sept.item_id) == ("evidence_submitted", 1)


def test_cookie_of_agency_a_on_agency_b_page(
    client: TestClient, demo: Services, sept: Asked
) -> None:
    nhs = ask(demo, "T2", "nhs-south-east-essex")
    csrf = land(client, sept)
    # the browser would never send A's cookie to B's path; an attacker can
    client.cookies.set("signoff_reply", sept.token, path=f"/reply/{nhs.public_id}")
    assert client.get(f"/reply/{nhs.public_id}").status_code == 404
    response = post(client, nhs, csrf, statement="answer for B", files=[pdf()])
    assert response.status_code == 404
    assert_untouched(demo, sept)
    assert_untouched(demo, nhs)


def test_every_mismatched_token_and_page_is_404(
    client: TestClient, demo: Services, sept: Asked
) -> None:
    asked = [sept, ask(demo, "T2", "nhs-south-east-essex"), ask(demo, "T3", "sept")]
    for a in asked:
        for b in asked:
            client.cookies.clear()
            client.cookies.set("signoff_reply", a.token, path=f"/reply/{b.public_id}")
            status = client.get(f"/reply/{b.public_id}").status_code
            assert status == (200 if a is b else 404), (a.key, b.key)


@pytest.mark.parametrize("how", ["missing", "wrong", "no cookie"])
def test_csrf_is_checked(client: TestClient, demo: Services, sept: Asked, how: str) -> None:
    csrf = land(client, sept)
    if how == "no cookie":
        client.cookies.delete("signoff_csrf")
    token = {"missing": None, "wrong": csrf[:-2] + "00"}.get(how, csrf)
    response = post(client, sept, token, statement="forged", files=[pdf()])
    assert response.status_code == 400
    assert "There is a problem" in response.text
    assert "forged" in response.text  # what they wrote is kept
    assert_untouched(demo, sept)


@pytest.mark.parametrize(
    ("files", "says"),
    [
        (
            [pdf("report.pdf", b"<!doctype html><html><script>alert(1)</script></html>")],
            "not a PDF",
        ),
        ([pdf("big.pdf", b"%PDF-1.4\n" + b"0" * (1024 * 1024) + b"\n%%EOF\n")], "over the 1 MB"),
        ([pdf(f"{n}.pdf") for n in range(4)], "at most 3 files"),
        ([pdf("../../etc/passwd.pdf")], "folder path"),
        ([pdf("..\\..\\boot.pdf")], "folder path"),
        ([pdf("invoice\u202efdp.exe")], "right-to-left"),
        ([pdf(f"{n}.pdf") for n in range(20)], "at most 3 files"),
    ],
    ids=["html-as-pdf", "oversize", "too-many", "traversal", "traversal-windows", "rtl", "flood"],
)
def test_refused_upload_reshows_the_form_and_stores_nothing(
    client: TestClient, demo: Services, sept: Asked, files: Files, says: str
) -> None:
    csrf = land(client, sept)
    response = post(client, sept, csrf, statement="see attached", files=files)
    assert response.status_code in (400, 422)
    assert "There is a problem" in response.text
    assert says in response.text
    assert 'href="#files"' in response.text
    assert_untouched(demo, sept)
    assert not list((demo.data_dir / "evidence").glob("*/*"))


def test_empty_submission_is_refused(client: TestClient, demo: Services, sept: Asked) -> None:
    csrf = land(client, sept)
    response = post(client, sept, csrf, statement="   ")
    assert response.status_code == 422
    assert "Write a statement or choose at least one file" in response.text
    assert_untouched(demo, sept)


# what the page says for each reason the engine may give for refusing an answer
_WORDING = {
    Refusal.EMPTY: "Write a statement or choose at least one file to send.",
    Refusal.CLOSED: "This request can no longer be answered",
    Refusal.WORKFLOW_CHANGED: "the board has changed how it takes evidence",
}


@pytest.mark.parametrize("reason", list(Refusal), ids=[r.value for r in Refusal])
def test_a_refused_answer_is_worded_by_its_reason(
    client: TestClient,
    demo: Services,
    sept: Asked,
    monkeypatch: pytest.MonkeyPatch,
    reason: Refusal,
) -> None:
    """The page words the refusal itself, never with the engine's or the CLI's message."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise RequestRefused(reason, f"engine words for {reason.value}: signoff request X/Y")

    csrf = land(client, sept)
    monkeypatch.setattr(reply, "answer_by_token", refuse)
    response = post(client, sept, csrf, statement="see attached")
    assert response.status_code == 422
    assert "There is a problem" in response.text
    assert 'href="#statement"' in response.text
    assert html.escape(_WORDING.get(reason, "This request cannot be answered")) in response.text
    assert "engine words" not in response.text
    assert "signoff request" not in response.text
    if reason is not Refusal.EMPTY:
        assert "Write a statement" not in response.text
        assert "Ask the safeguarding board for a new link" in response.text
    assert_untouched(demo, sept)


def test_empty_file_input_with_a_statement_is_just_the_statement(
    client: TestClient, demo: Services, sept: Asked
) -> None:
    """A browser sends an empty part when no file is chosen; it is not a file."""
    csrf = land(client, sept)
    empty = ("files", ("", b"", "application/octet-stream"))
    assert post(client, sept, csrf, statement="done", files=[empty]).status_code == 303
    assert item_state(demo, sept.item_id) == ("evidence_submitted", 1)


def test_failed_lookups_are_rate_limited(
    make_client: Callable[..., TestClient], demo: Services, sept: Asked
) -> None:
    client = make_client(failure_limit="5/minute")
    for n in range(5):
        assert client.get(f"/r/wrong{n}").status_code == 404
    response = client.get(f"/r/{sept.token}")  # even the right link, for now
    assert response.status_code == 429
    assert "Too many attempts" in response.text
    assert client.get(f"/reply/{sept.public_id}").status_code == 429
    assert_untouched(demo, sept)


def test_posts_are_rate_limited(
    make_client: Callable[..., TestClient], demo: Services, sept: Asked
) -> None:
    client = make_client(post_limit="3/minute")
    csrf = land(client, sept)
    for _ in range(3):
        response = post(client, sept, csrf, statement=" ")
        assert response.status_code == 422
        found = _CSRF.search(response.text)
        assert found is not None
        csrf = found.group(1)  # each re-shown form carries a fresh token
    assert post(client, sept, csrf, statement="now real").status_code == 429
    assert_untouched(demo, sept)


def test_opening_the_link_changes_nothing(client: TestClient, demo: Services, sept: Asked) -> None:
    before = row_counts(demo)
    land(client, sept)
    client.get(f"/r/{sept.token}")
    assert row_counts(demo) == before
    assert_untouched(demo, sept)


@pytest.mark.parametrize("path", ["/r/{token}", "/reply/{public_id}", "/r/nope", "/nowhere"])
def test_security_headers(client: TestClient, sept: Asked, path: str) -> None:
    land(client, sept)
    response = client.get(path.format(token=sept.token, public_id=sept.public_id))
    headers = response.headers
    assert headers["referrer-policy"] == "no-referrer"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["x-frame-options"] == "DENY"
    assert headers["cache-control"] == "no-store"
    csp = headers["content-security-policy"]
    for part in ("default-src 'self'", "frame-ancestors 'none'", "form-action 'self'"):
        assert part in csp
    assert "unsafe-inline" not in csp


def test_page_script_carries_the_requests_nonce(client: TestClient, sept: Asked) -> None:
    land(client, sept)
    response = client.get(f"/reply/{sept.public_id}")
    nonce = re.search(r"'nonce-([^']+)'", response.headers["content-security-policy"])
    assert nonce is not None
    assert f'<script nonce="{nonce.group(1)}">' in response.text
    assert (
        "//"
        not in re.sub(r"https?://www\.w3\.org[^\"]*", "", response.text).replace(
            "http://testserver", ""
        )
        or True
    )  # no asset from another origin: checked below
    assert not re.search(r'(src|href)="(https?:)?//', response.text)


def test_assets_are_served_locally(client: TestClient) -> None:
    css = client.get("/assets/govuk-frontend.min.css")
    assert css.status_code == 200
    assert css.headers["content-type"].startswith("text/css")
    assert client.get("/assets/govuk-frontend.min.js").status_code == 200
    assert "initAll" in client.get("/assets/signoff.mjs").text
    fonts = re.findall(r"url\((/assets/fonts/[^)]+)\)", css.text)
    assert fonts
    assert client.get(fonts[0]).status_code == 200
    assert client.get("/assets/images/favicon.ico").status_code == 200


def test_token_is_never_logged(
    client: TestClient, sept: Asked, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    csrf = land(client, sept)
    client.get("/r/" + "x" * 43)
    post(client, sept, csrf, statement="done")
    # everything the server side logged (the test's own HTTP client logs its URLs)
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name != "httpx")
    assert "GET /r/<redacted> 303" in logged
    assert "GET /r/<redacted> 404" in logged
    assert sept.token not in logged
    assert "x" * 43 not in logged


def test_without_the_cookie_the_page_reloads_itself_once(client: TestClient, sept: Asked) -> None:
    """After a click in webmail the browser withholds the Strict cookie on the redirect."""
    first = client.get(f"/reply/{sept.public_id}")
    assert first.status_code == 200
    assert f'content="0; url=/reply/{sept.public_id}?again=1"' in first.text
    assert client.get(f"/reply/{sept.public_id}?again=1").status_code == 404


def test_cached_page_gets_a_fresh_nonce_and_csrf_token(client: TestClient, sept: Asked) -> None:
    first = land(client, sept)
    second = client.get(f"/reply/{sept.public_id}")
    found = _CSRF.search(second.text)
    assert found is not None
    assert found.group(1) != first
    assert "@@" not in second.text


def _acts(services: Services, item_id: int) -> list[tuple[str, str]]:
    with services.db.engine.connect() as conn:
        query = sa.text("SELECT trigger, actor FROM event WHERE item_id = :i ORDER BY seq")
        return [tuple(r) for r in conn.execute(query, {"i": item_id})]  # type: ignore[misc]


def test_a_deputy_answers_for_an_absent_lead_officer(
    client: TestClient, demo: Services, tmp_path: Path
) -> None:
    sept_lead_officer(demo, tmp_path, absent=True)
    asked = ask(demo, "T2", "sept")  # the request goes to the deputy
    csrf = land(client, asked)
    sent = post(client, asked, csrf, statement="Covering for the named nurse", files=[pdf()])
    assert sent.status_code == 303, sent.text
    assert item_state(demo, asked.item_id) == ("evidence_submitted", 2)
    with demo.db.engine.connect() as conn:
        query = sa.text("SELECT DISTINCT channel, submitted_by FROM evidence WHERE item_id = :i")
        by = conn.execute(query, {"i": asked.item_id}).all()
    assert [tuple(r) for r in by] == [("web", DEPUTY)]
    assert _acts(demo, asked.item_id)[-1] == ("submit_evidence", DEPUTY)


def test_a_deputy_whose_contact_is_back_gets_a_page_not_a_500(
    client: TestClient, demo: Services, tmp_path: Path
) -> None:
    sept_lead_officer(demo, tmp_path, absent=True)
    asked = ask(demo, "T2", "sept")
    csrf = land(client, asked)
    sept_lead_officer(demo, tmp_path, absent=False)  # back before the deputy answered
    response = post(client, asked, csrf, statement="Covering")
    assert response.status_code == 422
    assert "There is a problem" in response.text
    assert "not show you answering for this agency" in response.text
    assert "RoleNotAllowed" not in response.text
    assert_untouched(demo, asked)


@pytest.mark.parametrize(
    ("refusal", "words"),
    [
        (RoleNotAllowed("X/T1", "submit_evidence", "a@b.example", ["agency"]), "not show you"),
        (SeparationOfDuties("X/T1", "submit_evidence", "a@b.example", "x"), "not show you"),
        (ConcurrentUpdate("X/T1", "submit_evidence"), "changed while you were answering"),
        (GuardFailed("X/T1", "submit_evidence", "g", "needs g"), "cannot be answered"),
    ],
    ids=lambda v: type(v).__name__ if isinstance(v, Exception) else "",
)
def test_every_workflow_refusal_is_a_page(
    client: TestClient,
    demo: Services,
    sept: Asked,
    monkeypatch: pytest.MonkeyPatch,
    refusal: FireError,
    words: str,
) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise refusal

    csrf = land(client, sept)
    monkeypatch.setattr(reply, "answer_by_token", refuse)
    response = post(client, sept, csrf, statement="see attached")
    assert response.status_code == 422
    assert words in response.text
    assert "X/T1" not in response.text
    assert_untouched(demo, sept)


def test_the_done_page_tells_the_truth_about_sending_more(
    client: TestClient, demo: Services, sept: Asked
) -> None:
    """Issue 9: "reply to the email you were sent" led to the quarantine; now it adds to it."""
    csrf = land(client, sept)
    assert post(client, sept, csrf, statement="Minutes attached", files=[pdf()]).status_code == 303
    done = client.get(f"/reply/{sept.public_id}/done")
    assert "reply to the email you were sent" in html.unescape(done.text)
    key, domain = b"k" * 32, "replies.example.org"
    more = EmailMessage()
    more["From"], more["Subject"] = SEPT, "RE: Evidence needed"
    more["To"] = reply_address(key, sept.public_id, domain)
    more["Message-ID"] = "<more@sept.example.org>"
    more.set_content("And the training register.")
    more.add_attachment(PDF, maintype="application", subtype="pdf", filename="register.pdf")
    got = receive(
        demo, Mailbox(key=key, domain=domain), more.as_bytes(), rcpt_tos=[str(more["To"])],
        envelope_from=SEPT, now=NOW + dt.timedelta(days=2),
    )  # fmt: skip
    assert got.status == "accepted", got.reason
    assert item_state(demo, sept.item_id) == ("evidence_submitted", 4)
