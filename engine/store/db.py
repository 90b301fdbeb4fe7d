"""The database handle: engine, transactions and sessions.

SQLite runs in WAL mode with foreign keys on. Write transactions on SQLite start
with ``BEGIN IMMEDIATE`` so two writers queue for the lock instead of failing on
upgrade; reads run in autocommit mode and never block writers. A new SQLite file is
created owner-only (0600) before SQLite opens it; SQLite gives its -wal and -shm files the
database file's mode.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy import event

if TYPE_CHECKING:
    from sqlmodel import Session


def normalise_url(url: str) -> str:
    """Use psycopg 3 for PostgreSQL URLs given without a driver."""
    if url.startswith("postgresql://"):
        return "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return url


def _create_private_file(url: str) -> None:
    """Create the SQLite file of ``url`` empty and owner-only if it does not exist yet (an
    in-memory database, a URI filename or a missing folder is left to SQLite)."""
    name = sa.engine.make_url(url).database
    if not name or name == ":memory:" or name.startswith("file:"):
        return
    try:
        os.close(os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except (FileExistsError, FileNotFoundError, NotADirectoryError):
        pass


def make_engine(url: str, **kwargs: Any) -> sa.Engine:
    """An Engine for ``url`` with signoff's connection settings."""
    url = normalise_url(url)
    if url.startswith("sqlite"):
        _create_private_file(url)
        engine = sa.create_engine(url, connect_args={"timeout": 30}, **kwargs)

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None  # we issue BEGIN ourselves (below)
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        return engine
    # connections are recycled rather than pinged: a ping is a round trip per transaction
    return sa.create_engine(url, pool_recycle=1800, **kwargs)


class Database:
    """One database: its engine, write transactions and ORM sessions."""

    def __init__(self, url: str, **engine_kwargs: Any) -> None:
        self.url = normalise_url(url)
        self.engine = make_engine(self.url, **engine_kwargs)
        self.is_sqlite = self.engine.dialect.name == "sqlite"

    @contextmanager
    def write(self) -> Iterator[sa.Connection]:
        """A connection inside a write transaction; commits on success, rolls back on error."""
        with self.engine.connect() as conn, conn.begin():
            if self.is_sqlite:
                # the driver runs in autocommit mode; we open the write transaction ourselves,
                # taking the write lock at once (an engine-level 'begin' hook would instead
                # cost an event dispatch on every statement)
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            yield conn

    @contextmanager
    def session(self) -> Iterator[Session]:
        """An ORM session for ordinary reads and admin writes (caller commits)."""
        from sqlmodel import Session  # here: Core readers (``signoff list``) never load the ORM

        with Session(self.engine) as session:
            yield session

    def dispose(self) -> None:
        self.engine.dispose()
