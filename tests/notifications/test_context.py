"""Template contexts: built from the mail facts and the row, and shared where rows agree."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace
from typing import Any

from engine.mail_facts import ItemFacts, MailFacts, Person
from engine.spec import load_spec_file
from notifications.context import EXPECTED, Contexts, decision_labels, long_date
from notifications.templates import available
from tests.conftest import WORKFLOWS
from web.urls import Links

SPEC = load_spec_file(WORKFLOWS / "recommendation.yaml", available())
BM = "bm@example.org"
ITEM = ItemFacts(
    id=1,
    ref="R1",
    summary="Define the process",
    state="open",
    due=dt.date(2011, 4, 1),
    agency_id="lscb",
    agency_name="Southend LSCB",
    board_item=False,
    review_id="scr-2010",
    review_name="SCR 2010",
    board="Southend LSCB",
    spec=SPEC,
)
FACTS = MailFacts(
    items={1: ITEM},
    people={(BM, "lscb"): Person(email=BM, agency_id="lscb", name="Ann", role="business_manager")},
)


def contexts() -> Contexts:
    return Contexts(
        FACTS,
        links=Links("https://signoff.example.org"),
        sender="lscb@example.org",
        sender_name="B",
    )


def row(kind: str, recipient: str = BM, **context: object) -> Any:
    return SimpleNamespace(id=1, item_id=1, kind=kind, recipient=recipient, context=context)


def test_long_dates() -> None:
    assert long_date("2011-04-01") == "1 April 2011"
    assert long_date(None) == "no date set"


def test_decision_labels_fall_back_to_the_trigger() -> None:
    labels = decision_labels(SPEC)
    assert labels["submit_evidence"] == "Submit evidence"
    assert all(labels.values())


def test_the_common_context_says_only_what_the_facts_say() -> None:
    ctx = contexts().common(row("chase", days_overdue=3))
    assert ctx == {
        "recipient_name": "Ann",
        "agency_name": "Southend LSCB",
        "board_name": "Southend LSCB",
        "review_ref": "scr-2010",
        "review_name": "SCR 2010",
        "ref": "R1",
        "summary": "Define the process",
        "due": "1 April 2011",
        "days_overdue": 3,
        "overdue_since": "2 April 2011",
        "urgent": False,
        "state_label": SPEC.states["open"].label,
        "owed": "evidence",
        "owed_by": "Southend LSCB",
        "expected": EXPECTED,
        "link": "https://signoff.example.org/items/scr-2010/R1@lscb",
        "reply_to": "lscb@example.org",
        "sender_name": "B",
        "sender_role": "",
    }


def test_rows_that_agree_share_one_build_and_each_gets_its_own_dict() -> None:
    c = contexts()
    first = c.common(row("chase", days_overdue=3))
    first["extra"] = 1
    again = c.common(row("reminder", days_overdue=3))
    assert "extra" not in again
    assert again["days_overdue"] == 3
    assert c.common(row("chase", days_overdue=4))["days_overdue"] == 4


def test_an_unknown_recipient_is_named_by_address_and_escalates_to_a_contact() -> None:
    ctx = contexts().single(row("escalation", "x@example.org", step=1))
    assert ctx["recipient_name"] == "x@example.org"
    assert (ctx["step"], ctx["escalated_to_role"]) == (2, "contact")


def test_a_decision_gets_its_label_and_a_receipt_its_list() -> None:
    c = contexts()
    assert c.single(row("decision", trigger="submit_evidence"))["decision_label"] == (
        "Submit evidence"
    )
    assert c.single(row("decision", trigger="nope"))["decision_label"] == "Decision recorded"
    assert c.single(row("receipt", received=("a.pdf",)))["received"] == ["a.pdf"]


def test_digest_and_failures_contexts() -> None:
    c = contexts()
    digest = c.digest(BM, [row("chase", days_overdue=3)], "chase")
    assert digest["recipient_name"] == "Ann"
    assert (digest["kind"], digest["urgent"]) == ("chase", False)
    assert [i["ref"] for i in digest["items"]] == ["R1"]  # type: ignore[attr-defined]
    failures = c.failures(row("failures", count=1, failures=["x"]))
    assert (failures["count"], failures["link"]) == (1, "https://signoff.example.org/outbox")
    assert failures["recipient_name"] == "Ann"


def test_the_business_manager_signs_and_without_one_the_given_signature() -> None:
    signed = MailFacts(items=FACTS.items, people=FACTS.people, signer="Sam Jones")
    ctx = Contexts(
        signed, links=Links("https://x.example.org"), sender="s@x.org", sender_name="signoff"
    )
    common = ctx.common(row("chase", days_overdue=3))
    assert (common["sender_name"], common["sender_role"]) == ("Sam Jones", "Business manager")
    unsigned = Contexts(
        FACTS,
        links=Links("https://x.example.org"),
        sender="s@x.org",
        sender_name="signoff",
        signature="The business manager",
    )
    common = unsigned.common(row("chase", days_overdue=3))
    assert (common["sender_name"], common["sender_role"]) == ("The business manager", "")


def test_whose_move_follows_the_state_the_row_was_queued_in() -> None:
    c = contexts()
    panel = c.common(row("reminder", state="evidence_submitted", days_overdue=-3))
    assert (panel["owed"], panel["owed_by"]) == ("decision", "Case review panel")
    assert "decision on the evidence" in str(panel["expected"])
    audit = c.common(row("reminder", state="panel_signed_off", days_overdue=-3))
    assert (audit["owed"], audit["owed_by"]) == ("confirmation", "Internal audit")
    done = c.single(row("decision", to_state="closed", trigger="close"))
    assert (done["owed"], done["owed_by"]) == ("", "")
