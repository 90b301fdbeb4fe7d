"""/outbox/forecast: the emails the coming days will send, as ``signoff forecast`` lists them."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from engine import forecast
from engine.services import Services
from tests.conftest import BM, PANEL
from tests.web.conftest import Clock, sign_in


def test_the_forecast_page_lists_what_the_forecast_finds(
    demo: Services, clock: Clock, make_client: Callable[..., TestClient]
) -> None:
    client = make_client()
    sign_in(client, demo, BM, clock)
    for days, asked in (
        (30, ""),
        (7, "?days=7"),
        (30, "?days=0"),
        (30, "?days=x"),
        (30, "?days=91"),
    ):
        entries = forecast.forecast(demo, clock.now, days)
        total = sum(len(e["to"]) for e in entries)
        page = client.get(f"/outbox/forecast{asked}")
        assert page.status_code == 200
        assert f"{total} email{'' if total == 1 else 's'} in the next {days} days" in page.text
        assert page.text.count('<tr class="govuk-table__row">') == len(entries) + (
            1 if entries else 0
        )
    assert sum(len(e["to"]) for e in forecast.forecast(demo, clock.now, 30)) > sum(
        len(e["to"]) for e in forecast.forecast(demo, clock.now, 7)
    )


def test_the_forecast_is_the_business_managers_alone(
    demo: Services, clock: Clock, make_client: Callable[..., TestClient]
) -> None:
    client = make_client()
    sign_in(client, demo, PANEL, clock)
    response = client.get("/outbox/forecast")
    assert response.status_code == 404
    assert response.text == client.get("/no-such-page").text
