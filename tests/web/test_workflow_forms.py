"""The structured workflow editor's pages (issue 11): a draft's states and transitions
changed through forms, the engine's refusals at the field with what was typed kept, a stale
form refused naming who saved first, and the business manager's alone."""

from __future__ import annotations

import re
from collections.abc import Callable

import httpx
import pytest
from fastapi.testclient import TestClient
from markupsafe import escape

from engine import adminlog, drafts
from engine.durations import parse_duration
from engine.services import Services
from engine.spec import Deadline, load_spec
from tests.conftest import BM, PANEL
from tests.web.conftest import BOOK, Clock, csrf_of, sign_in

DRAFTS = "/admin/workflows/drafts"
_REVISION = re.compile(r'name="revision" value="(\d+)"')


@pytest.fixture
def manager(demo: Services, clock: Clock, make_client: Callable[..., TestClient]) -> TestClient:
    client = make_client(post_limit="1000/minute")
    sign_in(client, demo, BM, clock)
    return client


@pytest.fixture
def draft(demo: Services, clock: Clock) -> int:
    with demo.db.write() as conn:
        return drafts.create(conn, workflow="recommendation", author=BM, now=clock.now).id


def text_of(demo: Services, draft_id: int) -> str:
    with demo.db.engine.connect() as conn:
        return drafts.get(conn, draft_id).text


def revision_of(demo: Services, draft_id: int) -> int:
    with demo.db.engine.connect() as conn:
        return drafts.get(conn, draft_id).revision


def answer(client: TestClient, path: str, **form: str | list[str]) -> httpx.Response:
    """Open the question at ``path`` and post ``form`` with the page's token and revision."""
    shown = client.get(path)
    assert shown.status_code == 200, shown.text
    found = _REVISION.search(shown.text)
    assert found is not None
    data: dict[str, str | list[str]] = {
        "csrf_token": csrf_of(shown.text),
        "revision": found.group(1),
        **form,
    }
    response: httpx.Response = client.post(path, data=data)
    return response


def open_deadline(demo: Services, draft_id: int) -> Deadline:
    spec = load_spec(text_of(demo, draft_id), known_templates=BOOK.names)
    found = spec.model.states["open"].deadline
    assert found is not None
    return found


# --- the pages ---------------------------------------------------------------------------


def test_the_draft_page_lists_every_state_and_action_with_change(
    manager: TestClient, draft: int
) -> None:
    page = manager.get(f"{DRAFTS}/{draft}").text
    for state in ("open", "evidence_submitted", "closed_no_assurance"):
        assert f'href="{DRAFTS}/{draft}/states/{state}"' in page
    assert f'href="{DRAFTS}/{draft}/transitions/1"' in page
    assert f'href="{DRAFTS}/{draft}/transitions/14"' in page
    assert 'Change<span class="govuk-visually-hidden"> Submit evidence</span>' in page


def test_a_states_page_lists_its_settings_and_steps(manager: TestClient, draft: int) -> None:
    page = manager.get(f"{DRAFTS}/{draft}/states/open").text
    assert "Every 7 days once overdue" in page
    assert "14 days, 3 days before the deadline" in page
    assert f'href="{DRAFTS}/{draft}/states/open/chase"' in page
    assert "7 days overdue: The agency&#39;s escalation ladder (its next rung)" in page
    assert "42 days overdue: Independent chair of the board (urgent" in page
    assert f'href="{DRAFTS}/{draft}/states/open/escalation/3"' in page
    assert f'href="{DRAFTS}/{draft}/states/open/escalation/new"' in page


def test_a_state_without_a_deadline_has_no_deadline_settings(
    manager: TestClient, draft: int
) -> None:
    page = manager.get(f"{DRAFTS}/{draft}/states/audit_confirmed").text
    assert "No deadline" in page
    assert "/states/audit_confirmed/chase" not in page
    assert manager.get(f"{DRAFTS}/{draft}/states/audit_confirmed/chase").status_code == 404
    assert manager.get(f"{DRAFTS}/{draft}/states/audit_confirmed/escalation/new").status_code == 404


@pytest.mark.parametrize(
    "path",
    [
        "states/nope",
        "states/open/nope",
        "states/open/escalation/4",
        "states/open/escalation/0",
        "transitions/15",
        "transitions/0",
        "transitions/1/nope",
    ],
)
def test_what_does_not_exist_is_the_plain_404(manager: TestClient, draft: int, path: str) -> None:
    response = manager.get(f"{DRAFTS}/{draft}/{path}")
    assert response.status_code == 404
    assert response.text == manager.get("/no-such-page").text


def test_another_role_gets_the_same_404(
    demo: Services, draft: int, clock: Clock, make_client: Callable[..., TestClient]
) -> None:
    panel = make_client()
    sign_in(panel, demo, PANEL, clock)
    missing = panel.get("/no-such-page").text
    for path in ("states/open", "states/open/chase", "transitions/1", "transitions/1/roles"):
        response = panel.get(f"{DRAFTS}/{draft}/{path}")
        assert response.status_code == 404
        assert response.text == missing


# --- saving ------------------------------------------------------------------------------


def test_changing_the_chase_interval_saves_the_draft_and_only_that_line(
    demo: Services, manager: TestClient, draft: int
) -> None:
    before = text_of(demo, draft)
    response = answer(manager, f"{DRAFTS}/{draft}/states/open/chase", chase_every="14 days")
    assert response.status_code == 303
    assert response.headers["location"] == f"{DRAFTS}/{draft}/states/open?saved=chase"
    after = text_of(demo, draft)
    assert after == before.replace("      chase_every: 7 days\n", "      chase_every: 14 days\n", 1)
    assert revision_of(demo, draft) == 2
    shown = manager.get(f"{DRAFTS}/{draft}/states/open?saved=chase").text
    assert "Chasing changed: draft saved (revision 2)" in shown
    assert "Every 14 days once overdue" in shown


def test_a_saved_change_is_in_the_administrators_log_and_a_refused_one_is_not(
    demo: Services, manager: TestClient, draft: int
) -> None:
    def logged() -> list[adminlog.Entry]:
        with demo.db.engine.connect() as conn:
            return list(adminlog.entries(conn, action_prefix="workflow.draft.save")[0])

    assert (
        answer(manager, f"{DRAFTS}/{draft}/states/open/chase", chase_every="14 dayz").status_code
        == 422
    )
    assert logged() == []
    assert (
        answer(manager, f"{DRAFTS}/{draft}/states/open/chase", chase_every="14 days").status_code
        == 303
    )
    [entry] = logged()
    assert entry.actor == BM
    assert "chase_every: 7 days" in entry.before["text"]
    assert "chase_every: 14 days" in entry.after["text"]
    with demo.db.engine.connect() as conn:
        assert adminlog.verify(conn).ok


@pytest.mark.parametrize("typed", ["14 dayz", "-3 days", "fortnightly"])
def test_a_bad_duration_is_refused_at_the_field_with_the_parsers_message(
    demo: Services, manager: TestClient, draft: int, typed: str
) -> None:
    before = text_of(demo, draft)
    response = answer(manager, f"{DRAFTS}/{draft}/states/open/chase", chase_every=typed)
    assert response.status_code == 422
    page = response.text
    with pytest.raises(ValueError, match="cannot read") as parser:
        parse_duration(typed)
    message = str(escape(str(parser.value)[:1].upper() + str(parser.value)[1:]))
    assert 'href="#chase_every"' in page
    assert '<p id="chase_every-error" class="govuk-error-message">' in page
    assert message in page.split('id="chase_every-error"')[1]
    assert f'value="{escape(typed)}"' in page
    assert text_of(demo, draft) == before


def test_an_unknown_recipient_is_refused_with_the_engines_message(
    demo: Services, manager: TestClient, draft: int
) -> None:
    response = answer(manager, f"{DRAFTS}/{draft}/states/open/recipients", to=["agency", "agencyy"])
    assert response.status_code == 422
    assert "Unknown role &#39;agencyy&#39;; did you mean &#39;agency&#39;?" in response.text
    assert 'href="#to"' in response.text


def test_an_empty_label_is_refused_and_a_good_one_saved(
    demo: Services, manager: TestClient, draft: int
) -> None:
    refused = answer(manager, f"{DRAFTS}/{draft}/states/open/label", label="   ")
    assert refused.status_code == 422
    assert "Enter a label; it cannot be empty" in refused.text
    saved = answer(manager, f"{DRAFTS}/{draft}/states/open/label", label="Waiting for evidence")
    assert saved.status_code == 303
    assert "    label: Waiting for evidence\n" in text_of(demo, draft)


def test_the_deadline_can_be_a_time_after_entry_or_removed(
    demo: Services, manager: TestClient, draft: int
) -> None:
    path = f"{DRAFTS}/{draft}/states/panel_signed_off/deadline"
    bad = answer(manager, path, due_kind="after", due="")
    assert bad.status_code == 422
    assert 'href="#due"' in bad.text
    assert answer(manager, path, due_kind="after", due="4 months").status_code == 303
    assert "      due: 4 months\n" in text_of(demo, draft)
    assert answer(manager, path, due_kind="none").status_code == 303
    spec = load_spec(text_of(demo, draft))
    assert spec.model.states["panel_signed_off"].deadline is None


def test_reminders_digest_and_templates_are_saved(
    demo: Services, manager: TestClient, draft: int
) -> None:
    base = f"{DRAFTS}/{draft}/states/open"
    assert answer(manager, f"{base}/reminders", remind_before="21 days, 7 days").status_code == 303
    assert answer(manager, f"{base}/digest", digest=["chase"]).status_code == 303
    deadline = open_deadline(demo, draft)
    assert [str(d) for d in deadline.remind_before] == ["21 days", "7 days"]
    assert deadline.digest == ["chase"]
    refused = answer(
        manager, f"{base}/templates", template_request="request", template_reminder="reminder",
        template_chase="", template_escalation="escalation",
    )  # fmt: skip
    assert refused.status_code == 422
    assert "The deadline sends chases, so add" in refused.text


def test_what_a_state_asks_for_is_saved_on_several_lines(
    demo: Services, manager: TestClient, draft: int
) -> None:
    typed = "Minutes of the meeting\r\nand the new procedure"
    assert (
        answer(manager, f"{DRAFTS}/{draft}/states/challenged/expects", expects=typed).status_code
        == 303
    )
    spec = load_spec(text_of(demo, draft))
    assert (
        spec.model.states["challenged"].expects == "Minutes of the meeting\nand the new procedure\n"
    )


def test_the_clock_is_paused(demo: Services, manager: TestClient, draft: int) -> None:
    assert answer(manager, f"{DRAFTS}/{draft}/states/open/clock", clock="paused").status_code == 303
    assert load_spec(text_of(demo, draft)).model.states["open"].clock.value == "paused"


# --- escalation steps --------------------------------------------------------------------


def test_an_escalation_step_is_changed_added_and_removed(
    demo: Services, manager: TestClient, draft: int
) -> None:
    base = f"{DRAFTS}/{draft}/states/open/escalation"
    changed = answer(manager, f"{base}/2", after="28 days", to=["ladder"])
    assert changed.status_code == 303
    assert "        - {after: 28 days, to: [ladder]}\n" in text_of(demo, draft)
    added = answer(manager, f"{base}/new", after="14 days", to=["senior_contact"], urgent="yes")
    assert added.status_code == 303
    steps = open_deadline(demo, draft).escalate
    assert [(str(s.after), s.to, s.urgent) for s in steps] == [
        ("7 days", ["ladder"], False),
        ("14 days", ["senior_contact"], True),
        ("28 days", ["ladder"], False),
        ("42 days", ["board_chair"], True),
    ]
    page = manager.get(f"{base}/4").text
    removed = manager.post(
        f"{base}/4/remove",
        data={"csrf_token": csrf_of(page), "revision": _REVISION.search(page).group(1)},  # type: ignore[union-attr]
    )
    assert removed.status_code == 303
    assert len(open_deadline(demo, draft).escalate) == 3
    assert "# one email per person and kind" in text_of(demo, draft)


def test_an_escalation_step_out_of_order_is_refused_at_the_delay(
    demo: Services, manager: TestClient, draft: int
) -> None:
    before = text_of(demo, draft)
    response = answer(
        manager, f"{DRAFTS}/{draft}/states/open/escalation/2", after="50 days", to=["ladder"]
    )
    assert response.status_code == 422
    page = response.text
    assert "Escalation steps must come in increasing order of &#39;after&#39;" in page
    assert 'href="#after"' in page
    assert 'value="50 days"' in page
    assert text_of(demo, draft) == before


def test_an_escalation_to_a_named_contact_must_be_in_the_directory(
    demo: Services, manager: TestClient, draft: int
) -> None:
    path = f"{DRAFTS}/{draft}/states/open/escalation/3"
    unknown = answer(
        manager, path, after="42 days", to=["board_chair"], contacts="nobody@example.org"
    )
    assert unknown.status_code == 422
    assert 'href="#contacts"' in unknown.text
    assert "No contact in the directory has the address" in unknown.text
    malformed = answer(manager, path, after="42 days", to=["board_chair"], contacts="chair@")
    assert malformed.status_code == 422
    assert 'href="#contacts"' in malformed.text
    named = answer(manager, path, after="42 days", contacts=PANEL, urgent="yes")
    assert named.status_code == 303
    assert open_deadline(demo, draft).escalate[2].to == [PANEL]


# --- transitions -------------------------------------------------------------------------


def test_a_transitions_settings_are_changed(
    demo: Services, manager: TestClient, draft: int
) -> None:
    base = f"{DRAFTS}/{draft}/transitions/1"
    page = manager.get(base).text
    assert "Submit evidence" in page
    assert "Open, awaiting evidence, Challenged by the panel" in page
    assert answer(manager, f"{base}/label", label="Send evidence").status_code == 303
    assert answer(manager, f"{base}/roles", roles=["agency", "business_manager"]).status_code == 303
    assert answer(manager, f"{base}/notify", notify=["panel"]).status_code == 303
    t = load_spec(text_of(demo, draft)).model.transitions[0]
    assert (t.label, t.roles, t.notify[0].to, t.notify[0].template) == (
        "Send evidence",
        ["agency", "business_manager"],
        ["panel"],
        "decision",
    )
    nobody = answer(manager, f"{base}/roles")
    assert nobody.status_code == 422
    assert "Choose at least one role" in nobody.text


def test_a_requirement_the_rules_need_cannot_be_dropped(manager: TestClient, draft: int) -> None:
    response = answer(
        manager, f"{DRAFTS}/{draft}/transitions/3/requires", requires=["rag", "meeting_date"]
    )
    assert response.status_code == 422
    assert "A transition that sets RAG must also require a reason" in response.text
    assert 'value="rag" checked' in response.text


# --- conflicts and closed drafts ---------------------------------------------------------


def test_a_stale_form_is_refused_naming_who_saved_and_keeps_what_was_typed(
    demo: Services, manager: TestClient, draft: int, clock: Clock
) -> None:
    path = f"{DRAFTS}/{draft}/states/open/chase"
    shown = manager.get(path).text
    with demo.db.write() as conn:  # someone else saves first
        other = text_of(demo, draft).replace("label: Sign off\n", "label: Sign it off\n")
        drafts.save_text(conn, draft, text=other, author=PANEL, now=clock.now, expected_revision=1)
    data = {"csrf_token": csrf_of(shown), "revision": "1", "chase_every": "10 days"}
    refused = manager.post(path, data=data)
    assert refused.status_code == 409
    assert f"{PANEL} saved this draft on" in refused.text
    assert 'value="10 days"' in refused.text
    assert 'name="revision" value="2"' in refused.text
    assert "chase_every: 7 days" in text_of(demo, draft)
    again = manager.post(path, data={**data, "revision": "2"})
    assert again.status_code == 303
    text = text_of(demo, draft)
    assert "chase_every: 10 days" in text
    assert "label: Sign it off" in text  # their change is kept


def test_a_form_without_its_token_saves_nothing_and_keeps_what_was_typed(
    demo: Services, manager: TestClient, draft: int
) -> None:
    before = text_of(demo, draft)
    response = manager.post(
        f"{DRAFTS}/{draft}/states/open/chase", data={"revision": "1", "chase_every": "9 days"}
    )
    assert response.status_code == 400
    assert 'value="9 days"' in response.text
    assert text_of(demo, draft) == before


def test_a_discarded_draft_shows_its_settings_without_change(
    demo: Services, manager: TestClient, draft: int, clock: Clock
) -> None:
    with demo.db.write() as conn:
        drafts.discard(conn, draft, author=BM, now=clock.now)
    page = manager.get(f"{DRAFTS}/{draft}/states/open")
    assert page.status_code == 200
    assert "Every 7 days once overdue" in page.text
    assert "/states/open/chase" not in page.text
    assert manager.get(f"{DRAFTS}/{draft}/states/open/chase").status_code == 404


def test_a_draft_whose_yaml_cannot_be_read_sends_people_to_the_yaml_page(
    demo: Services, manager: TestClient, draft: int, clock: Clock
) -> None:
    with demo.db.write() as conn:
        drafts.save_text(conn, draft, text="states: [unclosed\n", author=BM, now=clock.now,
                         expected_revision=1)  # fmt: skip
    page = manager.get(f"{DRAFTS}/{draft}").text
    assert "can only be changed on" in page
    assert manager.get(f"{DRAFTS}/{draft}/states/open").status_code == 404
