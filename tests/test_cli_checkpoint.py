"""Signed checkpoints through the command line, on SQLite and PostgreSQL (issue 9).

The attack: someone with write access to the database (not to the secret key) edits a
challenge reason and recomputes the hash chain with signoff's own hashing code, so the
chain agrees with itself. Without a checkpoint ``verify-log`` cannot tell; with one it fails
and names the item, the events and the checkpoint.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import sqlalchemy as sa

from engine import checkpoints
from engine.hashchain import row_hash
from engine.store import core
from engine.store.db import Database
from tests.conftest import BM, PANEL, PG_URL, R1, make_database
from tests.test_cli import SIGNOFF

R1_KEY = "southend-iawg-scr-audit-2010/R1@southend-lscb"
REASON = "The minutes do not show the terms of reference were agreed"
_SUBMIT = ("fire", R1, "submit_evidence", "--actor", BM, "--statement", "ToR attached")
_SUBMIT += ("--now", "2011-01-10T10:00Z")
_CHALLENGE = ("fire", R1, "challenge", "--actor", PANEL, "--reason", REASON)
_CHALLENGE += ("--meeting-date", "2011-01-10", "--now", "2011-01-10T11:00Z")


class Board:
    """A demo database (plan and contacts imported) run through the ``signoff`` command."""

    def __init__(self, db: Database, url: str, tmp_path: Path) -> None:
        self.db, self.data = db, tmp_path / "data"
        self.env = {
            "SIGNOFF_DATABASE_URL": url,
            "SIGNOFF_DATA_DIR": str(self.data),
            "SIGNOFF_SECRET_KEY": secrets.token_hex(32),
        }

    def __call__(self, *args: str, code: int = 0, **env: str) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [SIGNOFF, *args],
            capture_output=True,
            text=True,
            env={**os.environ, **self.env, **env},
            stdin=subprocess.DEVNULL,
            timeout=120,
        )
        assert done.returncode == code, (done.stdout, done.stderr)
        return done

    def sql(self, statement: str, **params: Any) -> list[Any]:
        with self.db.write() as conn:
            result = conn.execute(sa.text(statement), params)
            return list(result) if result.returns_rows else []


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def board(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Board]:
    for db in make_database(request.param, tmp_path, "demo"):
        if db.is_sqlite:
            url = db.url
        else:
            with db.engine.connect() as conn:
                schema = conn.execute(sa.text("SELECT current_schema()")).scalar_one()
            url = f"{PG_URL}?options={quote(f'-csearch_path={schema}')}"
        yield Board(db, url, tmp_path)


def _challenge_r1(board: Board) -> None:
    board(*_SUBMIT)
    board(*_CHALLENGE)


def _r1_id(board: Board) -> int:
    rows = board.sql(
        "SELECT item.id FROM item JOIN recommendation r ON r.id = item.recommendation_id "
        "WHERE r.ref = 'R1'"
    )
    return int(rows[0][0])


def rewrite_reason(board: Board, reason: str) -> int:
    """The attacker's script: change the challenge's reason, then recompute every hash from
    that event on with signoff's own code (``engine.hashchain``), and the item's head."""
    item_id = _r1_id(board)
    board.sql(
        "UPDATE event SET reason = :r WHERE item_id = :i AND trigger = 'challenge'",
        r=reason,
        i=item_id,
    )
    with board.db.write() as conn:
        event = core.event
        rows = conn.execute(
            sa.select(event).where(event.c.item_id == item_id).order_by(event.c.seq)
        ).all()
        prev = "0" * 64
        for row in rows:
            digest = row_hash(prev, row)
            conn.execute(
                event.update().where(event.c.id == row.id).values(prev_hash=prev, hash=digest)
            )
            prev = digest
        conn.execute(core.item.update().where(core.item.c.id == item_id).values(last_hash=prev))
    return item_id


def test_without_a_checkpoint_the_rewrite_passes_and_verify_log_says_so(board: Board) -> None:
    """The limit of a chain kept in the same database, stated honestly."""
    _challenge_r1(board)
    rewrite_reason(board, "Evidence accepted")
    out = board("verify-log").stdout
    assert "ok: 11 events on 9 items verify" in out
    assert "no checkpoints: the chain shows only that the history agrees with itself" in out


def test_a_rewrite_older_than_the_checkpoint_is_named(board: Board) -> None:
    _challenge_r1(board)
    taken = board("checkpoint").stdout
    assert "checkpoint #1 taken at" in taken
    assert "11 events on 9 items" in taken
    assert "ok: 1 signed checkpoint(s) verify" in board("verify-log").stdout
    item_id = rewrite_reason(board, "Evidence accepted")
    done = board("verify-log", code=1)
    assert "ok: 11 events on 9 items verify" in done.stdout  # the chain agrees with itself
    assert (
        f"BROKEN: item {item_id} ({R1_KEY}): event 3 is not the one checkpoint #1 (taken "
        in done.stderr
    )
    assert "its history was rewritten after that checkpoint, in events 1 to 3" in done.stderr
    report = json.loads(board("verify-log", "--json", code=1).stdout)
    assert report["ok"] is False
    (problem,) = report["checkpoints"]["problems"]
    assert (problem["checkpoint"], problem["item_id"], problem["item"], problem["seq"]) == (
        1,
        item_id,
        R1_KEY,
        3,
    )
    # and no new checkpoint seals the rewritten history
    refused = board("checkpoint", code=1).stderr
    assert f"error: no checkpoint taken: item {item_id}: its head (event 3)" in refused
    assert "`signoff verify-log` names every problem" in refused


def test_later_checkpoints_narrow_the_rewrite_to_the_events_between(board: Board) -> None:
    board(*_SUBMIT)
    board("checkpoint")
    board(*_CHALLENGE)
    second = board("checkpoint").stdout
    assert "checkpoint #2" in second
    assert "(1 item(s) moved since the last checkpoint)" in second
    assert "ok: 2 signed checkpoint(s) verify" in board("verify-log").stdout
    item_id = rewrite_reason(board, "Evidence accepted")
    err = board("verify-log", code=1).stderr
    assert f"item {item_id} ({R1_KEY}): event 3 is not the one checkpoint #2" in err
    assert "rewritten after that checkpoint, in event 3\n" in err


def test_a_forged_checkpoint_is_named(board: Board) -> None:
    """Rewrite, then cover it with a new checkpoint row signed under a guessed key."""
    _challenge_r1(board)
    board("checkpoint")
    item_id = rewrite_reason(board, "Evidence accepted")
    with board.db.engine.connect() as conn:
        first = checkpoints.Seal.from_row(conn.execute(sa.select(core.checkpoint)).one())
    (head,) = board.sql("SELECT seq, last_hash FROM item WHERE id = :i", i=item_id)
    forged = checkpoints.Seal(
        number=2,
        taken_at=first.taken_at,
        taken_by="system:scheduler",
        prev_signature=first.signature,
        items=9,
        events=11,
        heads=1,
        heads_sha256="0" * 64,
        key_id=first.key_id,  # copied: the attacker cannot compute it
    ).signed(b"guessed" * 8)
    board.sql(
        "INSERT INTO checkpoint VALUES (:number, :taken_at, :taken_by, :prev_signature, "
        ":items, :events, :heads, :heads_sha256, :key_id, :signature)",
        **{**forged.record(), "taken_at": first.taken_at.replace(tzinfo=None)},
    )
    board.sql("INSERT INTO checkpoint_head VALUES (2, :i, :s, :h)", i=item_id, s=head[0], h=head[1])
    err = board("verify-log", code=1).stderr
    assert "BROKEN: checkpoint #2 (taken " in err
    assert "has a signature that does not verify: the row was forged or changed" in err
    assert f"item {item_id} ({R1_KEY}): event 3 is not the one checkpoint #1" in err


def test_changed_heads_of_a_checkpoint_are_found(board: Board) -> None:
    """Rewrite, then make the checkpoint's head match the rewritten chain."""
    _challenge_r1(board)
    board("checkpoint")
    item_id = rewrite_reason(board, "Evidence accepted")
    board("checkpoint", code=1)
    board.sql(
        "UPDATE checkpoint_head SET hash = (SELECT last_hash FROM item WHERE id = :i) "
        "WHERE item_id = :i",
        i=item_id,
    )
    err = board("verify-log", code=1).stderr
    assert "BROKEN: checkpoint #1 (taken " in err
    assert "its 9 item heads are not the ones it signed: its heads were changed" in err


def test_checkpoints_deleted_from_the_database_are_found_in_the_file(board: Board) -> None:
    _challenge_r1(board)
    board("checkpoint")
    board("checkpoint")
    log = board.data / checkpoints.LOG_NAME
    assert oct(log.stat().st_mode & 0o777) == "0o600"
    assert len(log.read_text().splitlines()) == 2
    rewrite_reason(board, "Evidence accepted")
    board.sql("DELETE FROM checkpoint_head")
    board.sql("DELETE FROM checkpoint")
    err = board("verify-log", code=1).stderr
    assert "BROKEN: checkpoint #1 (taken " in err
    assert f"line 1 of {log}) is missing from the database: checkpoints were deleted" in err
    assert "checkpoint #2 (taken " in err


def test_a_removed_middle_checkpoint_is_found(board: Board) -> None:
    _challenge_r1(board)
    for _ in range(3):
        board("checkpoint")
    board.sql("DELETE FROM checkpoint_head WHERE checkpoint = 2")
    board.sql("DELETE FROM checkpoint WHERE number = 2")
    err = board("verify-log", code=1, SIGNOFF_DATA_DIR=str(board.data / "elsewhere")).stderr
    assert "BROKEN: checkpoint #2 is missing from the database, before #3" in err


def test_another_key_cannot_check_and_says_so(board: Board) -> None:
    _challenge_r1(board)
    board("checkpoint")
    err = board("verify-log", code=1, SIGNOFF_SECRET_KEY=secrets.token_hex(32)).stderr
    assert "checkpoint #1 was signed with another key (key id " in err
    assert "it cannot be checked" in err


def test_a_malformed_line_in_the_file_is_named(board: Board) -> None:
    _challenge_r1(board)
    board("checkpoint")
    log = board.data / checkpoints.LOG_NAME
    with log.open("a") as out:
        out.write('{"number": 2}\n')
    err = board("verify-log", code=1).stderr
    assert f"BROKEN: {log}: line 2 is not a checkpoint record" in err


def test_an_altered_line_in_the_file_is_named(board: Board) -> None:
    _challenge_r1(board)
    board("checkpoint")
    log = board.data / checkpoints.LOG_NAME
    log.write_text(log.read_text().replace('"events": 11', '"events": 12'))
    err = board("verify-log", code=1).stderr
    assert f"BROKEN: {log}: line 1 (checkpoint #1) has a signature that does not verify" in err
