"""Layer 3: names and the graph of states.

Names are snake_case. Exactly one state is initial; every ``from`` and ``to`` names a
state; nothing leaves a terminal state; a trigger is unambiguous from each state; every
state can be reached from the initial one and every open state can reach a terminal one.
"""

from __future__ import annotations

import re

from engine.spec.machine import build_machine, state_graph
from engine.spec.model import Outcome, WorkflowFile, expand_sources
from engine.spec.reader import PathPart
from engine.spec.report import Reporter, suggest

# fullmatch, not match with "$": "$" also matches before a trailing newline ("sign_off\n")
_NAME = re.compile(r"[a-z][a-z0-9_]*")
_SNAKE = "must be snake_case (lower-case letters, digits, '_')"


def _is_name(text: str) -> bool:
    """Whether ``text`` is a plain slug: a lower-case letter, then letters, digits or '_',
    and nothing after (no trailing newline or space)."""
    return _NAME.fullmatch(text) is not None


def check_names(m: WorkflowFile, r: Reporter) -> None:
    """Every name the file declares (the workflow's, its contact roles, roles, states and
    triggers) is a plain snake_case slug."""
    if not _is_name(m.name):
        r.add(("name",), f"{m.name!r} {_SNAKE}")
    for i, contact_role in enumerate(m.contact_roles):
        if not _is_name(contact_role):
            r.add(("contact_roles", i), f"{contact_role!r} {_SNAKE}")
    for section, names in (("states", m.states), ("roles", m.roles)):
        for name in names:
            if not _is_name(name):
                r.add((section, name), f"{name!r} {_SNAKE}")
    for i, t in enumerate(m.transitions):
        if not _is_name(t.trigger):
            r.add(("transitions", i, "trigger"), f"{t.trigger!r} must be snake_case")


def check_graph(m: WorkflowFile, r: Reporter) -> None:
    """The states and transitions form a workflow every item can finish."""
    states = m.states
    initial = [n for n, s in states.items() if s.initial]
    if len(initial) != 1:
        r.add(
            ("states",),
            f"exactly one state must have 'initial: true'; found {len(initial)}: {initial}",
        )
    for name, s in states.items():
        if s.terminal and s.outcome is None:
            r.add(
                ("states", name),
                f"terminal state {name!r} needs an 'outcome': {[o.value for o in Outcome]}",
            )
        if not s.terminal and s.outcome is not None:
            r.add(
                ("states", name, "outcome"),
                f"only terminal states have an outcome; "
                f"add 'terminal: true' to {name!r} or remove its outcome",
            )
        if s.counts_as is not None and s.outcome not in (None, Outcome.IMPLEMENTED):
            r.add(
                ("states", name, "counts_as"),
                f"a state with outcome {s.outcome.value!r} is never counted as "
                f"{s.counts_as.value}; remove 'counts_as'",
            )
        if s.initial and s.counts_as is not None:
            r.add(
                ("states", name, "counts_as"),
                "the initial state cannot count as implemented; remove 'counts_as'",
            )
        if s.terminal and s.initial:
            r.add(("states", name), "the initial state cannot be terminal")
        if s.terminal and s.deadline is not None:
            r.add(("states", name, "deadline"), "a terminal state has no deadline")
    seen: dict[tuple[str, str], int] = {}
    for i, t in enumerate(m.transitions):
        sources = [t.source] if isinstance(t.source, str) else list(t.source)
        if not sources:
            r.add(("transitions", i, "from"), "must name at least one state")
        for j, src in enumerate(sources):
            at: tuple[PathPart, ...] = ("transitions", i, "from")
            if isinstance(t.source, list):
                at = (*at, j)
            if src == "*" and isinstance(t.source, str):
                continue
            if src not in states:
                r.add(at, f"unknown state {src!r}{suggest(src, states)}; states: {list(states)}")
            elif states[src].terminal:
                r.add(at, f"{src!r} is terminal; nothing may leave it")
        if t.dest is not None and t.dest not in states:
            r.add(
                ("transitions", i, "to"),
                f"unknown state {t.dest!r}{suggest(t.dest, states)}; states: {list(states)}",
            )
        for src in expand_sources(t, states):
            if src not in states:
                continue
            if (t.trigger, src) in seen:
                r.add(
                    ("transitions", i, "trigger"),
                    f"trigger {t.trigger!r} from {src!r} is already declared by "
                    f"transitions[{seen[(t.trigger, src)]}]; a trigger must be unambiguous",
                )
            seen[(t.trigger, src)] = i
    if len(initial) != 1 or r.errors:
        return
    # every name is known and one state is initial: the library can build the machine now
    edges = state_graph(build_machine(m))
    reachable = _closure({initial[0]}, edges)
    for name in states:
        if name not in reachable:
            r.add(
                ("states", name),
                f"state {name!r} cannot be reached from {initial[0]!r}; "
                "add a transition into it or remove it",
            )
    terminals = {n for n, s in states.items() if s.terminal}
    if not terminals:
        r.add(("states",), "no state has 'terminal: true'; every workflow must be able to end")
        return
    for name, s in states.items():
        if not s.terminal and name in reachable and not (_closure({name}, edges) & terminals):
            r.add(
                ("states", name),
                f"from {name!r} no terminal state can be reached; "
                "items there could never be closed",
            )


def _closure(start: set[str], edges: dict[str, set[str]]) -> set[str]:
    seen, todo = set(start), list(start)
    while todo:
        for nxt in edges.get(todo.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen
