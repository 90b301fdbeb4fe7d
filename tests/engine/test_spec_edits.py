"""engine.spec.edits: structured edits of a workflow's YAML, checked by the engine's loader.

Each edit changes only what it names (comments, order and every other line survive) and is
refused, with the loader's or the duration parser's own message and the field it is about,
when it would make the draft invalid.
"""

from __future__ import annotations

import difflib

import pytest

from engine.durations import Duration, Unit, parse_duration
from engine.errors import EditRefused
from engine.spec import edits as E
from engine.spec import load_spec
from engine.spec.roundtrip import Tree
from tests.conftest import WORKFLOWS

TEMPLATES = frozenset({"request", "reminder", "chase", "escalation", "decision", "digest"})
SHIPPED = (WORKFLOWS / "recommendation.yaml").read_text()
IMR = (WORKFLOWS / "imr_action.yaml").read_text()


def edit(edit: E.Edit, text: str = SHIPPED) -> str:
    return E.apply(text, edit, known_templates=TEMPLATES)


def refusal(edit: E.Edit, text: str = SHIPPED) -> EditRefused:
    with pytest.raises(EditRefused) as info:
        E.apply(text, edit, known_templates=TEMPLATES)
    return info.value


def changed_lines(before: str, after: str) -> list[str]:
    """The lines removed (-) and added (+), in order."""
    return [
        line.rstrip("\n")
        for line in difflib.unified_diff(before.splitlines(True), after.splitlines(True), n=0)
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]


def comments(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip().startswith("#")]


def deadline(text: str, state: str = "open") -> object:
    found = load_spec(text, known_templates=TEMPLATES).model.states[state].deadline
    assert found is not None
    return found


# --- the chase interval and durations ----------------------------------------------------


def test_changing_the_chase_interval_changes_that_line_only() -> None:
    after = edit(E.Chase(state="open", every="14 days"))
    assert changed_lines(SHIPPED, after) == [
        "-      chase_every: 7 days",
        "+      chase_every: 14 days",
    ]
    assert deadline(after).chase_every == Duration(14, Unit.DAY)  # type: ignore[attr-defined]


def test_a_duration_is_written_back_in_the_parsers_words() -> None:
    after = edit(E.Chase(state="open", every="  3 Working Days "))
    assert "      chase_every: 3 working days\n" in after


@pytest.mark.parametrize(
    "typed", ["14 dayz", "-3 days", "0 days", "fourteen days", "14", "7 days later", "1.5 weeks"]
)
def test_a_bad_chase_interval_is_refused_with_the_parsers_message(typed: str) -> None:
    refused = refusal(E.Chase(state="open", every=typed))
    assert refused.field == "chase_every"
    assert refused.problem == str(_parser_error(typed))
    assert "write a count of at least 1 and a unit" in refused.problem


def test_an_empty_chase_interval_stops_chasing_and_keeps_the_comment_after_it() -> None:
    after = edit(E.Chase(state="open", every=""))
    assert changed_lines(SHIPPED, after) == ["-      chase_every: 7 days"]
    assert deadline(after).chase_every is None  # type: ignore[attr-defined]
    assert comments(after) == comments(SHIPPED)


def test_chasing_a_state_without_a_deadline_is_refused() -> None:
    refused = refusal(E.Chase(state="audit_confirmed", every="7 days"))
    assert refused.field == "chase_every"
    assert "has no deadline" in refused.problem


def test_an_unknown_state_is_refused_listing_the_states() -> None:
    refused = refusal(E.Chase(state="opne", every="7 days"))
    assert refused.field == "state"
    assert "'opne'" in refused.problem
    assert "'open'" in refused.problem


def test_reminders_are_parsed_each_and_written_as_a_list() -> None:
    after = edit(E.Reminders(state="open", before=["21 days", "", " 2 Weeks"]))
    assert changed_lines(SHIPPED, after)[-1] == "+      remind_before: [21 days, 2 weeks]"


def test_a_bad_reminder_is_refused_naming_it() -> None:
    refused = refusal(E.Reminders(state="open", before=["10 days", "0 days"]))
    assert refused.field == "remind_before"
    assert "'0 days'" in refused.problem


def test_no_reminders_removes_the_key() -> None:
    after = edit(E.Reminders(state="open", before=[]))
    assert changed_lines(SHIPPED, after) == ["-      remind_before: [14 days, 3 days]"]


def test_a_deadline_due_a_time_after_entry_replaces_the_items_due_date() -> None:
    after = edit(E.DeadlineDue(state="open", due="30 working days"))
    assert changed_lines(SHIPPED, after) == ["-      due: item_due", "+      due: 30 working days"]


def test_a_bad_due_is_refused_with_the_parsers_message() -> None:
    refused = refusal(E.DeadlineDue(state="open", due="soon"))
    assert (refused.field, refused.problem) == ("due", str(_parser_error("soon")))


def test_a_state_without_a_deadline_gets_one_where_the_files_put_it() -> None:
    after = edit(E.DeadlineDue(state="audit_confirmed", due="2 months"))
    assert changed_lines(SHIPPED, after) == ["+    deadline:", "+      due: 2 months"]
    lines = after.splitlines()
    at = lines.index("  audit_confirmed:") + 4
    assert lines[at - 2 : at + 3] == [
        "    clock: paused",
        "    counts_as: assured",
        "    deadline:",
        "      due: 2 months",
        "  embedded_reaudit:",
    ]


def test_removing_a_deadline_leaves_the_state() -> None:
    after = edit(E.DeadlineRemove(state="embedded_reaudit"))
    assert load_spec(after).model.states["embedded_reaudit"].deadline is None
    assert load_spec(after).model.states["embedded_reaudit"].label == (
        "Awaiting re-audit that practice is embedded"
    )


def _parser_error(text: str) -> ValueError:
    try:
        parse_duration(text)
    except ValueError as exc:
        return exc
    raise AssertionError(f"{text!r} parsed")


# --- recipients, digests -----------------------------------------------------------------


def test_an_unknown_recipient_role_is_refused_with_a_close_match() -> None:
    refused = refusal(E.DeadlineRecipients(state="open", to=["agencyy"]))
    assert refused.field == "to"
    assert "unknown role 'agencyy'; did you mean 'agency'?" in refused.problem
    assert refused.path == "states.open.deadline.to[0]"


def test_reminders_without_recipients_are_refused_with_the_loaders_message() -> None:
    refused = refusal(E.DeadlineRecipients(state="open", to=[" ", ""]))
    assert refused.field == "to"
    assert refused.problem.startswith("reminders and chases need recipients")


def test_recipients_are_kept_in_order_without_repeats() -> None:
    after = edit(E.DeadlineRecipients(state="open", to=["agency", "senior_contact", "agency"]))
    assert changed_lines(SHIPPED, after)[-1] == "+      to: [agency, senior_contact]"


def test_digest_kinds_are_written_and_an_unknown_kind_is_refused() -> None:
    after = edit(E.Digest(state="open", kinds=["chase"]))
    assert changed_lines(SHIPPED, after)[-1] == "+      digest: [chase]"
    refused = refusal(E.Digest(state="open", kinds=["reminder", "weekly"]))
    assert refused.field == "digest"
    assert "'weekly'" in refused.problem


# --- escalation steps --------------------------------------------------------------------


def test_changing_an_escalation_delay_changes_that_step_only() -> None:
    after = edit(E.EscalationChange(state="open", index=1, after="28 days", to=["ladder"]))
    assert changed_lines(SHIPPED, after) == [
        "-        - {after: 21 days, to: [ladder]}",
        "+        - {after: 28 days, to: [ladder]}",
    ]


def test_an_escalation_out_of_order_is_refused_with_the_loaders_message() -> None:
    refused = refusal(E.EscalationChange(state="open", index=1, after="50 days", to=["ladder"]))
    assert refused.field == "after"
    assert (
        refused.problem == "escalation steps must come in increasing order of 'after', in one unit"
    )


def test_a_bad_escalation_delay_is_refused_with_the_parsers_message() -> None:
    refused = refusal(E.EscalationChange(state="open", index=0, after="-7 days", to=["ladder"]))
    assert (refused.field, refused.problem) == ("after", str(_parser_error("-7 days")))


def test_an_escalation_to_an_unknown_role_is_refused_naming_the_recipients() -> None:
    refused = refusal(E.EscalationChange(state="open", index=1, after="21 days", to=["ladderr"]))
    assert refused.field == "to"
    assert "did you mean 'ladder'?" in refused.problem


def test_an_escalation_to_nobody_is_refused() -> None:
    refused = refusal(E.EscalationChange(state="open", index=1, after="21 days", to=[]))
    assert refused.field == "to"


def test_an_escalation_may_name_a_contact_by_address() -> None:
    after = edit(
        E.EscalationChange(state="open", index=2, after="42 days", to=["chair@lscb.example.org"])
    )
    step = deadline(after).escalate[2]  # type: ignore[attr-defined]
    assert step.to == ["chair@lscb.example.org"]
    assert step.urgent is False


def test_an_escalation_to_a_malformed_address_is_refused() -> None:
    refused = refusal(E.EscalationChange(state="open", index=1, after="21 days", to=["jo@"]))
    assert refused.field == "to"
    assert refused.problem.startswith("'jo@' is not an email address")


def test_a_new_escalation_step_goes_in_order_of_its_delay() -> None:
    after = edit(E.EscalationAdd(state="open", after="14 days", to=["senior_contact"], urgent=True))
    assert changed_lines(SHIPPED, after) == [
        "+        - {after: 14 days, to: [senior_contact], urgent: true}"
    ]
    lines = after.splitlines()
    at = lines.index("        - {after: 14 days, to: [senior_contact], urgent: true}")
    assert lines[at - 1] == "        - {after: 7 days, to: [ladder]}"


def test_a_new_step_in_another_unit_is_refused_with_the_loaders_message() -> None:
    refused = refusal(E.EscalationAdd(state="open", after="3 working days", to=["chair"]))
    assert refused.field == "after"
    assert "in one unit" in refused.problem


def test_a_first_escalation_step_needs_its_template_then_is_added() -> None:
    step = E.EscalationAdd(state="panel_signed_off", after="14 days", to=["business_manager"])
    refused = refusal(step)
    assert refused.field == "after"
    assert refused.problem == (
        "the deadline sends escalations, so add 'templates: {escalation: TEMPLATE}'"
    )
    with_template = edit(
        E.StateTemplates(
            state="panel_signed_off",
            templates={"reminder": "reminder", "chase": "chase", "escalation": "escalation"},
        )
    )
    after = edit(step, with_template)
    assert changed_lines(with_template, after) == [
        "+      escalate:",
        "+        - {after: 14 days, to: [business_manager]}",
    ]


def test_removing_the_last_escalation_step_keeps_the_comment_that_follows() -> None:
    after = edit(E.EscalationRemove(state="open", index=2))
    assert changed_lines(SHIPPED, after) == [
        "-        - {after: 42 days, to: [board_chair], urgent: true}"
    ]
    assert comments(after) == comments(SHIPPED)


def test_removing_every_escalation_step_removes_the_list() -> None:
    text = SHIPPED
    for _ in range(3):
        text = edit(E.EscalationRemove(state="open", index=0), text)
    open_state = text.split("  open:\n")[1].split("  evidence_submitted:\n")[0]
    assert "escalate" not in open_state
    assert comments(text) == comments(SHIPPED)
    assert load_spec(text).model.states["open"].deadline.escalate == []  # type: ignore[union-attr]


def test_a_step_that_does_not_exist_is_refused() -> None:
    refused = refusal(E.EscalationRemove(state="open", index=3))
    assert refused.field == "step"


# --- states ------------------------------------------------------------------------------


@pytest.mark.parametrize("label", ["", "   ", "\t"])
def test_an_empty_state_label_is_refused(label: str) -> None:
    refused = refusal(E.StateLabel(state="open", label=label))
    assert refused.field == "label"
    assert "cannot be empty" in refused.problem


def test_a_label_on_two_lines_is_refused_with_the_loaders_message() -> None:
    refused = refusal(E.StateLabel(state="open", label="Open\nnow"))
    assert refused.field == "label"
    assert "U+000A (LINE FEED)" in refused.problem
    assert refused.path == "states.open.label"


def test_a_label_is_changed_and_trimmed() -> None:
    after = edit(E.StateLabel(state="open", label="  Waiting for evidence "))
    assert changed_lines(SHIPPED, after) == [
        "-    label: Open, awaiting evidence",
        "+    label: Waiting for evidence",
    ]


def test_a_label_that_needs_quoting_in_yaml_reads_back_as_typed() -> None:
    typed = "Open: waiting # for 'evidence'"
    after = edit(E.StateLabel(state="open", label=typed))
    assert load_spec(after).model.states["open"].label == typed


def test_pausing_the_clock_adds_the_key_and_running_sets_it_back() -> None:
    paused = edit(E.StateClock(state="open", paused=True))
    assert changed_lines(SHIPPED, paused) == ["+    clock: paused"]
    assert load_spec(paused).model.states["open"].clock.value == "paused"
    running = edit(E.StateClock(state="evidence_submitted", paused=False))
    assert changed_lines(SHIPPED, running) == ["-    clock: paused", "+    clock: running"]
    assert edit(E.StateClock(state="open", paused=False)) == SHIPPED


def test_what_a_state_asks_agencies_for_is_changed_removed_or_on_several_lines() -> None:
    one = edit(E.StateExpects(state="open", expects="Minutes of the meeting"))
    assert load_spec(one).model.states["open"].expects == "Minutes of the meeting"
    several = edit(E.StateExpects(state="open", expects="Minutes\r\nand the new procedure"))
    assert load_spec(several).model.states["open"].expects == "Minutes\nand the new procedure\n"
    gone = edit(E.StateExpects(state="open", expects="  "))
    assert load_spec(gone).model.states["open"].expects is None
    assert "# what an evidence request" not in gone  # the comment was about the key removed


def test_a_control_character_in_what_is_asked_for_is_refused() -> None:
    refused = refusal(E.StateExpects(state="open", expects="Minutes\x07"))
    assert refused.field == "expects"
    assert "U+0007" in refused.problem


def test_templates_are_changed_and_an_unknown_one_is_refused_at_its_kind() -> None:
    after = edit(
        E.StateTemplates(
            state="evidence_submitted", templates={"reminder": "digest", "escalation": "escalation"}
        )
    )
    assert changed_lines(SHIPPED, after)[-1] == (
        "+    templates: {reminder: digest, escalation: escalation}"
    )
    refused = refusal(
        E.StateTemplates(
            state="evidence_submitted",
            templates={"reminder": "remindr", "escalation": "escalation"},
        )
    )
    assert refused.field == "template_reminder"
    assert "did you mean 'reminder'?" in refused.problem


def test_dropping_a_template_the_deadline_needs_is_refused() -> None:
    refused = refusal(
        E.StateTemplates(state="evidence_submitted", templates={"reminder": "reminder"})
    )
    assert refused.field == "templates"
    assert (
        refused.problem
        == "the deadline sends escalations, so add 'templates: {escalation: TEMPLATE}'"
    )


# --- transitions -------------------------------------------------------------------------


def test_a_transition_label_is_changed() -> None:
    after = edit(E.TransitionLabel(index=0, label="Send evidence"))
    assert changed_lines(SHIPPED, after) == [
        "-    label: Submit evidence",
        "+    label: Send evidence",
    ]


def test_an_empty_transition_label_is_refused() -> None:
    assert refusal(E.TransitionLabel(index=0, label=" ")).field == "label"


def test_a_transition_without_a_label_gets_one_after_its_trigger() -> None:
    after = edit(E.TransitionLabel(index=0, label="Report it complete"), IMR)
    assert changed_lines(IMR, after) == ["+    label: Report it complete"]
    lines = after.splitlines()
    assert lines[lines.index("    label: Report it complete") - 1] == "  - trigger: report_complete"


def test_who_may_fire_a_transition_is_changed_and_an_unknown_role_refused() -> None:
    after = edit(E.TransitionRoles(index=0, roles=["agency", "business_manager"]))
    assert changed_lines(SHIPPED, after) == [
        "-    roles: [agency]",
        "+    roles: [agency, business_manager]",
    ]
    refused = refusal(E.TransitionRoles(index=0, roles=["agencyy"]))
    assert refused.field == "roles"
    assert "did you mean 'agency'?" in refused.problem
    assert refusal(E.TransitionRoles(index=0, roles=[])).field == "roles"


def test_requirements_the_rules_need_cannot_be_dropped() -> None:
    rag = refusal(E.TransitionRequires(index=2, requires=["meeting_date", "rag"]))
    assert rag.field == "requires"
    assert rag.problem.startswith("a transition that sets RAG must also require a reason")
    effect = refusal(E.TransitionRequires(index=9, requires=["reason"]))
    assert effect.problem == "effect 'propose_due_date' needs 'requires: [due_date]'"
    unknown = refusal(E.TransitionRequires(index=0, requires=["signature"]))
    assert unknown.field == "requires"
    assert "'signature' is not allowed" in unknown.problem


def test_requirements_are_changed() -> None:
    after = edit(E.TransitionRequires(index=1, requires=["reason"]))
    assert changed_lines(SHIPPED, after) == [
        "-    requires: [reason, meeting_date]",
        "+    requires: [reason]",
    ]


def test_who_is_told_keeps_the_template_and_can_be_nobody() -> None:
    told = edit(E.TransitionNotify(index=0, to=["panel", "business_manager"]))
    assert changed_lines(SHIPPED, told) == [
        "-      - {template: decision, to: [business_manager]}",
        "+      - {template: decision, to: [panel, business_manager]}",
    ]
    nobody = edit(E.TransitionNotify(index=0, to=[]))
    assert load_spec(nobody).model.transitions[0].notify == []
    added = edit(E.TransitionNotify(index=4, to=["panel"]))
    assert load_spec(added).model.transitions[4].notify[0].to == ["panel"]
    refused = refusal(E.TransitionNotify(index=0, to=["nobody"]))
    assert refused.field == "notify"
    assert "unknown role 'nobody'" in refused.problem


def test_a_transition_that_does_not_exist_is_refused() -> None:
    assert refusal(E.TransitionLabel(index=99, label="x")).field == "transition"


# --- the text around the edit --------------------------------------------------------------


EVERY_KIND = [
    E.Chase(state="open", every="14 days"),
    E.Reminders(state="challenged", before=["10 working days"]),
    E.EscalationChange(state="open", index=1, after="28 days", to=["ladder", "chair"]),
    E.EscalationAdd(state="challenged", after="42 days", to=["board_chair"], urgent=True),
    E.EscalationRemove(state="open", index=2),
    E.StateLabel(state="panel_signed_off", label="Signed off"),
    E.StateClock(state="open", paused=True),
    E.DeadlineDue(state="panel_signed_off", due="4 months"),
    E.Digest(state="open", kinds=[]),
    E.TransitionLabel(index=3, label="Set RAG"),
    E.TransitionNotify(index=5, to=["agency"]),
]


@pytest.mark.parametrize("change", EVERY_KIND, ids=lambda e: type(e).__name__)
def test_every_comment_survives_in_order(change: E.Edit) -> None:
    after = edit(change)
    assert after != SHIPPED
    assert comments(after) == comments(SHIPPED)
    assert after.startswith(SHIPPED.split("name: recommendation")[0])  # the header comment
    assert load_spec(after, known_templates=TEMPLATES).model.name == "recommendation"


@pytest.mark.parametrize("change", EVERY_KIND, ids=lambda e: type(e).__name__)
def test_every_edit_leaves_the_other_states_and_transitions_as_they_were(change: E.Edit) -> None:
    before = load_spec(SHIPPED).model
    after = load_spec(edit(change)).model
    scope = change.scope()
    for name, state in before.states.items():
        if scope[:2] != ("states", name):
            assert after.states[name] == state, name
    for i, t in enumerate(before.transitions):
        if scope[:2] != ("transitions", i):
            assert after.transitions[i] == t, t.trigger
    assert list(after.states) == list(before.states)


FOUR_SPACES = """\
# indented by four, lists flush with their key
name: tiny
label: Tiny
contact_roles: [lead_officer, chair]
roles:
    agency:
        contact_roles: [lead_officer]
    panel:
        contact_roles: [chair]
        scope: any
states:
    open:
        label: Open   # where items start
        initial: true
        deadline:
            due: item_due
            to: [agency]
            chase_every: 7 days
            escalate:
            - after: 7 days
              to: [panel]
        templates: {chase: chase, escalation: escalation}
    closed:
        label: Closed
        terminal: true
        outcome: implemented
transitions:
- trigger: sign_off
  from: open
  to: closed
  roles: [panel]
"""


def test_another_files_indentation_is_kept() -> None:
    after = edit(E.Chase(state="open", every="10 days"), FOUR_SPACES)
    assert changed_lines(FOUR_SPACES, after) == [
        "-            chase_every: 7 days",
        "+            chase_every: 10 days",
    ]
    stepped = edit(E.EscalationAdd(state="open", after="14 days", to=["chair"]), FOUR_SPACES)
    assert changed_lines(FOUR_SPACES, stepped) == [
        "+            - after: 14 days",
        "+              to: [chair]",
    ]
    labelled = edit(E.StateLabel(state="open", label="Started"), FOUR_SPACES)
    assert changed_lines(FOUR_SPACES, labelled) == [
        "-        label: Open   # where items start",
        "+        label: Started # where items start",  # ruamel keeps the column when it can
    ]


def test_a_hand_wrapped_list_that_is_edited_is_rewritten_on_one_line() -> None:
    text = SHIPPED.replace(
        "      remind_before: [14 days, 3 days]\n",
        "      remind_before: [14 days,\n                      3 days]\n",
        1,
    )
    after = edit(E.Reminders(state="open", before=["21 days", "3 days"]), text)
    assert "      remind_before: [21 days, 3 days]\n" in after
    assert comments(after) == comments(SHIPPED)
    assert (
        load_spec(after).model.states["challenged"] == load_spec(SHIPPED).model.states["challenged"]
    )


def test_an_untouched_tree_renders_the_text_it_was_read_from() -> None:
    for text in (SHIPPED, IMR, FOUR_SPACES):
        assert Tree(text).render() == text


# --- drafts that are already wrong -------------------------------------------------------


def test_an_edit_to_a_draft_that_is_already_invalid_elsewhere_is_made() -> None:
    broken = SHIPPED.replace(
        "    roles: [auditor]\n    requires: [evidence]\n",
        "    roles: [auditr]\n    requires: [evidence]\n",
        1,
    )
    with pytest.raises(Exception, match="auditr"):
        load_spec(broken)
    after = edit(E.Chase(state="open", every="14 days"), broken)
    assert changed_lines(broken, after) == [
        "-      chase_every: 7 days",
        "+      chase_every: 14 days",
    ]


def test_an_edit_that_adds_a_problem_to_an_invalid_draft_is_refused() -> None:
    broken = SHIPPED.replace("roles: [auditor]", "roles: [auditr]", 1)
    refused = refusal(E.DeadlineRecipients(state="open", to=["agencyy"]), broken)
    assert refused.field == "to"
    assert "agencyy" in refused.problem


@pytest.mark.parametrize(
    "text",
    ["name: [unclosed\n", "- a list\n- not a mapping\n", "states: &a {}\nother: *a\n"],
    ids=["syntax", "not_a_mapping", "alias"],
)
def test_a_draft_whose_yaml_cannot_be_read_takes_no_edit(text: str) -> None:
    refused = refusal(E.Chase(state="open", every="14 days"), text)
    assert refused.field == ""
    assert "YAML view" in refused.problem
