"""The /reports pages over real HTTP: the form, the report inside the layout with links to
the items behind each figure, errors in the error summary, and each download."""

from __future__ import annotations

import json
from collections.abc import Callable
from html.parser import HTMLParser

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
    page = _client(make_client, demo, clock, PANEL).get(
        "/reports?report=rag&to-day=31&to-month=3&to-year=2011"
    )
    assert page.status_code == 200
    assert "RAG and state" in page.text
    assert 'class="govuk-table"' in page.text
    assert 'href="/items/southend-iawg-scr-audit-2010/' in page.text
    assert "/reports/file/pdf?report=rag&amp;to-day=31&amp;to-month=3&amp;to-year=2011" in page.text


def test_the_themes_chart_is_an_image_with_its_description(
    demo: Services, clock: Clock, make_client: Callable[..., TestClient]
) -> None:
    add_viewer(demo)
    page = _client(make_client, demo, clock, VIEWER).get("/reports?report=themes")
    assert page.status_code == 200
    assert '<img src="data:image/svg+xml;base64,' in page.text
    assert 'alt="Items by theme and agency. A heat map of' in page.text


class _Fields(HTMLParser):
    """Each input's classes and value by id, the error summary's links, the inline errors."""

    def __init__(self) -> None:
        super().__init__()
        self.inputs: dict[str, tuple[set[str], str]] = {}
        self.links: list[tuple[str, str]] = []
        self.inline: list[str] = []
        self._in: str | None = None
        self._href = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "input" and a.get("id"):
            self.inputs[a["id"]] = (set(a.get("class", "").split()), a.get("value", ""))
        if tag == "a" and self._in == "summary":
            self._href = a.get("href", "")
        if "govuk-error-summary__list" in a.get("class", ""):
            self._in = "summary"
        if "govuk-error-message" in a.get("class", ""):
            self._in = "inline"
            self.inline.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "ul" and self._in == "summary" or tag == "p" and self._in == "inline":
            self._in = None

    def handle_data(self, data: str) -> None:
        if self._in == "summary" and self._href and data.strip():
            self.links.append((data.strip(), self._href))
            self._href = ""
        elif self._in == "inline":
            self.inline[-1] += data


def _date(name: str, day: str, month: str, year: str) -> str:
    return f"{name}-day={day}&{name}-month={month}&{name}-year={year}"


BAD = {
    "no_report": ("from-day=&to-day=", [("Select a report", "#report")]),
    "unknown_report": ("report=rags", [("Select a report from the list", "#report")]),
    "not_real": (
        "report=rag&" + _date("to", "31", "2", "2011"),
        [("Date to must be a real date", "#to-day")],
    ),
    "no_month": (
        "report=rag&" + _date("to", "31", "", "2011"),
        [("Date to must include a month", "#to-month")],
    ),
    "no_day_and_year": (
        "report=rag&" + _date("to", "", "3", ""),
        [("Date to must include a day and year", "#to-day")],
    ),
    "month_13": (
        "report=timescale&" + _date("from", "1", "13", "2011"),
        [("Date from must be a real date", "#from-month")],
    ),
    "letters": (
        "report=timescale&" + _date("from", "1st", "jan", "2011"),
        [("Date from must be a real date", "#from-day")],
    ),
    "two_digit_year": (
        "report=timescale&" + _date("from", "1", "1", "11"),
        [("Date from must include a year with 4 numbers, like 2011", "#from-year")],
    ),
    "from_after_to": (
        "report=timescale&"
        + _date("from", "1", "5", "2011")
        + "&"
        + _date("to", "31", "3", "2011"),
        [("Date from must be the same as or before date to", "#from-day")],
    ),
    "from_after_today": (
        "report=timescale&" + _date("from", "1", "5", "2011"),
        [
            (
                "Date from must be today or in the past, or enter a later date to "
                "(today is 10 January 2011)",
                "#from-day",
            )
        ],
    ),
    "from_on_rag": (
        "report=rag&" + _date("from", "1", "1", "2011"),
        [("Leave date from empty: the RAG report shows the position on date to", "#from-day")],
    ),
    "no_meeting": ("report=minutes", [("Enter the panel meeting date", "#meeting-day")]),
    "period_on_minutes": (
        "report=minutes&"
        + _date("to", "31", "1", "2011")
        + "&"
        + _date("meeting", "25", "1", "2011"),
        [
            (
                "Leave date from and date to empty: the minutes are of one panel meeting",
                "#to-day",
            )
        ],
    ),
    "meeting_on_rag": (
        "report=rag&" + _date("meeting", "25", "1", "2011"),
        [("Leave the panel meeting date empty: only the panel minutes take one", "#meeting-day")],
    ),
    "review": ("report=rag&review=no-such-review", [("Select a review from the list", "#review")]),
    "agency": ("report=rag&agency=%3Cscript%3E", [("Select an agency from the list", "#agency")]),
    "several_in_page_order": (
        "agency=x&" + _date("to", "30", "2", "2011") + "&" + _date("from", "", "1", "2011"),
        [
            ("Select a report", "#report"),
            ("Date from must include a day", "#from-day"),
            ("Date to must be a real date", "#to-day"),
        ],
    ),
}


@pytest.mark.parametrize(("query", "expected"), BAD.values(), ids=BAD.keys())
def test_a_bad_request_is_named_in_the_error_summary_and_beside_its_field(
    demo: Services,
    clock: Clock,
    make_client: Callable[..., TestClient],
    query: str,
    expected: list[tuple[str, str]],
) -> None:
    page = _client(make_client, demo, clock, BM).get(f"/reports?{query}")
    assert page.status_code == 200
    found = _Fields()
    found.feed(page.text)
    assert found.links == expected
    assert [" ".join(m.split()) for m in found.inline] == [f"Error: {t}" for t, _ in expected]
    assert "<title>Error: Reports" in page.text
    assert 'id="report-output"' not in page.text  # nothing was built
    assert "<script>" not in page.text.split("<main")[1]
    for _, href in expected:
        box = href[1:]
        if box in found.inputs and box.rsplit("-", 1)[-1] in ("day", "month", "year"):
            assert "govuk-input--error" in found.inputs[box][0], box


def test_a_date_error_marks_only_the_wrong_boxes_and_keeps_what_was_typed(
    demo: Services, clock: Clock, make_client: Callable[..., TestClient]
) -> None:
    query = (
        "report=timescale&" + _date("from", "1", "13", "2011") + "&" + _date("to", "31", "", "2011")
    )
    found = _Fields()
    found.feed(_client(make_client, demo, clock, BM).get(f"/reports?{query}").text)
    marked = {i for i, (classes, _) in found.inputs.items() if "govuk-input--error" in classes}
    assert marked == {"from-month", "to-month"}
    typed = {i: v for i, (_, v) in found.inputs.items() if i.startswith(("from-", "to-"))}
    assert typed == {
        "from-day": "1",
        "from-month": "13",
        "from-year": "2011",
        "to-day": "31",
        "to-month": "",
        "to-year": "2011",
    }


def test_a_real_date_in_the_boxes_builds_the_report_for_that_date(
    demo: Services, clock: Clock, make_client: Callable[..., TestClient]
) -> None:
    query = (
        "report=timescale&"
        + _date("from", "01", "01", "2011")
        + "&"
        + _date("to", "31", "3", "2011")
    )
    page = _client(make_client, demo, clock, BM).get(f"/reports?{query}")
    assert "govuk-error-summary" not in page.text
    assert "From 1 January 2011 to 31 March 2011." in page.text
    assert "(due from 2011-01-01 to 2011-03-31)" in page.text


def test_the_first_visit_shows_the_form_without_errors(
    demo: Services, clock: Clock, make_client: Callable[..., TestClient]
) -> None:
    page = _client(make_client, demo, clock, BM).get("/reports")
    assert "govuk-error-summary" not in page.text
    found = _Fields()
    found.feed(page.text)
    assert {"from-day", "to-month", "meeting-year"} <= set(found.inputs)


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
    got = client.get(f"/reports/file/{fmt}?report=board-pack&to-day=31&to-month=3&to-year=2011")
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
    back = client.get("/reports/file/pdf?report=rag&to-day=nope", follow_redirects=False)
    assert back.status_code == 303
    assert back.headers["location"] == "/reports?report=rag&to-day=nope"
    shown = client.get(back.headers["location"])
    assert "Date to must include a month and year" in shown.text
    assert client.get("/reports/file/exe?report=rag").status_code == 404


def test_an_agency_contact_cannot_read_reports(
    demo: Services, clock: Clock, make_client: Callable[..., TestClient]
) -> None:
    client = _client(make_client, demo, clock, SEPT_LEAD)
    assert client.get("/reports").status_code == 404
    assert client.get("/reports/file/json?report=rag").status_code == 404
    assert 'href="/reports"' not in client.get("/").text
