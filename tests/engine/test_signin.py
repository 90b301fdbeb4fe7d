"""Sign-in links and sessions in the engine: single use under races, hashes only (issue 10)."""

from __future__ import annotations

import datetime as dt
import hashlib
import threading

import pytest
import sqlalchemy as sa

from engine import sessions, signin
from engine.errors import UnknownPerson
from engine.services import Services
from tests.conftest import NOW, PANEL


def count(services: Services, table: str) -> int:
    with services.db.engine.connect() as conn:
        return int(conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one())


def test_asking_for_an_unknown_address_writes_nothing(demo: Services) -> None:
    assert signin.ask_for_link(demo, "stranger@elsewhere.example", NOW) is False
    assert count(demo, "sign_in_link") == 0
    assert count(demo, "outbox") == 0


def test_asking_queues_one_email_with_no_token_in_it(demo: Services) -> None:
    assert signin.ask_for_link(demo, f"  {PANEL.upper()} ", NOW) is True
    with demo.db.engine.connect() as conn:
        link = conn.execute(sa.text("SELECT email, token_hash FROM sign_in_link")).one()
        row = conn.execute(sa.text("SELECT kind, recipient, context FROM outbox")).one()
    assert tuple(link) == (PANEL, None)  # minted when the email is composed, not before
    assert (row.kind, row.recipient) == ("sign_in", PANEL)


def test_a_printed_link_is_stored_as_its_hash(demo: Services) -> None:
    token = signin.issue_link(demo, PANEL, NOW)
    with demo.db.engine.connect() as conn:
        stored = conn.execute(sa.text("SELECT token_hash FROM sign_in_link")).scalar_one()
    assert stored == hashlib.sha256(token.encode()).hexdigest()
    assert len(token) == 43  # 256 bits, URL-safe base64


def test_a_printed_link_for_an_unknown_address_is_refused(demo: Services) -> None:
    with pytest.raises(UnknownPerson, match="stranger@elsewhere.example is not in the directory"):
        signin.issue_link(demo, "stranger@elsewhere.example", NOW)
    assert count(demo, "sign_in_link") == 0


def test_looking_at_a_link_does_not_use_it(demo: Services) -> None:
    token = signin.issue_link(demo, PANEL, NOW)
    for _ in range(3):
        assert signin.holder(demo, token, NOW) == PANEL
    assert signin.use(demo, token, NOW) == (PANEL, None)
    assert signin.holder(demo, token, NOW) is None
    assert signin.use(demo, token, NOW) is None


def test_two_uses_at_once_sign_in_once(demo: Services) -> None:
    token = signin.issue_link(demo, PANEL, NOW)
    results: list[object] = []
    barrier = threading.Barrier(4)

    def spend() -> None:
        barrier.wait()
        try:
            results.append(signin.use(demo, token, NOW))
        except sa.exc.OperationalError as exc:  # SQLite: the loser may find the database busy
            results.append(exc)

    threads = [threading.Thread(target=spend) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.count((PANEL, None)) == 1


def test_a_session_id_is_stored_as_its_hash(demo: Services) -> None:
    session_id = sessions.start_session(demo, PANEL, NOW, sessions.How.LINK)
    with demo.db.engine.connect() as conn:
        stored = conn.execute(sa.text("SELECT id_hash, email, how FROM staff_session")).one()
    assert tuple(stored) == (hashlib.sha256(session_id.encode()).hexdigest(), PANEL, "link")


def test_a_session_for_someone_unknown_cannot_start(demo: Services) -> None:
    with pytest.raises(UnknownPerson):
        sessions.start_session(demo, "stranger@elsewhere.example", NOW, sessions.How.LINK)


def test_sessions_listed_are_the_live_ones(demo: Services) -> None:
    live = sessions.start_session(demo, PANEL, NOW, sessions.How.LINK)
    ended = sessions.start_session(demo, PANEL, NOW, sessions.How.LINK)
    sessions.end_session(demo, ended, NOW)
    sessions.start_session(demo, PANEL, NOW - dt.timedelta(hours=13), sessions.How.LINK)
    listed = sessions.live_sessions(demo, NOW)
    assert len(listed) == 1
    found = sessions.signed_in(demo, live, NOW)
    assert found is not None
    assert listed[0].public_id == found.public_id
