"""``signoff token`` and ``signoff demo`` through the command line, on SQLite and PostgreSQL
(issue 10)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re

from engine.demo import SPREAD, rebase_plan
from tests.conftest import CONTACTS, PLAN
from tests.test_cli_checkpoint import Board
from tests.test_cli_checkpoint import board as board  # the fixture

NOW = ("--now", "2011-01-10T09:00Z")
SEPT_LEAD = "named.nurse@sept.example.org"
NHS_LEAD = "designated.nurse@nhs-see.example.org"
PARTNER_PLAN = PLAN.parent / "demo_partner_actions.yaml"


def test_a_token_is_printed_once_and_only_its_hash_is_kept(board: Board) -> None:
    made = board("token", "create", "--name", "Quarterly report", "--role", "board_viewer", *NOW)
    secret = made.stdout.strip()
    assert secret.startswith("sot_")
    assert len(secret) > 40
    assert "copy it now" in made.stderr
    stored = board.sql("SELECT secret_hash, name, role FROM api_token")
    assert [tuple(r) for r in stored] == [
        (hashlib.sha256(secret.encode()).hexdigest(), "Quarterly report", "board_viewer")
    ]
    listed = board("token", "list").stdout
    assert "Quarterly report" in listed
    assert "last used: never used" in listed
    assert secret not in listed


def test_a_token_is_listed_then_revoked(board: Board) -> None:
    board("token", "create", "--name", "Feed", "--role", "agency_contact", "--agency", "sept",
          "--for", SEPT_LEAD, *NOW)  # fmt: skip
    [token] = json.loads(board("token", "list", "--json").stdout)["tokens"]
    assert (token["role"], token["agency"], token["acts_for"]) == (
        "agency_contact",
        "sept",
        SEPT_LEAD,
    )
    assert "revoked" in board("token", "revoke", token["id"], *NOW).stdout
    assert board("token", "list").stdout.strip() == "no tokens"
    assert "REVOKED" in board("token", "list", "--all").stdout


def test_bad_token_requests_are_refused_and_change_nothing(board: Board) -> None:
    cases = [
        (("--name", "x", "--role", "wizard"), "unknown role 'wizard'"),
        (("--name", "x", "--role", "agency_contact"), "give --agency"),
        (("--name", "x", "--role", "internal_auditor"), "give --agency"),
        (("--name", "x", "--role", "agency_contact", "--agency", "nowhere"), "unknown agency"),
        (("--name", "", "--role", "panel_member"), "name"),
        (("--name", "x" * 101, "--role", "panel_member"), "name"),
        (("--name", "x", "--role", "panel_member", "--for", "nobody@example.org"),
         "not in the directory"),
        (("--name", "x", "--role", "panel_member", "--for", SEPT_LEAD), "does not hold"),
        (("--name", "x", "--role", "agency_contact", "--agency", "nhs-south-east-essex",
          "--for", SEPT_LEAD), "does not hold"),
    ]  # fmt: skip
    for args, words in cases:
        refused = board("token", "create", *args, code=1)
        assert words in refused.stderr, (args, refused.stderr)
    assert board.sql("SELECT count(*) FROM api_token")[0][0] == 0
    assert "no API token" in board("token", "revoke", "nosuchtoken", code=1).stderr


def test_demo_rebases_due_dates_and_prints_a_link_per_role(board: Board) -> None:
    board.sql("DELETE FROM event")
    board.sql("DELETE FROM item")
    board.sql("DELETE FROM recommendation")
    done = board("demo", "--plan", str(PLAN), "--plan", str(PARTNER_PLAN),
                 "--contacts", str(CONTACTS), "--rebase-dates-to", "2026-03-02", *NOW)  # fmt: skip
    assert "due dates moved to around 2026-03-02" in done.stdout
    links = re.findall(r"http\S+/sign-in/(\S+)", done.stdout)
    assert len(links) == 4
    assert board.sql("SELECT count(*) FROM sign_in_link WHERE used_at IS NULL")[0][0] >= 4
    # R3 and R5 have only start dates: no due date to move; the seven other lists take
    # the first seven offsets of the spread, in file order
    southend = (
        "SELECT item.due FROM item JOIN recommendation r ON r.id = item.recommendation_id "
        "WHERE r.review_id = 'southend-iawg-scr-audit-2010'"
    )
    assert len([r for r in board.sql(southend) if r[0] is None]) == 2
    dues = sorted(r[0] for r in board.sql(southend + " AND item.due IS NOT NULL"))
    assert len(dues) == 7
    first, last = (
        dt.date.fromisoformat(str(dues[0])[:10]),
        dt.date.fromisoformat(str(dues[-1])[:10]),
    )
    assert first == dt.date(2026, 3, 2) + dt.timedelta(days=min(SPREAD[:7]))
    assert last == dt.date(2026, 3, 2) + dt.timedelta(days=max(SPREAD[:7]))


def test_the_demo_lead_officer_has_items_of_their_own_and_is_chased(board: Board) -> None:
    """``make run``'s walk-through: the printed agency lead officer (NHS South East Essex) owns
    items in the demo, some overdue, and the first sweep chases them by email."""
    board.sql("DELETE FROM event")
    board.sql("DELETE FROM item")
    board.sql("DELETE FROM recommendation")
    done = board("demo", "--plan", str(PLAN), "--plan", str(PARTNER_PLAN),
                 "--contacts", str(CONTACTS), "--rebase-dates-to", "2026-03-02",
                 "--now", "2026-03-02T09:00Z")  # fmt: skip
    assert f"agency lead officer (NHS South East Essex) ({NHS_LEAD})" in done.stdout
    owners = {r[0] for r in board.sql("SELECT DISTINCT agency_id FROM item")}
    assert {"southend-lscb", "nhs-south-east-essex", "sept"} <= owners
    nhs = board.sql("SELECT due FROM item WHERE agency_id = 'nhs-south-east-essex'")
    overdue = [r for r in nhs if str(r[0])[:10] < "2026-03-02"]
    assert len(nhs) >= 2
    assert overdue
    board("sweep", "--now", "2026-03-02T09:00Z")
    sent_to = {r[0] for r in board.sql("SELECT recipient FROM outbox WHERE kind LIKE '%chase%'")}
    assert NHS_LEAD in sent_to, sent_to


def test_rebase_keeps_the_gaps_between_one_lists_dates() -> None:
    text = "- ref: A\n  due: [2011-06-30, 2011-01-31]\n- ref: B\n  due: []\n"
    moved = rebase_plan(text, dt.date(2026, 1, 1))
    last = dt.date(2026, 1, 1) + dt.timedelta(days=SPREAD[0])
    gap = dt.date(2011, 6, 30) - dt.date(2011, 1, 31)
    assert f"due: [{(last + gap).isoformat()}, {last.isoformat()}]" in moved
    assert "due: []" in moved
