"""``engine.listing.find`` filters, sorts and pages in the database: each combination gives
the rows the plain Python reading of the same rules gives, page by page, on SQLite and
PostgreSQL (issue 10)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools

import sqlalchemy as sa

from engine import listing
from engine.fire import FireRequest, fire
from engine.listing import Filters, Row, Sort
from engine.services import Services
from tests.conftest import BM, NOW, REVIEW, make_item

TODAY = NOW.date()
REFS = ("Z10", "a2", "B_1", "b%1", "Ü3", "z9", "M1", "m1")


def _world(demo: Services) -> None:
    """Items due before, on and after today, with no date, ended (terminal), and themes with
    LIKE's special characters and non-ASCII."""
    for n, ref in enumerate(REFS):
        due = None if n == 3 else TODAY + dt.timedelta(days=(n - 4) * 5)
        item = make_item(demo, ref=ref, due=due, agency=("sept", "southend-lscb")[n % 2])
        themes = [["assurance"], ["gov_ernance"], ["50%"], ["säfe", "assurance"]][n % 4]
        with demo.db.write() as conn:
            conn.execute(
                sa.text(
                    "UPDATE recommendation SET themes = :t, priority = :p WHERE id = "
                    "(SELECT recommendation_id FROM item WHERE id = :i)"
                ).bindparams(sa.bindparam("t", type_=sa.JSON)),
                {"t": themes, "p": "HML"[n % 3], "i": item},
            )
        if n in (1, 6):  # ended: never overdue, last in the due and oldest orders
            fire(demo, FireRequest(item=item, trigger="transfer", actor=BM, now=NOW,
                                   reason="not ours"))  # fmt: skip


def _reference(everything: list[Row], f: Filters) -> list[Row]:
    """The rules as the list page states them, read in Python."""
    rows = [
        r
        for r in everything
        if (not f.theme or f.theme in r.themes)
        and (not f.overdue or r.overdue)
        and (
            f.due_within is None
            or (
                not r.terminal
                and r.due is not None
                and r.due <= TODAY + dt.timedelta(days=f.due_within)
            )
        )
        and (not f.priority or r.priority == f.priority)
    ]
    far = dt.date.max
    keys = {
        Sort.DUE: lambda r: (r.terminal, r.due or far, r.review, r.ref, r.agency),
        Sort.OLDEST: lambda r: (r.terminal, r.entered_at, r.review, r.ref, r.agency),
        Sort.REF: lambda r: (r.review, r.ref, r.agency),
        Sort.RECENT: lambda r: (-r.updated_at.timestamp(), r.review, r.ref, r.agency),
    }
    return sorted(rows, key=keys[f.sort])


def test_the_database_filters_sorts_and_pages_as_the_rules_say(demo: Services) -> None:
    _world(demo)
    with demo.db.engine.connect() as conn:
        everything = listing.find(
            conn, demo.specs, Filters(), agencies=None, today=TODAY, page_size=10_000
        ).rows
        assert len(everything) >= len(REFS) + 9
        assert any(r.terminal for r in everything)
        assert any(r.due is None for r in everything)
        combos = itertools.product(
            Sort, (None, "assurance", "gov_ernance", "50%", "säfe", "_"), (False, True),
            (None, 0, 10), (None, "H"),
        )  # fmt: skip
        tried = 0
        for sort, theme, overdue, within, priority in combos:
            f = Filters(sort=sort, theme=theme, overdue=overdue, due_within=within,
                        priority=priority)  # fmt: skip
            want = _reference(everything, f)
            got: list[Row] = []
            page, pages = 1, 1
            while page <= pages:
                found = listing.find(
                    conn, demo.specs, dataclasses.replace(f, page=page), agencies=None,
                    today=TODAY, page_size=4,
                )  # fmt: skip
                assert found.total == len(want), f
                assert found.page == page, f
                pages = found.pages
                assert pages == max(1, -(-len(want) // 4)), f
                got += found.rows
                page += 1
            key = [(r.review, r.ref, r.agency) for r in want]
            assert [(r.review, r.ref, r.agency) for r in got] == key, f
            tried += 1
        assert tried == 4 * 6 * 2 * 3 * 2


def test_a_page_past_the_last_is_the_last_and_the_scope_holds(demo: Services) -> None:
    _world(demo)
    with demo.db.engine.connect() as conn:
        last = listing.find(conn, demo.specs, Filters(page=10**6), agencies=["sept"],
                            today=TODAY, page_size=3)  # fmt: skip
    assert last.page == last.pages
    assert last.rows
    assert {r.agency for r in last.rows} == {"sept"}
    assert REVIEW in {r.review for r in last.rows}
