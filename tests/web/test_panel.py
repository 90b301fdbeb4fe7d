"""The panel's and internal audit's pages: queues, decisions, conflicts, refusals (issue 10)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable

import sqlalchemy as sa
from fastapi.testclient import TestClient

from engine.services import Services
from tests.conftest import AUDITOR, PANEL, PANEL_CHAIR, REVIEW
from tests.web.conftest import (
    PDF,
    Asked,
    Clock,
    ask,
    csrf_of,
    evidence_file,
    item_state,
    row_counts,
    sign_in,
)

NHS = "nhs-south-east-essex"
OTHER = "named.nurse@sept.example.org"


def decide_url(ref: str, agency: str, trigger: str) -> str:
    return f"/items/{REVIEW}/{ref}@{agency}/decide/{trigger}"


def hidden(html: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert found is not None, name
    return found.group(1)


def form_of(html: str, **values: str) -> dict[str, str]:
    """The hidden fields of the decision form on ``html``, with ``values`` typed in."""
    return {
        "csrf_token": csrf_of(html),
        "version": hidden(html, "version"),
        "seq": hidden(html, "seq"),
        "evidence": hidden(html, "evidence"),
        **values,
    }


MEETING = {"meeting_date-day": "10", "meeting_date-month": "1", "meeting_date-year": "2011"}


def submitted(
    demo: Services, make_client: Callable[..., TestClient], ref: str, agency: str
) -> Asked:
    asked = ask(demo, ref, agency)
    evidence_file(make_client(), demo, asked)
    return asked


def panel_client(
    make_client: Callable[..., TestClient], demo: Services, clock: Clock, who: str = PANEL
) -> TestClient:
    client = make_client()
    sign_in(client, demo, who, clock)
    return client


def test_the_panel_queue_lists_submitted_items_with_the_workflows_actions(
    demo: Services, clock: Clock, make_client: Callable[..., TestClient]
) -> None:
    submitted(demo, make_client, "T1", "sept")
    client = panel_client(make_client, demo, clock)
    page = client.get("/panel")
    assert page.status_code == 200, page.text
    assert "T1" in page.text
    assert decide_url("T1", "sept", "challenge") + "?back=/panel" in page.text
    assert decide_url("T1", "sept", "sign_off") + "?back=/panel" in page.text
    assert "set_rag" not in page.text  # annotating is not waiting


def test_challenge_moves_the_item_and_asks_the_agency(
    demo: Services, clock: Clock, make_client: Callable[..., TestClient]
) -> None:
    asked = submitted(demo, make_client, "T1", "sept")
    client = panel_client(make_client, demo, clock)
    url = decide_url("T1", "sept", "challenge")
    page = client.get(url)
    assert page.status_code == 200, page.text
    done = client.post(url, data=form_of(page.text, reason="Minutes predate the review", **MEETING))
    assert done.status_code == 303, done.text
    assert done.headers["location"].startswith("/panel?done=")
    assert item_state(demo, asked.item_id)[0] == "challenged"
    with demo.db.engine.connect() as conn:
        kinds = (
            conn.execute(
                sa.text("SELECT kind FROM outbox WHERE item_id = :i ORDER BY id"),
                {"i": asked.item_id},
            )
            .scalars()
            .all()
        )
    assert "request" in kinds[-2:]  # the agency is asked again
    banner = client.get(done.headers["location"])
    assert "Challenge the evidence: recorded for" in banner.text


def events_of(demo: Services, item_id: int) -> list[str]:
    with demo.db.engine.connect() as conn:
        return list(
            conn.execute(
                sa.text("SELECT trigger FROM event WHERE item_id = :i ORDER BY seq"),
                {"i": item_id},
            ).scalars()
        )


def test_nothing_typed_gives_the_error_summary_and_changes_nothing(
    demo: Services, clock: Clock, make_client: Callable[..., TestClient]
) -> None:
    asked = submitted(demo, make_client, "T1", "sept")
    client = panel_client(make_client, demo, clock)
    url = decide_url("T1", "sept", "sign_off")
    page = client.get(url)
    before = row_counts(demo)
    refused = client.post(url, data=form_of(page.text))
    assert refused.status_code == 422
    assert "There is a problem" in refused.text
    assert refused.text.count('class="govuk-error-message"') == 3
    for anchor in ("#meeting_date-day", "#rag", "#reason"):
        assert f'href="{anchor}"' in refused.text
    assert row_counts(demo) == before
    assert item_state(demo, asked.item_id)[0] == "evidence_submitted"


def test_what_was_typed_is_kept_when_a_date_is_wrong(
    demo: Services, clock: Clock, make_client: Callable[..., TestClient]
) -> None:
    submitted(demo, make_client, "T1", "sept")
    client = panel_client(make_client, demo, clock)
    url = decide_url("T1", "sept", "sign_off")
    page = client.get(url)
    before = row_counts(demo)
    hostile = "<script>alert(1)</script> minutes seen"
    bad_dates = {
        "31 2 2011": "must be a real date",
        "10 1 2031": "must be today or in the past",
        "10  2011": "must include a month",
        "x 1 2011": "must be a real date",
        "1 1 0001": "must be a real date",
    }
    for typed, message in bad_dates.items():
        day, month, year = (typed.split(" ") + ["", "", ""])[:3]
        refused = client.post(
            url,
            data=form_of(
                page.text,
                reason=hostile,
                rag="amber",
                **{
                    "meeting_date-day": day,
                    "meeting_date-month": month,
                    "meeting_date-year": year,
                },
            ),  # fmt: skip
        )
        assert refused.status_code == 422, typed
        assert message in refused.text, typed
        assert "&lt;script&gt;alert(1)&lt;/script&gt; minutes seen" in refused.text
        assert "<script>alert(1)" not in refused.text
        assert 'value="amber" checked' in refused.text
        page = refused  # its form carries the new CSRF token
    refused = client.post(url, data=form_of(page.text, reason="x" * 5001, rag="mauve", **MEETING))
    assert "5000 characters or fewer" in refused.text
    assert "Select red, amber or green" in refused.text
    assert row_counts(demo) == before


def test_a_stale_form_is_refused_with_what_changed(
    demo: Services, clock: Clock, make_client: Callable[..., TestClient]
) -> None:
    """Two panel members open the same item; the second to decide is shown the first's."""
    asked = submitted(demo, make_client, "T1", "sept")
    first = panel_client(make_client, demo, clock, PANEL_CHAIR)
    second = panel_client(make_client, demo, clock, PANEL)
    url = decide_url("T1", "sept", "sign_off")
    first_page, second_page = first.get(url), second.get(url)
    done = first.post(
        url,
        data=form_of(first_page.text, reason="Audit report is convincing", rag="green", **MEETING),
    )
    assert done.status_code == 303
    before = row_counts(demo)
    late = second.post(
        url, data=form_of(second_page.text, reason="Looks fine to me", rag="amber", **MEETING)
    )
    assert late.status_code == 409
    assert "This item changed since you opened it" in late.text
    assert "Audit report is convincing" in late.text
    assert "Case review panel (Case Review Panel Chair) signed off on 10 January 2011" in late.text
    assert "Looks fine to me" in late.text  # what they typed is kept
    assert "cannot be given “sign off” now" in late.text  # and the item moved on
    assert row_counts(demo) == before
    assert events_of(demo, asked.item_id).count("sign_off") == 1


def test_new_evidence_since_the_page_was_loaded_refuses_the_decision(
    demo: Services, clock: Clock, make_client: Callable[..., TestClient]
) -> None:
    asked = ask(demo, "T1", "sept")
    client = panel_client(make_client, demo, clock)
    url = decide_url("T1", "sept", "set_rag")
    page = client.get(url)
    evidence_file(make_client(), demo, asked)  # the agency answers meanwhile
    before = row_counts(demo)
    late = client.post(url, data=form_of(page.text, reason="Nothing yet", rag="red"))
    assert late.status_code == 409
    assert "New evidence: 1 item" in late.text
    assert "(Named Nurse Safeguarding Children) submitted evidence on 10 January 2011" in late.text
    assert row_counts(demo) == before
    again = client.post(url, data=form_of(late.text, reason="Read it: not enough", rag="red"))
    assert again.status_code == 303  # decided again, on the evidence now shown


def test_a_tampered_or_missing_csrf_token_changes_nothing(
    demo: Services, clock: Clock, make_client: Callable[..., TestClient]
) -> None:
    submitted(demo, make_client, "T1", "sept")
    client = panel_client(make_client, demo, clock)
    url = decide_url("T1", "sept", "challenge")
    page = client.get(url)
    before = row_counts(demo)
    data = form_of(page.text, reason="thin", **MEETING)
    for token in ("", "forged", csrf_of(page.text)[:-2] + "xx"):
        refused = client.post(url, data={**data, "csrf_token": token})
        assert refused.status_code == 400
        assert "timed out" in refused.text
    for field, value in (("version", "x"), ("seq", ""), ("evidence", "1,a")):
        fresh = form_of(client.get(url).text, reason="thin", **MEETING)
        assert client.post(url, data={**fresh, field: value}).status_code == 404
    assert row_counts(demo) == before


def test_unknown_foreign_and_malformed_items_are_the_same_404(
    demo: Services, clock: Clock, make_client: Callable[..., TestClient]
) -> None:
    submitted(demo, make_client, "T1", "sept")
    auditor = panel_client(make_client, demo, clock, AUDITOR)  # NHS's internal auditor
    foreign = auditor.get(decide_url("T1", "sept", "sign_off"))
    unknown = auditor.get(decide_url("T9", "sept", "sign_off"))
    assert foreign.status_code == unknown.status_code == 404
    assert foreign.text == unknown.text
    panel = panel_client(make_client, demo, clock)
    for path in (
        decide_url("T1", "sept", "no_such_trigger"),
        decide_url("T1", "nowhere", "sign_off"),
        f"/items/{REVIEW}/T1%00/decide/sign_off",
        "/items/..%2F..%2Fetc/T1/decide/sign_off",
    ):
        assert panel.get(path).status_code == 404, path


def test_someone_without_the_workflow_role_is_told_who_may(
    demo: Services, clock: Clock, make_client: Callable[..., TestClient]
) -> None:
    submitted(demo, make_client, "T2", NHS)
    auditor = panel_client(make_client, demo, clock, AUDITOR)
    page = auditor.get(decide_url("T2", NHS, "sign_off"))
    assert page.status_code == 200
    assert "Only the Case review panel may sign off on this item." in page.text
    assert PANEL in page.text
    assert PANEL_CHAIR in page.text
    assert 'name="version"' not in page.text  # no form to send


def test_separation_of_duties_refusal_says_who_may_instead(
    demo: Services, clock: Clock, make_client: Callable[..., TestClient]
) -> None:
    """A panel member who also submitted the evidence (as the agency) cannot sign it off."""
    with demo.db.write() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO contact (agency_id, name, email, role, absent, failing) "
                "VALUES ('sept', 'Panel member at SEPT', :e, 'lead_officer', false, false)"
            ),
            {"e": PANEL},
        )
    asked = ask(demo, "T1", "sept")
    from engine.evidence import EvidenceInput
    from engine.fire import FireRequest, fire

    fire(demo, FireRequest(item=asked.item_id, trigger="submit_evidence", actor=PANEL,
                           now=clock.now, evidence=[EvidenceInput(statement="done")]))  # fmt: skip
    client = panel_client(make_client, demo, clock)
    url = decide_url("T1", "sept", "sign_off")
    page = client.get(url)
    assert "whoever submitted the evidence cannot sign it off (separation of duties)" in page.text
    assert PANEL_CHAIR in page.text
    assert f"{PANEL}&gt;" not in page.text.split("Who can do this instead")[1]
    before = row_counts(demo)
    with demo.db.engine.connect() as conn:
        version, seq = conn.execute(
            sa.text("SELECT version, seq FROM item WHERE id = :i"), {"i": asked.item_id}
        ).one()
        ids = ",".join(
            str(i)
            for i in conn.execute(
                sa.text("SELECT id FROM evidence WHERE item_id = :i ORDER BY id"),
                {"i": asked.item_id},
            ).scalars()
        )
    refused = client.post(
        url,
        data={"csrf_token": csrf_of(page.text), "version": str(version), "seq": str(seq),
              "evidence": ids, "reason": "fine", "rag": "green", **MEETING},
    )  # fmt: skip
    assert refused.status_code == 403
    assert "separation of duties" in refused.text
    assert PANEL_CHAIR in refused.text
    assert row_counts(demo) == before


def test_internal_audit_confirms_with_evidence_from_its_queue(
    demo: Services, clock: Clock, make_client: Callable[..., TestClient]
) -> None:
    asked = submitted(demo, make_client, "T2", NHS)
    panel = panel_client(make_client, demo, clock)
    url = decide_url("T2", NHS, "sign_off")
    signed = panel.post(url, data=form_of(panel.get(url).text, reason="ok", rag="green", **MEETING))
    assert signed.status_code == 303
    auditor = panel_client(make_client, demo, clock, AUDITOR)
    queue_page = auditor.get("/audit")
    confirm = decide_url("T2", NHS, "confirm_audit") + "?back=/audit"
    assert confirm in queue_page.text
    assert decide_url("T2", NHS, "audit_not_confirmed") in queue_page.text
    page = auditor.get(confirm)
    assert 'enctype="multipart/form-data"' in page.text
    empty = auditor.post(confirm, data=form_of(page.text))
    assert empty.status_code == 422
    assert "Write a statement or choose at least one file" in empty.text
    macro = auditor.post(
        confirm,
        data=form_of(empty.text, statement="Audit report attached"),
        files=[("files", ("report.exe", b"MZ\x90\x00" + b"\x00" * 64, "application/pdf"))],
    )
    assert macro.status_code == 422
    assert "Audit report attached" in macro.text
    assert item_state(demo, asked.item_id)[0] == "panel_signed_off"
    done = auditor.post(
        confirm,
        data=form_of(macro.text, statement="Audit report attached"),
        files=[("files", ("audit report.pdf", PDF, "application/pdf"))],
    )
    assert done.status_code == 303, done.text
    assert done.headers["location"].startswith("/audit?done=")
    assert item_state(demo, asked.item_id) == ("audit_confirmed", 3)


def test_audit_could_not_confirm_reopens_with_a_reason(
    demo: Services, clock: Clock, make_client: Callable[..., TestClient]
) -> None:
    asked = submitted(demo, make_client, "T2", NHS)
    panel = panel_client(make_client, demo, clock)
    url = decide_url("T2", NHS, "sign_off")
    panel.post(url, data=form_of(panel.get(url).text, reason="ok", rag="green", **MEETING))
    auditor = panel_client(make_client, demo, clock, AUDITOR)
    url = decide_url("T2", NHS, "audit_not_confirmed")
    page = auditor.get(url)
    empty = auditor.post(url, data=form_of(page.text))
    assert empty.status_code == 422
    done = auditor.post(url, data=form_of(empty.text, reason="Training records missing"))
    assert done.status_code == 303
    assert item_state(demo, asked.item_id)[0] == "challenged"


def test_a_re_audit_is_scheduled_and_recorded(
    demo: Services, clock: Clock, make_client: Callable[..., TestClient]
) -> None:
    asked = submitted(demo, make_client, "T2", NHS)
    panel = panel_client(make_client, demo, clock)
    url = decide_url("T2", NHS, "sign_off")
    panel.post(url, data=form_of(panel.get(url).text, reason="ok", rag="green", **MEETING))
    auditor = panel_client(make_client, demo, clock, AUDITOR)
    url = decide_url("T2", NHS, "confirm_audit")
    auditor.post(url, data=form_of(auditor.get(url).text, statement="Audit done"))
    assert decide_url("T2", NHS, "require_reaudit") in panel.get("/panel").text
    url = decide_url("T2", NHS, "require_reaudit")
    done = panel.post(url, data=form_of(panel.get(url).text, reason="Policy changed: re-audit"))
    assert done.status_code == 303
    assert item_state(demo, asked.item_id)[0] == "embedded_reaudit"
    url = decide_url("T2", NHS, "confirm_embedded")
    assert url in auditor.get("/audit").text
    done = auditor.post(url, data=form_of(auditor.get(url).text, statement="Re-audit: embedded"))
    assert done.status_code == 303
    assert item_state(demo, asked.item_id)[0] == "closed"


def test_the_panel_decides_an_extension_request_from_its_queue(
    demo: Services, clock: Clock, make_client: Callable[..., TestClient]
) -> None:
    from engine.fire import FireRequest, fire

    asked = ask(demo, "T1", "sept")
    june = dt.date(2011, 6, 30)
    fire(demo, FireRequest(item=asked.item_id, trigger="request_extension", actor=OTHER,
                           now=clock.now, reason="staff away", due_date=june))  # fmt: skip
    panel = panel_client(make_client, demo, clock)
    queue_page = panel.get("/panel")
    assert "More time asked for: until 30 June 2011" in queue_page.text
    url = decide_url("T1", "sept", "grant_extension")
    assert url in queue_page.text
    done = panel.post(url, data=form_of(panel.get(url).text, reason="Reasonable"))
    assert done.status_code == 303
    with demo.db.engine.connect() as conn:
        due = conn.execute(sa.text("SELECT due FROM item WHERE id = :i"), {"i": asked.item_id})
        assert str(due.scalar_one()) == "2011-06-30"
    assert "T1" not in panel.get("/panel").text
