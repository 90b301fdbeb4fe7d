"""Workflow files: YAML -> a frozen, fully checked ``WorkflowSpec``.

The front door over one module per layer (see ``loader``): ``reader`` (safe YAML with
lines) -> ``model`` (pydantic, unknown keys refused) -> ``graph`` (names and states) ->
``references`` (roles, rules, templates, ladders, deadlines) -> ``compiled`` (the indexed,
immutable spec). ``rules`` holds the guards and effects a file may name, each beside its
behaviour; ``machine`` builds the state graph with the ``transitions`` library;
``diagram`` draws a spec as Mermaid.
"""

from __future__ import annotations

from engine.spec.compiled import WorkflowSpec
from engine.spec.loader import json_schema, load_spec, load_spec_file
from engine.spec.model import (
    DEADLINE_KINDS,
    LADDER,
    TEMPLATE_KINDS,
    Clock,
    Deadline,
    EscalationStep,
    Notify,
    Outcome,
    Requirement,
    Role,
    Scope,
    Separation,
    State,
    Transition,
    WorkflowFile,
    answer_transition,
)
from engine.spec.moves import Move, Owed, move_in
from engine.spec.report import suggest
from engine.spec.rules import EFFECTS, GUARDS

__all__ = [
    "DEADLINE_KINDS",
    "EFFECTS",
    "GUARDS",
    "LADDER",
    "Move",
    "TEMPLATE_KINDS",
    "Clock",
    "Deadline",
    "EscalationStep",
    "Notify",
    "Outcome",
    "Owed",
    "Requirement",
    "Role",
    "Scope",
    "Separation",
    "State",
    "Transition",
    "WorkflowFile",
    "WorkflowSpec",
    "answer_transition",
    "json_schema",
    "load_spec",
    "load_spec_file",
    "move_in",
    "suggest",
]
