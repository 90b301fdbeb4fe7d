"""A checked workflow, indexed for the service: ``WorkflowSpec``.

Built once per published version from a file every layer has passed, and never changed
afterwards. The indexes answer what ``fire`` and the views ask on every request without
walking the file.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from engine.spec.fields import words
from engine.spec.model import State, Transition, WorkflowFile, expand_sources
from engine.spec.rules import EFFECTS


@dataclass(frozen=True)
class WorkflowSpec:
    """A checked workflow: the file plus indexes the service uses on every fire."""

    model: WorkflowFile
    source_text: str
    sha256: str
    initial: str
    # (trigger, state) -> transition; sources expanded ('*' included)
    table: dict[tuple[str, str], Transition] = field(repr=False)
    triggers_from: dict[str, tuple[str, ...]] = field(repr=False)
    forbidden_prior: dict[str, tuple[str, ...]] = field(repr=False)
    # triggers whose reason the agency is shown as a challenge to answer; see compile_spec
    challenge_triggers: frozenset[str] = field(default=frozenset(), repr=False)
    # a plan's status words (engine.spec.fields.words) -> the state an import places items in
    imported_states: dict[str, str] = field(default_factory=dict, repr=False)

    @property
    def name(self) -> str:
        return self.model.name

    @property
    def states(self) -> dict[str, State]:
        return self.model.states

    def sources(self, transition: Transition) -> tuple[str, ...]:
        return expand_sources(transition, self.model.states)

    def allowed_from(self, state: str) -> tuple[str, ...]:
        return self.triggers_from.get(state, ())

    def is_terminal(self, state: str) -> bool:
        return self.model.states[state].terminal

    def order(self, state: str) -> int:
        return list(self.model.states).index(state)

    def imported_state(self, status: str) -> str | None:
        """The state ``imported_status`` places an item whose plan says ``status`` in
        (case and punctuation ignored), or None when the workflow does not name it."""
        return self.imported_states.get(words(status))


def compile_spec(m: WorkflowFile, text: str) -> WorkflowSpec:
    """Index ``m``, a file every check has passed, whose YAML text is ``text``.

    The challenge triggers are derived from the file: a transition is a challenge when it
    sends the item from another state into one that asks the agency for evidence on entry
    (``request_on_entry``), or when one of its effects turns down what the agency asked
    for (``Effect.refuses`` in ``engine.spec.rules``).
    """
    table: dict[tuple[str, str], Transition] = {}
    by_state: dict[str, list[str]] = {n: [] for n in m.states}
    challenges: set[str] = set()
    for t in m.transitions:
        sources = expand_sources(t, m.states)
        for src in sources:
            table[(t.trigger, src)] = t
            by_state[src].append(t.trigger)
        asks_again = t.dest is not None and m.states[t.dest].request_on_entry
        if (asks_again and any(s != t.dest for s in sources)) or any(
            EFFECTS[e].refuses for e in t.effects
        ):
            challenges.add(t.trigger)
    prior: dict[str, list[str]] = {}
    for s in m.separation_of_duties:
        prior.setdefault(s.trigger, []).extend(s.not_actor_of)
    initial = next(n for n, s in m.states.items() if s.initial)
    return WorkflowSpec(
        model=m,
        source_text=text,
        sha256=hashlib.sha256(text.encode()).hexdigest(),
        initial=initial,
        table=table,
        triggers_from={k: tuple(v) for k, v in by_state.items()},
        forbidden_prior={k: tuple(v) for k, v in prior.items()},
        challenge_triggers=frozenset(challenges),
        imported_states={words(k): v for k, v in m.imported_status.items()},
    )
