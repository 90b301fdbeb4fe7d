"""Hostile files through the reply page over real HTTP (uvicorn on loopback, httpx).

Every file of the hostile corpus is posted to one open request: each is refused with a
page naming the file and the reason, and nothing is stored (no evidence row, no file on
disk, the item still open). Then ordinary files of the same kinds, in one answer, are
stored.
"""

from __future__ import annotations

import datetime as dt
import html
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from app.settings import load_settings
from engine.errors import shown_name
from engine.services import Services
from tests.conftest import NOW
from tests.hostile_files import BENIGN, CORPUS
from tests.smtpd import free_port
from tests.web.conftest import SECRET, Asked, Clock, ask, item_state
from web import build_server, create_app, start_in_thread, stop

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def server(demo: Services) -> Iterator[str]:
    port = free_port()
    settings = load_settings(
        data_dir=demo.data_dir,
        secret_key=SECRET,
        base_url=f"http://127.0.0.1:{port}",
        max_upload_files=len(BENIGN),
    )
    clock = Clock(NOW + dt.timedelta(hours=1))
    # one client posts the whole corpus: past the 30 posts a minute a person is allowed
    app = create_app(demo, settings.web(), clock=clock, post_limit="1000/minute")
    uvicorn_server = build_server(app, "127.0.0.1", port)
    thread = start_in_thread(uvicorn_server)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        stop(uvicorn_server, thread)


def send(
    http: httpx.Client, asked: Asked, files: list[tuple[str, bytes]], statement: str = ""
) -> httpx.Response:
    """Open the emailed link, read the form's CSRF token, and post the files."""
    opened = http.get(f"/r/{asked.token}")
    assert opened.status_code == 303, opened.text
    page = http.get(f"/reply/{asked.public_id}")
    found = _CSRF.search(page.text)
    assert found is not None, page.text
    return http.post(
        f"/reply/{asked.public_id}",
        data={"statement": statement, "csrf_token": found.group(1)},
        files=[("files", (name, data, "application/octet-stream")) for name, data in files],
    )


def stored_files(data_dir: Path) -> list[Path]:
    return [p for p in (data_dir / "evidence").glob("*/*") if p.is_file()]


def test_every_hostile_file_is_refused_over_http_and_nothing_stored(
    demo: Services, server: str
) -> None:
    asked = ask(demo, "T1", "sept")
    wrong: list[str] = []
    with httpx.Client(base_url=server, follow_redirects=False, timeout=30) as http:
        for hostile in CORPUS:
            response = send(http, asked, [(hostile.name, hostile.data)], "see attached")
            text = html.unescape(response.text)
            if response.status_code != 422 or f"{shown_name(hostile.name)} " not in text:
                wrong.append(f"{hostile.id}: HTTP {response.status_code}")
            elif hostile.says not in text:
                wrong.append(f"{hostile.id}: the page does not say {hostile.says!r}")
    assert wrong == []
    assert item_state(demo, asked.item_id) == ("open", 0)
    assert stored_files(demo.data_dir) == []


def test_ordinary_files_of_the_same_kinds_are_stored_over_http(demo: Services, server: str) -> None:
    asked = ask(demo, "T1", "sept")
    with httpx.Client(base_url=server, follow_redirects=False, timeout=30) as http:
        response = send(http, asked, BENIGN, "the register and minutes")
    assert response.status_code == 303, html.unescape(response.text)
    state, evidence = item_state(demo, asked.item_id)
    assert state == "evidence_submitted"
    assert evidence == len(BENIGN) + 1  # the statement is a record of its own
    assert len(stored_files(demo.data_dir)) == len(BENIGN)
