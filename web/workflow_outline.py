"""A workflow draft's states and transitions in words, for the structured editor's pages.

Read from the draft's YAML as data (``engine.spec.reader``), not through the full loader, so
a draft with problems elsewhere still shows and takes changes; a value of the wrong shape is
shown as it is rather than refused here (the loader's checks run when a change is saved).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from engine.spec import LADDER, Requirement
from engine.spec.loader import LIMITS
from engine.spec.reader import YamlProblem, load

TEMPLATE_KINDS = ("request", "reminder", "chase", "escalation")
DIGEST_KINDS = ("reminder", "chase", "escalation")
REQUIREMENTS = {
    Requirement.EVIDENCE.value: "Evidence (a statement or files)",
    Requirement.REASON.value: "A reason",
    Requirement.MEETING_DATE.value: "The date of the meeting",
    Requirement.RAG.value: "A Red/Amber/Green status",
    Requirement.DUE_DATE.value: "A due date",
}
LADDER_WORDS = "The agency's escalation ladder (its next rung)"


@dataclass(frozen=True, kw_only=True)
class Choice:
    value: str
    text: str
    hint: str = ""


class Outline:
    """The parts of a draft the structured editor shows and changes.

    Raises (on construction):
        ValueError: the YAML cannot be read, or is not a mapping (its message says why).
    """

    def __init__(self, text: str) -> None:
        try:
            data = load(text, LIMITS).data
        except YamlProblem as exc:
            where = f"line {exc.line}: " if exc.line else ""
            raise ValueError(f"{where}{exc.problem}") from None
        if not isinstance(data, Mapping):
            raise ValueError("the YAML is not a mapping of name, label, roles, states, ...")
        self.data = data
        self.states: dict[str, Mapping[str, Any]] = {
            str(k): v if isinstance(v, Mapping) else {} for k, v in _map(data.get("states")).items()
        }
        self.transitions: list[Mapping[str, Any]] = [
            t if isinstance(t, Mapping) else {} for t in _seq(data.get("transitions"))
        ]
        self.roles: dict[str, Mapping[str, Any]] = {
            str(k): v if isinstance(v, Mapping) else {} for k, v in _map(data.get("roles")).items()
        }
        self.contact_roles = [str(c) for c in _seq(data.get("contact_roles"))]

    # --- words ---------------------------------------------------------------------------

    def state_label(self, name: str) -> str:
        label = self.states.get(name, {}).get("label")
        return str(label) if label else name

    def role_label(self, name: str) -> str:
        label = self.roles.get(name, {}).get("label")
        return str(label) if label else _words(name)

    def target(self, name: str) -> str:
        """One recipient in words: a role's label, the ladder, a contact role, an address."""
        if name == LADDER:
            return LADDER_WORDS
        if name in self.roles:
            return self.role_label(name)
        if "@" in name:
            return name
        return f"{_words(name)} (contact role)"

    def targets(self, names: Any) -> str:
        listed = [self.target(str(n)) for n in _seq(names)]
        return "; ".join(listed) if listed else "Nobody"

    def transition_label(self, index: int) -> str:
        t = self.transitions[index]
        return str(t.get("label") or _words(str(t.get("trigger", f"transition {index + 1}"))))

    def sources(self, index: int) -> str:
        source = self.transitions[index].get("from")
        if source == "*":
            return "Any state that is not final"
        return ", ".join(self.state_label(str(s)) for s in _seq(source)) or "Nowhere"

    def dest(self, index: int) -> str:
        dest = self.transitions[index].get("to")
        return "Stays in the same state" if dest is None else self.state_label(str(dest))

    # --- choices -------------------------------------------------------------------------

    def role_choices(self) -> list[Choice]:
        return [
            Choice(value=r, text=self.role_label(r), hint=f"Workflow role {r}") for r in self.roles
        ]

    def recipient_choices(self, *, ladder: bool) -> list[Choice]:
        """Who a deadline's emails may go to: the ladder (escalations), workflow roles and
        contact roles."""
        out = [Choice(value=LADDER, text=LADDER_WORDS)] if ladder else []
        out += self.role_choices()
        out += [
            Choice(value=c, text=_words(c).capitalize(), hint=f"Contact role {c}")
            for c in self.contact_roles
            if c not in self.roles
        ]
        return out


def deadline_of(state: Mapping[str, Any]) -> Mapping[str, Any] | None:
    found = state.get("deadline")
    return found if isinstance(found, Mapping) else None


def steps_of(state: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    deadline = deadline_of(state) or {}
    return [s if isinstance(s, Mapping) else {} for s in _seq(deadline.get("escalate"))]


def due_words(deadline: Mapping[str, Any] | None) -> str:
    if deadline is None:
        return "No deadline"
    due = deadline.get("due", "item_due")
    return "The item's due date" if due == "item_due" else f"{due} after entering this state"


def durations(values: Any) -> list[str]:
    return [str(v) for v in _seq(values)]


def digest_words(value: Any) -> str:
    kinds = list(DIGEST_KINDS) if value is True else [str(k) for k in _seq(value)]
    if not kinds:
        return "One email per item"
    named = ", ".join(f"{k}s" for k in kinds)
    return f"One email per person listing every item, for {named}"


def names(value: Any) -> list[str]:
    return [str(v) for v in _seq(value)]


def _map(value: Any) -> Mapping[Any, Any]:
    return value if isinstance(value, Mapping) else {}


def _seq(value: Any) -> Sequence[Any]:
    if isinstance(value, list | tuple):
        return value
    return [] if value is None or value is False else [value]


def _words(name: str) -> str:
    return name.replace("_", " ")
