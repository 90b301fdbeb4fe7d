"""Workflow files: YAML -> a frozen, fully checked ``WorkflowSpec``.

Every check on a workflow file lives here, in layers, and each layer reports
``SpecError`` with the file, the path inside it, the line, the bad value, what is
allowed and a close match:

1. safe YAML (YAML 1.2 booleans, no duplicate keys);
2. the models below (``extra="forbid"``: unknown keys are rejected);
3. the graph: one initial state, every target exists, nothing leaves a terminal
   state, every state is reachable and every open state can reach a terminal one;
4. cross-references: roles, triggers, guards, effects, templates and durations.

Validation happens on load and publish, never when a transition fires.
"""

from __future__ import annotations

import difflib
import hashlib
import re
import types
import typing
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    WithJsonSchema,
    field_validator,
)

from engine import yamlio
from engine.durations import PATTERN as _DURATION_PATTERN
from engine.durations import Duration, parse_duration
from engine.errors import SpecError, SpecErrors

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


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


class Clock(StrEnum):
    RUNNING = "running"
    PAUSED = "paused"


class Scope(StrEnum):
    OWN_AGENCY = "own_agency"
    ANY = "any"


# Guards and effects are names in registries we own, never import paths: admins edit these files.
GUARDS: dict[str, str] = {
    "extension_pending": "an extension has been requested and not yet decided",
    "no_extension_pending": "no extension request is waiting for a decision",
}
EFFECTS: dict[str, str] = {
    "propose_due_date": "records the requested due date until the panel decides",
    "grant_extension": "makes the requested due date the current one, keeping every earlier one",
    "refuse_extension": "drops the requested due date; the current one stands",
}
# An effect that reads an input needs the transition to require it.
_EFFECT_NEEDS: dict[str, Requirement] = {"propose_due_date": Requirement.DUE_DATE}
_EFFECT_GUARD: dict[str, str] = {
    "grant_extension": "extension_pending",
    "refuse_extension": "extension_pending",
}
# In an escalation step, 'ladder' means the next rung of the late agency's own ladder.
LADDER = "ladder"
TEMPLATE_KINDS = ("request", "reminder", "chase", "escalation", "decision")


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
        min_length=1, description="contact or workflow roles, resolved at send time"
    )
    urgent: bool = Field(False, description="send outside office hours too")


class Deadline(_Model):
    due: str = Field(
        "item_due",
        description="'item_due' (the item's due date) or a duration after entering the state",
    )
    remind_before: list[DurationField] = Field(default_factory=list)
    chase_every: DurationField | None = None
    escalate: list[EscalationStep] = Field(default_factory=list)
    to: list[str] = Field(
        default_factory=list,
        description="who receives reminders and chases: workflow roles or contact roles",
    )
    digest: bool = Field(False, description="one email per recipient per sweep listing all items")

    @field_validator("due")
    @classmethod
    def _due(cls, value: str) -> str:
        if value != "item_due":
            parse_duration(value)
        return value


class State(_Model):
    label: str = Field(min_length=1)
    initial: bool = False
    terminal: bool = False
    clock: Clock = Field(Clock.RUNNING, description="whether the SLA clock runs in this state")
    outcome: Outcome | None = Field(None, description="required on terminal states")
    deadline: Deadline | None = None
    templates: dict[Literal["request", "reminder", "chase", "escalation", "decision"], str] = Field(
        default_factory=dict
    )
    expects: str | None = Field(
        None, description="what an evidence request made in this state asks for, in plain words"
    )
    request_on_entry: bool = Field(
        False, description="entering this state sends the agency an evidence request"
    )


class Role(_Model):
    label: str | None = None
    contact_roles: list[str] = Field(min_length=1)
    scope: Scope = Field(Scope.OWN_AGENCY, description="own_agency: only the item's agency")


class Notify(_Model):
    template: str
    to: list[str] = Field(
        min_length=1, description="workflow roles; their first contact role present"
    )


class Transition(_Model):
    trigger: str
    label: str | None = None
    source: str | list[str] = Field(
        alias="from", description="a state, a list, or '*' for all open"
    )
    dest: str | None = Field(alias="to", description="target state; null keeps the state")
    roles: list[str] = Field(min_length=1)
    requires: list[Requirement] = Field(default_factory=list)
    guards: list[str] = Field(default_factory=list)
    effects: list[str] = Field(default_factory=list)
    notify: list[Notify] = Field(default_factory=list)


class Separation(_Model):
    trigger: str
    not_actor_of: list[str] = Field(min_length=1)
    why: str | None = None


class WorkflowFile(_Model):
    """The whole YAML document."""

    name: str
    label: str
    description: str | None = None
    contact_roles: list[str] = Field(min_length=1)
    roles: dict[str, Role] = Field(min_length=1)
    states: dict[str, State] = Field(min_length=2)
    transitions: list[Transition] = Field(min_length=1)
    separation_of_duties: list[Separation] = Field(default_factory=list)


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

    @property
    def name(self) -> str:
        return self.model.name

    @property
    def states(self) -> dict[str, State]:
        return self.model.states

    def sources(self, transition: Transition) -> tuple[str, ...]:
        return _expand_sources(transition, self.model.states)

    def allowed_from(self, state: str) -> tuple[str, ...]:
        return self.triggers_from.get(state, ())

    def is_terminal(self, state: str) -> bool:
        return self.model.states[state].terminal

    def order(self, state: str) -> int:
        return list(self.model.states).index(state)


def suggest(value: str, allowed: Iterable[str]) -> str:
    """'; did you mean 'x'?' for a close match (ignoring case), or ''."""
    by_lower = {a.lower(): a for a in allowed}
    close = difflib.get_close_matches(value.lower(), list(by_lower), n=1, cutoff=0.6)
    return f"; did you mean {by_lower[close[0]]!r}?" if close else ""


def _expand_sources(t: Transition, states: dict[str, State]) -> tuple[str, ...]:
    if t.source == "*":
        return tuple(name for name, s in states.items() if not s.terminal)
    return (t.source,) if isinstance(t.source, str) else tuple(t.source)


class _Reporter:
    def __init__(self, file: str, doc: yamlio.Document) -> None:
        self.file, self.doc, self.errors = file, doc, list[SpecError]()

    def add(self, path: Sequence[yamlio.PathPart], problem: str) -> None:
        self.errors.append(SpecError(self.file, _fmt(path), problem, self.doc.line_of(path)))

    def raise_if_any(self) -> None:
        if len(self.errors) == 1:
            raise self.errors[0]
        if self.errors:
            raise SpecErrors(self.errors)


def _fmt(path: Sequence[yamlio.PathPart]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _model_at(loc: Sequence[yamlio.PathPart]) -> type[BaseModel] | None:
    """The model class that holds the key at ``loc`` (for listing allowed keys)."""
    current: Any = WorkflowFile
    for part in loc:
        current = _model_of_union(current)
        if isinstance(current, type) and issubclass(current, BaseModel):
            fields = {f.alias or n: f for n, f in current.model_fields.items()}
            if part not in fields:
                return None
            current = fields[str(part)].annotation
            continue
        origin = typing.get_origin(current)
        args = typing.get_args(current)
        if origin is dict:
            current = args[1]
        elif origin is list:
            current = args[0]
        else:
            return None
    current = _model_of_union(current)
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _model_of_union(annotation: Any) -> Any:
    """``Deadline | None`` -> ``Deadline``; anything that is not a union is returned as is."""
    if typing.get_origin(annotation) not in (typing.Union, types.UnionType):
        return annotation
    args = typing.get_args(annotation)
    models = [a for a in args if isinstance(a, type) and issubclass(a, BaseModel)]
    return models[0] if models else None


def _allowed_keys(model: type[BaseModel]) -> list[str]:
    return [f.alias or n for n, f in model.model_fields.items()]


def _explain(err: Any) -> str:
    kind, value = err["type"], err.get("input")
    loc = err["loc"]
    if kind == "extra_forbidden":
        model = _model_at(loc[:-1])
        allowed = _allowed_keys(model) if model else []
        return f"unknown key {loc[-1]!r}{suggest(str(loc[-1]), allowed)}; allowed keys: {allowed}"
    if kind == "missing":
        return f"required key {loc[-1]!r} is missing"
    if kind in ("enum", "literal_error"):
        expected = err.get("ctx", {}).get("expected", "")
        choices = re.findall(r"'([^']+)'", expected)
        return f"{value!r} is not allowed; allowed: {expected}{suggest(str(value), choices)}"
    if kind == "value_error":
        return str(err["ctx"]["error"])
    if kind == "too_short":
        least = err.get("ctx", {}).get("min_length", 1)
        return "must not be empty" if least == 1 else f"needs at least {least} entries"
    return f"{err['msg'].lower()} (got {value!r})"


def _clean_loc(loc: Sequence[Any]) -> tuple[yamlio.PathPart, ...]:
    # pydantic adds union branch names ('str', 'list[str]') and '[key]' markers to locations
    return tuple(
        p for p in loc if isinstance(p, int) or not re.match(r"^(str|list\[|function-|\[key\]$)", p)
    )


def load_spec(
    text: str, file: str = "<workflow>", known_templates: Collection[str] | None = None
) -> WorkflowSpec:
    """Parse and check a workflow. ``known_templates`` None skips the template check.

    Raises:
        SpecError: the first problem, or SpecErrors carrying every problem found.
    """
    try:
        doc = yamlio.load(text)
    except yamlio.YamlProblem as exc:
        raise SpecError(file, _fmt(exc.path), exc.problem, exc.line) from None
    report = _Reporter(file, doc)
    if not isinstance(doc.data, dict):
        report.add(
            (), "a workflow file must be a mapping with keys name, label, roles, states, ..."
        )
        report.raise_if_any()
    try:
        model = WorkflowFile.model_validate(doc.data)
    except ValidationError as exc:
        for err in exc.errors():
            report.add(_clean_loc(err["loc"]), _explain(err))
        report.raise_if_any()
        raise  # unreachable: a ValidationError always carries at least one error
    _check_names(model, report)
    _check_graph(model, report)
    _check_references(model, report, known_templates)
    report.raise_if_any()
    return _index(model, text)


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


def load_spec_file(path: Path, known_templates: Collection[str] | None = None) -> WorkflowSpec:
    """Read and check the workflow at ``path``.

    Raises:
        SpecError: unreadable file or any problem ``load_spec`` finds.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(str(path), "", f"cannot read the file: {exc}") from None
    return load_spec(text, str(path), known_templates)


def _check_names(m: WorkflowFile, r: _Reporter) -> None:
    if not _NAME.match(m.name):
        r.add(("name",), f"{m.name!r} must be snake_case (lower-case letters, digits, '_')")
    for section, names in (("states", m.states), ("roles", m.roles)):
        for name in names:
            if not _NAME.match(name):
                r.add(
                    (section, name),
                    f"{name!r} must be snake_case (lower-case letters, digits, '_')",
                )
    for i, t in enumerate(m.transitions):
        if not _NAME.match(t.trigger):
            r.add(("transitions", i, "trigger"), f"{t.trigger!r} must be snake_case")


def _check_graph(m: WorkflowFile, r: _Reporter) -> None:
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
        if s.terminal and s.initial:
            r.add(("states", name), "the initial state cannot be terminal")
        if s.terminal and s.deadline is not None:
            r.add(("states", name, "deadline"), "a terminal state has no deadline")
    seen: dict[tuple[str, str], int] = {}
    edges: dict[str, set[str]] = {n: set() for n in states}
    for i, t in enumerate(m.transitions):
        sources = [t.source] if isinstance(t.source, str) else list(t.source)
        if not sources:
            r.add(("transitions", i, "from"), "must name at least one state")
        for j, src in enumerate(sources):
            at: tuple[yamlio.PathPart, ...] = ("transitions", i, "from")
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
        for src in _expand_sources(t, states):
            if src not in states:
                continue
            if (t.trigger, src) in seen:
                r.add(
                    ("transitions", i, "trigger"),
                    f"trigger {t.trigger!r} from {src!r} is already declared by "
                    f"transitions[{seen[(t.trigger, src)]}]; a trigger must be unambiguous",
                )
            seen[(t.trigger, src)] = i
            if t.dest in states:
                edges[src].add(t.dest)
    if len(initial) != 1 or r.errors:
        return
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


def _check_references(
    m: WorkflowFile, r: _Reporter, known_templates: Collection[str] | None
) -> None:
    contact_roles = set(m.contact_roles)
    for name, role in m.roles.items():
        for j, cr in enumerate(role.contact_roles):
            if cr not in contact_roles:
                r.add(
                    ("roles", name, "contact_roles", j),
                    f"unknown contact role {cr!r}"
                    f"{suggest(cr, contact_roles)}; declare it in contact_roles: {m.contact_roles}",
                )
    triggers = {t.trigger for t in m.transitions}
    for i, t in enumerate(m.transitions):
        base: tuple[yamlio.PathPart, ...] = ("transitions", i)
        _check_roles(r, (*base, "roles"), t.roles, m.roles)
        for j, g in enumerate(t.guards):
            if g not in GUARDS:
                r.add(
                    (*base, "guards", j),
                    f"unknown guard {g!r}{suggest(g, GUARDS)}; available: {sorted(GUARDS)}",
                )
        for j, e in enumerate(t.effects):
            if e not in EFFECTS:
                r.add(
                    (*base, "effects", j),
                    f"unknown effect {e!r}{suggest(e, EFFECTS)}; available: {sorted(EFFECTS)}",
                )
            elif e in _EFFECT_NEEDS and _EFFECT_NEEDS[e] not in t.requires:
                r.add(
                    (*base, "requires"),
                    f"effect {e!r} needs 'requires: [{_EFFECT_NEEDS[e].value}]'",
                )
            elif e in _EFFECT_GUARD and _EFFECT_GUARD[e] not in t.guards:
                r.add((*base, "guards"), f"effect {e!r} needs the guard {_EFFECT_GUARD[e]!r}")
        if Requirement.RAG in t.requires and Requirement.REASON not in t.requires:
            r.add(
                (*base, "requires"),
                "a transition that sets RAG must also require a reason "
                "(every RAG change is recorded with why)",
            )
        for j, n in enumerate(t.notify):
            _check_roles(r, (*base, "notify", j, "to"), n.to, m.roles)
            _check_template(r, (*base, "notify", j, "template"), n.template, known_templates)
    for i, s in enumerate(m.separation_of_duties):
        for path, trig in [(("separation_of_duties", i, "trigger"), s.trigger)] + [
            (("separation_of_duties", i, "not_actor_of", j), x)
            for j, x in enumerate(s.not_actor_of)
        ]:
            if trig not in triggers:
                r.add(
                    path,
                    f"unknown trigger {trig!r}{suggest(trig, triggers)}; "
                    f"triggers: {sorted(triggers)}",
                )
    escalation_roles = contact_roles | set(m.roles) | {LADDER}
    for name, st in m.states.items():
        for kind, template in st.templates.items():
            _check_template(r, ("states", name, "templates", kind), template, known_templates)
        if st.request_on_entry and "request" not in st.templates:
            r.add(
                ("states", name, "request_on_entry"),
                "an evidence request needs its email: add 'request' to this state's templates, "
                "e.g. templates: {request: request}",
            )
        if (st.request_on_entry or "request" in st.templates) and answer_transition(
            m, name
        ) is None:
            r.add(
                ("states", name, "templates", "request"),
                f"evidence is requested in {name!r}, but no transition from it requires "
                "evidence from an own_agency role, so the agency could not answer; add one "
                "(e.g. submit_evidence with requires: [evidence]) or remove the request",
            )
        if st.deadline is None:
            continue
        _check_deadline_parts(r, name, st, escalation_roles)
        for j, step in enumerate(st.deadline.escalate):
            for k, target in enumerate(step.to):
                if target not in escalation_roles:
                    r.add(
                        ("states", name, "deadline", "escalate", j, "to", k),
                        f"unknown role {target!r}{suggest(target, escalation_roles)}; "
                        f"allowed: {sorted(escalation_roles)}",
                    )
        afters = [s.after for s in st.deadline.escalate]
        if any(
            a.unit != b.unit or a.count >= b.count for a, b in zip(afters, afters[1:], strict=False)
        ):
            r.add(
                ("states", name, "deadline", "escalate"),
                "escalation steps must come in increasing order of 'after', in one unit",
            )


def _check_deadline_parts(r: _Reporter, name: str, st: State, targets: set[str]) -> None:
    deadline = st.deadline
    if deadline is None:  # pragma: no cover - the caller checks
        return
    for k, target in enumerate(deadline.to):
        if target not in targets:
            r.add(
                ("states", name, "deadline", "to", k),
                f"unknown role {target!r}{suggest(target, targets)}; allowed: {sorted(targets)}",
            )
    if (deadline.remind_before or deadline.chase_every) and not deadline.to:
        r.add(
            ("states", name, "deadline"),
            "reminders and chases need recipients: add 'to: [ROLE]' (e.g. to: [agency])",
        )
    needs = {
        "reminder": bool(deadline.remind_before),
        "chase": deadline.chase_every is not None,
        "escalation": bool(deadline.escalate),
    }
    for kind, needed in needs.items():
        if needed and kind not in st.templates:
            r.add(
                ("states", name, "templates"),
                f"the deadline sends {kind}s, so add 'templates: {{{kind}: TEMPLATE}}'",
            )


def _check_roles(
    r: _Reporter, path: tuple[yamlio.PathPart, ...], names: Sequence[str], roles: dict[str, Role]
) -> None:
    for j, role in enumerate(names):
        if role not in roles:
            r.add(
                (*path, j), f"unknown role {role!r}{suggest(role, roles)}; roles: {sorted(roles)}"
            )


def _check_template(
    r: _Reporter, path: tuple[yamlio.PathPart, ...], name: str, known: Collection[str] | None
) -> None:
    if known is not None and name not in known:
        r.add(path, f"unknown template {name!r}{suggest(name, known)}; templates: {sorted(known)}")


def _index(m: WorkflowFile, text: str) -> WorkflowSpec:
    table: dict[tuple[str, str], Transition] = {}
    by_state: dict[str, list[str]] = {n: [] for n in m.states}
    for t in m.transitions:
        for src in _expand_sources(t, m.states):
            table[(t.trigger, src)] = t
            by_state[src].append(t.trigger)
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
    )


def json_schema() -> dict[str, Any]:
    """The JSON Schema of the workflow format, for editors (kept in sync by a test)."""
    schema = WorkflowFile.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "signoff workflow"
    return schema
