"""The panel's and internal audit's pages: queues, decisions, conflicts, refusals (issue 10)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable

import sqlalchemy as sa
from fastapi.testclient import TestClient

from engine.services import Services
from tests.conftest import AUDITOR, PANEL, PANEL_CHAIR, REVIEW
from tests.web.conftest import (
    PDF,
    Asked,
    Clock,
    ask,
    csrf_of,
    evidence_file,
    item_state,
    row_counts,
    sign_in,
)

NHS = "nhs-south-east-essex"


def decide_url(ref: str, agency: str, trigger: str) -> str:
    return f"/items/{REVIEW}/{ref}@{agency}/decide/{trigger}"


def hidden(html: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert found is not None, name
    return found.group(1)


def form_of(html: str, **values: str) -> dict[str, str]:
    """The hidden fields of the decision form on ``html``, with ``values`` typed in."""
    return {
        "csrf_token": csrf_of(html),
        "version": hidden(html, "version"),
        "seq": hidden(html, "seq"),
        "evidence": hidden(html, "evidence"),
        **values,
    }


MEETING = {"meeting_date-day": "10", "meeting_date-month": "1", "meeting_date-year": "2011"}


def submitted(demo: Services, make_client: Callable[..., TestClient], ref: str, agency: str) -> Asked:
    asked = ask(demo, ref, agency)
    evidence_file(make_client(), demo, asked)
    return asked


def panel_client(make_client: Callable[..., TestClient], demo: Services, clock: Clock, who: str = PANEL) -> TestClient:
    client = make_client()
    sign_in(client, demo, who, clock)
    return client


def test_the_panel_queue_lists_submitted_items_with_the_workflows_actions(
    demo: Services, clock: Clock, make_client: Callable[..., TestClient]
) -> None:
    submitted(demo, make_client, "T1", "sept")
    client = panel_client(make_client, demo, clock)
    page = client.get("/panel")
    assert page.status_code == 200, page.text
    assert "T1" in page.text
    assert decide_url("T1", "sept", "challenge") + "?back=/panel" in page.text
    assert decide_url("T1", "sept", "sign_off") + "?back=/panel" in page.text
    assert "set_rag" not in page.text  # annotating is not waiting


def test_challenge_moves_the_item_and_asks_the_agency(
    demo: Services, clock: Clock, make_client: Callable[..., TestClient]
) -> None:
    asked = submitted(demo, make_client, "T1", "sept")
    client = panel_client(make_client, demo, clock)
    url = decide_url("T1", "sept", "challenge")
    page = client.get(url)
    assert page.status_code == 200, page.text
    done = client.post(url, data=form_of(page.text, reason="Minutes predate the review", **MEETING))
    assert done.status_code == 303, done.text
    assert done.headers["location"].startswith("/panel?done=")
    assert item_state(demo, asked.item_id)[0] == "challenged"
    with demo.db.engine.connect() as conn:
        kinds = conn.execute(
            sa.text("SELECT kind FROM outbox WHERE item_id = :i ORDER BY id"), {"i": asked.item_id}
        ).scalars().all()
    assert "request" in kinds[-2:]  # the agency is asked again
    banner = client.get(done.headers["location"])
    assert "Challenge the evidence: recorded for" in banner.text
