"""The business manager's /tokens page (issue 10): a token shown once, refusals with the
GOV.UK error summary, revoking; nobody else reaches it."""

from __future__ import annotations

import re
from collections.abc import Callable

from fastapi.testclient import TestClient

from engine import api_tokens
from engine.services import Services
from tests.conftest import BM, PANEL
from tests.web.conftest import Clock, csrf_of, sign_in

_SECRET = re.compile(r'<code id="new-token">(sot_[^<]+)</code>')


def _manager(demo: Services, clock: Clock, make_client: Callable[..., TestClient]) -> TestClient:
    client = make_client()
    sign_in(client, demo, BM, clock)
    return client


def test_a_token_made_on_the_page_is_shown_once(
    demo: Services, clock: Clock, make_client: Callable[..., TestClient]
) -> None:
    client = _manager(demo, clock, make_client)
    page = client.get("/tokens")
    assert page.status_code == 200
    assert "No tokens are in use" in page.text
    made = client.post(
        "/tokens",
        data={"csrf_token": csrf_of(page.text), "name": "Board report", "role": "board_viewer"},
    )
    assert made.status_code == 200
    found = _SECRET.search(made.text)
    assert found is not None
    secret = found.group(1)
    assert api_tokens.authenticate(demo, secret, clock.now) is not None
    again = client.get("/tokens")
    assert secret not in again.text
    assert "Board report" in again.text
    assert "Never" not in again.text  # used just now


def test_a_bad_token_form_keeps_what_was_typed_and_makes_nothing(
    demo: Services, clock: Clock, make_client: Callable[..., TestClient]
) -> None:
    client = _manager(demo, clock, make_client)
    csrf = csrf_of(client.get("/tokens").text)
    cases = [
        ({"name": "Feed", "role": "agency_contact"}, "#agency", "choose an agency"),
        ({"name": "", "role": "panel_member"}, "#name", "printable characters"),
        ({"name": "Feed", "role": "wizard"}, "#role", "unknown role"),
        ({"name": "Feed", "role": "panel_member", "for": "nobody@example.org"}, "#acts-for",
         "not in the directory"),
    ]  # fmt: skip
    for form, href, words in cases:
        refused = client.post("/tokens", data={"csrf_token": csrf, **form})
        assert refused.status_code == 422, form
        assert "govuk-error-summary" in refused.text
        assert f'href="{href}"' in refused.text
        assert words in refused.text.lower(), form
        if form["name"]:
            assert f'value="{form["name"]}"' in refused.text
    assert api_tokens.list_tokens(demo, include_revoked=True) == []


def test_a_revoked_token_stops_working(
    demo: Services, clock: Clock, make_client: Callable[..., TestClient]
) -> None:
    secret, made = api_tokens.create(demo, name="Feed", role="panel_member", agency=None,
                                     acts_for=None, created_by=BM, now=clock.now)  # fmt: skip
    client = _manager(demo, clock, make_client)
    csrf = csrf_of(client.get("/tokens").text)
    done = client.post(f"/tokens/{made.public_id}/revoke", data={"csrf_token": csrf})
    assert done.status_code == 303
    assert api_tokens.authenticate(demo, secret, clock.now) is None
    unknown = client.post("/tokens/nosuchtoken/revoke", data={"csrf_token": csrf})
    assert unknown.status_code == 404


def test_only_the_business_manager_reaches_tokens(
    demo: Services, clock: Clock, make_client: Callable[..., TestClient]
) -> None:
    client = make_client()
    sign_in(client, demo, PANEL, clock)
    assert client.get("/tokens").status_code == 404
