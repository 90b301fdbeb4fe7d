"""engine.store.compiled: a statement compiled once, its values laid out for the driver, and
the driver's values exactly as SQLAlchemy's own processors give them."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from engine.store.compiled import Compiled, reader, time_binder
from engine.store.tables import Item

_item = Item.__table__  # type: ignore[attr-defined]
_STATEMENT = sa.select(_item.c.id).where(
    _item.c.next_attention_at <= sa.bindparam("now"), _item.c.version == sa.bindparam("v")
)


def test_positional_driver_gets_a_tuple_in_bind_order() -> None:
    compiled = Compiled.of(_STATEMENT, sqlite.dialect())
    assert compiled.order == ("now", "v")
    assert compiled.params({"v": 3, "now": "t"}) == ("t", 3)
    assert compiled.params_now("t") == ("t",) * 2


def test_named_driver_gets_the_mapping() -> None:
    compiled = Compiled.of(_STATEMENT, postgresql.psycopg.dialect())
    assert compiled.order is None
    assert "%(now)s" in compiled.sql
    assert compiled.params({"now": "t", "v": 3}) == {"now": "t", "v": 3}
    assert compiled.params_now("t") == {"now": "t"}


def test_values_sqlalchemy_supplies_itself_are_kept() -> None:
    compiled = Compiled.of(sa.select(_item.c.id).offset(5), sqlite.dialect())
    assert compiled.params({}) == (-1, 5)  # SQLite: LIMIT -1 OFFSET 5


@pytest.mark.parametrize(
    "when",
    [
        dt.datetime(2011, 3, 27, 1, 30, 0, 5, tzinfo=ZoneInfo("Europe/London")),
        dt.datetime(2011, 10, 30, 1, 30, fold=1, tzinfo=ZoneInfo("Europe/London")),
        dt.datetime(2011, 3, 21, 10, tzinfo=dt.UTC),
    ],
    ids=["spring_forward", "autumn_back", "utc"],
)
def test_time_binder_binds_what_sqlalchemy_binds(when: dt.datetime) -> None:
    type_ = _item.c.next_attention_at.type
    dialect = sqlite.dialect()
    expected = type_.dialect_impl(dialect).bind_processor(dialect)
    assert time_binder(type_, dialect)(when) == expected(when)


def test_time_binder_refuses_a_naive_datetime() -> None:
    bind = time_binder(_item.c.next_attention_at.type, sqlite.dialect())
    with pytest.raises(ValueError, match="naive"):
        bind(dt.datetime(2011, 3, 21, 10))


def test_reader_reads_what_sqlalchemy_reads() -> None:
    dialect = sqlite.dialect()
    assert reader(_item.c.due.type, dialect)("2011-04-01") == dt.date(2011, 4, 1)
    assert reader(sa.Integer(), dialect)(7) == 7  # no processor: the value as it is
