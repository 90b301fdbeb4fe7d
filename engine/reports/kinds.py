"""What an event was, in the board's words, read from the workflow it was fired under.

Names of triggers and states are the workflow file's; what they mean is read from what the
file declares: a transition that gives a due date asks for an extension, one whose effect
moves the due date grants it, one whose effect refuses it refuses it; entering a state that
counts as implemented is a sign-off, one that counts as assured an assurance; entering a
terminal state is a closure; a challenge is what ``WorkflowSpec.challenge_triggers`` says.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from engine.spec import EFFECTS, CountsAs, Requirement, WorkflowSpec

CREATE = "create"  # engine.items.create_item
MIGRATE = "migrate_workflow"  # engine.versions.record_migration


class Kind(StrEnum):
    CREATED = "created"
    IMPORTED = "imported"  # an imported status, not verified by signoff
    MIGRATED = "migrated"
    SUBMISSION = "submission"
    CHALLENGE = "challenge"
    SIGN_OFF = "sign_off"
    ASSURANCE = "assurance"
    RAG = "rag"
    EXTENSION_REQUESTED = "extension_requested"
    EXTENSION_GRANTED = "extension_granted"
    EXTENSION_REFUSED = "extension_refused"
    CLOSURE = "closure"
    MOVE = "move"
    NOTE = "note"


# what a panel meeting decides: the kinds its minutes list
DECISIONS = frozenset(
    {
        Kind.CHALLENGE,
        Kind.SIGN_OFF,
        Kind.ASSURANCE,
        Kind.RAG,
        Kind.EXTENSION_GRANTED,
        Kind.EXTENSION_REFUSED,
        Kind.CLOSURE,
    }
)


def kind_of(event: Any, spec: WorkflowSpec | None) -> Kind:
    """What ``event`` (an event row of ``engine.reports.lives.load_lives``) was, under
    ``spec``, the version it was fired under."""
    if event.verified is False:
        return Kind.IMPORTED
    if event.trigger == CREATE:
        return Kind.CREATED
    if event.trigger == MIGRATE:
        return Kind.MIGRATED
    t = spec.table.get((event.trigger, event.from_state)) if spec and event.from_state else None
    if t is None or spec is None:
        return Kind.MOVE if event.from_state != event.to_state else Kind.NOTE
    if event.due_to:
        return Kind.EXTENSION_GRANTED
    if any(EFFECTS[name].refuses for name in t.effects if name in EFFECTS):
        return Kind.EXTENSION_REFUSED
    if Requirement.DUE_DATE in t.requires:
        return Kind.EXTENSION_REQUESTED
    if t.dest is not None and t.dest != event.from_state:
        dest = spec.states[t.dest]
        if dest.terminal:
            return Kind.CLOSURE
        if t.trigger in spec.challenge_triggers:
            return Kind.CHALLENGE
        before = spec.states[event.from_state].counted_as
        if dest.counted_as is CountsAs.ASSURED and before is not CountsAs.ASSURED:
            return Kind.ASSURANCE
        if dest.counted_as is not None and before is None:
            return Kind.SIGN_OFF
        if Requirement.EVIDENCE in t.requires:
            return Kind.SUBMISSION
        return Kind.MOVE
    if event.rag:
        return Kind.RAG
    return Kind.NOTE


def label_of(event: Any, spec: WorkflowSpec | None) -> str:
    """The transition's label in the file, or its trigger made readable."""
    if spec is not None:
        for t in spec.model.transitions:
            if t.trigger == event.trigger and t.label:
                return t.label
    return str(event.trigger).replace("_", " ").capitalize()
