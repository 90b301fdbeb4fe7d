"""Layer 2: the shape of a workflow file, as pydantic models.

Every model forbids unknown keys (``extra="forbid"``) and is frozen: a loaded workflow
never changes. Durations are written as strings (``'7 days'``) and parsed here, item by
item, so an error points at the bad entry. The JSON Schema shipped for editors is
generated from ``WorkflowFile``.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema, field_validator

from engine.durations import PATTERN as _DURATION_PATTERN
from engine.durations import Duration, parse_duration
from engine.spec.fields import Name, Text, Title


class Requirement(StrEnum):
    """What a transition may require from the person firing it."""

    EVIDENCE = "evidence"
    REASON = "reason"
    MEETING_DATE = "meeting_date"
    RAG = "rag"
    DUE_DATE = "due_date"


class Outcome(StrEnum):
    """How a terminal state ended: reports never count one as another."""

    IMPLEMENTED = "implemented"
    NO_ASSURANCE = "no_assurance"
    TRANSFERRED = "transferred"
    WITHDRAWN = "withdrawn"


class CountsAs(StrEnum):
    """What being in a state says about a recommendation, for the board's figures.

    ``implemented``: the board accepted it as done (panel sign-off); ``assured``: that was
    independently confirmed (internal audit) and stays so in the states after it.
    """

    IMPLEMENTED = "implemented"
    ASSURED = "assured"


class Clock(StrEnum):
    RUNNING = "running"
    PAUSED = "paused"


class Scope(StrEnum):
    OWN_AGENCY = "own_agency"
    ANY = "any"


MAX_STATES = 100  # the shipped workflows have 9; a bound keeps the graph checks quick
MAX_TRANSITIONS = 500

# In an escalation step, 'ladder' means the next rung of the late agency's own ladder.
LADDER = "ladder"
TEMPLATE_KINDS = ("request", "reminder", "chase", "escalation", "decision")
# what a deadline sends, and so what it may gather into digests
DEADLINE_KINDS = ("reminder", "chase", "escalation")
DeadlineKind = Literal["reminder", "chase", "escalation"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def _as_duration(value: object) -> Duration:
    return value if isinstance(value, Duration) else parse_duration(value)


# In files (and so in the JSON Schema) a duration is a string such as '7 days', not an object.
# Parsed item by item, so an error points at the bad entry of a list.
DurationField = Annotated[
    Duration,
    BeforeValidator(_as_duration),
    WithJsonSchema({"type": "string", "pattern": _DURATION_PATTERN.pattern}),
]


class EscalationStep(_Model):
    after: DurationField = Field(description="how long overdue before this step, e.g. '7 days'")
    to: list[str] = Field(
        min_length=1,
        max_length=20,
        description="workflow roles, contact roles, 'ladder' (the next rung of the agency's "
        "ladder) or a contact's email address, resolved at send time",
    )
    urgent: bool = Field(False, description="send outside office hours too")


class Deadline(_Model):
    due: str = Field(
        "item_due",
        description="'item_due' (the item's due date) or a duration after entering the state",
    )
    remind_before: list[DurationField] = Field(default_factory=list, max_length=10)
    chase_every: DurationField | None = None
    escalate: list[EscalationStep] = Field(default_factory=list, max_length=10)
    to: list[str] = Field(
        default_factory=list,
        max_length=20,
        description="who receives reminders and chases: workflow roles or contact roles",
    )
    digest: bool | list[DeadlineKind] = Field(
        False,
        description=(
            "gather these kinds into one email per recipient and kind (a digest listing "
            "every item) instead of one email per item: a list of reminder, chase, "
            "escalation, or true for all three"
        ),
    )

    @field_validator("due")
    @classmethod
    def _due(cls, value: str) -> str:
        if value != "item_due":
            parse_duration(value)
        return value

    def digest_kinds(self) -> frozenset[str]:
        """The kinds of email this rule sends as digests (``digest: true`` means all)."""
        if self.digest is True:
            return frozenset(DEADLINE_KINDS)
        return frozenset(self.digest or ())


class State(_Model):
    label: Name = Field(min_length=1)
    initial: bool = False
    terminal: bool = False
    clock: Clock = Field(Clock.RUNNING, description="whether the SLA clock runs in this state")
    outcome: Outcome | None = Field(None, description="required on terminal states")
    counts_as: CountsAs | None = Field(
        None,
        description="in reports, an item here counts as implemented or assured (a terminal "
        "state with outcome implemented counts as implemented unless it says assured; never "
        "on other outcomes or the initial state)",
    )

    @property
    def counted_as(self) -> CountsAs | None:
        """What reports count an item in this state as: ``counts_as``, else ``implemented``
        for a terminal state whose outcome is implemented."""
        if self.counts_as is None and self.outcome is Outcome.IMPLEMENTED:
            return CountsAs.IMPLEMENTED
        return self.counts_as

    deadline: Deadline | None = None
    templates: dict[Literal["request", "reminder", "chase", "escalation", "decision"], str] = Field(
        default_factory=dict
    )
    expects: Text | None = Field(
        None,
        max_length=1000,
        description="what an evidence request made in this state asks for, in plain words",
    )
    request_on_entry: bool = Field(
        False, description="entering this state sends the agency an evidence request"
    )


class Role(_Model):
    label: Name | None = None
    contact_roles: list[str] = Field(min_length=1, max_length=20)
    scope: Scope = Field(Scope.OWN_AGENCY, description="own_agency: only the item's agency")


class Notify(_Model):
    template: str
    to: list[str] = Field(
        min_length=1, max_length=20, description="workflow roles; their first contact role present"
    )


class Transition(_Model):
    trigger: str
    label: Name | None = None
    source: str | list[str] = Field(
        alias="from", max_length=100, description="a state, a list, or '*' for all open"
    )
    dest: str | None = Field(alias="to", description="target state; null keeps the state")
    roles: list[str] = Field(min_length=1, max_length=20)
    requires: list[Requirement] = Field(default_factory=list, max_length=10)
    guards: list[str] = Field(default_factory=list, max_length=10)
    effects: list[str] = Field(default_factory=list, max_length=10)
    notify: list[Notify] = Field(default_factory=list, max_length=20)


class Separation(_Model):
    trigger: str
    not_actor_of: list[str] = Field(min_length=1, max_length=50)
    why: Title | None = None


class WorkflowFile(_Model):
    """The whole YAML document."""

    name: str
    label: Name
    description: Text | None = None
    contact_roles: list[str] = Field(min_length=1, max_length=50)
    roles: dict[str, Role] = Field(min_length=1, max_length=50)
    states: dict[str, State] = Field(min_length=2, max_length=MAX_STATES)
    transitions: list[Transition] = Field(min_length=1, max_length=MAX_TRANSITIONS)
    separation_of_duties: list[Separation] = Field(default_factory=list, max_length=50)
    imported_status: dict[Name, str] = Field(
        default_factory=dict,
        max_length=200,
        description=(
            "the status words of a plan's status column (as boards write them: 'completed', "
            "'no response', 'on track', a RAG) -> the state an imported item is placed in; "
            "compared with case and punctuation ignored. The item's history records the "
            "status as imported from its row and not verified by signoff; reports never "
            "count it as verified. A word not listed leaves the item in the initial state"
        ),
    )


def expand_sources(t: Transition, states: dict[str, State]) -> tuple[str, ...]:
    """The states ``t`` leaves from: its ``from``, with ``'*'`` meaning every open state."""
    if t.source == "*":
        return tuple(name for name, s in states.items() if not s.terminal)
    return (t.source,) if isinstance(t.source, str) else tuple(t.source)


def answer_transition(model: WorkflowFile, state: str) -> Transition | None:
    """The transition that answers an evidence request in ``state``, if any.

    It leaves ``state``, requires evidence, and is open to a role scoped to the item's agency.
    """
    for t in model.transitions:
        sources = [t.source] if isinstance(t.source, str) else t.source
        if state not in sources and "*" not in sources:
            continue
        own = any(model.roles[r].scope is Scope.OWN_AGENCY for r in t.roles if r in model.roles)
        if Requirement.EVIDENCE in t.requires and own and t.dest not in (None, state):
            return t
    return None
