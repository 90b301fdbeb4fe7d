"""The set-up the bench scripts share: a database built the engine's way.

``migrate.upgrade``, the shipped workflow(s) published with ``ensure_published``, and the
Southend example plan and contacts through ``import_files``, as ``signoff init`` and
``signoff import`` do. Not named like a library: the scripts run with ``bench/`` first on
``sys.path``.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Sequence
from pathlib import Path

import sqlalchemy as sa

from engine.calendar import Calendar
from engine.importer import import_files
from engine.spec import load_spec_file
from engine.store import migrate
from engine.store.db import Database
from engine.versions import SpecCache, ensure_published
from notifications.templates import available

ROOT = Path(__file__).resolve().parent.parent
WORKFLOWS = ROOT / "workflows"
WORKFLOW = WORKFLOWS / "recommendation.yaml"
EXAMPLES = ROOT / "config" / "examples"
PLAN = EXAMPLES / "southend_iawg_scr_audit_2010.yaml"
CONTACTS = EXAMPLES / "southend_contacts.yaml"


def migrate_and_publish(
    db: Database, now: dt.datetime, workflows: Sequence[Path] = (WORKFLOW,)
) -> int:
    """Bring the schema to head and publish ``workflows`` (one transaction); the first's id."""
    migrate.upgrade(db)
    known = available()
    with db.write() as conn:
        ids = [
            ensure_published(conn, load_spec_file(path, known), actor="bench", now=now)
            for path in workflows
        ]
    return ids[0]


def import_examples(
    conn: sa.Connection,
    now: dt.datetime,
    *,
    specs: SpecCache | None = None,
    calendar: Calendar | None = None,
) -> None:
    """Import the example plan and contacts on ``conn`` (the caller's transaction)."""
    import_files(
        conn,
        [PLAN, CONTACTS],
        specs=specs if specs is not None else SpecCache(),
        actor="bench",
        now=now,
        calendar=calendar,
    )


def raw_sqlite(path: Path) -> sqlite3.Connection:
    """A sqlite3 connection set up as ``engine.store.db.make_engine`` sets up its own."""
    conn = sqlite3.connect(path, timeout=30, isolation_level=None)
    for pragma in (
        "journal_mode=WAL",
        "synchronous=NORMAL",
        "foreign_keys=ON",
        "busy_timeout=30000",
    ):
        conn.execute(f"PRAGMA {pragma}")
    return conn
