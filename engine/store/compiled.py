"""A statement compiled once per dialect, and the driver's own bind and result processors.

For a hot path that sends its statements straight to the driver (``exec_driver_sql`` or a
DB-API cursor): :class:`Compiled` holds the SQL text and lays out values the way the
driver's paramstyle wants them, and :func:`time_binder` and :func:`reader` give the
conversions SQLAlchemy would apply to a column's values, so the values sent and read are
exactly what SQLAlchemy itself would send and read.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.sql.compiler import SQLCompiler


@dataclass(frozen=True)
class Compiled:
    """A statement's SQL text and how to lay out its values for the driver."""

    sql: str
    order: tuple[str, ...] | None  # positional drivers: bind names in order
    fixed: dict[str, Any]  # values SQLAlchemy supplies itself (e.g. SQLite's OFFSET 0)

    @classmethod
    def of(cls, statement: sa.ClauseElement, dialect: sa.Dialect) -> Compiled:
        compiled = statement.compile(dialect=dialect)
        assert isinstance(compiled, SQLCompiler)
        order = tuple(compiled.positiontup or ()) if compiled.positional else None
        fixed = {k: v for k, v in compiled.params.items() if v is not None}
        return cls(compiled.string, order, fixed)

    def params(self, values: dict[str, Any]) -> Any:
        if self.order is None:
            return {**self.fixed, **values} if self.fixed else values
        return tuple(values[n] if n in values else self.fixed[n] for n in self.order)

    def params_now(self, bound_now: Any) -> Any:
        """The values of a statement whose only parameter is ``now`` (the probe)."""
        if self.order is None:
            return {"now": bound_now}
        return (bound_now,) * len(self.order)


def _identity(value: Any) -> Any:
    return value


def _binder(type_: Any, dialect: sa.Dialect) -> Callable[[Any], Any]:
    process = type_.dialect_impl(dialect).bind_processor(dialect)
    return process or _identity


def _sqlite_time(value: dt.datetime) -> str:
    """What UTCDateTime binds on SQLite (naive UTC, SQLAlchemy's text), a few times faster."""
    if value.tzinfo is None:
        raise ValueError("naive datetime given to the store; pass an aware 'now'")
    return value.astimezone(dt.UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


def time_binder(type_: Any, dialect: sa.Dialect) -> Callable[[Any], Any]:
    """The driver's value of an aware datetime for a UTCDateTime column of type ``type_``."""
    process = _binder(type_, dialect)
    if dialect.name == "sqlite":
        samples = [
            dt.datetime(2011, 3, 27, 1, 30, 0, 5, tzinfo=ZoneInfo("Europe/London")),
            dt.datetime(2026, 10, 25, 1, 59, 59, 999_999, tzinfo=dt.UTC),
            dt.datetime(1999, 12, 31, 23, 0, tzinfo=dt.timezone(dt.timedelta(hours=-5))),
        ]
        if all(_sqlite_time(t) == process(t) for t in samples):
            return _sqlite_time  # None never reaches it: callers bind only real times
    return process


def reader(type_: Any, dialect: sa.Dialect) -> Callable[[Any], Any]:
    process = type_.dialect_impl(dialect).result_processor(dialect, None)
    return process or _identity
