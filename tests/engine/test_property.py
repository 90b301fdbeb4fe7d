"""Random trigger sequences against the default workflow (hypothesis).

Whatever anyone fires, in any order, with any inputs: only states of the workflow are
ever stored, each stored state is what the workflow says it should be, refusals change
nothing, events equal successful transitions (plus the creation event), and the hash
chain verifies.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from engine.errors import FireError
from engine.evidence import EvidenceInput
from engine.fire import FireRequest, fire
from engine.hashchain import verify
from engine.services import Services
from engine.spec import Requirement, WorkflowSpec
from engine.store.tables import Item, Rag, Recommendation
from tests.conftest import (
    AUDITOR,
    BM,
    NOW,
    OTHER_AGENCY,
    PANEL,
    PANEL_CHAIR,
    make_database,
    make_item,
)

ACTORS = [BM, PANEL, PANEL_CHAIR, AUDITOR, OTHER_AGENCY, "stranger@example.org"]
_item = Item.__table__  # type: ignore[attr-defined]
_rec = Recommendation.__table__  # type: ignore[attr-defined]
_refs = itertools.count(1)
# one database per test (each example adds its own item), and real I/O per step
_SLOW_DB = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow]

MAIN_PATH = [
    "submit_evidence",
    "challenge",
    "sign_off",
    "confirm_audit",
    "require_reaudit",
    "confirm_embedded",
    "close",
    "audit_not_confirmed",
]
SIDE_TRIGGERS = [
    "set_rag",
    "request_extension",
    "grant_extension",
    "refuse_extension",
    "close_without_assurance",
    "transfer",
    "no_such_trigger",
]

step = st.fixed_dictionaries(
    {
        # the main path is weighted up; endings that close early are rarer
        "trigger": st.sampled_from(MAIN_PATH * 4 + SIDE_TRIGGERS),
        "actor": st.sampled_from(ACTORS),
        "reason": st.sampled_from([None, "", "because"]),
        "rag": st.sampled_from([None, *Rag]),
        "evidence": st.booleans(),
        "meeting": st.booleans(),
        "due_days": st.sampled_from([None, -10, 30, 90]),
        # most steps are well-formed for the trigger, so sequences travel deep into the workflow
        "proper": st.integers(0, 9).map(lambda n: n < 8),
    }
)
ROLE_ACTORS = {
    "agency": [BM],
    "panel": [PANEL, PANEL_CHAIR],
    "auditor": [AUDITOR],
    "business_manager": [BM],
}


def _demo(kind: str, tmp_path: Path) -> Iterator[Services]:
    for database in make_database(kind, tmp_path, "demo"):  # published, plan imported
        yield Services(db=database, data_dir=tmp_path / "data")
        # after every example of the property: the whole log, all items, still verifies
        with database.engine.connect() as conn:
            result = verify(conn)
        assert result.ok, result.broken
        assert result.items > 9


@pytest.fixture
def demo_sqlite(tmp_path: Path) -> Iterator[Services]:
    yield from _demo("sqlite", tmp_path)


@pytest.fixture
def demo_pg(tmp_path: Path) -> Iterator[Services]:
    yield from _demo("postgres", tmp_path)


def _new_item(services: Services) -> int:
    return make_item(services, ref=f"P{next(_refs)}", due=dt.date(2011, 4, 1))


def _well_formed(spec: WorkflowSpec, state: str, s: dict[str, Any], i: int) -> dict[str, Any]:
    t = spec.table.get((s["trigger"], state))
    if t is None:
        return s
    needs = set(t.requires)
    actors = [a for role in t.roles for a in ROLE_ACTORS[role]]
    return {
        **s,
        "actor": actors[i % len(actors)],
        "reason": "because" if Requirement.REASON in needs else s["reason"],
        "rag": (s["rag"] or Rag.AMBER) if Requirement.RAG in needs else None,
        "evidence": Requirement.EVIDENCE in needs,
        "meeting": Requirement.MEETING_DATE in needs,
        "due_days": (s["due_days"] or 30) if Requirement.DUE_DATE in needs else None,
    }


def _row(services: Services, item_id: int) -> Any:
    with services.db.engine.connect() as conn:
        return conn.execute(sa.select(_item).where(_item.c.id == item_id)).one()


def _run(services: Services, steps: list[dict[str, Any]]) -> None:
    item_id = _new_item(services)
    with services.db.engine.connect() as conn:
        spec = services.specs.get(conn, _row(services, item_id).workflow_version_id)
    state, successes = spec.initial, 0
    for i, s in enumerate(steps):
        now = NOW + dt.timedelta(hours=i + 1)
        if s["proper"]:
            s = _well_formed(spec, state, s, i)
        request = FireRequest(
            item=item_id,
            trigger=s["trigger"],
            actor=s["actor"],
            now=now,
            reason=s["reason"],
            rag=s["rag"],
            meeting_date=now.date() if s["meeting"] else None,
            due_date=dt.date(2011, 4, 1) + dt.timedelta(days=s["due_days"])
            if s["due_days"] is not None
            else None,
            evidence=[EvidenceInput(statement="evidence")] if s["evidence"] else [],
        )
        before = _row(services, item_id)
        try:
            fire(services, request)
        except FireError:
            after = _row(services, item_id)
            assert (after.state, after.version, after.seq) == (
                before.state,
                before.version,
                before.seq,
            )
            continue
        transition = spec.table[(s["trigger"], state)]
        state = transition.dest or state
        successes += 1
        after = _row(services, item_id)
        assert after.state == state
        assert after.state in spec.states
        assert after.seq == before.seq + 1
    event(f"ended in {state}")
    row = _row(services, item_id)
    with services.db.engine.connect() as conn:
        events = conn.execute(
            sa.text("SELECT count(*) FROM event WHERE item_id = :i"), {"i": item_id}
        ).scalar_one()
    assert events == successes + 1 == row.seq


@settings(
    max_examples=2000,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=st.lists(step, min_size=1, max_size=16))
def test_random_sequences_keep_every_invariant_sqlite(
    demo_sqlite: Services, steps: list[dict[str, Any]]
) -> None:
    _run(demo_sqlite, steps)


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=st.lists(step, min_size=1, max_size=16))
@pytest.mark.postgres
def test_random_sequences_keep_every_invariant_postgres(
    demo_pg: Services, steps: list[dict[str, Any]]
) -> None:
    _run(demo_pg, steps)
