"""/admin/import and /admin/anchors over real HTTP (issue 12): a plan uploaded through the upload
checks, its dry run row by row with every problem by sheet, row, column and value, columns
read otherwise by choosing in selects, the import confirmed all or nothing, and an event's
date given. Hostile files are refused in words; bad input changes nothing; others get 404."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import get_args

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from engine import saved_mappings
from engine.services import Services
from engine.sheets import SheetField
from engine.store import core
from tests.conftest import BM, EXAMPLES, PANEL
from tests.files import EXE, HTML, ooxml
from tests.hostile_files import csvs
from tests.web.conftest import Clock, csrf_of, row_counts, sign_in
from web.imports import FIELDS

EXAMPLE = EXAMPLES / "southend_scr_action_plan.xlsx"
ANNUAL = EXAMPLES / "southend_lscb_annual_report_2011.yaml"
REVIEW = "southend-scr-action-plan"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DEPUTY = "deputy.bm@southend-lscb.example.org"
_CHECK = re.compile(r"^/admin/import/([a-z2-7]{16})$")


@pytest.fixture
def manager(make_client: Callable[..., TestClient], demo: Services, clock: Clock) -> TestClient:
    client = make_client(post_limit="1000/minute")
    sign_in(client, demo, BM, clock)
    return client


def _upload(client: TestClient, name: str, data: bytes, kind: str = XLSX) -> tuple[int, str]:
    """Upload a plan; (status, the check page's address or the page's text)."""
    form = client.get("/admin/import")
    sent = client.post(
        "/admin/import",
        data={"csrf_token": csrf_of(form.text)},
        files=[("plan", (name, data, kind))],
    )
    if sent.status_code == 303:
        return 303, sent.headers["location"]
    return sent.status_code, sent.text


def _staged(services: Services) -> list[Path]:
    return (
        sorted((services.data_dir / "imports").glob("*/*"))
        if (services.data_dir / "imports").exists()
        else []
    )


def _confirm(client: TestClient, where: str, save: bool = True) -> int:
    shown = client.get(where)
    data = {"csrf_token": csrf_of(shown.text)} | ({"save_mapping": "yes"} if save else {})
    return client.post(where + "/confirm", data=data).status_code


def _items(services: Services, review: str) -> int:
    with services.db.engine.connect() as conn:
        return int(
            conn.execute(
                sa.select(sa.func.count())
                .select_from(core.item)
                .join(
                    core.recommendation, core.recommendation.c.id == core.item.c.recommendation_id
                )
                .where(core.recommendation.c.review_id == review)
            ).scalar_one()
        )


def test_the_example_workbook_is_checked_then_imported(manager: TestClient, demo: Services) -> None:
    before = row_counts(demo)
    status, where = _upload(manager, EXAMPLE.name, EXAMPLE.read_bytes())
    assert status == 303
    assert _CHECK.match(where)
    page = manager.get(where)
    assert page.status_code == 200
    text = page.text
    assert "What each row would become" in text
    assert "SCR actions, row 4" in text
    assert "Audit follow-up, row 5" in text
    assert "6 months after publication of this Review (date not given yet)" in text
    assert "completed: panel signed off (imported, not verified)" in text
    # a problem's sheet, row, column and value each in its own cell
    assert re.search(
        r"<td[^>]*>SCR actions</td>\s*<td[^>]*>8</td>\s*<td[^>]*>column F \(Target date\)</td>"
        r"\s*<td[^>]*>Summer 2010</td>",
        text,
    )
    assert "Read with the common headings." in text
    assert "Confirm import" in text
    assert row_counts(demo) == before  # the dry run wrote nothing
    assert _confirm(manager, where) == 303
    done = manager.get(where).text
    assert "Plan imported" in done
    assert "southend-scr-action-plan/3" in done  # placed by an imported status
    assert _items(demo, REVIEW) == 9
    placed = manager.get(f"/items/{REVIEW}/3").text
    assert "Signed off by the panel, awaiting internal audit (an imported status, not verified" in (
        placed
    )
    still_open = manager.get(f"/items/{REVIEW}/4").text  # "no response": open, and chased
    assert "Open, awaiting evidence" in still_open
    assert "(an imported status" not in still_open
    assert "Status “no response” imported on 10 January 2011" in still_open  # its history
    with demo.db.engine.connect() as conn:
        assert len(saved_mappings.all_saved(conn)) == 1
    assert [p.name for p in _staged(demo)] == ["upload.json"]  # the plan's copy is gone
    counted = row_counts(demo)
    assert _confirm(manager, where) == 303  # a second press imports nothing more
    assert row_counts(demo) == counted


@pytest.mark.parametrize(
    ("name", "data", "said"),
    [
        ("plan.xlsx", ooxml("xlsx", {"xl/vbaProject.bin": b"x"}), "contains macros"),
        ("plan.xlsx", EXE, "is not an Excel workbook: its content is a Windows program"),
        ("plan.yaml", HTML, "is not plain text: its content is an HTML page"),
        ("plan.docx", ooxml("docx"), "is not an action plan signoff imports"),
        ("plan.csv", b"", "is empty"),
        ("../plan.csv", b"Ref,Recommendation\n1,One.\n", "has a folder path in its name"),
        *[(h.name, h.data, h.says) for h in csvs()],
    ],
    ids=lambda v: v if isinstance(v, str) and len(v) < 40 else "",
)
def test_a_hostile_or_wrong_file_is_refused_in_words_and_nothing_is_kept(
    manager: TestClient, demo: Services, name: str, data: bytes, said: str
) -> None:
    before = row_counts(demo)
    status, text = _upload(manager, name, data, "application/octet-stream")
    assert status == 422
    assert "There is a problem" in text
    assert said in text.replace("&#39;", "'").replace("&quot;", '"')
    assert 'id="plan-error"' in text  # the inline error at the file input
    assert _staged(demo) == []
    assert row_counts(demo) == before


def test_no_file_chosen_says_so(manager: TestClient) -> None:
    form = manager.get("/admin/import")
    sent = manager.post("/admin/import", data={"csrf_token": csrf_of(form.text)})
    assert sent.status_code == 422
    assert "Choose the action plan to upload" in sent.text


def test_unread_columns_are_chosen_in_selects_and_then_imported(
    manager: TestClient, demo: Services
) -> None:
    plan = (
        b"Number,What we said,Who,When,Progress\n"
        b"1,Review supervision policy.,Essex Probation Service,30/06/2011,Completed\n"
    )
    _, where = _upload(manager, "quarterly.csv", plan, "text/csv")
    page = manager.get(where).text
    assert "There is a problem" in page
    assert "No Recommendation column among the headings" in page
    assert "Confirm import" not in page
    assert "(not read: choose its Recommendation column)" in page
    selects = dict(re.findall(r'name="(head-0-\d+)" value="([^"]+)"', page))
    assert list(selects.values()) == ["Number", "What we said", "Who", "When", "Progress"]
    chosen = {"Number": "ref", "What we said": "text", "Who": "agency", "When": "due",
              "Progress": "status"}  # fmt: skip
    form = {"csrf_token": csrf_of(page), "sheet-0": "quarterly", "row-0": "1"}
    for key, heading in selects.items():
        form[key] = heading
        form[key.replace("head-", "col-")] = chosen[heading]
    forged = {**form, "col-0-1": "password"}
    assert manager.post(where, data=forged).status_code == 404
    assert manager.post(where, data=form).status_code == 303
    again = manager.get(where).text
    assert "Read with the columns as set on this page." in again
    assert "quarterly, row 2" in again
    assert "Completed: panel signed off (imported, not verified)" in again
    assert _confirm(manager, where) == 303
    assert _items(demo, "quarterly") == 1
    with demo.db.engine.connect() as conn:
        [saved] = saved_mappings.all_saved(conn)
    assert saved.mapping["sheets"]["quarterly"]["columns"]["What we said"] == "text"


def test_a_plan_with_bad_rows_lists_every_problem_and_cannot_be_confirmed(
    manager: TestClient, demo: Services
) -> None:
    plan = (
        b"Ref,Recommendation,Lead agency,Target date,Priority\n"
        b"1,One.,Essex Probation Servce,30/06/2011,High\n"
        b"2,Two.,SEPT,soonish,Urgent\n"
    )
    _, where = _upload(manager, "bad.csv", plan, "text/csv")
    page = manager.get(where).text
    assert "3 problems in the plan" in page
    for cell in ("Essex Probation Servce", "soonish", "Urgent"):
        assert f">{cell}</td>" in page
    assert "Confirm import" not in page
    before = row_counts(demo)
    refused = manager.post(where + "/confirm", data={"csrf_token": csrf_of(page)})
    assert refused.status_code == 422
    assert "did you mean" in refused.text
    assert row_counts(demo) == before


def test_a_yaml_plan_imports_its_indicators(manager: TestClient, demo: Services) -> None:
    _, where = _upload(manager, ANNUAL.name, ANNUAL.read_bytes(), "application/yaml")
    page = manager.get(where).text
    assert "This plan would add 2 recommendations" in page
    assert "How the columns are read" not in page  # a YAML plan has no columns to choose
    assert _confirm(manager, where, save=False) == 303
    done = manager.get(where).text
    assert re.search(r"Performance indicators\s*</dt>\s*<dd[^>]*>\s*2\s*</dd>", done)
    assert "1 waiting for the date of “the Board&#39;s approval of this report”" in done


def test_the_pages_are_the_uploaders_and_the_managers_only(
    manager: TestClient, make_client: Callable[..., TestClient], demo: Services, clock: Clock
) -> None:
    _, where = _upload(manager, EXAMPLE.name, EXAMPLE.read_bytes())
    panel = make_client()
    sign_in(panel, demo, PANEL, clock)
    unknown = panel.get("/no-such-page").text
    for path in ("/admin/import", where, "/admin/anchors"):
        refused = panel.get(path)
        assert refused.status_code == 404
        assert refused.text == unknown
    with demo.db.write() as conn:  # a second business manager: not the uploader
        conn.execute(
            sa.insert(core.contact).values(
                agency_id="southend-lscb", name="Deputy BM", email=DEPUTY,
                role="business_manager", absent=False, failing=False,
            )
        )  # fmt: skip
    other = make_client()
    sign_in(other, demo, DEPUTY, clock)
    assert other.get(where).status_code == 404
    assert other.get("/admin/import").status_code == 200
    assert manager.get(where).status_code == 200


# --- dates of events -------------------------------------------------------------------------


def _imported(manager: TestClient) -> None:
    _, where = _upload(manager, EXAMPLE.name, EXAMPLE.read_bytes())
    assert _confirm(manager, where) == 303


def _anchor_form(page: str) -> tuple[str, str]:
    found = re.search(r'action="(/admin/anchors/\d+)"', page)
    assert found is not None
    return found.group(1), csrf_of(page)


@pytest.mark.parametrize(
    ("typed", "said"),
    [
        (("", "", ""), "Enter the date the event happened"),
        (("31", "", "2011"), "The date must include a month"),
        (("31", "2", "2011"), "The date must be a real date"),
        (("1", "1", "1985"), "The date is outside 1990-2100"),
    ],
)
def test_a_bad_event_date_is_shown_again_with_the_error_and_nothing_changes(
    manager: TestClient, demo: Services, typed: tuple[str, str, str], said: str
) -> None:
    _imported(manager)
    page = manager.get("/admin/anchors").text
    assert "Publication of this Review" in page
    action, token = _anchor_form(page)
    prefix = "date-" + action.rsplit("/", 1)[1]
    before = row_counts(demo)
    day, month, year = typed
    shown = manager.post(
        action,
        data={"csrf_token": token, f"{prefix}-day": day, f"{prefix}-month": month,
              f"{prefix}-year": year},
    )  # fmt: skip
    assert shown.status_code == 422
    assert "There is a problem" in shown.text
    assert f'id="{prefix}-error"' in shown.text
    assert said in shown.text
    assert f'name="{prefix}-year" type="text" value="{year}"' in shown.text or year == ""
    assert row_counts(demo) == before


def test_giving_the_event_date_makes_the_item_due(manager: TestClient, demo: Services) -> None:
    _imported(manager)
    item = manager.get(f"/items/{REVIEW}/5").text
    assert "6 months after publication of this Review (its date is not given yet)" in item
    assert 'href="/admin/anchors">Give the date</a>' in item
    page = manager.get("/admin/anchors").text
    action, token = _anchor_form(page)
    prefix = "date-" + action.rsplit("/", 1)[1]
    done = manager.post(
        action,
        data={"csrf_token": token, f"{prefix}-day": "31", f"{prefix}-month": "1",
              f"{prefix}-year": "2011"},
    )  # fmt: skip
    assert done.status_code == 303
    listed = manager.get(done.headers["location"]).text
    assert "The date is given" in listed
    assert "31 January 2011, given by " + BM in listed
    item = manager.get(f"/items/{REVIEW}/5").text
    assert "31 July 2011" in item
    assert "Give the date" not in item
    assert "Due date set to 31 July 2011" in item


def test_the_selects_offer_every_field_a_column_can_be_read_as() -> None:
    assert set(FIELDS) == set(get_args(SheetField))


def test_the_administration_page_links_the_import_and_the_dates(manager: TestClient) -> None:
    page = manager.get("/admin").text
    assert 'href="/admin/import"' in page
    assert 'href="/admin/anchors"' in page
