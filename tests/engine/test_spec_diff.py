"""The diff of two workflow versions, in words and line by line."""

from __future__ import annotations

import pytest

from engine.spec import load_spec
from engine.spec.diff import LineKind, describe, line_counts, summary, yaml_lines
from tests.conftest import WORKFLOWS

SHIPPED = (WORKFLOWS / "recommendation.yaml").read_text()
SPEC = load_spec(SHIPPED, "recommendation.yaml")


def _words(*edits: tuple[str, str]) -> list[str]:
    text = SHIPPED
    for old, new in edits:
        assert old in text, old
        text = text.replace(old, new, 1)
    return describe(SPEC, load_spec(text, "draft"))


def test_the_same_workflow_has_no_changes() -> None:
    assert describe(SPEC, load_spec(SHIPPED + "\n# a comment\n", "draft")) == []


@pytest.mark.parametrize(
    ("edit", "words"),
    [
        pytest.param(
            ("      chase_every: 7 days\n      # 'ladder'", "      chase_every: 14 days\n   # x"),
            "State open: chase every 7 days → 14 days",
            id="chase",
        ),
        pytest.param(
            (
                "      chase_every: 14 days\n      digest: [reminder, chase]",
                "      digest: [reminder, chase]",
            ),
            "State panel_signed_off: no longer chases (was every 14 days)",
            id="chase_removed",
        ),
        pytest.param(
            ("remind_before: [14 days, 3 days]", "remind_before: [14 days]"),
            "State open: reminders before the due date: 14 days, 3 days → 14 days",
            id="reminders",
        ),
        pytest.param(
            ("label: Open, awaiting evidence", "label: Open"),
            "State open: label: “Open, awaiting evidence” → “Open”",
            id="label",
        ),
        pytest.param(
            (
                "  challenged:\n    label: Challenged by the panel\n",
                "  challenged:\n    label: Challenged by the panel\n    clock: paused\n",
            ),
            "State challenged: the clock now pauses",
            id="clock",
        ),
        pytest.param(
            ("        - {after: 42 days, to: [board_chair], urgent: true}\n", ""),
            "State open: escalation step 3 removed (was after 42 days overdue to board_chair, "
            "urgent)",
            id="step_removed",
        ),
        pytest.param(
            (
                "        - {after: 10 working days, to: [board_chair]}\n",
                "        - {after: 10 working days, to: [board_chair]}\n"
                "        - {after: 20 working days, to: [business_manager]}\n",
            ),
            "State evidence_submitted: escalation step 2 added: after 20 working days overdue "
            "to business_manager",
            id="step_added",
        ),
        pytest.param(
            (
                "        - {after: 7 days, to: [ladder]}\n",
                "        - {after: 10 days, to: [ladder], urgent: true}\n",
            ),
            "State open: escalation step 1: after 7 days → 10 days overdue; now urgent",
            id="step_changed",
        ),
        pytest.param(
            ("    templates: {reminder: reminder}\n", "    templates: {reminder: chase}\n"),
            "State embedded_reaudit: reminder email template: reminder → chase",
            id="template",
        ),
        pytest.param(
            (
                "    roles: [business_manager, panel]\n    requires: [reason]\n  - trigger: conf",
                "    roles: [panel]\n    requires: [reason]\n  - trigger: conf",
            ),
            "Transition require_reaudit: who may fire it: removed business_manager",
            id="who_may_fire",
        ),
        pytest.param(
            ("    label: Sign off\n", "    label: Sign off the evidence\n"),
            "Transition sign_off: label: “Sign off” → “Sign off the evidence”",
            id="transition_label",
        ),
    ],
)
def test_each_kind_of_change_in_words(edit: tuple[str, str], words: str) -> None:
    assert _words(edit) == [words]


def test_states_and_transitions_added_and_removed() -> None:
    added_state = (
        "  not_for_this_board:\n",
        "  on_hold:\n    label: On hold\n    clock: paused\n  not_for_this_board:\n",
    )
    added_transition = (
        "separation_of_duties:\n",
        "  - trigger: hold\n    from: open\n    to: on_hold\n    roles: [panel]\n"
        "  - trigger: resume\n    from: on_hold\n    to: open\n    roles: [panel]\n"
        "separation_of_duties:\n",
    )
    words = _words(added_state, added_transition)
    assert words == [
        "State on_hold added: “On hold”, the clock pauses",
        "Transition hold added: “hold” from open to on_hold, by panel",
        "Transition resume added: “resume” from on_hold to open, by panel",
    ]
    back = describe(load_spec(SHIPPED.replace(*added_state).replace(*added_transition), "x"), SPEC)
    assert "State on_hold (“On hold”, the clock pauses) removed" in back
    assert "Transition hold (“hold” from open to on_hold, by panel) removed" in back


def test_a_renamed_state_is_one_removed_and_one_added() -> None:
    words = describe(SPEC, load_spec(SHIPPED.replace("challenged", "returned"), "x"))
    assert words[0] == ("State returned added: “Challenged by the panel”")
    assert words[1] == "State challenged (“Challenged by the panel”) removed"
    assert "Transition challenge: to: challenged → returned" in words


def test_summary_counts_what_it_leaves_out() -> None:
    text = SHIPPED.replace("7 days", "8 days")  # two chases, two escalation steps
    words = describe(SPEC, load_spec(text, "x"))
    assert words == [
        "State open: chase every 7 days → 8 days",
        "State open: escalation step 1: after 7 days → 8 days overdue",
        "State challenged: chase every 7 days → 8 days",
        "State challenged: escalation step 1: after 7 days → 8 days overdue",
    ]
    assert summary(SPEC, load_spec(text, "x"), most=2) == [*words[:2], "and 2 more change(s)"]


def test_yaml_lines_mark_added_and_removed_with_their_numbers() -> None:
    old = "a: 1\nb: 2\nc: 3\n"
    new = "a: 1\nb: 20\nc: 3\nd: 4\n"
    rows = [(r.kind, r.old_no, r.new_no, r.text, r.sign) for r in yaml_lines(old, new)]
    assert rows == [
        (LineKind.HUNK, None, None, "lines 1-3 of the published version, 1-4 of the draft", "@@"),
        (LineKind.SAME, 1, 1, "a: 1", " "),
        (LineKind.REMOVED, 2, None, "b: 2", "-"),
        (LineKind.ADDED, None, 2, "b: 20", "+"),
        (LineKind.SAME, 3, 3, "c: 3", " "),
        (LineKind.ADDED, None, 4, "d: 4", "+"),
    ]
    assert line_counts(old, new) == (2, 1)
    assert yaml_lines(old, old) == []
