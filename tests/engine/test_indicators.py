"""An annual report's performance indicators (issue 12): imported as indicators (name, measure,
finding, action, comment) and shown as stated beside the figures the timescale report
computes, in its JSON, HTML and xlsx, on SQLite and PostgreSQL. Bad indicators are refused,
naming the row and field, with nothing written."""

from __future__ import annotations

import datetime as dt
import io
import json
from pathlib import Path
from typing import Any

import openpyxl
import pytest
import sqlalchemy as sa
from jsonschema import Draft202012Validator

from engine import reports
from engine.errors import ImportErrors
from engine.importer import ImportReport, import_files
from engine.services import Services
from engine.store import core
from reports.page import render_html
from reports.workbook import render_xlsx
from tests.conftest import BM, EXAMPLES, NOW, ROOT

ANNUAL = EXAMPLES / "southend_lscb_annual_report_2011.yaml"
REVIEW = "southend-lscb-annual-report-2011"
JULY = dt.date(2011, 7, 31)


def _import(services: Services, *paths: Path) -> ImportReport:
    with services.db.write() as conn:
        return import_files(
            conn, list(paths), specs=services.specs, actor=BM, now=NOW, calendar=services.calendar
        )


def _stored(services: Services) -> list[tuple[Any, ...]]:
    i = core.indicator
    with services.db.engine.connect() as conn:
        return [
            tuple(r)
            for r in conn.execute(
                sa.select(i.c.review_id, i.c.position, i.c.name, i.c.finding, i.c.data).order_by(
                    i.c.review_id, i.c.position
                )
            )
        ]


def _timescale(services: Services, **options: Any) -> reports.Report:
    request = reports.ReportRequest(name="timescale", today=JULY, **options)
    with services.db.engine.connect() as conn:
        return reports.build(conn, services.specs, services.calendar, request)


def test_the_annual_reports_indicators_are_imported_as_stated(demo: Services) -> None:
    report = _import(demo, ANNUAL)
    assert report.indicators == [
        "Percentage of serious case review recommendations implemented within timescale",
        "Serious case review actions audited",
    ]
    assert not any("kept, not used" in f.message for f in report.findings)
    stored = _stored(demo)
    assert stored[0][:4] == (
        REVIEW,
        0,
        "Percentage of serious case review recommendations implemented within timescale",
        "SCR actions were implemented appropriately",
    )
    assert stored[0][4] == {"value": 85, "unit": "percent", "target": 100}
    assert stored[1][4] == {}
    again = _import(demo, ANNUAL)  # a re-import leaves them as they are
    assert again.indicators == []
    assert _stored(demo) == stored


def test_the_timescale_report_shows_them_beside_the_computed_figures(demo: Services) -> None:
    _import(demo, ANNUAL)
    built = _timescale(demo)
    data = built.data
    assert [i["name"] for i in data["indicators"]] == [
        "Percentage of serious case review recommendations implemented within timescale",
        "Serious case review actions audited",
    ]
    first = data["indicators"][0]
    assert (first["review"], first["review_date"], first["value"], first["target"]) == (
        REVIEW,
        "2011-06-30",
        85,
        100,
    )
    schema = json.loads((ROOT / "config" / "report.schema.json").read_text())
    assert list(Draft202012Validator(schema).iter_errors(data)) == []
    # beside the headline figures: the table after the computed one
    assert [t.name for t in built.tables][:2] == ["timescale", "indicators"]
    html = render_html(built).decode()
    assert "SCR actions were implemented appropriately" in html
    assert "not computed by signoff" in html
    book = openpyxl.load_workbook(io.BytesIO(render_xlsx(built)))
    sheet = book["indicators"]
    assert sheet.cell(3, 1).value == (
        "Percentage of serious case review recommendations implemented within timescale"
    )
    assert sheet.cell(3, 7).value == "85 percent (target 100)"


@pytest.mark.parametrize(
    ("options", "shown"),
    [
        ({"review": REVIEW}, 2),
        ({"review": "southend-iawg-scr-audit-2010"}, 0),  # another review's report
        ({"agency": "southend-lscb"}, 0),  # one agency's report: the board's are not its
        ({"day_from": dt.date(2011, 7, 1)}, 0),  # the annual report is dated before the period
    ],
)
def test_only_the_reviews_and_period_in_scope_show_theirs(
    demo: Services, options: dict[str, Any], shown: int
) -> None:
    _import(demo, ANNUAL)
    built = _timescale(demo, **options)
    assert len(built.data["indicators"]) == shown
    assert ("indicators" in [t.name for t in built.tables]) is bool(shown)


def test_the_board_pack_carries_them_in_its_timescale_part(demo: Services) -> None:
    _import(demo, ANNUAL)
    request = reports.ReportRequest(name="board-pack", today=JULY)
    with demo.db.engine.connect() as conn:
        built = reports.build(conn, demo.specs, demo.calendar, request)
    assert "timescale-indicators" in [t.name for t in built.tables]


_PLAN = """\
review: {id: annual, title: Annual report, board: Example board, kind: annual_report}
agencies: [{id: sept, name: SEPT}]
recommendations: [{ref: '1', agency: sept, text: One.}]
performance_indicators:
"""


@pytest.mark.parametrize(
    ("rows", "where", "said"),
    [
        (
            "- {name: Plans on time, findng: late}\n",
            "performance_indicators[0].findng",
            "unknown field",
        ),
        (
            "- {measure: Plans on time}\n",
            "performance_indicators[0].name",
            "required field is missing",
        ),
        (
            "- {name: Plans on time}\n- {indicator: Plans on time}\n",
            "performance_indicators[1]",
            "already performance_indicators[0]",
        ),
        (f"- {{name: Plans, value: '{'9' * 201}'}}\n", "performance_indicators[0].value", "200"),
        ('- {name: "Plans\\non time"}\n', "performance_indicators[0].name", "U+000A"),
    ],
)
def test_a_bad_indicator_is_refused_naming_it_and_nothing_is_written(
    demo: Services, tmp_path: Path, rows: str, where: str, said: str
) -> None:
    path = tmp_path / "annual.yaml"
    path.write_text(_PLAN + rows, encoding="utf-8")
    before = _stored(demo)
    with pytest.raises(ImportErrors) as refused:
        _import(demo, path)
    found = {f"{f.row}.{f.field}".rstrip("."): f.message for f in refused.value.findings}
    assert where in found, found
    assert said in found[where]
    assert _stored(demo) == before
    with demo.db.engine.connect() as conn:
        assert (
            conn.execute(sa.text("SELECT count(*) FROM review WHERE id = 'annual'")).scalar() == 0
        )
