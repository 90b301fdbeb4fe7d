"""Fixtures for the web app: a demo database, an app on a movable clock, a test client."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from app.settings import load_settings
from engine import requests as evidence_requests
from engine import signin
from engine.services import Services
from notifications.templates import WordingBook
from tests.conftest import BM, NOW, REVIEW, make_item
from tests.files import pdf
from web import create_app
from web.settings import WebSettings

BOOK = WordingBook()  # the email editor's templates, as app.serve passes them
SECRET = "test-secret-key-0123456789abcdef0123456789"
PDF = pdf()  # a real one-page PDF: the upload check opens it
# agency A and agency B: items answered by each agency's lead officer
SEPT = "named.nurse@sept.example.org"
NHS = "designated.nurse@nhs-see.example.org"


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


@dataclass(frozen=True)
class Asked:
    item_id: int
    public_id: str
    token: str
    key: str


def ask(services: Services, ref: str, agency: str, now: dt.datetime = NOW) -> Asked:
    """A new item for ``agency``, an evidence request to its lead officer, and a link token."""
    item_id = make_item(services, ref=ref, due=dt.date(2011, 3, 4), agency=agency)
    issued = evidence_requests.issue(services, f"{REVIEW}/{ref}", actor=BM, now=now)
    token = evidence_requests.mint_token(services, issued.public_id, None, now)
    assert token is not None
    return Asked(item_id=item_id, public_id=issued.public_id, token=token, key=issued.item_key)


def item_state(services: Services, item_id: int) -> tuple[str, int]:
    """(state, number of evidence rows) of an item."""
    with services.db.engine.connect() as conn:
        state = conn.execute(sa.text("SELECT state FROM item WHERE id = :i"), {"i": item_id})
        count = conn.execute(
            sa.text("SELECT count(*) FROM evidence WHERE item_id = :i"), {"i": item_id}
        )
        return state.scalar_one(), count.scalar_one()


def row_counts(services: Services) -> dict[str, int]:
    with services.db.engine.connect() as conn:
        tables = sa.inspect(conn).get_table_names()
        return {
            t: conn.execute(sa.text(f'SELECT count(*) FROM "{t}"')).scalar_one()
            for t in sorted(tables)
        }


@pytest.fixture
def settings(demo: Services) -> WebSettings:
    return load_settings(
        data_dir=demo.data_dir,
        secret_key=SECRET,
        base_url="http://testserver",
        max_upload_mb=1,
        max_upload_files=3,
    ).web()


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW + dt.timedelta(hours=1))


@pytest.fixture
def make_client(
    demo: Services, settings: WebSettings, clock: Clock
) -> Iterator[Callable[..., TestClient]]:
    clients: list[TestClient] = []

    def make(**kwargs: Any) -> TestClient:
        kwargs.setdefault("emails", BOOK)
        app = create_app(demo, kwargs.pop("settings", settings), clock=clock, **kwargs)
        client = TestClient(app, base_url="http://testserver", follow_redirects=False)
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for c in clients:
        c.__exit__(None, None, None)


@pytest.fixture
def client(make_client: Callable[..., TestClient]) -> TestClient:
    return make_client()


@pytest.fixture
def sept(demo: Services) -> Asked:
    return ask(demo, "T1", "sept")


_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    """The CSRF token of the (first) form on a page."""
    found = _CSRF.search(html)
    assert found is not None, "no form with a CSRF token on the page"
    return found.group(1)


def sign_in(client: TestClient, services: Services, email: str, clock: Clock) -> None:
    """Sign ``client`` in as ``email`` through a printed link (GET, then the button's POST)."""
    token = signin.issue_link(services, email, clock.now)
    page = client.get(f"/sign-in/{token}")
    assert page.status_code == 200, page.text
    done = client.post(f"/sign-in/{token}", data={"csrf_token": csrf_of(page.text)})
    assert done.status_code == 303, done.text


def evidence_file(client: TestClient, services: Services, asked: Asked) -> str:
    """Send a PDF through the reply page as the asked agency; its evidence's public id."""
    opened = client.get(f"/r/{asked.token}")
    assert opened.status_code == 303
    page = client.get(f"/reply/{asked.public_id}")
    sent = client.post(
        f"/reply/{asked.public_id}",
        data={"csrf_token": csrf_of(page.text), "statement": ""},
        files=[("files", ("Ward ‘minutes’ 2011.pdf", PDF, "application/pdf"))],
    )
    assert sent.status_code == 303, sent.text
    client.cookies.clear()
    with services.db.engine.connect() as conn:
        return str(
            conn.execute(
                sa.text(
                    "SELECT public_id FROM evidence WHERE item_id = :i AND filename IS NOT NULL"
                ),
                {"i": asked.item_id},
            ).scalar_one()
        )
