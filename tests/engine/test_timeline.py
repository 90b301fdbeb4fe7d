"""History entries in words, from the workflow's labels (issue 10)."""

from __future__ import annotations

from engine.spec import load_spec_file
from engine.timeline import Who, describe, past
from notifications.templates import available
from tests.conftest import WORKFLOWS

SPEC = load_spec_file(WORKFLOWS / "recommendation.yaml", available())
PEOPLE = {
    "j.smith@example.org": Who("J. Smith", frozenset({"panel_member"})),
    "lead@example.org": Who("A. Lead", frozenset({"lead_officer"})),
}


def event(trigger: str, actor: str, frm: str, to: str, **more: object) -> dict[str, object]:
    return {"seq": 2, "at": "2026-03-03T10:00:00+00:00", "actor": actor, "trigger": trigger,
            "from": frm, "to": to, "reason": more.pop("reason", None), "rag": more.pop("rag", None),
            "data": more}  # fmt: skip


def test_a_challenge_reads_as_a_sentence_with_who_and_when() -> None:
    entry = describe(
        SPEC,
        event("challenge", "j.smith@example.org", "evidence_submitted", "challenged",
              reason="minutes predate the review", meeting_date="2026-03-02"),
        PEOPLE,
    )  # fmt: skip
    assert entry.text.startswith(
        "Case review panel (J. Smith) challenged the evidence on 3 March 2026"
    )
    assert "panel meeting 2 March 2026" in entry.text
    assert entry.reason == "minutes predate the review"
    assert "challenge " not in entry.text.replace("challenged", "")


def test_asking_for_more_time_names_the_date_and_no_trigger() -> None:
    entry = describe(
        SPEC,
        event("request_extension", "lead@example.org", "open", "open", due_date="2026-06-01"),
        PEOPLE,
    )
    assert entry.text == (
        "Agency lead officer (A. Lead) asked for more time on 3 March 2026 "
        "(proposed date 1 June 2026)."
    )


def test_labels_that_are_not_commands_are_quoted_not_mangled() -> None:
    assert past("Challenge the evidence") == "challenged the evidence"
    assert past("Sign off") == "signed off"
    assert past("Not for this board (transfer elsewhere)") == (
        "recorded “Not for this board (transfer elsewhere)”"
    )


def test_someone_not_in_the_directory_is_named_by_address() -> None:
    entry = describe(
        SPEC, event("transfer", "gone@example.org", "open", "not_for_this_board"), PEOPLE
    )
    assert entry.text.startswith("gone@example.org recorded “Not for this board")
