"""Shared fixtures: real SQLite files and the real local PostgreSQL, one test body for both."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import tempfile
import threading
import uuid
import weakref
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

import psycopg
import pytest

from engine.evidence import EvidenceInput
from engine.fire import Fired, FireRequest, fire
from engine.importer import import_files
from engine.items import create_item
from engine.services import Services
from engine.spec import load_spec, load_spec_file
from engine.store import migrate
from engine.store.db import Database
from engine.store.tables import Recommendation
from engine.versions import ensure_published, publish, require_latest
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


# --- databases built once per session and copied for each test --------------------------
#
# A level is what a fresh database holds: "migrated" (the schema), "published" (plus the
# shipped workflows, as publish_shipped leaves them) and "demo" (plus the Southend plan and
# contacts, as the demo fixture leaves them). Each level is built once per session, the first
# time it is asked for, and copied for every test: SQLite copies the file; PostgreSQL replays
# a pg_dump of the level's schema into the test's own schema. (A database per test made with
# CREATE DATABASE ... TEMPLATE was measured here: the CREATE costs about what migrating does,
# 0.35-0.65 s, and every DROP DATABASE forces a checkpoint, 2-5 s each on this machine.)

Level = Literal["migrated", "published", "demo"]
LEVELS: tuple[Level, ...] = ("migrated", "published", "demo")


def _build_step(database: Database, level: Level, data_dir: Path) -> None:
    """Bring ``database``, at the level below ``level``, up to ``level``."""
    services = Services(db=database, data_dir=data_dir)
    if level == "migrated":
        migrate.upgrade(database)
    elif level == "published":
        publish_shipped(services)
    else:
        with database.write() as conn:
            import_files(conn, [PLAN, CONTACTS], specs=services.specs, actor="test", now=NOW)


def _pg_database(schema: str) -> Database:
    return Database(PG_URL, connect_args={"options": f"-csearch_path={schema}"})


class _Templates:
    """The session's built levels: SQLite files, and SQL scripts that recreate a PostgreSQL
    schema (tables, indexes, sequences and rows) under any name."""

    def __init__(self) -> None:
        # unique to this process: several test runs share the machine and its PostgreSQL
        self._token = f"{os.getpid()}_{uuid.uuid4().hex[:8]}"
        self._dir: Path | None = None
        self._files: dict[Level, Path] = {}
        self._scripts: dict[Level, str | None] = {}

    @property
    def dir(self) -> Path:
        if self._dir is None:
            self._dir = Path(tempfile.mkdtemp(prefix=f"signoff-templates-{self._token}-"))
        return self._dir

    def copy_sqlite(self, level: Level, dest: Path) -> None:
        shutil.copyfile(self._sqlite(level), dest)

    def _sqlite(self, level: Level) -> Path:
        if level not in self._files:
            path = self.dir / f"{level}.db"
            if level != "migrated":
                shutil.copyfile(self._sqlite(LEVELS[LEVELS.index(level) - 1]), path)
            database = Database(f"sqlite:///{path}")
            try:
                _build_step(database, level, self.dir / "data")
                with database.engine.connect() as conn:  # everything into the main file
                    conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            finally:
                database.dispose()
            wal = path.with_name(path.name + "-wal")
            assert not wal.exists() or wal.stat().st_size == 0, f"{wal} was left with content"
            self._files[level] = path
        return self._files[level]

    def clone_pg(self, level: Level, schema: str) -> bool:
        """Create ``schema`` holding ``level``; False when pg_dump is not available."""
        script = self._script(level)
        if script is None:
            return False
        with psycopg.connect(PG_URL.replace("postgresql+psycopg://", "postgresql://")) as conn:
            # one transaction; a test's schema need not survive a crash of the server
            conn.execute(b"SET LOCAL synchronous_commit = off")
            conn.execute(script.replace(self._placeholder, schema).encode())
        return True

    @property
    def _placeholder(self) -> str:
        return f"signoff_template_{self._token}"

    def _script(self, level: Level) -> str | None:
        if level not in self._scripts:
            self._scripts[level] = self._dump(level)
        return self._scripts[level]

    def _dump(self, level: Level) -> str | None:
        pg_dump = shutil.which("pg_dump")
        if pg_dump is None:
            return None
        schema = f"{self._placeholder}_{level}"
        try:
            if level == "migrated":
                with _pg_admin() as admin:
                    admin.execute(f'CREATE SCHEMA "{schema}"')
            elif not self.clone_pg(LEVELS[LEVELS.index(level) - 1], schema):
                return None
            database = _pg_database(schema)
            try:
                _build_step(database, level, self.dir / "data")
            finally:
                database.dispose()
            dumped = subprocess.run(
                [
                    pg_dump,
                    f"--dbname={PG_URL.replace('postgresql+psycopg://', 'postgresql://')}",
                    f"--schema={schema}",
                    "--no-owner",
                    "--no-privileges",
                    "--rows-per-insert=1000",
                ],
                check=False,
                capture_output=True,
                text=True,
            )
        finally:
            with _pg_admin() as admin:
                admin.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        if dumped.returncode != 0:  # e.g. a pg_dump older than the server: build per test
            return None
        assert f'"{schema}"' not in dumped.stdout, "the schema name must need no quotes"
        # psql's meta-commands (\restrict, \unrestrict) are for psql, not the server
        lines = [line for line in dumped.stdout.splitlines() if not line.startswith("\\")]
        return "\n".join(lines).replace(schema, self._placeholder)

    def close(self) -> None:
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)


_TEMPLATES = _Templates()
_LEVEL: weakref.WeakKeyDictionary[Database, Level] = weakref.WeakKeyDictionary()


@pytest.fixture(scope="session", autouse=True)
def _templates() -> Iterator[None]:
    """The session's templates go at its end."""
    yield
    _TEMPLATES.close()


def make_database(kind: str, tmp_path: Path, level: Level = "migrated") -> Iterator[Database]:
    """A fresh database holding ``level``: a SQLite file, or a private PostgreSQL schema,
    copied from the session's template for that level."""
    schema = None
    if kind == "sqlite":
        path = tmp_path / "signoff.db"
        _TEMPLATES.copy_sqlite(level, path)
        database = Database(f"sqlite:///{path}")
    else:
        _postgres_or_skip()
        schema = f"t_{uuid.uuid4().hex[:12]}"
        if _TEMPLATES.clone_pg(level, schema):
            database = _pg_database(schema)
        else:  # no usable pg_dump: build this one from nothing
            with _pg_admin() as admin:
                admin.execute(f'CREATE SCHEMA "{schema}"')
            database = _pg_database(schema)
            for step in LEVELS[: LEVELS.index(level) + 1]:
                _build_step(database, step, tmp_path / "data")
    _LEVEL[database] = level
    try:
        yield database
        assert database.engine.pool.checkedout() == 0, "a connection was left checked out"
    finally:
        database.dispose()
        if schema:
            with _pg_admin() as admin:
                admin.execute("SET synchronous_commit = off")
                admin.execute(f'DROP SCHEMA "{schema}" CASCADE')


def _level_for(request: pytest.FixtureRequest) -> Level:
    """The most a test's fixtures build on its database: copied ready-made from a template."""
    if "demo" in request.fixturenames:
        return "demo"
    if "published" in request.fixturenames:
        return "published"
    return "migrated"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    yield from make_database(request.param, tmp_path, _level_for(request))


@pytest.fixture
def pg(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    yield from make_database("postgres", tmp_path, _level_for(request))


@pytest.fixture
def services(db: Database, tmp_path: Path) -> Services:
    return Services(db=db, data_dir=tmp_path / "data")


def submit_r1(services: Services, statement: str = "done", now: dt.datetime = NOW) -> Fired:
    """The business manager submits a written statement as evidence on R1 (at NOW)."""
    return fire(
        services,
        FireRequest(
            item=R1,
            trigger="submit_evidence",
            actor=BM,
            now=now,
            evidence=[EvidenceInput(statement=statement)],
        ),
    )


def challenge_r1(services: Services, reason: str = "thin", now: dt.datetime = NOW) -> Fired:
    """The panel challenges R1's evidence (at NOW, minuted the same day)."""
    return fire(
        services,
        FireRequest(
            item=R1,
            trigger="challenge",
            actor=PANEL,
            now=now,
            reason=reason,
            meeting_date=now.date(),
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


def without_digests(services: Services, now: dt.datetime = NOW) -> None:
    """Republish the shipped default workflow with every ``digest:`` line removed, items
    migrated: one email per item, for tests about a single email's wording."""
    text = (WORKFLOWS / "recommendation.yaml").read_text()
    plain = "".join(line for line in text.splitlines(True) if "digest:" not in line)
    with services.db.write() as conn:
        latest = services.specs.get(conn, require_latest(conn, "recommendation"))
        if not any(s.deadline and s.deadline.digest for s in latest.states.values()):
            return  # already without
        publish(conn, load_spec(plain, "no_digests.yaml"), actor="test", now=now, migrate=True)


@pytest.fixture
def published(services: Services) -> Services:
    """The shipped workflows published."""
    if _LEVEL.get(services.db, "migrated") == "migrated":
        publish_shipped(services)
    return services


@pytest.fixture
def demo(services: Services) -> Services:
    """The shipped workflows published and the Southend plan with its contacts imported."""
    level = _LEVEL.get(services.db, "migrated")
    if level == "migrated":
        publish_shipped(services)
    if level != "demo":
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


DEPUTY = "cover.nurse@sept.example.org"  # not a contact of any agency


def sept_lead_officer(services: Services, tmp_path: Path, *, absent: bool) -> None:
    """Re-import SEPT's contacts with its lead officer absent (deputy: DEPUTY) or back."""
    path = tmp_path / f"sept_absent_{absent}.yaml".lower()
    path.write_text(
        "agencies:\n  sept:\n    contacts:\n"
        "      - {role: lead_officer, name: Named Nurse, email: named.nurse@sept.example.org,"
        f" absent: {str(absent).lower()}, deputy: {DEPUTY}}}\n"
        "      - {role: safeguarding_lead, name: Director of Nursing,"
        " email: director.nursing@sept.example.org}\n"
        "    ladder: [lead_officer, safeguarding_lead]\n"
    )
    with services.db.write() as conn:
        import_files(conn, [path], specs=services.specs, actor="test", now=NOW)
