"""Relative due dates (issue 12): "within six months of publication of this Review" is kept as
wording with an anchor; once the anchor's date is given the items are due from it (recorded
in their history, re-planned, chased), on SQLite and PostgreSQL. Bad input changes nothing."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from engine import adminlog, anchors, queries, reports
from engine.calendar import Calendar
from engine.errors import AnchorRefused
from engine.importer import ImportReport, import_files
from engine.services import Services
from engine.store import core
from engine.timeline import describe
from tests.conftest import BM, NOW

REVIEW = "plan"
LATER = NOW + dt.timedelta(days=22)  # 1 February 2011
PLAN = (
    "Ref,Recommendation,Lead agency,Target date,RAG\n"
    "R1,Audit of referrals to be repeated.,SEPT,within six months of publication of this Review,"
    "on track\n"
    'R2,Training for GPs.,"Essex Probation Service; SEPT",'
    "Within 20 working days of the Publication of this review.,\n"
    "R3,Panel to review progress.,SEPT,3 months after the panel meeting,\n"
    "R4,Dated.,SEPT,30/06/2011,\n"
)


def _import(services: Services, path: Path, now: dt.datetime = NOW) -> ImportReport:
    with services.db.write() as conn:
        return import_files(
            conn, [path], specs=services.specs, actor=BM, now=now, calendar=services.calendar
        )


def _plan(tmp_path: Path, text: str = PLAN, folder: str = "a") -> Path:
    path = tmp_path / folder / f"{REVIEW}.csv"
    path.parent.mkdir(exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def _items(services: Services) -> dict[str, tuple[Any, ...]]:
    item, rec = core.item, core.recommendation
    with services.db.engine.connect() as conn:
        rows = conn.execute(
            sa.select(
                rec.c.ref,
                item.c.agency_id,
                item.c.due,
                item.c.due_history,
                item.c.next_attention_at,
                item.c.seq,
            )
            .join(rec, rec.c.id == item.c.recommendation_id)
            .where(rec.c.review_id == REVIEW)
            .order_by(rec.c.ref, item.c.agency_id)
        ).all()
    return {f"{r[0]}@{r[1]}": tuple(r[2:]) for r in rows}


def _set(services: Services, name: str, day: dt.date, review: str = REVIEW) -> anchors.Dated:
    with services.db.write() as conn:
        return anchors.set_date(
            conn,
            review_id=review,
            name=name,
            day=day,
            actor=BM,
            now=LATER,
            specs=services.specs,
            calendar=services.calendar,
        )


@pytest.mark.parametrize(
    ("wording", "after", "anchor"),
    [
        (
            "within six months of publication of this Review",
            "6 months",
            "publication of this Review",
        ),
        ("Within 20 working days of the launch; then quarterly", "20 working days", "launch"),
        ("twelve weeks after the panel meeting.", "12 weeks", "panel meeting"),
        ("1 year following publication", "12 months", "publication"),
        ("within a month of sign-off", "1 month", "sign-off"),
    ],
)
def test_relative_wording_is_read_as_a_time_after_an_anchor(
    wording: str, after: str, anchor: str
) -> None:
    assert anchors.parse(wording) == anchors.Relative(after=after, anchor=anchor)


@pytest.mark.parametrize(
    "wording", ["Ongoing", "six months", "within 0 months of publication", "quarterly review"]
)
def test_wording_without_a_time_and_an_anchor_is_not_relative(wording: str) -> None:
    assert anchors.parse(wording) is None


@pytest.mark.parametrize(
    ("start", "after", "due"),
    [
        (dt.date(2011, 1, 31), "6 months", dt.date(2011, 7, 31)),
        (dt.date(2011, 8, 31), "6 months", dt.date(2012, 2, 29)),  # clamped to the month's end
        (dt.date(2011, 1, 31), "20 working days", dt.date(2011, 2, 28)),
        (dt.date(2011, 12, 23), "2 working days", dt.date(2011, 12, 29)),  # bank holidays
    ],
)
def test_the_due_date_counts_in_the_boards_calendar(
    start: dt.date, after: str, due: dt.date
) -> None:
    assert anchors.due_on(start, after, Calendar()) == due


def test_the_import_keeps_the_wording_and_waits_for_the_anchor(
    demo: Services, tmp_path: Path
) -> None:
    report = _import(demo, _plan(tmp_path))
    assert report.anchors == [
        {
            "review": REVIEW,
            "name": "publication of this Review",
            "waiting": [f"{REVIEW}/R1", f"{REVIEW}/R2@essex-probation", f"{REVIEW}/R2@sept"],
        },
        {"review": REVIEW, "name": "panel meeting", "waiting": [f"{REVIEW}/R3"]},
    ]
    items = _items(demo)
    assert items["R1@sept"][:3] == (None, [], None)  # no due date: never chased
    assert items["R4@sept"][0] == dt.date(2011, 6, 30)
    with demo.db.engine.connect() as conn:
        listed = anchors.anchors(conn, REVIEW)
        view = queries.show(conn, demo.specs, f"{REVIEW}/R1")
    assert [(a.name, a.date, a.waiting) for a in listed] == [
        ("panel meeting", None, [f"{REVIEW}/R3"]),
        (
            "publication of this Review",
            None,
            [f"{REVIEW}/R1", f"{REVIEW}/R2@essex-probation", f"{REVIEW}/R2@sept"],
        ),
    ]
    assert listed[1].wording == [
        "within six months of publication of this Review",
        "Within 20 working days of the Publication of this review.",
    ]
    assert "Timescale: within six months of publication of this Review" in view["note"]


def test_giving_the_anchors_date_makes_the_items_due_and_chased(
    demo: Services, tmp_path: Path
) -> None:
    _import(demo, _plan(tmp_path))
    dated = _set(demo, "Publication of this review", dt.date(2011, 1, 31))  # case ignored
    assert dated.items == {
        f"{REVIEW}/R1": dt.date(2011, 7, 31),
        f"{REVIEW}/R2@essex-probation": dt.date(2011, 2, 28),
        f"{REVIEW}/R2@sept": dt.date(2011, 2, 28),
    }
    items = _items(demo)
    due, history, attention, seq = items["R1@sept"]
    assert (due, history) == (dt.date(2011, 7, 31), ["2011-07-31"])
    # the first reminder, 14 days before the due moment (local midnight, BST)
    assert attention == dt.datetime(2011, 7, 17, 23, 0, tzinfo=dt.UTC)
    assert seq == 3  # created, imported status, dated
    assert items["R3@sept"][:2] == (None, [])  # another anchor: still waiting
    with demo.db.engine.connect() as conn:
        event = conn.execute(
            sa.text(
                "SELECT e.trigger, e.actor, e.from_state, e.to_state, e.data FROM event e "
                "JOIN item i ON i.id = e.item_id JOIN recommendation r "
                "ON r.id = i.recommendation_id WHERE r.review_id = :r AND r.ref = 'R1' "
                "AND e.seq = 3"
            ),
            {"r": REVIEW},
        ).one()
        view = queries.show(conn, demo.specs, f"{REVIEW}/R1")
        listed = {a.name: a for a in anchors.anchors(conn, REVIEW)}
    assert event[:4] == ("due_from_anchor", BM, "open", "open")
    data = event[4] if isinstance(event[4], dict) else json.loads(event[4])
    assert data == {
        "anchor": "publication of this Review",
        "anchor_date": "2011-01-31",
        "after": "6 months",
        "wording": "within six months of publication of this Review",
        "due_set": "2011-07-31",
    }
    entry = describe(_spec(demo), view["items"][0]["history"][2], {})
    assert entry.text == (
        "Due date set to 31 July 2011: 6 months after publication of this Review "
        f"(31 January 2011, given by {BM} on 1 February 2011)."
    )
    publication = listed["publication of this Review"]
    assert (publication.date, publication.set_by, publication.waiting) == (
        dt.date(2011, 1, 31),
        BM,
        [],
    )
    assert len(publication.dated) == 3


def _spec(services: Services) -> Any:
    with services.db.engine.connect() as conn:
        version = conn.execute(
            sa.text("SELECT max(id) FROM workflow_version WHERE name = 'recommendation'")
        ).scalar_one()
        return services.specs.get(conn, version)


def test_reports_take_the_anchored_date_as_the_original(demo: Services, tmp_path: Path) -> None:
    _import(demo, _plan(tmp_path))
    _set(demo, "publication of this Review", dt.date(2011, 1, 31))
    request = reports.ReportRequest(name="timescale", today=dt.date(2011, 8, 15), review=REVIEW)
    with demo.db.engine.connect() as conn:
        data = reports.build(conn, demo.specs, demo.calendar, request).data
    items = {i["key"]: i for i in data["items"]}
    r1 = items[f"{REVIEW}/R1"]
    assert (r1["original_due"], r1["agreed_due"], r1["extensions"]) == (
        "2011-07-31",
        "2011-07-31",
        0,
    )
    assert data["no_due_date"] == [f"{REVIEW}/R3"]


def test_a_row_imported_after_the_anchor_has_its_date_is_due_at_once(
    demo: Services, tmp_path: Path
) -> None:
    _import(demo, _plan(tmp_path))
    _set(demo, "publication of this Review", dt.date(2011, 1, 31))
    more = PLAN + "R5,Added later.,SEPT,within 2 months of publication of this review,\n"
    report = _import(demo, _plan(tmp_path, more, folder="b"), now=LATER)
    assert report.added == [f"{REVIEW}/R5"]
    assert report.anchors == []  # nothing waiting
    items = _items(demo)
    assert items["R5@sept"][:2] == (dt.date(2011, 3, 31), ["2011-03-31"])


@pytest.mark.parametrize(
    ("review", "name", "day", "field", "said"),
    [
        (
            "plna",
            "publication of this Review",
            dt.date(2011, 1, 31),
            "review",
            "did you mean 'plan'",
        ),
        (REVIEW, "publication of the Review", dt.date(2011, 1, 31), "anchor", "did you mean"),
        (REVIEW, "publication of this Review", dt.date(1985, 1, 31), "date", "outside 1990-2100"),
    ],
)
def test_a_bad_anchor_date_is_refused_and_changes_nothing(
    demo: Services, tmp_path: Path, review: str, name: str, day: dt.date, field: str, said: str
) -> None:
    _import(demo, _plan(tmp_path))
    before = _items(demo)
    with pytest.raises(AnchorRefused) as refused:
        _set(demo, name, day, review=review)
    assert refused.value.field == field
    assert said in str(refused.value)
    assert _items(demo) == before


def test_an_anchor_is_dated_once(demo: Services, tmp_path: Path) -> None:
    _import(demo, _plan(tmp_path))
    _set(demo, "publication of this Review", dt.date(2011, 1, 31))
    with demo.db.engine.connect() as conn:
        [entry], _ = adminlog.entries(conn, action_prefix="anchor.")
    assert (entry.action, entry.actor, entry.subject) == (
        "anchor.set",
        BM,
        f"{REVIEW}: publication of this Review",
    )
    assert entry.after == {
        "date": "2011-01-31",
        "items": {
            f"{REVIEW}/R1": "2011-07-31",
            f"{REVIEW}/R2@essex-probation": "2011-02-28",
            f"{REVIEW}/R2@sept": "2011-02-28",
        },
    }
    before = _items(demo)
    with pytest.raises(AnchorRefused, match="already has its date, 2011-01-31") as refused:
        _set(demo, "publication of this Review", dt.date(2011, 2, 28))
    assert "extension" in refused.value.problem
    assert _items(demo) == before
    with demo.db.engine.connect() as conn:
        assert adminlog.entries(conn, action_prefix="anchor.")[1] == 1  # the refusal: none


def test_a_review_with_no_relative_dates_says_so(demo: Services) -> None:
    with pytest.raises(AnchorRefused, match="has no relative due dates") as refused:
        _set(demo, "publication", dt.date(2011, 1, 31), review="southend-iawg-scr-audit-2010")
    assert refused.value.field == "anchor"
