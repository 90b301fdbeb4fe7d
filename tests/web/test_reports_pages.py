"""The /reports pages over real HTTP: the form, the report inside the layout with links to
the items behind each figure, errors in the error summary, and each download."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from engine.services import Services
from tests.conftest import BM, PANEL
from tests.engine.test_permissions import add_viewer
from tests.web.conftest import Clock, sign_in

VIEWER = "board.member@southend-lscb.example.org"
SEPT_LEAD = "named.nurse@sept.example.org"


def _client(
    make_client: Callable[..., TestClient], demo: Services, clock: Clock, who: str
) -> TestClient:
    client = make_client()
    sign_in(client, demo, who, clock)
    return client


def test_the_reports_page_lists_every_report(
    demo: Services, clock: Clock, make_client: Callable[..., TestClient]
) -> None:
    page = _client(make_client, demo, clock, BM).get("/reports")
    assert page.status_code == 200
    for name in ("rag", "overdue", "timescale", "high-risk", "themes", "minutes", "board-pack"):
        assert f'value="{name}"' in page.text
    assert 'href="/reports"' in page.text  # in the service navigation


def test_a_report_shows_in_the_layout_with_links_to_its_items(
    demo: Services, clock: Clock, make_client: Callable[..., TestClient]
) -> None:
    page = _client(make_client, demo, clock, PANEL).get("/reports?report=rag&to=2011-03-31")
    assert page.status_code == 200
    assert "RAG and state" in page.text
    assert 'class="govuk-table"' in page.text
    assert 'href="/items/southend-iawg-scr-audit-2010/' in page.text
    assert "/reports/file/pdf?report=rag&amp;to=2011-03-31" in page.text


def test_the_themes_chart_is_an_image_with_its_description(
    demo: Services, clock: Clock, make_client: Callable[..., TestClient]
) -> None:
    add_viewer(demo)
    page = _client(make_client, demo, clock, VIEWER).get("/reports?report=themes")
    assert page.status_code == 200
    assert '<img src="data:image/svg+xml;base64,' in page.text
    assert 'alt="Items by theme and agency. A heat map of' in page.text


@pytest.mark.parametrize(
    ("query", "field", "words"),
    [
        ("report=nonsense", "report", "no such report"),
        ("report=rag&to=31/03/2011", "to", "is not a date"),
        ("report=timescale&from=2011-05-01&to=2011-03-31", "from", "is after --to"),
        ("report=rag&from=2011-01-01", "from", "on one date"),
        ("report=minutes", "meeting", "needs the panel meeting"),
        ("report=rag&review=no-such-review", "review", "no such review"),
        ("report=rag&agency=%3Cscript%3E", "agency", "no such agency"),
    ],
)
def test_a_bad_request_is_named_in_the_error_summary(
    demo: Services,
    clock: Clock,
    make_client: Callable[..., TestClient],
    query: str,
    field: str,
    words: str,
) -> None:
    page = _client(make_client, demo, clock, BM).get(f"/reports?{query}")
    assert page.status_code == 200
    assert "govuk-error-summary" in page.text
    assert f'href="#{field}"' in page.text
    assert words in page.text
    assert "<title>Error: Reports" in page.text
    assert "<script>" not in page.text.split("<main")[1]


@pytest.mark.parametrize(
    ("fmt", "starts", "media"),
    [
        ("pdf", b"%PDF-", "application/pdf"),
        ("xlsx", b"PK", "application/vnd.openxmlformats"),
        ("csv", "\ufeff".encode(), "text/csv"),
        ("json", b"{", "application/json"),
        ("html", b"<!DOCTYPE html>", "text/html"),
    ],
)
def test_each_download_is_the_report_as_a_file(
    demo: Services,
    clock: Clock,
    make_client: Callable[..., TestClient],
    fmt: str,
    starts: bytes,
    media: str,
) -> None:
    client = _client(make_client, demo, clock, BM)
    got = client.get(f"/reports/file/{fmt}?report=board-pack&to=2011-03-31")
    assert got.status_code == 200
    assert got.content.startswith(starts)
    assert got.headers["content-type"].startswith(media)
    assert got.headers["content-disposition"] == (
        f'attachment; filename="signoff-board-pack-2011-03-31.{fmt}"'
    )
    assert "sandbox" in got.headers["content-security-policy"]
    if fmt == "json":
        assert json.loads(got.content)["chain"]["items"] > 0


def test_a_bad_download_goes_back_to_the_form_and_an_unknown_format_is_404(
    demo: Services, clock: Clock, make_client: Callable[..., TestClient]
) -> None:
    client = _client(make_client, demo, clock, BM)
    back = client.get("/reports/file/pdf?report=rag&to=nope", follow_redirects=False)
    assert back.status_code == 303
    assert back.headers["location"] == "/reports?report=rag&to=nope"
    assert client.get("/reports/file/exe?report=rag").status_code == 404


def test_an_agency_contact_cannot_read_reports(
    demo: Services, clock: Clock, make_client: Callable[..., TestClient]
) -> None:
    client = _client(make_client, demo, clock, SEPT_LEAD)
    assert client.get("/reports").status_code == 404
    assert client.get("/reports/file/json?report=rag").status_code == 404
    assert 'href="/reports"' not in client.get("/").text
