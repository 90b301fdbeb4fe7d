"""engine.store.bulk: many rows through the driver's executemany, as SQLAlchemy would write them."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from engine.store.bulk import execute_many


def test_execute_many_writes_what_execute_writes() -> None:
    meta = sa.MetaData()
    t = sa.Table(
        "t",
        meta,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("at", sa.DateTime),
        sa.Column("data", sa.JSON),
        sa.Column("note", sa.String),
        sa.Column("kind", sa.String),
    )
    engine = sa.create_engine("sqlite://")
    meta.create_all(engine)
    at = dt.datetime(2011, 1, 2, 3, 4, 5, 6)
    rows = [({"a": [1, "é"]}, "x"), ({}, None)]
    with engine.begin() as conn:
        conn.execute(t.insert(), [{"at": at, "data": d, "note": n, "kind": "k"} for d, n in rows])
        execute_many(conn, t.insert().values(kind="k"), {"at": at}, ("data", "note"), rows)
        stored = conn.exec_driver_sql("SELECT at, data, note, kind FROM t ORDER BY id").all()
    assert stored[:2] == stored[2:]
