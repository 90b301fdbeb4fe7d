"""The sweep's probe: is anything due? One statement, sent outside any transaction.

The sweep runs every few minutes and usually finds nothing, so it first asks one question
with one statement, :data:`PROBE`: is any item due, and is the day's failure check due
(``sweep_state``, one row)? :func:`ask` sends it straight to the driver in autocommit, so
nothing due costs one round trip and no transaction. On SQLite each thread keeps its own
connection for it (:func:`thread_connection`); on PostgreSQL it borrows one from the pool.
"""

from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from engine.store.compiled import Compiled
from engine.store.db import Database
from engine.store.tables import Item, SweepState

_item = Item.__table__  # type: ignore[attr-defined]
_state = SweepState.__table__  # type: ignore[attr-defined]

# one row: is anything due, and is the day's failure check due (no sweep_state row yet, or
# its next check has come)? Both are index lookups; nothing due costs this one statement.
# (On PostgreSQL an EXISTS over "next_attention_at <= $1" gets a sequential scan once the
# statement is prepared with a generic plan; min() is always the first index entry.)
PROBE = sa.select(  # min() reads one end of the index, whatever plan a generic 'now' gets
    (
        sa.select(sa.func.min(_item.c.next_attention_at)).scalar_subquery() <= sa.bindparam("now")
    ).label("items_due"),
    sa.not_(sa.exists().where(_state.c.failures_next_check_at > sa.bindparam("now"))).label(
        "failures_due"
    ),
)


def ask(db: Database, statement: Compiled, bound_now: Any) -> tuple[bool, bool]:
    """(items due, failure check due), from one statement sent outside any transaction.

    ``statement`` is :data:`PROBE` compiled for ``db``'s dialect; ``bound_now`` the driver's
    value of now.
    """
    params = statement.params_now(bound_now)
    if db.is_sqlite:
        driver = thread_connection(db.engine)
        try:  # autocommit; fetchall ends the statement, so no read transaction stays open
            (row,) = driver.execute(statement.sql, params).fetchall()
        except BaseException:
            _forget_thread_connection(db.engine)
            raise
        return bool(row[0]), bool(row[1])
    pooled = db.engine.raw_connection()
    try:  # autocommit: one round trip, no BEGIN and no ROLLBACK
        conn = pooled.driver_connection
        was = conn.autocommit  # type: ignore[union-attr]
        conn.autocommit = True  # type: ignore[union-attr]
        try:
            found = conn.execute(statement.sql, params).fetchone()  # type: ignore[union-attr]
        finally:
            conn.autocommit = was  # type: ignore[union-attr]
    finally:
        pooled.close()
    assert found is not None
    return bool(found[0]), bool(found[1])


class _ProbeConnection(threading.local):
    """This thread's SQLite connection for the probe: (engine generation, connection)."""

    held: tuple[int, Any] | None = None


@dataclass
class _ProbeConnections:
    """Per engine: each thread's probe connection, and every one opened, to close on dispose.

    The nothing-due sweep is one ~10 µs SQLite query; taking a connection from the pool and
    giving it back would cost as much again. So each thread keeps one autocommit connection
    (opened through the engine, with its pragmas, and detached from the pool) for the probe.
    ``Engine.dispose()`` closes them; the next probe opens a new one.
    """

    local: _ProbeConnection = field(default_factory=_ProbeConnection)
    generation: int = 0
    opened: list[Any] = field(default_factory=list)


_PROBES: dict[int, _ProbeConnections] = {}  # by id(engine); an entry goes with its engine
_PROBES_LOCK = threading.Lock()


def thread_connection(engine: sa.Engine) -> Any:
    """This thread's SQLite driver connection for the probe, opened on first use (and again
    after ``engine.dispose()``, which closes them all)."""
    probes = _PROBES.get(id(engine))
    if probes is None:
        with _PROBES_LOCK:
            probes = _PROBES.get(id(engine))
            if probes is None:
                probes = _PROBES[id(engine)] = _ProbeConnections()
                weakref.finalize(engine, _PROBES.pop, id(engine), None)
                sa.event.listen(engine, "engine_disposed", _close_thread_connections)
    held = probes.local.held
    if held is not None and held[0] == probes.generation:
        return held[1]
    pooled = engine.raw_connection()
    driver = pooled.driver_connection
    pooled.detach()  # ours now: the pool neither counts nor resets it
    with _PROBES_LOCK:
        probes.opened.append((pooled, driver))
        probes.local.held = (probes.generation, driver)
    return driver


def _forget_thread_connection(engine: sa.Engine) -> None:
    probes = _PROBES.get(id(engine))
    if probes is not None and probes.local.held is not None:
        driver = probes.local.held[1]
        probes.local.held = None
        with _PROBES_LOCK:
            for opened in [o for o in probes.opened if o[1] is driver]:
                probes.opened.remove(opened)
                opened[0].close()


def _close_thread_connections(engine: sa.Engine) -> None:
    probes = _PROBES.get(id(engine))
    if probes is None:
        return
    with _PROBES_LOCK:
        probes.generation += 1
        opened, probes.opened = probes.opened, []
    for pooled, _driver in opened:
        pooled.close()
