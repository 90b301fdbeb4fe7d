"""Decisions bound to what the person saw: the item's version and the evidence on file."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from engine import decisions, outbox
from engine.errors import ItemChanged
from engine.evidence import EvidenceInput
from engine.fire import FireRequest, fire
from engine.services import Services
from engine.store.tables import Rag
from tests.conftest import BM, NOW, PANEL, R1, challenge_r1, submit_r1


def sign_off(expected_version: int | None, expected_evidence: list[int] | None) -> FireRequest:
    return FireRequest(
        item=R1, trigger="sign_off", actor=PANEL, now=NOW, reason="good", rag=Rag.GREEN,
        meeting_date=NOW.date(), expected_version=expected_version,
        expected_evidence=expected_evidence,
    )  # fmt: skip


def head(demo: Services) -> tuple[str, int, int]:
    with demo.db.engine.connect() as conn:
        return tuple(  # type: ignore[return-value]
            conn.execute(
                sa.text("SELECT state, version, seq FROM item WHERE id = :i"), {"i": 1}
            ).one()
        )


def test_a_decision_on_an_older_version_is_refused_with_both_versions(demo: Services) -> None:
    fired = submit_r1(demo)
    before = head(demo)
    with pytest.raises(ItemChanged) as refused:
        fire(demo, sign_off(fired.version - 1, list(fired.evidence_ids)))
    assert (refused.value.seen_version, refused.value.version) == (fired.version - 1, fired.version)
    assert head(demo) == before


def test_a_decision_on_other_evidence_is_refused_even_at_the_same_version(demo: Services) -> None:
    """The page's evidence ids must be those on file (a tampered or stale list is refused)."""
    fired = submit_r1(demo)
    before = head(demo)
    with pytest.raises(ItemChanged) as refused:
        fire(demo, sign_off(fired.version, []))
    assert refused.value.seen_evidence == ()
    assert refused.value.evidence == fired.evidence_ids
    assert head(demo) == before


def test_a_decision_on_what_is_on_file_is_recorded(demo: Services) -> None:
    fired = submit_r1(demo)
    done = fire(demo, sign_off(fired.version, list(fired.evidence_ids)))
    assert done.to_state == "panel_signed_off"


def test_changes_since_lists_the_workflows_transitions_not_mail_notes(demo: Services) -> None:
    first = submit_r1(demo)
    challenge_r1(demo)
    with demo.db.write() as conn:
        row = conn.execute(sa.text("SELECT id FROM outbox ORDER BY id LIMIT 1")).scalar_one()
        conn.execute(sa.text("UPDATE outbox SET status = 'failed' WHERE id = :i"), {"i": row})
    assert outbox.retry(demo.db, row, by=PANEL, now=NOW)
    more = [EvidenceInput(statement="more")]
    later = NOW + dt.timedelta(hours=1)
    fire(demo, FireRequest(item=R1, trigger="submit_evidence", actor=BM, now=later, evidence=more))
    changes = decisions.changes_since(demo, first.item_id, first.seq)
    assert [c.text.split(" on ")[0] for c in changes] == [
        "Case review panel (Case Review Panel Member) challenged the evidence",
        "Agency lead officer (LSCB Business Manager) submitted evidence",
    ]
    assert changes[0].reason == "thin"
    assert changes[0].text.endswith("Now: Challenged by the panel.")
