"""The consequences preview: items that move or would be stranded, and the emails of the
next days under a candidate version against the current one, from the forecast's own code.

The hand-built board has one review and only the items each test asks for, so every email
of the window can be worked out by hand from the shipped ``open`` deadline: due
``item_due`` (the due moment is midnight at the end of the due day), reminders 14 and 3
days before, a chase every 7 days from the due moment, escalations 7 and 21 days after it
up the agency's ladder and 42 days after it to the board's chair (urgent); all in digests;
non-urgent emails go when the office opens (09:00 on a working day).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from engine.consequences import Consequences, Email, differences, preview
from engine.errors import SpecError, WorkflowNotFound
from engine.evidence import EvidenceInput
from engine.fire import FireRequest, fire
from engine.forecast import forecast
from engine.importer import import_files
from engine.services import Services
from engine.spec import WorkflowSpec, load_spec
from engine.versions import publish
from tests.conftest import BM, NOW, PANEL, WORKFLOWS

SHIPPED = (WORKFLOWS / "recommendation.yaml").read_text()
REVIEW = "hand-built-review"
NURSE = "designated.nurse@nhs-see.example.org"  # NHS lead officer: the agency's contact
HEAD = "head.safeguarding@nhs-see.example.org"  # the ladder's second rung
CHIEF = "chief.executive@nhs-see.example.org"  # its third
CHAIR = "chair@southend-lscb.example.org"
NHS = "nhs-south-east-essex"
LSCB = "southend-lscb"

CONTACTS = f"""\
agencies:
  southend-lscb:
    contacts:
      - {{role: business_manager, name: Business Manager, email: {BM}}}
      - {{role: chair, name: Chair, email: chair@southend-lscb.example.org}}
      - {{role: panel_member, name: Panel Member, email: {PANEL}}}
    ladder: [business_manager, chair]
  nhs-south-east-essex:
    contacts:
      - {{role: lead_officer, name: Designated Nurse, email: {NURSE}}}
      - {{role: safeguarding_lead, name: Head of Safeguarding, email: {HEAD}}}
      - {{role: senior_contact, name: Chief Executive, email: {CHIEF}}}
    ladder: [lead_officer, safeguarding_lead, senior_contact]
"""


def hand_built(services: Services, tmp_path: Path, items: list[tuple[str, str, str]]) -> None:
    """The shipped workflows, a review with ``items`` (ref, agency, due date) and contacts."""
    plan = tmp_path / "plan.yaml"
    plan.write_text(
        f"review:\n  id: {REVIEW}\n  title: A hand-built review\n  board: Southend LSCB\n"
        "  kind: serious_case_review\n  date: 2010-11-30\n"
        f"agencies:\n- {{id: {LSCB}, name: Southend LSCB}}\n- {{id: {NHS}, name: NHS SEE}}\n"
        "recommendations:\n"
        + "".join(
            f"- {{ref: {ref}, agency: {agency}, text: Item {ref}, due: [{due}]}}\n"
            for ref, agency, due in items
        )
    )
    contacts = tmp_path / "contacts.yaml"
    contacts.write_text(CONTACTS)
    with services.db.write() as conn:
        import_files(conn, [plan, contacts], specs=services.specs, actor="test", now=NOW)


def candidate(text: str) -> WorkflowSpec:
    return load_spec(text, "draft.yaml")


def open_rule(old: str, new: str) -> str:
    """The shipped workflow with one line of the ``open`` state's deadline changed."""
    start = SHIPPED.index("  open:\n")
    end = SHIPPED.index("  evidence_submitted:\n")
    assert SHIPPED[start:end].count(old) == 1, old
    return SHIPPED[:start] + SHIPPED[start:end].replace(old, new) + SHIPPED[end:]


CHASE_14 = open_rule("chase_every: 7 days", "chase_every: 14 days")


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)


def changes(c: Consequences) -> dict[str, dict[str, list[tuple[str, int, str, str | None]]]]:
    """Per recipient and change: (kind, step, at, was) of each email, in time order."""

    def rows(emails: tuple[Email, ...]) -> list[tuple[str, int, str, str | None]]:
        return [
            (e.kind, e.step, e.at.isoformat(), e.was.isoformat() if e.was else None) for e in emails
        ]

    return {
        r.recipient: {"added": rows(r.added), "removed": rows(r.removed), "moved": rows(r.moved)}
        for r in c.recipients
    }


def publish_for_real(services: Services, text: str, mapping: dict[str, str]) -> None:
    with services.db.write() as conn:
        publish(
            conn,
            candidate(text),
            actor=BM,
            now=NOW,
            migrate=True,
            mapping=mapping,
            calendar=services.calendar,
        )


def test_chase_every_14_days_instead_of_7_removes_and_moves_chases(
    published: Services, tmp_path: Path
) -> None:
    """N1 is due on Tuesday 1 February 2011: its due moment is 2 February 00:00. Over the 60
    days from 10 January, every 7 days chases 0-5 go on 2, 9, 16 and 23 February and 2 and 9
    March; every 14 days chases 0-2 go on 2 and 16 February and 2 March. By dedupe key (kind,
    item, step, recipient): chase 1 moves from 9 to 16 February, chase 2 from 16 February to
    2 March, chases 3-5 go; the reminders and escalations stay as they are."""
    hand_built(published, tmp_path, [("N1", NHS, "2011-02-01")])
    c = preview(
        published, workflow="recommendation", candidate=candidate(CHASE_14), mapping={},
        now=NOW, days=60,
    )  # fmt: skip
    assert changes(c) == {
        NURSE: {
            "added": [],
            "removed": [
                ("chase", 3, "2011-02-23T09:00:00+00:00", None),
                ("chase", 4, "2011-03-02T09:00:00+00:00", None),
                ("chase", 5, "2011-03-09T09:00:00+00:00", None),
            ],
            "moved": [
                ("chase", 1, "2011-02-16T09:00:00+00:00", "2011-02-09T09:00:00+00:00"),
                ("chase", 2, "2011-03-02T09:00:00+00:00", "2011-02-16T09:00:00+00:00"),
            ],
        }
    }
    # 2 reminders + 6 chases + escalations 0 (9 Feb, to the head) and 1 (23 Feb, the chief)
    assert (c.current, c.new, c.difference) == (10, 7, -3)
    assert (c.added, c.removed, c.moved) == (0, 3, 2)
    assert [(m.key, m.from_state, m.to_state) for m in c.moves] == [
        (f"{REVIEW}/N1", "open", "open")
    ]
    assert c.stranded == ()
    assert c.publishable
    # the preview is what publishing does: the forecast afterwards is the preview's
    publish_for_real(published, CHASE_14, {})
    assert forecast(published, NOW, 60) == c.after


def test_over_the_default_30_days(published: Services, tmp_path: Path) -> None:
    """From 20 January 10:00 to 19 February 10:00: every 7 days chases 0-2 go on 2, 9 and 16
    February; every 14 days chases 0-1 on 2 and 16 February. Chase 1 moves from 9 to 16
    February and chase 2 goes: one fewer email. Reminder 0 (19 January, never swept) goes at
    once, reminder 1 on 31 January and escalation 0 on 9 February: the same under both."""
    hand_built(published, tmp_path, [("N1", NHS, "2011-02-01")])
    c = preview(published, workflow="recommendation", candidate=candidate(CHASE_14), mapping={},
                now=at("2011-01-20T10:00"))  # fmt: skip
    assert c.days == 30
    assert changes(c) == {
        NURSE: {
            "added": [],
            "removed": [("chase", 2, "2011-02-16T09:00:00+00:00", None)],
            "moved": [("chase", 1, "2011-02-16T09:00:00+00:00", "2011-02-09T09:00:00+00:00")],
        }
    }
    assert (c.current, c.new, c.difference) == (6, 5, -1)


def test_a_step_added_to_an_escalation_emails_the_right_person(
    published: Services, tmp_path: Path
) -> None:
    """A fourth step, 49 days after N1's due moment (2 February), to the business manager:
    23 March 00:00, sent at 09:00 (a Wednesday), inside 90 days; nothing else changes."""
    hand_built(published, tmp_path, [("N1", NHS, "2011-02-01")])
    text = open_rule(
        "        - {after: 42 days, to: [board_chair], urgent: true}\n",
        "        - {after: 42 days, to: [board_chair], urgent: true}\n"
        "        - {after: 49 days, to: [business_manager]}\n",
    )
    c = preview(published, workflow="recommendation", candidate=candidate(text), mapping={},
                now=NOW, days=90)  # fmt: skip
    assert changes(c) == {
        BM: {"added": [("escalation", 3, "2011-03-23T09:00:00+00:00", None)], "removed": [],
             "moved": []},
    }  # fmt: skip
    assert (c.difference, c.added) == (1, 1)
    # the urgent step to the chair (16 March 00:00) is still there, at the same time
    chair = [e for e in c.after for to in e["to"] if to == CHAIR]
    assert [(e["kind"], e["step"], e["at"]) for e in chair] == [
        ("escalation", 2, "2011-03-16T00:00:00+00:00")
    ]
    publish_for_real(published, text, {})
    assert forecast(published, NOW, 90) == c.after


def challenge(services: Services, ref: str) -> None:
    """Evidence on ``ref`` (a board item, sent by the business manager), then challenged."""
    key = f"{REVIEW}/{ref}"
    fire(
        services,
        FireRequest(
            item=key, trigger="submit_evidence", actor=BM, now=NOW,
            evidence=[EvidenceInput(statement="done")],
        ),
    )  # fmt: skip
    fire(
        services,
        FireRequest(
            item=key, trigger="challenge", actor=PANEL, now=NOW, reason="thin",
            meeting_date=NOW.date(),
        ),
    )  # fmt: skip


WITHOUT_CHALLENGED = SHIPPED.replace("challenged", "returned")  # 'challenged' is gone


def test_a_state_removed_with_a_mapping_moves_its_items(
    published: Services, tmp_path: Path
) -> None:
    """B1 is challenged; the candidate has no 'challenged', and the mapping sends its items
    back to 'open': B1 moves there, entered afresh, and is chased as an open item is."""
    hand_built(published, tmp_path, [("N1", NHS, "2011-02-01"), ("B1", LSCB, "2011-03-01")])
    challenge(published, "B1")
    c = preview(
        published, workflow="recommendation", candidate=candidate(WITHOUT_CHALLENGED),
        mapping={"challenged": "open"}, now=NOW, days=60,
    )  # fmt: skip
    moving = [(m.key, m.agency, m.from_state, m.to_state) for m in c.moves if m.changes_state]
    assert moving == [(f"{REVIEW}/B1", LSCB, "challenged", "open")]
    assert {m.key for m in c.moves} == {f"{REVIEW}/B1", f"{REVIEW}/N1"}
    assert c.state_changes == [("challenged", "open", 1)]
    assert c.stranded == ()
    assert c.publishable
    b1_before = {(e["kind"], e["step"]) for e in c.before if e["key"] == f"{REVIEW}/B1"}
    b1_after = {(e["kind"], e["step"]) for e in c.after if e["key"] == f"{REVIEW}/B1"}
    # challenged (20 working days from 10 January: due 8 February) escalates only to the
    # ladder after 7 and 21 days; in 'open' (due 1 March) B1 gets reminders 14 and 3 days
    # before 1 March and chases from 2 March
    assert b1_before != b1_after
    assert {("reminder", 0), ("reminder", 1), ("chase", 0), ("chase", 1)} <= b1_after
    assert changes(c)[BM]["added"]
    publish_for_real(published, WITHOUT_CHALLENGED, {"challenged": "open"})
    assert forecast(published, NOW, 60) == c.after


def test_a_state_removed_without_a_mapping_lists_the_stranded_items(
    published: Services, tmp_path: Path
) -> None:
    hand_built(published, tmp_path, [("N1", NHS, "2011-02-01"), ("B1", LSCB, "2011-03-01")])
    challenge(published, "B1")
    c = preview(
        published, workflow="recommendation", candidate=candidate(WITHOUT_CHALLENGED),
        mapping={}, now=NOW, days=60,
    )  # fmt: skip
    assert [(s.key, s.agency, s.state, s.label) for s in c.stranded] == [
        (f"{REVIEW}/B1", LSCB, "challenged", "Challenged by the panel")
    ]
    assert c.unmapped == ("challenged",)
    assert not c.publishable
    assert [m.key for m in c.moves] == [f"{REVIEW}/N1"]
    # publishing would be refused, so B1 is forecast where it is
    b1 = [e for e in c.before if e["key"] == f"{REVIEW}/B1"]
    assert b1
    assert [e for e in c.after if e["key"] == f"{REVIEW}/B1"] == b1


def test_an_unchanged_candidate_changes_nothing_and_is_the_forecast(demo: Services) -> None:
    """On the demo (nine items, digests, escalations to the chair): the preview's two runs
    are the forecast's own output."""
    start = at("2011-03-10T09:30")
    c = preview(demo, workflow="recommendation", candidate=candidate(SHIPPED), mapping={},
                now=start, days=60)  # fmt: skip
    ahead = forecast(demo, start, 60)
    assert len(ahead) > 10
    assert c.before == ahead
    assert c.after == ahead
    assert (c.recipients, c.difference, c.current) == ((), 0, sum(len(e["to"]) for e in ahead))
    assert c.moves == ()
    assert c.stranded == ()
    assert c.cancelled == ()


def test_a_changed_plan_lists_what_publishing_cancels(published: Services, tmp_path: Path) -> None:
    """A reminder queued (not sent) under the old plan is cancelled when the plan changes."""
    from engine.sweep import run_once

    hand_built(published, tmp_path, [("N1", NHS, "2011-02-01")])
    run_once(published, at("2011-01-19T08:00"))  # reminder 0 decided, waiting for 09:00
    now = at("2011-01-19T08:30")
    c = preview(published, workflow="recommendation", candidate=candidate(CHASE_14), mapping={},
                now=now, days=10)  # fmt: skip
    assert [(e.kind, e.step, e.recipient, e.at.isoformat()) for e in c.cancelled] == [
        ("reminder", 0, NURSE, "2011-01-19T09:00:00+00:00")
    ]
    same = preview(published, workflow="recommendation", candidate=candidate(SHIPPED),
                   mapping={}, now=now, days=10)  # fmt: skip
    assert same.cancelled == ()


def test_an_unknown_workflow_is_refused(published: Services) -> None:
    with pytest.raises(WorkflowNotFound, match="recommendaton.*did you mean 'recommendation'"):
        preview(published, workflow="recommendaton", candidate=candidate(SHIPPED), mapping={},
                now=NOW)  # fmt: skip


def test_a_mapping_to_a_state_the_candidate_lacks_is_refused(published: Services) -> None:
    with pytest.raises(SpecError, match="unknown state 'retuned'.*did you mean 'returned'") as e:
        preview(
            published, workflow="recommendation", candidate=candidate(WITHOUT_CHALLENGED),
            mapping={"challenged": "retuned"}, now=NOW,
        )  # fmt: skip
    assert e.value.path == "challenged=retuned"


def test_a_candidate_of_another_workflow_is_refused(published: Services) -> None:
    imr = candidate((WORKFLOWS / "imr_action.yaml").read_text())
    with pytest.raises(SpecError, match="is of workflow 'imr_action', not 'recommendation'"):
        preview(published, workflow="recommendation", candidate=imr, mapping={}, now=NOW)


def test_a_naive_now_or_no_days_is_refused(published: Services) -> None:
    with pytest.raises(ValueError, match="aware"):
        preview(published, workflow="recommendation", candidate=candidate(SHIPPED), mapping={},
                now=NOW.replace(tzinfo=None))  # fmt: skip
    with pytest.raises(ValueError, match="days: 0"):
        preview(published, workflow="recommendation", candidate=candidate(SHIPPED), mapping={},
                now=NOW, days=0)  # fmt: skip


def test_a_role_changed_elsewhere_changes_who_is_emailed(
    published: Services, tmp_path: Path
) -> None:
    """The agency role asks the safeguarding lead first: N1's plan is unchanged, and its
    emails go to the head of safeguarding instead of the designated nurse."""
    hand_built(published, tmp_path, [("N1", NHS, "2011-02-01")])
    text = SHIPPED.replace(
        "contact_roles: [lead_officer, safeguarding_lead, senior_contact, business_manager]",
        "contact_roles: [safeguarding_lead, lead_officer, senior_contact, business_manager]",
    )
    c = preview(published, workflow="recommendation", candidate=candidate(text), mapping={},
                now=NOW, days=60)  # fmt: skip
    nurse, head = changes(c)[NURSE], changes(c)[HEAD]
    # 2 reminders and 6 chases (escalations go up the ladder, as before)
    assert [k for k, *_ in nurse["removed"]] == ["reminder"] * 2 + ["chase"] * 6
    assert [(k, s, t) for k, s, t, _ in head["added"]] == [
        (k, s, t) for k, s, t, _ in nurse["removed"]
    ]
    assert c.difference == 0
    publish_for_real(published, text, {})
    assert forecast(published, NOW, 60) == c.after


def _chase(step: int, day: int, to: str = BM) -> dict[str, object]:
    at = dt.datetime(2011, 2, day, 9, tzinfo=dt.UTC).isoformat()
    return {"kind": "chase", "key": "r/R1", "agency": "sept", "step": step, "to": [to],
            "at": at, "digest": True}  # fmt: skip


def test_a_chase_renumbered_on_the_same_day_is_neither_added_nor_removed() -> None:
    """Chases are numbered by period: under a new interval the chase a person gets on 16 Feb
    may be chase 1 where it was chase 2. The same email on the same day is not a change (it
    was listed as chase 1 added and chase 2 removed); the rest go or come as before."""
    before, after = [_chase(2, 16), _chase(5, 27)], [_chase(1, 16), _chase(4, 28, PANEL)]
    [bm, panel] = differences(before, after)
    assert (bm.added, [e.at.day for e in bm.removed], bm.moved) == ((), [27], ())
    assert [(e.step, e.at.day) for e in panel.added] == [(4, 28)]
    assert (panel.removed, panel.moved) == ((), ())
    # moved first, by number; only what is left over pairs by day
    before, after = [_chase(1, 9), _chase(2, 16)], [_chase(1, 16), _chase(3, 9)]
    [bm] = differences(before, after)
    assert [(e.step, e.at.day, e.was.day if e.was else 0) for e in bm.moved] == [(1, 16, 9)]
    assert [(e.step, e.at.day) for e in bm.added] == [(3, 9)]
    assert [(e.step, e.at.day) for e in bm.removed] == [(2, 16)]
