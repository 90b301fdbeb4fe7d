"""The ``themes`` report against figures worked out by hand on two small reviews.

- scr-a (items created 2011-01-10): R1 sept [record_keeping, supervision]; R2 nhs
  [record_keeping]; R3 sept, no theme.
- scr-b: S1 sept and nhs [record_keeping, training]; S2 police [supervision].

So record_keeping: nhs scr-a/R2, scr-b/S1@nhs; sept scr-a/R1, scr-b/S1@sept (4, both
reviews); supervision: police scr-b/S2, sept scr-a/R1 (2, both reviews); training: nhs
S1@nhs, sept S1@sept (2, scr-b only, so not recurring); R3 unthemed.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from engine import reports
from engine.errors import ReportRefused
from engine.importer import import_files
from engine.services import Services
from tests.conftest import NOW, ROOT

AGENCIES = """agencies:
- {id: sept, name: SEPT}
- {id: nhs, name: NHS South East Essex}
- {id: police, name: Essex Police}
"""
PLAN_A = (
    """review: {id: scr-a, title: Review A, board: Test LSCB, kind: serious_case_review,
         date: 2010-12-01}
"""
    + AGENCIES
    + """recommendations:
- {ref: R1, agency: sept, text: One, priority: H, due: [2011-06-01],
   themes: [record_keeping, supervision]}
- {ref: R2, agency: nhs, text: Two, priority: M, due: [2011-06-01], themes: [record_keeping]}
- {ref: R3, agency: sept, text: Three, priority: L, due: [2011-06-01]}
"""
)
PLAN_B = (
    """review: {id: scr-b, title: Review B, board: Test LSCB, kind: serious_case_review,
         date: 2010-12-02}
"""
    + AGENCIES
    + """recommendations:
- {ref: S1, agency: [sept, nhs], text: Four, priority: H, due: [2011-06-01],
   themes: [record_keeping, training]}
- {ref: S2, agency: police, text: Five, priority: M, due: [2011-06-01], themes: [supervision]}
"""
)


@pytest.fixture
def themed(published: Services, tmp_path: Path) -> Services:
    files = []
    for name, text in (("a.yaml", PLAN_A), ("b.yaml", PLAN_B)):
        (tmp_path / name).write_text(text)
        files.append(tmp_path / name)
    with published.db.write() as conn:
        import_files(conn, files, specs=published.specs, actor="test", now=NOW)
    return published


def _build(services: Services, **kw: Any) -> reports.Report:
    request = reports.ReportRequest(name="themes", today=dt.date(2011, 3, 31), **kw)
    with services.db.engine.connect() as conn:
        return reports.build(conn, services.specs, services.calendar, request)


def test_themes_by_agency_count_each_item_under_each_of_its_themes(themed: Services) -> None:
    data = _build(themed).data
    assert data["agencies"] == ["nhs", "police", "sept"]
    assert data["count"] == 6
    got = {t: {a: v["items"] for a, v in d["by_agency"].items()} for t, d in data["themes"].items()}
    assert got == {
        "record_keeping": {
            "nhs": ["scr-a/R2", "scr-b/S1@nhs"],
            "sept": ["scr-a/R1", "scr-b/S1@sept"],
        },
        "supervision": {"police": ["scr-b/S2"], "sept": ["scr-a/R1"]},
        "training": {"nhs": ["scr-b/S1@nhs"], "sept": ["scr-b/S1@sept"]},
    }
    assert {t: d["count"] for t, d in data["themes"].items()} == {
        "record_keeping": 4,
        "supervision": 2,
        "training": 2,
    }
    assert data["unthemed"] == {"count": 1, "items": ["scr-a/R3"]}


def test_themes_recurring_are_those_of_two_or_more_reviews(themed: Services) -> None:
    recurring = _build(themed).data["recurring"]
    assert [(r["theme"], r["reviews"], r["count"]) for r in recurring] == [
        ("record_keeping", ["scr-a", "scr-b"], 4),
        ("supervision", ["scr-a", "scr-b"], 2),
    ]


def test_themes_for_one_review_recur_nowhere(themed: Services) -> None:
    data = _build(themed, review="scr-b").data
    assert data["recurring"] == []
    assert data["themes"]["record_keeping"]["items"] == ["scr-b/S1@nhs", "scr-b/S1@sept"]


def test_themes_before_the_items_existed_count_nothing(themed: Services) -> None:
    data = _build(themed, day_to=dt.date(2011, 1, 9)).data
    assert data["count"] == 0
    assert data["themes"] == {}


def test_themes_heat_map_table_holds_the_json_figures(themed: Services) -> None:
    report = _build(themed)
    table = report.table("themes-agencies")
    assert table.columns == ("Theme", "nhs", "police", "sept", "All")
    counts = [[c if isinstance(c, str) else c.count for c in row] for row in table.rows]  # type: ignore[union-attr]
    assert counts == [
        ["Record keeping", 2, 0, 2, 4],
        ["Supervision", 0, 1, 1, 2],
        ["Training", 1, 0, 1, 2],
    ]
    assert report.charts[0].table == "themes-agencies"


def test_themes_json_follows_the_published_schema(themed: Services) -> None:
    schema = json.loads((ROOT / "config" / "report.schema.json").read_text())
    data = json.loads(json.dumps(_build(themed).data))
    assert [e.message for e in Draft202012Validator(schema).iter_errors(data)] == []
    del data["recurring"]
    assert not Draft202012Validator(schema).is_valid(data)


def test_themes_takes_no_from_date(themed: Services) -> None:
    with pytest.raises(ReportRefused, match="one date"):
        _build(themed, day_from=dt.date(2011, 1, 1))
