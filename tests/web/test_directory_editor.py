"""/admin/directory over real HTTP (issue 11): agencies, ladders, contacts, conflicts and
auditors edited; each refusal is the error summary and an inline error with what was typed
kept and nothing changed; a file imported after a dry run that lists every change; the
directory exported; nobody but the business manager sees any of it."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Callable
from html import unescape

import openpyxl
import pytest
from fastapi.testclient import TestClient

from engine import directory
from engine.services import Services
from tests.conftest import BM, PANEL, PANEL_CHAIR, make_item
from tests.web.conftest import Clock, csrf_of, row_counts, sign_in

CHAIR = "chair@southend-lscb.example.org"
SEPT = "/admin/directory/agencies/sept"
SEPT_LEAD = "named.nurse@sept.example.org"
SEPT_DIRECTOR = "director.nursing@sept.example.org"
SEPT_CHIEF = "chief.executive@sept.example.org"


@pytest.fixture
def manager(demo: Services, clock: Clock, make_client: Callable[..., TestClient]) -> TestClient:
    client = make_client(post_limit="1000/minute")
    sign_in(client, demo, BM, clock)
    return client


def snapshot(services: Services) -> directory.Snapshot:
    with services.db.engine.connect() as conn:
        return directory.read(conn)


def post(client: TestClient, page: str, target: str, **form: str | list[str]) -> object:
    shown = client.get(page)
    assert shown.status_code == 200, shown.text
    return client.post(target, data={"csrf_token": csrf_of(shown.text), **form})


def contact_id(services: Services, agency: str, email: str) -> int:
    found = snapshot(services)[agency].person(email)
    assert found is not None
    assert found.id is not None
    return found.id


def summary(html: str) -> list[str]:
    """The error summary's messages, as shown."""
    block = html.split('govuk-error-summary__list">', 1)[1].split("</ul>", 1)[0]
    found = re.findall(r"<li>(.*?)</li>", block, re.S)
    return [unescape(re.sub(r"<[^>]+>", "", m)).strip() for m in found]


def inline(html: str, field: str) -> str:
    found = re.search(rf'id="{field}-error"[^>]*>(.*?)</p>', html, re.S)
    assert found is not None, f"no inline error at {field}"
    return unescape(re.sub(r"<[^>]+>", "", found.group(1))).replace("Error:", "").strip()


@pytest.mark.parametrize("who", [PANEL, SEPT_LEAD, "internal.audit@nhs-see.example.org"])
def test_nobody_but_the_business_manager_sees_the_editor(
    demo: Services, clock: Clock, make_client: Callable[..., TestClient], who: str
) -> None:
    client = make_client()
    sign_in(client, demo, who, clock)
    missing = client.get("/admin/no-such-page")
    for path in ("/admin/directory", SEPT, f"{SEPT}/new-contact", "/admin/directory/import",
                 "/admin/directory/export/csv"):  # fmt: skip
        response = client.get(path)
        assert response.status_code == 404, path
        assert response.text == missing.text, path


def test_the_directory_lists_agencies_with_their_contacts_and_ladder(manager: TestClient) -> None:
    page = manager.get("/admin/directory")
    assert page.status_code == 200
    assert f'href="{SEPT}"' in page.text
    assert "Escalation ladder: lead officer, then safeguarding lead, then senior contact." in (
        page.text
    )
    assert SEPT_LEAD in page.text
    for fmt in ("yaml", "csv", "xlsx"):
        assert f'href="/admin/directory/export/{fmt}"' in page.text


def test_an_agency_is_added_and_renamed(demo: Services, manager: TestClient) -> None:
    done = post(manager, "/admin/directory/new-agency", "/admin/directory/new-agency",
                id="essex-police", name="Essex Police")  # fmt: skip
    assert done.status_code == 303  # type: ignore[attr-defined]
    assert done.headers["location"] == "/admin/directory/agencies/essex-police?done=agency"  # type: ignore[attr-defined]
    page = "/admin/directory/agencies/essex-police"
    renamed = post(manager, page, page + "/name", name="Essex Police Force")
    assert renamed.status_code == 303  # type: ignore[attr-defined]
    assert snapshot(demo)["essex-police"].name == "Essex Police Force"
    assert "Name saved" in manager.get(page + "?done=name").text


def test_a_bad_new_agency_is_refused_with_what_was_typed(
    demo: Services, manager: TestClient
) -> None:
    before = row_counts(demo)
    refused = post(manager, "/admin/directory/new-agency", "/admin/directory/new-agency",
                   id="Essex Police", name="Essex Police")  # fmt: skip
    assert refused.status_code == 422  # type: ignore[attr-defined]
    text = refused.text  # type: ignore[attr-defined]
    assert summary(text) == [
        "'Essex Police' cannot be an agency id: use lower-case letters, digits and '-' (for "
        "example 'essex-police'), at most 100 characters"
    ]
    assert "cannot be an agency id" in inline(text, "id")
    assert 'value="Essex Police"' in text
    assert row_counts(demo) == before


def test_the_ladder_moves_by_buttons(demo: Services, manager: TestClient) -> None:
    up = post(manager, SEPT, f"{SEPT}/ladder", action="up", rung="2", role="senior_contact")
    assert up.status_code == 303  # type: ignore[attr-defined]
    assert snapshot(demo)["sept"].ladder == ("lead_officer", "senior_contact", "safeguarding_lead")
    post(manager, SEPT, f"{SEPT}/ladder", action="down", rung="0", role="lead_officer")
    post(manager, SEPT, f"{SEPT}/ladder", action="remove", rung="2", role="safeguarding_lead")
    post(manager, SEPT, f"{SEPT}/ladder", action="add", role="internal_auditor")
    assert snapshot(demo)["sept"].ladder == ("senior_contact", "lead_officer", "internal_auditor")
    page = manager.get(SEPT).text
    assert 'Move up<span class="govuk-visually-hidden"> internal auditor</span>' in page
    log = manager.get("/admin/log?kind=directory").text
    assert log.count("Escalation ladder changed") == 4 + 8  # these, and the demo's import


def test_a_stale_rung_button_changes_nothing(demo: Services, manager: TestClient) -> None:
    before = row_counts(demo)
    stale = post(manager, SEPT, f"{SEPT}/ladder", action="up", rung="1", role="senior_contact")
    assert stale.status_code == 422  # type: ignore[attr-defined]
    text = stale.text  # type: ignore[attr-defined]
    assert "changed since this page was loaded" in inline(text, "ladder")
    assert summary(text)[0].startswith("The escalation ladder of South Essex Partnership")
    assert row_counts(demo) == before


def test_a_rung_no_contact_holds_is_refused_naming_the_agency_and_role(
    demo: Services, manager: TestClient
) -> None:
    refused = post(manager, SEPT, f"{SEPT}/ladder", action="add", role="chair")
    assert refused.status_code == 422  # type: ignore[attr-defined]
    message = inline(refused.text, "ladder")  # type: ignore[attr-defined]
    assert (
        "South Essex Partnership Foundation NHS Trust (SEPT) (sept): the escalation "
        "ladder names the role chair, which no contact of"
    ) in message
    assert snapshot(demo)["sept"].ladder == ("lead_officer", "safeguarding_lead", "senior_contact")


def test_a_contact_is_added_with_roles_and_a_dated_absence(
    demo: Services, manager: TestClient
) -> None:
    page = f"{SEPT}/new-contact"
    done = post(manager, page, page, name="Deputy Director",
                email="Deputy.Director@sept.example.org",
                roles=["safeguarding_lead", "senior_contact"], absent="yes",
                **{"absent_from-day": "1", "absent_from-month": "2", "absent_from-year": "2011",
                   "absent_until-day": "14", "absent_until-month": "2",
                   "absent_until-year": "2011"}, deputy=SEPT_DIRECTOR)  # fmt: skip
    assert done.status_code == 303, done.text  # type: ignore[attr-defined]
    person = snapshot(demo)["sept"].person("deputy.director@sept.example.org")
    assert person is not None
    assert person.roles == ("safeguarding_lead", "senior_contact")
    assert (str(person.absent_from), str(person.absent_until)) == ("2011-02-01", "2011-02-14")
    assert person.deputy == SEPT_DIRECTOR
    listed = manager.get(SEPT).text
    assert "Away from 1 February 2011 until 14 February 2011" in listed


@pytest.mark.parametrize(
    ("form", "field", "message"),
    [
        ({"email": SEPT_LEAD}, "email",
         "named.nurse@sept.example.org is already a contact of South Essex Partnership "
         "Foundation NHS Trust (SEPT) (sept); edit that contact instead"),
        ({"absent": "yes", "absent_from-day": "10", "absent_from-month": "2",
          "absent_from-year": "2011", "absent_until-day": "1", "absent_until-month": "2",
          "absent_until-year": "2011"}, "absent_until",
         "the last day away (1 February 2011) is before the first (10 February 2011)"),
        ({"deputy": "cover@elsewhere.example.org"}, "deputy",
         "the deputy cover@elsewhere.example.org is not a contact in the directory"),
        ({"roles": []}, "roles", "Choose at least one role"),
        ({"absent_from-day": "31", "absent_from-month": "2", "absent_from-year": "2011",
          "absent": "yes"}, "absent_from", "The first day away must be a real date"),
        ({"email": "not an address"}, "email", "'not an address' is not an email address"),
    ],
    ids=["duplicate-email", "dates-reversed", "deputy-not-a-contact", "no-role", "bad-date",
         "bad-email"],
)  # fmt: skip
def test_a_bad_contact_is_refused_at_its_field_with_what_was_typed(
    demo: Services, manager: TestClient, form: dict[str, object], field: str, message: str
) -> None:
    page = f"{SEPT}/new-contact"
    data: dict[str, object] = {"name": "New Person", "email": "new.person@sept.example.org",
                               "roles": ["lead_officer"], "absent": "no", **form}  # fmt: skip
    before = row_counts(demo)
    refused = post(manager, page, page, **data)  # type: ignore[arg-type]
    assert refused.status_code == 422  # type: ignore[attr-defined]
    text = refused.text  # type: ignore[attr-defined]
    assert message in inline(text, field)
    assert any(message in s for s in summary(text)), summary(text)
    assert 'value="New Person"' in text
    for key, value in form.items():
        if key.endswith(("-day", "-month", "-year")):
            [box] = re.findall(rf'<input[^>]*name="{key}"[^>]*>', text)
            assert f'value="{value}"' in box, box
    assert row_counts(demo) == before


def test_removing_the_only_holder_of_a_rung_names_the_ladder(
    demo: Services, manager: TestClient
) -> None:
    page = f"{SEPT}/contacts/{contact_id(demo, 'sept', SEPT_CHIEF)}"
    before = row_counts(demo)
    refused = post(manager, page, page + "/remove")
    assert refused.status_code == 422  # type: ignore[attr-defined]
    message = inline(refused.text, "roles")  # type: ignore[attr-defined]
    assert "Chief Executive is the only senior_contact of" in message
    ladder = "(lead_officer → safeguarding_lead → senior_contact)"
    assert f"a rung of its escalation ladder {ladder}" in message
    assert row_counts(demo) == before


def test_a_contact_is_changed_and_removed(demo: Services, manager: TestClient) -> None:
    page = f"{SEPT}/contacts/{contact_id(demo, 'sept', 'internal.audit@sept.example.org')}"
    assert 'value="Internal Audit Manager"' in manager.get(page).text
    changed = post(manager, page, page, name="Head of Internal Audit",
                   email="internal.audit@sept.example.org", roles=["internal_auditor"],
                   absent="no")  # fmt: skip
    assert changed.status_code == 303  # type: ignore[attr-defined]
    person = snapshot(demo)["sept"].person("internal.audit@sept.example.org")
    assert person is not None
    assert person.name == "Head of Internal Audit"
    removed = post(manager, page, page + "/remove")
    assert removed.status_code == 303  # type: ignore[attr-defined]
    assert snapshot(demo)["sept"].person("internal.audit@sept.example.org") is None
    assert manager.get(page).status_code == 404


def test_a_conflict_of_interest_with_an_alternate_and_an_assigned_auditor(
    demo: Services, manager: TestClient
) -> None:
    done = post(manager, SEPT, f"{SEPT}/conflicts", action="add", contact=CHAIR,
                alternate=PANEL_CHAIR)  # fmt: skip
    assert done.status_code == 303  # type: ignore[attr-defined]
    [conflict] = snapshot(demo)["sept"].conflicts
    assert (conflict.email, conflict.alternate) == (CHAIR, PANEL_CHAIR)
    page = manager.get(SEPT).text
    assert "LSCB Chair (chair@southend-lscb.example.org)" in page
    assert "Case Review Panel Chair (panel.chair@southend-lscb.example.org)" in page
    again = post(manager, SEPT, f"{SEPT}/conflicts", action="add", contact=PANEL_CHAIR,
                 alternate=CHAIR)  # fmt: skip
    assert again.status_code == 422  # type: ignore[attr-defined]
    assert "has a conflict of interest about" in inline(again.text, "conflict-alternate")  # type: ignore[attr-defined]
    removed = post(manager, SEPT, f"{SEPT}/conflicts", action="remove", contact=CHAIR)
    assert removed.status_code == 303  # type: ignore[attr-defined]
    assert snapshot(demo)["sept"].conflicts == ()
    auditor = "internal.audit@nhs-see.example.org"
    assigned = post(manager, SEPT, f"{SEPT}/auditors", action="add", auditor=auditor)
    assert assigned.status_code == 303  # type: ignore[attr-defined]
    assert snapshot(demo)["sept"].auditors == (auditor,)
    wrong = post(manager, SEPT, f"{SEPT}/auditors", action="add", auditor=CHAIR)
    assert wrong.status_code == 422  # type: ignore[attr-defined]
    assert "only a contact with the role internal_auditor" in inline(wrong.text, "auditor")  # type: ignore[attr-defined]


def test_an_agency_with_items_is_not_removed(demo: Services, manager: TestClient) -> None:
    page = "/admin/directory/agencies/southend-lscb"
    refused = post(manager, page, page + "/remove")
    assert refused.status_code == 422  # type: ignore[attr-defined]
    assert "cannot be removed: 9 items belong to it" in inline(refused.text, "remove-agency")  # type: ignore[attr-defined]


def test_a_form_without_its_token_changes_nothing_and_keeps_what_was_typed(
    demo: Services, manager: TestClient
) -> None:
    before = row_counts(demo)
    refused = manager.post(f"{SEPT}/new-contact", data={"name": "Typed Name", "roles": "x"})
    assert refused.status_code == 400
    assert "open too long" in refused.text
    assert row_counts(demo) == before


def export(client: TestClient, fmt: str) -> bytes:
    response = client.get(f"/admin/directory/export/{fmt}")
    assert response.status_code == 200
    assert response.headers["content-disposition"].startswith(
        'attachment; filename="signoff-directory-2011-01-10.'
    )
    return response.content


def test_the_export_is_a_file_with_formulas_neutralised(
    demo: Services, manager: TestClient
) -> None:
    page = f"{SEPT}/contacts/{contact_id(demo, 'sept', SEPT_LEAD)}"
    post(manager, page, page, name="=1+1", email=SEPT_LEAD, roles=["lead_officer"], absent="no")
    text = export(manager, "csv").decode("utf-8-sig")
    assert "'=1+1" in [r[3] for r in csv.reader(io.StringIO(text)) if len(r) > 3]
    book = openpyxl.load_workbook(io.BytesIO(export(manager, "xlsx")))
    assert book.active is not None
    assert "'=1+1" in [c.value for row in book.active.iter_rows() for c in row]
    assert "name: =1+1\n" in export(manager, "yaml").decode()  # YAML holds no formulas
    assert manager.get("/admin/directory/export/pdf").status_code == 404


def upload(client: TestClient, name: str, content: bytes) -> object:
    page = client.get("/admin/directory/import")
    return client.post(
        "/admin/directory/import",
        data={"csrf_token": csrf_of(page.text)},
        files=[("file", (name, content, "application/octet-stream"))],
    )


def test_an_import_lists_every_change_then_is_confirmed(
    demo: Services, manager: TestClient
) -> None:
    text = export(manager, "csv").decode("utf-8-sig")
    text += f"sept,conflict,,,{CHAIR},,,,,,{PANEL_CHAIR}\r\n"
    before = row_counts(demo)
    checked = upload(manager, "directory.csv", text.encode())
    assert checked.status_code == 200  # type: ignore[attr-defined]
    page = checked.text  # type: ignore[attr-defined]
    assert "1 change</h2>" in page
    assert (
        "conflict of interest added: chair@southend-lscb.example.org receives no escalations"
        in page
    )
    assert row_counts(demo) == before
    carried = dict(re.findall(r'name="(filename|content|fingerprint)" value="([^"]*)"', page))
    done = manager.post("/admin/directory/import/confirm",
                        data={"csrf_token": csrf_of(page), **carried})  # fmt: skip
    assert done.status_code == 303
    assert done.headers["location"] == "/admin/directory?done=imported&changes=1"
    [conflict] = snapshot(demo)["sept"].conflicts
    assert conflict.alternate == PANEL_CHAIR
    # the same confirmation again: the directory changed since its dry run
    stale = manager.post("/admin/directory/import/confirm",
                         data={"csrf_token": csrf_of(page), **carried})  # fmt: skip
    assert stale.status_code == 422
    assert "changed since this file was checked" in stale.text


def test_a_bad_import_names_the_row_and_changes_nothing(
    demo: Services, manager: TestClient
) -> None:
    text = export(manager, "csv").decode("utf-8-sig")
    text += "sept,contact,,New,new@sept.example.org,lead_officer,maybe,,,,\r\n"
    row = len(text.splitlines())
    before = row_counts(demo)
    refused = upload(manager, "directory.csv", text.encode())
    assert refused.status_code == 422  # type: ignore[attr-defined]
    said = summary(refused.text)  # type: ignore[attr-defined]
    assert said == [f"directory.csv: row {row}, column 'Absent': 'maybe': write yes or no"]
    assert row_counts(demo) == before
    word = upload(manager, "minutes.docx", b"PK\x03\x04")
    assert word.status_code == 422  # type: ignore[attr-defined]
    assert "is not a directory file" in word.text  # type: ignore[attr-defined]
    token = csrf_of(manager.get("/admin/directory/import").text)
    nothing = manager.post("/admin/directory/import", data={"csrf_token": token})
    assert nothing.status_code == 422
    assert "Choose a file to import" in nothing.text


def test_the_read_only_directory_shows_conflicts_and_assigned_auditors(
    demo: Services, manager: TestClient, clock: Clock, make_client: Callable[..., TestClient]
) -> None:
    post(manager, SEPT, f"{SEPT}/conflicts", action="add", contact=CHAIR, alternate=PANEL_CHAIR)
    post(manager, SEPT, f"{SEPT}/auditors", action="add",
         auditor="internal.audit@nhs-see.example.org")  # fmt: skip
    panel = make_client()
    sign_in(panel, demo, PANEL, clock)
    page = panel.get("/directory").text
    assert "LSCB Chair receives no escalations about it; Case Review Panel Chair does instead." in (
        page
    )
    assert "Audited by Internal Audit Manager (internal.audit@nhs-see.example.org)." in page
    assert "/admin/directory" not in page  # no link the panel cannot follow
    assert 'href="/admin/directory"' in manager.get("/directory").text


def test_a_conflicted_chair_s_escalation_goes_to_the_alternate_on_the_outbox_forecast(
    demo: Services, manager: TestClient
) -> None:
    """Issue 11, done when: the chair marked conflicted for one agency, with an alternate,
    and that agency's next escalation goes to the alternate in the forecast."""
    make_item(demo, ref="S1", due=dt.date(2010, 12, 10), agency="sept")  # chair: 21 January
    make_item(demo, ref="N1", due=dt.date(2010, 12, 10), agency="nhs-south-east-essex")

    def escalations(html: str) -> dict[str, str]:
        rows = re.findall(r"<tr class=\"govuk-table__row\">(.*?)</tr>", html, re.S)
        out = {}
        for row in rows:
            cells = [unescape(re.sub(r"<[^>]+>", "", c)).strip()
                     for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]  # fmt: skip
            if cells and cells[1].startswith("Escalation (step 3)"):
                out[cells[3]] = cells[4]
        return out

    before = escalations(manager.get("/outbox/forecast").text)
    assert before == {"sept": CHAIR, "nhs-south-east-essex": CHAIR}
    post(manager, SEPT, f"{SEPT}/conflicts", action="add", contact=CHAIR, alternate=PANEL_CHAIR)
    after = escalations(manager.get("/outbox/forecast").text)
    assert after == {"sept": PANEL_CHAIR, "nhs-south-east-essex": CHAIR}
