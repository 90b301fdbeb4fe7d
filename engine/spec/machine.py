"""The state graph of a checked workflow, built by the ``transitions`` library.

The library is used where it adds something: it turns the file into a state machine
(each trigger's sources expanded, ``to: null`` kept as an internal transition), and the
graph checks ask that machine where each state leads. It is not consulted when a
transition fires: ``WorkflowSpec.table`` already holds the transition, and so its
destination; firing a shared Machine as well would look the same (trigger, state) up a
second time, behind a lock, on every fire.
"""

from __future__ import annotations

from transitions import Machine

from engine.spec.model import WorkflowFile, expand_sources


def build_machine(model: WorkflowFile) -> Machine:
    """A model-less ``transitions.Machine`` for ``model``.

    Call it only once every ``from`` and ``to`` names a state and one state is initial
    (the graph checks see to that): the library itself checks targets only when firing.
    """
    return Machine(
        model=None,
        states=list(model.states),
        transitions=[
            {"trigger": t.trigger, "source": list(expand_sources(t, model.states)), "dest": t.dest}
            for t in model.transitions
        ],
        initial=next(name for name, s in model.states.items() if s.initial),
        auto_transitions=False,
        ignore_invalid_triggers=False,
    )


def state_graph(machine: Machine) -> dict[str, set[str]]:
    """state -> the states one trigger leads to from it (internal transitions left out)."""
    edges: dict[str, set[str]] = {name: set() for name in machine.states}
    for event in machine.events.values():
        for source, moves in event.transitions.items():
            edges[source].update(m.dest for m in moves if m.dest is not None)
    return edges
