"""Staff sign-in by emailed link, and evidence downloads for the board's staff only."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from fastapi.testclient import TestClient
from itsdangerous import URLSafeSerializer

from engine.errors import StaffNotAllowed
from engine.services import Services
from tests.conftest import BM
from tests.web.conftest import PDF, SECRET, SEPT, Asked, Clock
from tests.web.test_reply import land, pdf, post
from web import issue_staff_link
from web.settings import WebSettings

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def sign_in(client: TestClient, link: str) -> None:
    path = link.removeprefix("http://testserver")
    page = client.get(path)
    assert page.status_code == 200
    found = _CSRF.search(page.text)
    assert found is not None
    response = client.post(path, data={"csrf_token": found.group(1)})
    assert response.status_code == 303, response.text
    assert response.headers["location"] == "/staff"


def evidence_file(client: TestClient, services: Services, asked: Asked) -> int:
    """Send a PDF through the reply page; the id of its evidence row."""
    csrf = land(client, asked)
    assert post(client, asked, csrf, files=[pdf("Ward ‘minutes’ 2011.pdf")]).status_code == 303
    client.cookies.clear()
    with services.db.engine.connect() as conn:
        return int(
            conn.exec_driver_sql("SELECT id FROM evidence WHERE filename IS NOT NULL").scalar_one()
        )


def test_staff_downloads_evidence_as_an_attachment(
    client: TestClient, demo: Services, settings: WebSettings, sept: Asked, clock: Clock
) -> None:
    evidence_id = evidence_file(client, demo, sept)
    sign_in(client, issue_staff_link(demo, settings, BM, clock.now))
    response = client.get(f"/staff/evidence/{evidence_id}")
    assert response.status_code == 200
    assert response.content == PDF
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["x-content-type-options"] == "nosniff"
    disposition = response.headers["content-disposition"]
    assert disposition.startswith("attachment;")
    assert "filename*=UTF-8''Ward%20%E2%80%98minutes%E2%80%99%202011.pdf" in disposition
    assert "sandbox" in response.headers["content-security-policy"]


@pytest.mark.parametrize(
    "malformed",
    [
        "9" * 20,  # too large for any database integer
        str(2**63),
        str(2**31),  # too large for PostgreSQL's INTEGER
        "-1",
        "0",
        "abc",
        "1.5",
        "%EF%BC%91",  # a fullwidth digit one
        "+1",
        " 1",
    ],
)
def test_a_malformed_evidence_id_is_the_same_404_as_an_unknown_one(
    client: TestClient,
    demo: Services,
    settings: WebSettings,
    sept: Asked,
    clock: Clock,
    malformed: str,
) -> None:
    evidence_id = evidence_file(client, demo, sept)
    sign_in(client, issue_staff_link(demo, settings, BM, clock.now))
    unknown = client.get(f"/staff/evidence/{evidence_id + 1000}")
    assert unknown.status_code == 404
    response = client.get(f"/staff/evidence/{malformed}")
    assert response.status_code == 404
    assert response.text == unknown.text
    assert client.get(f"/staff/evidence/{evidence_id}").status_code == 200


def test_session_cookie_is_httponly_lax_and_scoped(
    client: TestClient, demo: Services, settings: WebSettings, clock: Clock
) -> None:
    link = issue_staff_link(demo, settings, BM, clock.now).removeprefix("http://testserver")
    found = _CSRF.search(client.get(link).text)
    assert found is not None
    cookie = client.post(link, data={"csrf_token": found.group(1)}).headers["set-cookie"]
    for part in ("signoff_staff=", "HttpOnly", "SameSite=lax", "Path=/staff", "Max-Age=28800"):
        assert part.lower() in cookie.lower()
    assert client.get("/staff").status_code == 200


def test_lead_officer_cannot_have_a_link(
    demo: Services, settings: WebSettings, clock: Clock
) -> None:
    with pytest.raises(StaffNotAllowed, match="board's roles"):
        issue_staff_link(demo, settings, SEPT, clock.now)


def test_lead_officer_cannot_download_even_with_a_signed_session(
    client: TestClient, demo: Services, sept: Asked, clock: Clock
) -> None:
    evidence_id = evidence_file(client, demo, sept)
    assert client.get(f"/staff/evidence/{evidence_id}").status_code == 404
    forged = URLSafeSerializer(SECRET.encode(), salt="signoff-staff-session").dumps(
        {"e": SEPT, "t": int(clock.now.timestamp())}
    )
    client.cookies.set("signoff_staff", forged, path="/staff")
    assert client.get(f"/staff/evidence/{evidence_id}").status_code == 404
    assert client.get("/staff").status_code == 404


def test_opening_a_sign_in_link_does_not_sign_in(
    client: TestClient, demo: Services, settings: WebSettings, clock: Clock
) -> None:
    link = issue_staff_link(demo, settings, BM, clock.now).removeprefix("http://testserver")
    assert client.get(link).status_code == 200  # e.g. a mail scanner
    assert "signoff_staff" not in client.cookies
    assert client.get("/staff").status_code == 404


def test_sign_in_link_works_once(
    client: TestClient, demo: Services, settings: WebSettings, clock: Clock
) -> None:
    link = issue_staff_link(demo, settings, BM, clock.now)
    sign_in(client, link)
    client.cookies.clear()
    path = link.removeprefix("http://testserver")
    found = _CSRF.search(client.get(path).text)
    assert found is not None
    assert client.post(path, data={"csrf_token": found.group(1)}).status_code == 404


def test_sign_in_link_expires_after_15_minutes(
    client: TestClient, demo: Services, settings: WebSettings, clock: Clock
) -> None:
    link = issue_staff_link(demo, settings, BM, clock.now)
    clock.now += dt.timedelta(minutes=16)
    assert client.get(link.removeprefix("http://testserver")).status_code == 404


def test_session_ends_after_8_hours(
    client: TestClient, demo: Services, settings: WebSettings, clock: Clock
) -> None:
    sign_in(client, issue_staff_link(demo, settings, BM, clock.now))
    clock.now += dt.timedelta(hours=8, minutes=1)
    assert client.get("/staff").status_code == 404


def test_tampered_link_is_404(
    client: TestClient, demo: Services, settings: WebSettings, clock: Clock
) -> None:
    link = issue_staff_link(demo, settings, BM, clock.now).removeprefix("http://testserver")
    assert client.get(link[:-2] + "AA").status_code == 404


def test_staff_see_the_quarantine(
    client: TestClient, demo: Services, settings: WebSettings, clock: Clock
) -> None:
    with demo.db.write() as conn:
        conn.exec_driver_sql(
            "INSERT INTO inbound_message (message_key, received_at, sender, recipient, status, "
            "reason, raw_sha256, size, evidence_ids) VALUES ('<q1@x>', '2011-01-10 09:00:00', "
            "'someone@elsewhere.example', 'reply+abc.def@localhost', 'quarantined', "
            "'<b>not a valid reply address</b>', 'aa', 10, '[]')"
        )
    sign_in(client, issue_staff_link(demo, settings, BM, clock.now))
    page = client.get("/staff")
    assert page.status_code == 200
    assert "someone@elsewhere.example" in page.text
    assert "&lt;b&gt;not a valid reply address&lt;/b&gt;" in page.text  # escaped, never markup
