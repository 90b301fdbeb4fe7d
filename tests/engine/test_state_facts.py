"""State facts for lists: read from a published version's text with plain YAML, they say
what the checked spec says, and anything plain YAML could read differently is refused."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from engine.services import Services
from engine.spec import load_spec
from engine.store import core
from engine.versions import SpecCache, StateFacts, facts_of, read_state_facts
from notifications.templates import available
from tests.conftest import WORKFLOWS

SHIPPED = sorted(WORKFLOWS.glob("*.yaml"))


@pytest.mark.parametrize("path", SHIPPED, ids=[p.stem for p in SHIPPED])
def test_plain_reading_of_a_shipped_workflow_equals_the_spec(path: Path) -> None:
    text = path.read_text()
    assert read_state_facts(text) == facts_of(load_spec(text, "shipped", available()))


def _recommendation() -> str:
    return (WORKFLOWS / "recommendation.yaml").read_text()


def test_a_terminal_state_reads_with_its_outcome() -> None:
    facts = read_state_facts(_recommendation())
    assert facts is not None
    finished = [f for f in facts.values() if f.terminal]
    assert finished
    assert all(f.outcome for f in finished)
    assert not any(f.outcome for f in facts.values() if not f.terminal)


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("states:\n  no:\n    label: No\n", "a state YAML 1.1 reads as false"),
        ("states:\n  done:\n    label: Done\n    terminal: 1\n", "a 1 pydantic takes as true"),
        ("states:\n  done:\n    label: 2011-01-01\n", "a label YAML reads as a date"),
        ("states:\n  done:\n    label: Done\n    outcome: 1\n", "an outcome not a string"),
        ("states: [a, b]\n", "states not a mapping"),
        ("- a\n", "no mapping at all"),
        ("states: {a: [\n", "not YAML"),
    ],
)
def test_anything_plain_yaml_could_read_differently_is_refused(text: str, why: str) -> None:
    assert read_state_facts(text) is None, why


def test_yaml_1_1_booleans_read_as_pydantic_reads_their_strings() -> None:
    """engine.spec reads ``yes`` as a string and pydantic makes it true; YAML 1.1 agrees."""
    facts = read_state_facts("states:\n  done:\n    label: Done\n    terminal: yes\n")
    assert facts == {"done": StateFacts(label="Done", terminal=True, outcome=None)}


def test_spec_cache_states_equal_the_specs_for_every_published_version(demo: Services) -> None:
    with demo.db.engine.connect() as conn:
        ids = conn.execute(sa.select(core.workflow_version.c.id)).scalars().all()
        assert ids
        for version_id in ids:
            light, full = SpecCache(), SpecCache()
            assert light.states(conn, version_id) == facts_of(full.get(conn, version_id))


def test_spec_cache_states_use_a_spec_already_loaded(demo: Services) -> None:
    with demo.db.engine.connect() as conn:
        version_id = conn.execute(sa.select(sa.func.min(core.workflow_version.c.id))).scalar_one()
        cache = SpecCache()
        spec = cache.get(conn, version_id)
        assert cache.states(conn, version_id) == facts_of(spec)
        first = next(iter(spec.states))
        assert cache.states(conn, version_id)[first] == StateFacts(
            label=spec.states[first].label,
            terminal=spec.states[first].terminal,
            outcome=None,
        )
