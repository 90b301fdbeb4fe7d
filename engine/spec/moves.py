"""Whose move it is: what the role a state's deadline is addressed to owes, read from the file.

A deadline names who must act (``deadline.to``); what they owe follows from what those roles
may do to leave the state: a role scoped to the item's agency that moves it on with evidence
owes **evidence**; a board-wide role that moves it on with evidence (internal audit confirming
with its report) owes a **confirmation**; a role that moves it on without evidence (the panel
signing off or challenging) owes a **decision**. Emails word every reminder, chase and
escalation from this, so a late panel is never told to send evidence.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from engine.spec.model import Requirement, Role, Scope, WorkflowFile, expand_sources


class Owed(StrEnum):
    """What the people a deadline is addressed to owe the board."""

    EVIDENCE = "evidence"
    DECISION = "decision"
    CONFIRMATION = "confirmation"


@dataclass(frozen=True, kw_only=True, slots=True)
class Move:
    """Whose move it is in a state with a deadline: what is owed, and by which role."""

    owed: Owed
    role: str  # the workflow role the deadline is addressed to (its first)
    label: str  # that role's label ("Case review panel"), or its name made readable
    own_agency: bool  # the role is the item's agency's (so the agency owes it)


def move_in(model: WorkflowFile, state: str) -> Move | None:
    """Whose move it is in ``state``: None when the state has no deadline.

    The deadline's targets are workflow roles, or contact roles (then the workflow roles
    that include them). Of the transitions those roles may fire to leave ``state``, one that
    requires evidence makes it evidence (own agency) or a confirmation (board-wide);
    otherwise it is a decision.
    """
    st = model.states[state]
    if st.deadline is None:
        return None
    roles = _roles_of(model, st.deadline.to)
    if not roles:
        return None
    leaving = [
        t
        for t in model.transitions
        if t.dest not in (None, state)
        and state in expand_sources(t, model.states)
        and set(t.roles) & set(roles)
    ]
    own = any(model.roles[r].scope is Scope.OWN_AGENCY for r in roles)
    if any(Requirement.EVIDENCE in t.requires for t in leaving):
        owed = Owed.EVIDENCE if own else Owed.CONFIRMATION
    else:
        owed = Owed.DECISION
    first = roles[0]
    return Move(owed=owed, role=first, label=_label(first, model.roles[first]), own_agency=own)


def _roles_of(model: WorkflowFile, targets: list[str]) -> list[str]:
    out: list[str] = []
    for target in targets:
        if target in model.roles:
            found = [target]
        else:
            found = [n for n, r in model.roles.items() if target in r.contact_roles]
        out.extend(r for r in found if r not in out)
    return out


def _label(name: str, role: Role) -> str:
    return role.label or name.replace("_", " ").capitalize()
