"""Migration 0009 (sign-in): existing evidence rows get distinct random public ids."""

from __future__ import annotations

import re
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config

import engine.store
from engine.services import Services
from engine.store import migrate
from tests.conftest import submit_r1


def _downgrade(services: Services, revision: str) -> None:
    cfg = Config()
    cfg.set_main_option("script_location", str(Path(engine.store.__file__).parent / "migrations"))
    with services.db.write() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, revision)


def test_upgrading_gives_existing_evidence_random_public_ids(demo: Services) -> None:
    submit_r1(demo)
    with demo.db.write() as conn:  # two more rows on the same item, as a long history has
        conn.execute(
            sa.text(
                "INSERT INTO evidence (item_id, submitted_by, submitted_at, statement, sha256, "
                "size, channel, public_id) SELECT item_id, submitted_by, submitted_at, "
                "statement, sha256, size, channel, :p FROM evidence LIMIT 1"
            ),
            [{"p": "aaaaaaaaaaaaaaaa"}, {"p": "bbbbbbbbbbbbbbbb"}],
        )
    _downgrade(demo, "0008")
    with demo.db.engine.connect() as conn:
        assert "public_id" not in {c["name"] for c in sa.inspect(conn).get_columns("evidence")}
    migrate.upgrade(demo.db)
    assert migrate.current(demo.db) == migrate.head()
    with demo.db.engine.connect() as conn:
        ids = conn.execute(sa.text("SELECT public_id FROM evidence")).scalars().all()
    assert len(ids) == 3
    assert len(set(ids)) == 3
    assert all(re.fullmatch(r"[a-z2-7]{16}", i) for i in ids)
    assert not {"aaaaaaaaaaaaaaaa", "bbbbbbbbbbbbbbbb"} & set(ids)
