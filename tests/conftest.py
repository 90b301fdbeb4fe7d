"""Shared fixtures: real SQLite files and the real local PostgreSQL, one test body for both."""

from __future__ import annotations

import datetime as dt
import os
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from engine.evidence import EvidenceInput
from engine.fire import Fired, FireRequest, fire
from engine.importer import import_files
from engine.items import create_item
from engine.services import Services
from engine.spec import load_spec_file
from engine.store import migrate
from engine.store.db import Database
from engine.store.tables import Recommendation
from engine.versions import ensure_published, require_latest
from notifications.templates import available
from tests.smtpd import SmtpServer

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "config" / "examples"
PLAN = EXAMPLES / "southend_iawg_scr_audit_2010.yaml"
CONTACTS = EXAMPLES / "southend_contacts.yaml"
WORKFLOWS = ROOT / "workflows"
PG_URL = os.environ.get("SIGNOFF_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
# CI sets this: there a missing PostgreSQL is a failure, never a skip.
REQUIRE_PG = os.environ.get("SIGNOFF_REQUIRE_POSTGRES") == "1"

NOW = dt.datetime(2011, 1, 10, 9, 0, tzinfo=dt.UTC)
REVIEW = "southend-iawg-scr-audit-2010"
R1 = f"{REVIEW}/R1"
BM = "business.manager@southend-lscb.example.org"
PANEL = "panel.member@southend-lscb.example.org"
PANEL_CHAIR = "panel.chair@southend-lscb.example.org"
AUDITOR = "internal.audit@nhs-see.example.org"
OTHER_AGENCY = "named.nurse@sept.example.org"


def _pg_admin() -> psycopg.Connection:
    return psycopg.connect(
        PG_URL.replace("postgresql+psycopg://", "postgresql://"), autocommit=True, connect_timeout=3
    )


def _postgres_or_skip() -> None:
    try:
        _pg_admin().close()
    except psycopg.OperationalError as exc:
        if REQUIRE_PG:
            pytest.fail(f"PostgreSQL is required here but unreachable at {PG_URL}: {exc}")
        pytest.skip(f"PostgreSQL unreachable at {PG_URL} (CI never skips this)")


def make_database(kind: str, tmp_path: Path) -> Iterator[Database]:
    """A fresh, migrated database: a SQLite file, or a private PostgreSQL schema."""
    schema = None
    if kind == "sqlite":
        database = Database(f"sqlite:///{tmp_path / 'signoff.db'}")
    else:
        _postgres_or_skip()
        schema = f"t_{uuid.uuid4().hex[:12]}"
        with _pg_admin() as admin:
            admin.execute(f'CREATE SCHEMA "{schema}"')
        database = Database(PG_URL, connect_args={"options": f"-csearch_path={schema}"})
    try:
        migrate.upgrade(database)
        yield database
        assert database.engine.pool.checkedout() == 0, "a connection was left checked out"
    finally:
        database.dispose()
        if schema:
            with _pg_admin() as admin:
                admin.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    yield from make_database(request.param, tmp_path)


@pytest.fixture
def pg(tmp_path: Path) -> Iterator[Database]:
    yield from make_database("postgres", tmp_path)


@pytest.fixture
def services(db: Database, tmp_path: Path) -> Services:
    return Services(db=db, data_dir=tmp_path / "data")


def submit_r1(services: Services, statement: str = "done") -> Fired:
    """The business manager submits a written statement as evidence on R1 at NOW."""
    return fire(
        services,
        FireRequest(
            item=R1,
            trigger="submit_evidence",
            actor=BM,
            now=NOW,
            evidence=[EvidenceInput(statement=statement)],
        ),
    )


def make_item(
    services: Services,
    *,
    ref: str,
    due: dt.date | None,
    now: dt.datetime = NOW,
    agency: str = "southend-lscb",
) -> int:
    """A new recommendation with one item on the published default workflow."""
    with services.db.write() as conn:
        version_id = require_latest(conn, "recommendation")
        rec_id = conn.execute(
            Recommendation.__table__.insert()  # type: ignore[attr-defined]
            .values(
                review_id=REVIEW,
                ref=ref,
                text=f"test item {ref}",
                due_dates=[due.isoformat()] if due else [],
                themes=[],
                source={},
            )
            .returning(Recommendation.__table__.c.id)  # type: ignore[attr-defined]
        ).scalar_one()
        return create_item(
            conn,
            recommendation_id=rec_id,
            agency_id=agency,
            spec=services.specs.get(conn, version_id),
            version_id=version_id,
            due=due,
            actor="test",
            now=now,
            calendar=services.calendar,
        )


def publish_shipped(services: Services) -> None:
    with services.db.write() as conn:
        for path in sorted(WORKFLOWS.glob("*.yaml")):
            ensure_published(conn, load_spec_file(path, available()), actor="test", now=NOW)


@pytest.fixture
def demo(services: Services) -> Services:
    """The shipped workflows published and the Southend plan with its contacts imported."""
    publish_shipped(services)
    with services.db.write() as conn:
        import_files(conn, [PLAN, CONTACTS], specs=services.specs, actor="test", now=NOW)
    return services


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    """A real SMTP server per test, recording every message it accepts."""
    with SmtpServer() as server:
        yield server


@pytest.fixture(autouse=True)
def _no_thread_left_behind() -> Iterator[None]:
    before = set(threading.enumerate())
    yield
    left = [t for t in threading.enumerate() if t not in before and t.is_alive()]
    for t in left:
        t.join(timeout=5)
    still = [t.name for t in left if t.is_alive()]
    assert not still, f"threads left running: {still}"
