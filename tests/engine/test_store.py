"""The schema: migrations match the models on both databases; time is stored as UTC."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.exc import StatementError
from sqlmodel import SQLModel

from app.settings import load_settings
from engine.errors import SettingsError
from engine.store import migrate
from engine.store.db import Database
from engine.store.tables import Review


def test_migrations_match_the_models(db: Database) -> None:
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, SQLModel.metadata) == []
    assert migrate.current(db) == migrate.head()


def test_upgrade_is_idempotent(db: Database) -> None:
    migrate.upgrade(db)
    assert migrate.current(db) == migrate.head()


def _review(imported_at: dt.datetime) -> Review:
    return Review(id="r", title="t", board="b", kind="scrutiny", imported_at=imported_at)


def test_times_come_back_aware_utc(db: Database) -> None:
    london = dt.timezone(dt.timedelta(hours=1))
    with db.session() as session:
        session.add(_review(dt.datetime(2011, 4, 1, 10, 0, tzinfo=london)))
        session.commit()
        got = session.get(Review, "r")
        assert got is not None
        assert got.imported_at == dt.datetime(2011, 4, 1, 9, 0, tzinfo=dt.UTC)
        assert got.imported_at.tzinfo is dt.UTC


def test_naive_time_is_refused(db: Database) -> None:
    with db.session() as session:
        session.add(_review(dt.datetime(2011, 4, 1, 10, 0)))
        with pytest.raises(StatementError, match="naive datetime"):
            session.commit()


def test_sqlite_runs_in_wal_with_foreign_keys(tmp_path: object) -> None:
    db = Database(f"sqlite:///{tmp_path}/x.db")
    try:
        with db.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    finally:
        db.dispose()


def test_foreign_keys_are_enforced(db: Database) -> None:
    insert = sa.text(
        "INSERT INTO contact (agency_id, name, email, role, absent, failing) "
        "VALUES ('missing', 'n', 'e@x.org', 'r', false, false)"
    )
    with db.engine.connect() as conn, pytest.raises(sa.exc.IntegrityError):
        conn.execute(insert)
    with db.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM contact")).scalar_one() == 0


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("database_url", "mysql://db/x", "SIGNOFF_DATABASE_URL: Value error, must start with"),
        ("environment", "staging", "SIGNOFF_ENVIRONMENT: Input should be 'development' or"),
    ],
)
def test_bad_setting_names_its_variable(variable: str, value: str, message: str) -> None:
    with pytest.raises(SettingsError) as info:
        load_settings(**{variable: value})
    assert message in str(info.value)
