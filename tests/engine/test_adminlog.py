"""The administrators' log: one hash chain of every change an administrator made (issue 11)."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
import sqlalchemy as sa

from engine import adminlog
from engine.services import Services
from engine.store.tables import AdminEvent, AdminLogHead
from tests.conftest import BM, NOW

_event = AdminEvent.__table__  # type: ignore[attr-defined]
_head = AdminLogHead.__table__  # type: ignore[attr-defined]


def add(services: Services, n: int, at: dt.datetime = NOW) -> list[int]:
    seqs = []
    for i in range(n):
        with services.db.write() as conn:
            seqs.append(
                adminlog.record(
                    conn,
                    actor=BM,
                    at=at + dt.timedelta(minutes=i),
                    action="directory.contact.update",
                    subject=f"contact {i}@example.org",
                    before={"roles": ("chair",), "n": i},
                    after={"roles": ["chair", "panel_member"], "n": i},
                    note=f"change {i}",
                )
            )
    return seqs


def test_entries_chain_and_verify(services: Services) -> None:
    assert adminlog.verify(services.db.engine.connect()).entries == 0
    assert add(services, 3) == [1, 2, 3]
    with services.db.engine.connect() as conn:
        checked = adminlog.verify(conn)
        found, total = adminlog.entries(conn)
        rows = conn.execute(sa.select(_event).order_by(_event.c.seq)).all()
    assert (checked.ok, checked.entries, total) == (True, 3, 3)
    assert [e.seq for e in found] == [3, 2, 1]  # newest first
    assert found[-1].before == {"roles": ["chair"], "n": 0}  # kept as JSON gives it back
    assert rows[0].prev_hash == adminlog.GENESIS
    assert [r.prev_hash for r in rows[1:]] == [r.hash for r in rows[:-1]]


@pytest.mark.parametrize(
    ("tamper", "seq", "says"),
    [
        (lambda c: c.execute(sa.update(_event).where(_event.c.seq == 2).values(note="x")), 2,
         "hash mismatch"),
        (lambda c: c.execute(sa.update(_event).where(_event.c.seq == 1).values(
            after={"roles": []})), 1, "hash mismatch"),
        (lambda c: c.execute(sa.delete(_event).where(_event.c.seq == 2)), 3, "entry is missing"),
        (lambda c: c.execute(sa.delete(_event).where(_event.c.seq == 3)), 3,
         "newest entries were removed"),
        (lambda c: c.execute(sa.delete(_head)), 1, "log records 0 entries"),
    ],
)  # fmt: skip
def test_each_tampering_is_found_and_named(
    services: Services, tamper: object, seq: int, says: str
) -> None:
    add(services, 3)
    with services.db.write() as conn:
        tamper(conn)  # type: ignore[operator]
    with services.db.engine.connect() as conn:
        checked = adminlog.verify(conn)
    assert not checked.ok
    assert checked.broken_seq == seq
    assert says in str(checked)


@pytest.mark.parametrize(
    ("field", "value", "says"),
    [
        ("actor", "", "actor must be 1 to 320"),
        ("subject", "x" * 301, "subject must be 1 to 300"),
        ("action", "", "action must be 1 to 100"),
        ("after", {"when": NOW}, "as JSON"),
        ("before", float("nan"), "as JSON"),
    ],
)
def test_an_entry_that_cannot_be_kept_is_refused_and_nothing_is_written(
    services: Services, field: str, value: object, says: str
) -> None:
    fields: dict[str, object] = {
        "actor": BM, "at": NOW, "action": "email.save", "subject": "email decision",
        "before": None, "after": "text",
    }  # fmt: skip
    fields[field] = value
    with pytest.raises(adminlog.AdminLogRefused, match=says), services.db.write() as conn:
        adminlog.record(conn, **fields)  # type: ignore[arg-type]
    with services.db.engine.connect() as conn:
        assert adminlog.entries(conn)[1] == 0


def test_a_change_that_rolls_back_leaves_no_entry(services: Services) -> None:
    def change_that_fails() -> None:
        with services.db.write() as conn:
            adminlog.record(
                conn, actor=BM, at=NOW, action="email.save", subject="x", before=None, after="t"
            )
            raise RuntimeError("the change itself failed")

    with pytest.raises(RuntimeError):
        change_that_fails()
    with services.db.engine.connect() as conn:
        assert adminlog.entries(conn)[1] == 0
        assert adminlog.verify(conn).ok


def test_administrators_saving_at_once_get_consecutive_entries(services: Services) -> None:
    """Eight threads append at once (SQLite: BEGIN IMMEDIATE; PostgreSQL: an advisory lock):
    every entry lands, numbered 1 to 40, and the chain verifies, never forks."""
    errors: list[BaseException] = []

    def work() -> None:
        try:
            add(services, 5)
        except BaseException as exc:  # noqa: BLE001 (reported below)
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with services.db.engine.connect() as conn:
        assert sorted(conn.execute(sa.select(_event.c.seq)).scalars()) == list(range(1, 41))
        assert adminlog.verify(conn).entries == 40
