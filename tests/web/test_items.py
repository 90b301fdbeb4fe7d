"""The item list and the item page over HTTP, as each kind of person (issue 10)."""

from __future__ import annotations

import datetime as dt
import html
import re
from collections.abc import Callable

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from engine.services import Services
from tests.conftest import BM, PANEL, R1, REVIEW, challenge_r1, submit_r1
from tests.web.conftest import NHS, PDF, SEPT, Clock, ask, csrf_of, row_counts, sign_in

Client = Callable[..., TestClient]


def signed_in(make_client: Client, demo: Services, clock: Clock, email: str) -> TestClient:
    client = make_client()
    sign_in(client, demo, email, clock)
    return client


def test_item_page_shows_the_recommendation_history_in_words_and_the_evidence(
    demo: Services, clock: Clock, make_client: Client
) -> None:
    submit_r1(demo, "Supervision policy revised")
    challenge_r1(demo, "minutes predate the review")
    client = signed_in(make_client, demo, clock, PANEL)
    page = client.get(f"/items/{R1}")
    assert page.status_code == 200, page.text
    text = page.text
    assert "Recommendation R1" in text
    assert "Supervision policy revised" in text  # the statement, in full
    assert re.search(
        r"Case review panel \(Case Review Panel Member\) "
        r"challenged the evidence on 10 January 2011",
        text,
    ), text
    assert "minutes predate the review" in text
    assert "challenge</" not in text  # no trigger names
    assert "Emails about this item" in text


def test_foreign_and_unknown_items_are_the_same_404(
    demo: Services, clock: Clock, make_client: Client
) -> None:
    ask(demo, "T1", "sept")
    ask(demo, "T2", "nhs-south-east-essex")
    client = signed_in(make_client, demo, clock, SEPT)
    assert client.get(f"/items/{REVIEW}/T1@sept").status_code == 200
    assert client.get(f"/items/{REVIEW}/T1").status_code == 200
    foreign = client.get(f"/items/{REVIEW}/T2")
    foreign_at = client.get(f"/items/{REVIEW}/T2@nhs-south-east-essex")
    unknown = client.get(f"/items/{REVIEW}/T999")
    wrong_agency = client.get(f"/items/{REVIEW}/T1@nhs-south-east-essex")
    assert {r.status_code for r in (foreign, foreign_at, unknown, wrong_agency)} == {404}
    assert foreign.text == unknown.text == foreign_at.text == wrong_agency.text


def test_an_agency_lists_only_its_own_items(
    demo: Services, clock: Clock, make_client: Client
) -> None:
    ask(demo, "T1", "sept")
    ask(demo, "T2", "nhs-south-east-essex")
    sept = signed_in(make_client, demo, clock, SEPT)
    listed = sept.get("/items?q=test+item")
    assert listed.status_code == 200, listed.text
    assert "/T1@sept" in listed.text
    assert "T2" not in listed.text
    # naming another agency in the filter is refused, not answered
    other = sept.get("/items?agency=nhs-south-east-essex")
    assert other.status_code == 400
    assert "There is a problem" in other.text
    staff = signed_in(make_client, demo, clock, BM)
    both = staff.get("/items?q=test+item")
    assert "/T1@sept" in both.text
    assert "/T2@nhs-south-east-essex" in both.text


@pytest.mark.parametrize(
    "query",
    [
        "rag=purple", "page=0", "page=-1", "page=abc", "due_within=x", "due_within=99999",
        "sort=%27;drop", "overdue=maybe", "priority=Z", "state=nope", "theme=%00",
        "q=" + "x" * 201, "review=" + "r" * 300, "page=99999999999", "q=a%00b", "q=a%0Db",
    ],
)  # fmt: skip
def test_bad_filters_give_the_error_summary_not_a_500(
    query: str, demo: Services, clock: Clock, make_client: Client
) -> None:
    client = signed_in(make_client, demo, clock, BM)
    page = client.get(f"/items?{query}")
    assert page.status_code == 400, page.text
    assert "There is a problem" in page.text
    if "%0" not in query:  # a control character is refused before the page (web.middleware)
        assert 'class="govuk-error-message"' in page.text


def test_filters_narrow_sort_and_paginate(
    demo: Services, clock: Clock, make_client: Client
) -> None:
    ask(demo, "T1", "sept")
    client = signed_in(make_client, demo, clock, BM)
    everything = client.get("/items")
    assert everything.status_code == 200
    total = int(re.search(r"(\d+) items?", everything.text).group(1))  # type: ignore[union-attr]
    assert total > 1
    one_page = client.get("/items?page=1&sort=ref&agency=sept")
    assert one_page.status_code == 200
    assert "/T1@sept" in one_page.text
    assert "nhs-south-east-essex" not in one_page.text.split("<table", 1)[1]
    high = client.get("/items?priority=H")
    assert high.status_code == 200
    overdue = client.get("/items?overdue=yes")
    assert overdue.status_code == 200
    far = client.get("/items?page=500")  # past the last page: the last page
    assert far.status_code == 200


def test_home_page_counts_what_needs_me(demo: Services, clock: Clock, make_client: Client) -> None:
    ask(demo, "T1", "sept")
    submit_r1(demo)
    panel = signed_in(make_client, demo, clock, PANEL)
    home = panel.get("/")
    assert home.status_code == 200
    assert "What needs you now" in home.text
    assert f"/items/{R1}@" in home.text  # R1 waits for the panel's decision
    sept = signed_in(make_client, demo, clock, SEPT)
    mine = sept.get("/")
    assert "1 request for evidence to you" in mine.text
    assert f"/items/{REVIEW}/T1@sept" in mine.text


def _decision(client: TestClient, item: str, trigger: str) -> tuple[str, dict[str, str]]:
    """Follow the item page's link to the decision page of ``trigger``; its address and the
    hidden fields of its form as loaded."""
    page = client.get(item).text
    link = re.search(r'href="([^"]*/decide/' + trigger + r'[^"]*)"', page)
    assert link, f"the item page offers no {trigger}"
    url = html.unescape(link.group(1))
    assert url.endswith(f"?back={item}")
    form = client.get(url)
    assert form.status_code == 200
    return url, _hidden(form.text)


def _hidden(page: str) -> dict[str, str]:
    found = {
        name: re.search(f'name="{name}" value="([^"]*)"', page)
        for name in ("version", "seq", "evidence")
    }
    assert all(found.values()), found
    return {"csrf_token": csrf_of(page)} | {k: m.group(1) for k, m in found.items() if m}


def test_an_agency_asks_for_more_time(demo: Services, clock: Clock, make_client: Client) -> None:
    asked = ask(demo, "T1", "sept")
    client = signed_in(make_client, demo, clock, SEPT)
    path = f"/items/{REVIEW}/T1@sept"
    assert "Ask for more time" in client.get(path).text
    url, base = _decision(client, path, "request_extension")
    before = row_counts(demo)
    # nothing typed: every field named, nothing changed
    empty = client.post(url, data=base)
    assert empty.status_code == 422
    assert "Enter the reasons for your decision" in empty.text
    assert "Enter the new due date" in empty.text
    # a date in the past, an impossible date: refused, what was typed kept
    base["csrf_token"] = csrf_of(empty.text)
    past = client.post(
        url,
        data={**base, "reason": "Staff off sick", "due_date-day": "1", "due_date-month": "1",
              "due_date-year": "2010"},
    )  # fmt: skip
    assert past.status_code == 422
    assert "must be in the future" in past.text
    assert "Staff off sick" in past.text
    base["csrf_token"] = csrf_of(past.text)
    bad = client.post(
        url,
        data={**base, "reason": "x", "due_date-day": "31", "due_date-month": "2",
              "due_date-year": "2011"},
    )  # fmt: skip
    assert "must be a real date" in bad.text
    assert row_counts(demo) == before
    base["csrf_token"] = csrf_of(bad.text)
    done = client.post(
        url,
        data={**base, "reason": "Staff off sick", "due_date-day": "1", "due_date-month": "6",
              "due_date-year": "2011"},
    )  # fmt: skip
    assert done.status_code == 303, done.text
    assert done.headers["location"] == f"{path}?done=request_extension"
    after = client.get(done.headers["location"])
    assert "You asked for more time." in after.text
    assert "1 June 2011 (waiting for the panel)" in after.text
    with demo.db.engine.connect() as conn:
        pending = conn.execute(
            sa.text("SELECT pending_due FROM item WHERE id = :i"), {"i": asked.item_id}
        ).scalar_one()
    assert str(pending) == "2011-06-01"


def test_a_stale_form_gives_the_conflict_page_and_changes_nothing(
    demo: Services, clock: Clock, make_client: Client
) -> None:
    ask(demo, "T1", "sept")
    client = signed_in(make_client, demo, clock, SEPT)
    path = f"/items/{REVIEW}/T1@sept"
    url, base = _decision(client, path, "request_extension")
    other = signed_in(make_client, demo, clock, "director.nursing@sept.example.org")
    sent_url, sent_form = _decision(other, path, "submit_evidence")
    sent = other.post(sent_url, data={**sent_form, "statement": "Policy revised"})
    assert sent.status_code == 303, sent.text
    before = row_counts(demo)
    stale = client.post(
        url,
        data={**base, "reason": "Staff off sick", "due_date-day": "1", "due_date-month": "6",
              "due_date-year": "2011"},
    )  # fmt: skip
    assert stale.status_code == 409
    assert "This item changed since you opened it" in stale.text
    assert "Staff off sick" in stale.text  # what was typed is kept
    assert row_counts(demo) == before


def test_evidence_from_the_item_page_answers_its_live_request(
    demo: Services, clock: Clock, make_client: Client
) -> None:
    """The agency's evidence goes through the decision page and answers the item's live
    request, with the reply page's file checks: the request is closed, a receipt queued."""
    asked = ask(demo, "T1", "sept")
    client = signed_in(make_client, demo, clock, SEPT)
    path = f"/items/{REVIEW}/T1@sept"
    url, base = _decision(client, path, "submit_evidence")
    before = row_counts(demo)
    refused = client.post(
        url,
        data={**base, "statement": "see file"},
        files=[("files", ("run.exe", b"MZ\x90\x00" + b"\x00" * 100, "application/octet-stream"))],
    )
    assert refused.status_code == 422
    assert "see file" in refused.text
    assert row_counts(demo) == before
    base["csrf_token"] = csrf_of(refused.text)
    empty = client.post(url, data=base)
    assert "Write a statement or choose at least one file" in empty.text
    base["csrf_token"] = csrf_of(empty.text)
    ok = client.post(
        url,
        data={**base, "statement": "see file"},
        files=[("files", ("minutes.pdf", PDF, "application/pdf"))],
    )  # fmt: skip
    assert ok.status_code == 303, ok.text
    page = client.get(path)
    assert "minutes.pdf" in page.text
    assert "SHA-256" in page.text
    with demo.db.engine.connect() as conn:
        state = conn.execute(
            sa.text("SELECT state FROM item WHERE id = :i"), {"i": asked.item_id}
        ).scalar_one()
        request = conn.execute(
            sa.text("SELECT status FROM evidence_request WHERE item_id = :i"),
            {"i": asked.item_id},
        ).scalar_one()
        receipts = conn.execute(
            sa.text("SELECT count(*) FROM outbox WHERE item_id = :i AND kind = 'receipt'"),
            {"i": asked.item_id},
        ).scalar_one()
    assert state == "evidence_submitted"
    assert request != "open"
    assert receipts == 1


def test_a_form_without_its_csrf_token_changes_nothing(
    demo: Services, clock: Clock, make_client: Client
) -> None:
    ask(demo, "T1", "sept")
    client = signed_in(make_client, demo, clock, SEPT)
    path = f"/items/{REVIEW}/T1@sept"
    url, base = _decision(client, path, "request_extension")
    before = row_counts(demo)
    forged = client.post(
        url,
        data={**base, "csrf_token": "forged", "reason": "x", "due_date-day": "1",
              "due_date-month": "6", "due_date-year": "2011"},
    )  # fmt: skip
    assert forged.status_code == 400
    assert "timed out" in forged.text
    assert row_counts(demo) == before
    for field, text in (("reason", "sick\x00"), ("reason", "sick\x1b[2J")):
        nul = client.post(
            url,
            data={**base, "csrf_token": csrf_of(forged.text), field: text,
                  "due_date-day": "1", "due_date-month": "6", "due_date-year": "2011"},
        )  # fmt: skip
        assert nul.status_code == 422, text
        assert "Reasons must only include" in nul.text
    assert row_counts(demo) == before


def test_an_action_the_person_may_not_take_is_refused_and_changes_nothing(
    demo: Services, clock: Clock, make_client: Client
) -> None:
    ask(demo, "T1", "sept")
    ask(demo, "T2", "nhs-south-east-essex")
    client = signed_in(make_client, demo, clock, SEPT)
    _url, base = _decision(client, f"/items/{REVIEW}/T1@sept", "request_extension")
    before = row_counts(demo)
    # the old item-page form addresses are gone: the plain 404
    assert client.post(f"/items/{REVIEW}/T1@sept/request_extension", data=base).status_code == 404
    assert client.post(f"/items/{REVIEW}/T1@sept/decide/nonsense", data=base).status_code == 404
    foreign = client.post(
        f"/items/{REVIEW}/T2@nhs-south-east-essex/decide/request_extension", data=base
    )
    assert foreign.status_code == 404
    typed = {"reason": "ok", "rag": "green", "meeting_date-day": "10",
             "meeting_date-month": "1", "meeting_date-year": "2011"}  # fmt: skip
    sign_off = client.post(f"/items/{REVIEW}/T1@sept/decide/sign_off", data={**base, **typed})
    assert sign_off.status_code in (403, 409), sign_off.status_code  # told why
    assert row_counts(demo) == before
    nhs = signed_in(make_client, demo, clock, NHS)
    assert nhs.get(f"/items/{REVIEW}/T2").status_code == 200
    _ = dt


@pytest.mark.parametrize(
    "path",
    [
        f"/items/{REVIEW}/T1@@sept", f"/items/{REVIEW}/T1@sept@sept", f"/items/{REVIEW}/T1%00",
        f"/items/{REVIEW}/T1@", f"/items/{REVIEW}/" + "x" * 5000,
        "/items/%27%20OR%201=1--/T1", f"/items/{REVIEW}/T1@%25", f"/items/{REVIEW}/%25",
        f"/items/{REVIEW}/T_", "/items/%25/T1",
    ],
)  # fmt: skip
def test_hostile_item_addresses_are_the_plain_404(
    path: str, demo: Services, clock: Clock, make_client: Client
) -> None:
    ask(demo, "T1", "sept")
    client = signed_in(make_client, demo, clock, SEPT)
    unknown = client.get(f"/items/{REVIEW}/T999")
    response = client.get(path)
    assert response.status_code == 404
    assert response.text == unknown.text


def test_what_people_typed_is_escaped_and_the_done_banner_says_only_known_words(
    demo: Services, clock: Clock, make_client: Client
) -> None:
    submit_r1(demo, "<script>alert(1)</script> done")
    challenge_r1(demo, "<img src=x onerror=alert(2)>")
    client = signed_in(make_client, demo, clock, PANEL)
    page = client.get(f"/items/{R1}?done=%3Cscript%3Ealert(3)%3C/script%3E")
    assert page.status_code == 200
    assert "<script>alert(1)" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt; done" in page.text
    assert "<img src=x" not in page.text
    assert "alert(3)" not in page.text
    assert "govuk-notification-banner" not in page.text


def test_a_board_viewer_reads_but_may_not_download_or_act(
    demo: Services, clock: Clock, make_client: Client
) -> None:
    asked = ask(demo, "T1", "sept")
    viewer = "board.member@southend-lscb.example.org"
    with demo.db.write() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO contact (agency_id, name, email, role, absent, failing) "
                "VALUES ('southend-lscb', 'Board member', :e, 'board_member', false, false)"
            ),
            {"e": viewer},
        )
    lead = make_client()
    from tests.web.conftest import evidence_file

    evidence_file(lead, demo, asked)
    client = signed_in(make_client, demo, clock, viewer)
    page = client.get(f"/items/{REVIEW}/T1")
    assert page.status_code == 200
    assert "Ward" in page.text  # the file is listed
    assert 'href="/evidence/' not in page.text  # but not offered for download
    assert "There is nothing for you to do on this item now." in page.text
    assert "/decide/" not in page.text


def test_the_panel_is_offered_its_decisions_and_the_agency_none_of_them(
    demo: Services, clock: Clock, make_client: Client
) -> None:
    submit_r1(demo)
    panel = signed_in(make_client, demo, clock, PANEL).get(f"/items/{R1}").text
    for label in ("Sign off", "Challenge the evidence", "Set Red/Amber/Green"):
        assert re.search(r">\s*" + re.escape(label) + r"<span", panel), label
    assert "/decide/sign_off" in panel
    assert "Ask for more time" not in panel  # not from evidence_submitted
    manager = signed_in(make_client, demo, clock, BM).get(f"/items/{R1}").text
    assert "/sign_off" not in manager  # they submitted the evidence: separation of duties


def test_the_panel_signs_off_from_the_item_page(
    demo: Services, clock: Clock, make_client: Client
) -> None:
    submit_r1(demo)
    client = signed_in(make_client, demo, clock, PANEL)
    item = f"/items/{R1}@southend-lscb"
    url, form = _decision(client, item, "sign_off")
    missing = client.post(url, data=form)
    assert missing.status_code == 422
    for message in ("Enter the reasons for your decision", "Enter the date of the meeting",
                    "Select red, amber or green"):  # fmt: skip
        assert message in missing.text
    form["csrf_token"] = csrf_of(missing.text)
    done = client.post(
        url,
        data={**form, "reason": "Minutes seen", "rag": "green", "meeting_date-day": "10",
              "meeting_date-month": "1", "meeting_date-year": "2011"},
    )  # fmt: skip
    assert done.status_code == 303, done.text
    after = client.get(done.headers["location"]).text
    assert "You signed off." in after
    assert re.search(r"signed off on 10 January 2011 \(RAG green; panel meeting 10 January", after)


def test_more_time_must_be_later_than_the_current_due_date(
    demo: Services, clock: Clock, make_client: Client
) -> None:
    ask(demo, "T1", "sept")  # due 4 March 2011
    client = signed_in(make_client, demo, clock, SEPT)
    url, base = _decision(client, f"/items/{REVIEW}/T1@sept", "request_extension")
    before = row_counts(demo)
    sooner = client.post(
        url,
        data={**base, "reason": "x", "due_date-day": "1", "due_date-month": "2",
              "due_date-year": "2011"},
    )  # fmt: skip
    assert sooner.status_code == 422
    assert "must be later than the current due date, 4 March 2011" in sooner.text
    assert row_counts(demo) == before
