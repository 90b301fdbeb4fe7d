"""Many rows in one driver call, for the statements the benchmarks showed SQLAlchemy's
per-row work to dominate (settling 2,000 outbox rows: about 1,300 -> 58 µs a row,
bench/dispatch.py).

``execute_many`` compiles a statement once per dialect and sends the values straight to the
driver's ``executemany``, applying the same bind processors SQLAlchemy would.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

_Plan = tuple[str, tuple[tuple[int, str, Any], ...]]
_PLANS: dict[tuple[int, sa.Dialect, tuple[str, ...]], _Plan] = {}
_ROW, _SHARED, _CONSTANT = 0, 1, 2


def _plan(
    dialect: sa.Dialect, stmt: Any, shared: tuple[str, ...], varying: tuple[str, ...]
) -> _Plan:
    """``stmt`` compiled for ``dialect``: its SQL, and where each positional value comes from
    (a row's tuple, the values shared by every row, or a constant of the statement), with the
    bind processor SQLAlchemy would apply to it."""
    keys = shared + varying
    compiled = stmt.compile(
        dialect=dialect, column_keys=list(keys) if isinstance(stmt, sa.Insert) else None
    )
    slots = []
    for name in compiled.positiontup or ():
        bind = compiled.binds[name]
        process = bind.type.dialect_impl(dialect).bind_processor(dialect)
        if name in varying:
            slots.append((_ROW, name, process))
        elif name in shared:
            slots.append((_SHARED, name, process))
        elif bind.required:
            raise ValueError(f"no value for {name!r} in {stmt}")
        else:
            value = compiled.params[name]
            slots.append((_CONSTANT, name, process(value) if process else value))
    return str(compiled), tuple(slots)


def execute_many(
    conn: sa.Connection,
    stmt: Any,
    shared: dict[str, Any],
    varying: tuple[str, ...],
    rows: Sequence[tuple[Any, ...]],
) -> None:
    """``conn.execute(stmt, [{**shared, **dict(zip(varying, row))} for row in rows])``, faster.

    On a dialect with positional parameters (SQLite) the statement is compiled once and
    the values go to the DBAPI's ``executemany`` with the same bind processing, done per
    value rather than by SQLAlchemy per row (most of a settle's time, otherwise).
    """
    dialect = conn.dialect
    if not rows:
        return
    if not dialect.positional:
        conn.execute(stmt, [{**shared, **dict(zip(varying, row, strict=True))} for row in rows])
        return
    key = (id(stmt), dialect, (*sorted(shared), *varying))
    plan = _PLANS.get(key)
    if plan is None:
        plan = _PLANS[key] = _plan(dialect, stmt, tuple(sorted(shared)), varying)
    sql, slots = plan
    index = {name: i for i, name in enumerate(varying)}
    # per position: (index in a row, its processor, None), or (-1, None, the value)
    picks: list[tuple[int, Any, Any]] = []
    for source, name, extra in slots:
        if source == _ROW:
            picks.append((index[name], extra, None))
        elif source == _SHARED:
            value = shared[name]
            picks.append((-1, None, extra(value) if extra else value))
        else:
            picks.append((-1, None, extra))
    params = [
        tuple(
            [
                value if i < 0 else process(row[i]) if process else row[i]
                for i, process, value in picks
            ]
        )
        for row in rows
    ]
    conn.exec_driver_sql(sql, params)
