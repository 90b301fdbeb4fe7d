"""Telling a database conflict from a fault: the one place driver errors are classified.

Two writers racing for the same row or key are not faults; the caller turns them into
``ConcurrentUpdate`` or retries. PostgreSQL says which with a SQLSTATE and the name of the
constraint; SQLite with an error code and, for unique constraints, only the message text
(``UNIQUE constraint failed: event.item_id, event.seq``), which is read here and nowhere else.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.exc import DBAPIError

_PG_UNIQUE = "23505"
_PG_RACES = frozenset({"40001", "40P01", "55P03"})  # serialization failure, deadlock, lock n/a
_SQLITE_BUSY_LOCKED = frozenset({5, 6})  # SQLITE_BUSY, SQLITE_LOCKED (and extended codes)


def unique_violated(exc: DBAPIError, table: str, columns: Sequence[str]) -> bool:
    """Whether ``exc`` is a unique violation of ``table`` on exactly ``columns``.

    PostgreSQL names the constraint (``<table>_<columns>_key``, the default naming the
    migrations use); SQLite lists the columns in its message.
    """
    orig = exc.orig
    sqlstate = getattr(orig, "sqlstate", None)
    if sqlstate is not None:
        if sqlstate != _PG_UNIQUE:
            return False
        name = getattr(getattr(orig, "diag", None), "constraint_name", None)
        return name == f"{table}_{'_'.join(columns)}_key"
    text = str(orig)
    listed = ", ".join(f"{table}.{c}" for c in columns)
    return text == f"UNIQUE constraint failed: {listed}"


def is_race(exc: DBAPIError) -> bool:
    """Whether ``exc`` means another transaction got there first (retry, or report it)."""
    orig = exc.orig
    sqlstate = getattr(orig, "sqlstate", None)
    if sqlstate is not None:
        return sqlstate in _PG_RACES
    code = getattr(orig, "sqlite_errorcode", None)
    return code is not None and code & 0xFF in _SQLITE_BUSY_LOCKED
