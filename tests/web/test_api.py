"""The JSON API over real HTTP (uvicorn on loopback), on SQLite and PostgreSQL (issue 10).

Tokens as ``signoff token`` and ``/tokens`` make them; the roles table decides; decisions go
through ``engine.fire`` with its refusals; Schemathesis checks every operation against the
OpenAPI schema with 0 server errors and 0 schema violations.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from engine import api_tokens
from engine.services import Services
from tests.conftest import BM, NOW, PANEL, REVIEW, make_item
from tests.smtpd import free_port
from tests.web.conftest import SECRET, SEPT, Clock
from web import build_server, create_app, start_in_thread, stop

NHS = "nhs-south-east-essex"


@pytest.fixture
def live(demo: Services) -> Iterator[str]:
    """The app served by uvicorn on loopback; its base URL."""
    from app.settings import load_settings

    port = free_port()
    web = load_settings(
        data_dir=demo.data_dir, secret_key=SECRET, base_url=f"http://127.0.0.1:{port}"
    ).web()
    app = create_app(demo, web, clock=Clock(NOW + dt.timedelta(hours=1)))
    server = build_server(app, "127.0.0.1", port)
    thread = start_in_thread(server)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        stop(server, thread)


def token(
    services: Services, role: str, agency: str | None = None, acts_for: str | None = None
) -> str:
    secret, _ = api_tokens.create(
        services,
        name=f"{role} test",
        role=role,
        agency=agency,
        acts_for=acts_for,
        created_by=BM,
        now=NOW,
    )
    return secret


def get(base: str, path: str, secret: str | None = None, **params: Any) -> httpx.Response:
    headers = {"Authorization": f"Bearer {secret}"} if secret else {}
    return httpx.get(f"{base}/api/v1{path}", headers=headers, params=params)


def decide(base: str, secret: str, key: str, **body: Any) -> httpx.Response:
    return httpx.post(
        f"{base}/api/v1/items/{key}/decisions",
        headers={"Authorization": f"Bearer {secret}"},
        json=body,
    )


def test_a_request_without_a_valid_token_is_401(demo: Services, live: str) -> None:
    revoked = token(demo, "business_manager")
    listed = api_tokens.list_tokens(demo)
    api_tokens.revoke(demo, listed[0].public_id, NOW)
    for secret in (None, "sot_not-a-token", "garbage", revoked, "x" * 5000):
        response = get(live, "/items", secret)
        assert response.status_code == 401, secret
        assert response.headers["www-authenticate"] == "Bearer"
    basic = httpx.get(f"{live}/api/v1/items", headers={"Authorization": "Basic YTpi"})
    assert basic.status_code == 401


def test_an_agency_token_sees_only_its_agencys_items(demo: Services, live: str) -> None:
    make_item(demo, ref="T1", due=dt.date(2011, 3, 4), agency="sept")
    make_item(demo, ref="T2", due=dt.date(2011, 3, 4), agency=NHS)
    sept = token(demo, "agency_contact", "sept")
    listed = get(live, "/items", sept).json()
    assert {i["agency"] for i in listed["items"]} == {"sept"}
    assert listed["total"] == 1
    assert [r["items"] for r in get(live, "/reviews", sept).json()] == [1]
    foreign = get(live, f"/items/{REVIEW}/T2", sept)
    unknown = get(live, f"/items/{REVIEW}/T999", sept)
    assert foreign.status_code == unknown.status_code == 404
    assert foreign.json() == unknown.json()
    for tail in ("/history", "/evidence"):
        assert get(live, f"/items/{REVIEW}/T2{tail}", sept).json() == unknown.json()
    assert get(live, f"/items/{REVIEW}/T1/history", sept).json()[0]["trigger"] == "create"


def test_the_item_filters_are_the_lists(demo: Services, live: str) -> None:
    make_item(demo, ref="T1", due=dt.date(2011, 1, 3), agency="sept")  # overdue at NOW
    make_item(demo, ref="T2", due=dt.date(2011, 1, 14), agency="sept")  # due within 7 days
    secret = token(demo, "panel_member")
    overdue = get(live, "/items", secret, overdue="true", agency="sept").json()
    assert [i["ref"] for i in overdue["items"]] == ["T1"]
    assert overdue["items"][0]["overdue"] is True
    soon = get(live, "/items", secret, agency="sept", due_within="7").json()
    assert {i["ref"] for i in soon["items"]} == {"T1", "T2"}
    found = get(live, "/items", secret, q="item t2").json()
    assert [i["ref"] for i in found["items"]] == ["T2"]
    last = get(live, "/items", secret, agency="sept", page="999").json()
    assert last["page"] == last["pages"] == 1


@pytest.mark.parametrize(
    "params",
    [
        {"sort": "bogus"},
        {"due_within": "-1"},
        {"due_within": "ten"},
        {"overdue": "perhaps"},
        {"page": "0"},
        {"rag": "purple"},
        {"q": "x" * 201},
        {"q": "nul\x00byte"},
        {"agency": "tab\there"},
        {"agency": "no-such-agency"},
    ],
)
def test_a_bad_filter_is_422_naming_it(demo: Services, live: str, params: dict[str, str]) -> None:
    response = get(live, "/items", token(demo, "panel_member"), **params)
    assert response.status_code == 422, response.text
    assert list(response.json()["fields"]) == list(params)


def test_decisions_take_the_engines_path_and_refusals(demo: Services, live: str) -> None:
    make_item(demo, ref="T1", due=dt.date(2011, 3, 4), agency="sept")
    key = f"{REVIEW}/T1"
    agency = token(demo, "agency_contact", "sept", acts_for=SEPT)
    panel = token(demo, "panel_member", acts_for=PANEL)
    reader = token(demo, "panel_member")
    sent = decide(live, agency, key, trigger="submit_evidence", statement="Minutes attached")
    assert sent.status_code == 201, sent.text
    assert sent.json()["to_state"] == "evidence_submitted"
    assert decide(live, reader, key, trigger="challenge", reason="thin").status_code == 403
    stale = decide(live, panel, key, trigger="challenge", reason="thin", expected_version=1)
    assert stale.status_code == 409
    assert stale.json()["error"] == "ItemChanged"  # a ConcurrentUpdate: the item moved on
    missing = decide(live, panel, key, trigger="challenge")
    assert missing.status_code == 422
    assert missing.json()["error"] == "MissingInput"
    wrong_role = decide(live, agency, key, trigger="challenge", reason="mine")
    assert wrong_role.status_code == 403
    assert wrong_role.json()["error"] == "RoleNotAllowed"
    done = decide(
        live,
        panel,
        key,
        trigger="challenge",
        reason="thin",
        meeting_date="2011-01-10",
        expected_version=2,
    )
    assert done.status_code == 201, done.text
    history = get(live, f"/items/{key}/history", panel).json()
    assert [(e["trigger"], e["actor"]) for e in history][-2:] == [
        ("submit_evidence", SEPT),
        ("challenge", PANEL),
    ]
    evidence = get(live, f"/items/{key}/evidence", panel).json()
    assert evidence[0]["has_statement"] is True
    assert "statement" not in evidence[0]


def test_a_decision_on_a_foreign_agencys_item_is_404(demo: Services, live: str) -> None:
    make_item(demo, ref="T2", due=dt.date(2011, 3, 4), agency=NHS)
    sept = token(demo, "agency_contact", "sept", acts_for=SEPT)
    response = decide(live, sept, f"{REVIEW}/T2", trigger="submit_evidence", statement="x")
    assert response.status_code == 404


def test_the_outbox_is_the_business_managers(demo: Services, live: str) -> None:
    assert get(live, "/outbox", token(demo, "panel_member")).status_code == 403
    response = get(live, "/outbox", token(demo, "business_manager"), status="failed")
    assert response.status_code == 200
    assert response.json() == []


def test_a_token_records_when_it_was_last_used(demo: Services, live: str) -> None:
    secret = token(demo, "board_viewer")
    assert api_tokens.list_tokens(demo)[0].last_used_at is None
    assert get(live, "/reviews", secret).status_code == 200
    assert api_tokens.list_tokens(demo)[0].last_used_at is not None


def test_the_docs_load_only_from_our_own_origin(demo: Services, live: str) -> None:
    page = httpx.get(f"{live}/api/v1/docs")
    assert page.status_code == 200
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert "http" not in page.text.replace("http-equiv", "")
    for asset in ("swagger-ui.css", "swagger-ui-bundle.js", "start.js"):
        assert httpx.get(f"{live}/api/v1/docs/{asset}").status_code == 200, asset
    schema = httpx.get(f"{live}/api/v1/openapi.json").json()
    assert schema["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"


# -- Schemathesis: every operation against the schema ------------------------------------


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_the_api_keeps_to_its_schema(demo: Services, live: str, mode: GenerationMode) -> None:
    """Every operation, 20 generated requests each (valid, or deliberately invalid), as a
    business manager's token: no 5xx, and every answer as the schema says."""
    make_item(demo, ref="T1", due=dt.date(2011, 3, 4), agency="sept")
    headers = {"Authorization": f"Bearer {token(demo, 'business_manager', acts_for=BM)}"}
    schema = schemathesis.openapi.from_url(f"{live}/api/v1/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 7
    for operation in operations:

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=20,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def call(case: Any) -> None:
            case.call_and_validate(base_url=f"{live}/api/v1", headers=headers, checks=CHECKS)

        call()
