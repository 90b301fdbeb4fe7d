"""The history is tamper-evident: edits, removals and truncation are found and located."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from engine.hashchain import verify
from engine.services import Services
from tests.conftest import challenge_r1, submit_r1


def _history(services: Services) -> int:
    submit_r1(services, "done")
    return challenge_r1(services).item_id


def _tamper(services: Services, sql: str, **params: object) -> None:
    with services.db.write() as conn:
        conn.execute(sa.text(sql), params)


def _verify(services: Services) -> str:
    with services.db.engine.connect() as conn:
        result = verify(conn)
    return "ok" if result.ok else str(result.broken)


def test_untouched_log_verifies(demo: Services) -> None:
    _history(demo)
    with demo.db.engine.connect() as conn:
        result = verify(conn)
    assert (result.ok, result.items, result.events) == (True, 9, 11)


def test_edited_reason_is_found(demo: Services) -> None:
    item_id = _history(demo)
    _tamper(demo, "UPDATE event SET reason = 'fine' WHERE item_id = :i AND seq = 3", i=item_id)
    assert _verify(demo) == (
        f"item {item_id}, event 3: its content was changed after it was written (hash mismatch)"
    )


def test_edited_actor_in_the_middle_is_found(demo: Services) -> None:
    item_id = _history(demo)
    _tamper(demo, "UPDATE event SET actor = 'x@y.org' WHERE item_id = :i AND seq = 2", i=item_id)
    assert _verify(demo).startswith(f"item {item_id}, event 2:")


def test_removed_middle_event_is_found(demo: Services) -> None:
    item_id = _history(demo)
    _tamper(demo, "DELETE FROM event WHERE item_id = :i AND seq = 2", i=item_id)
    assert _verify(demo) == (
        f"item {item_id}, event 3: expected event 2 next, found 3: an event is missing"
    )


def test_removed_newest_event_is_found(demo: Services) -> None:
    item_id = _history(demo)
    _tamper(demo, "DELETE FROM event WHERE item_id = :i AND seq = 3", i=item_id)
    assert "newest events were removed or replaced" in _verify(demo)


def test_rewritten_chain_with_recomputed_hashes_still_breaks_at_the_item_head(
    demo: Services,
) -> None:
    """Someone who recomputes an edited event's hash must also fix every later link and the
    item's head; editing the last event and its hash is caught by the head."""
    item_id = _history(demo)
    _tamper(
        demo, "UPDATE event SET hash = :h WHERE item_id = :i AND seq = 3", h="f" * 64, i=item_id
    )
    assert _verify(demo).startswith(f"item {item_id}, event 3:")


@pytest.mark.parametrize("column", ["trigger", "to_state", "from_state"])
def test_any_changed_field_breaks_the_chain(demo: Services, column: str) -> None:
    item_id = _history(demo)
    _tamper(demo, f"UPDATE event SET {column} = 'closed' WHERE item_id = :i AND seq = 2", i=item_id)
    assert "hash mismatch" in _verify(demo)
