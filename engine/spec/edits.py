"""Structured edits of a workflow's YAML text: the everyday changes, without writing YAML.

Each edit is a small frozen record (``Chase(state="open", every="14 days")``); :func:`apply`
makes it on the text through ``engine.spec.roundtrip`` (comments, key order and untouched
lines survive) and checks the result with the engine's own loader (``load_spec``). An edit
that would make the draft invalid is refused with :class:`~engine.errors.EditRefused`,
carrying the loader's message and the field it is about; the text is then unchanged.
Durations go through ``engine.durations.parse_duration``, the parser the loader uses, and are
written back in its words (``' 14 Days'`` becomes ``14 days``).

A draft can already be invalid (it was saved from the YAML view): an edit is refused only for
problems it adds, so the business manager can still change a label while someone fixes the
YAML. A draft whose YAML cannot be read at all takes no structured edit.

Escalation steps may name roles (workflow roles or contact roles), ``ladder`` (the next rung
of the late agency's own ladder) and named contacts by email address.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.scalarstring import LiteralScalarString

from engine.durations import parse_duration
from engine.errors import EditRefused, SpecError, SpecErrors
from engine.spec import reader
from engine.spec.fields import OutOfBounds, plain_text, single_line
from engine.spec.loader import LIMITS, load_spec
from engine.spec.model import DEADLINE_KINDS
from engine.spec.reader import PathPart
from engine.spec.report import format_path, suggest
from engine.spec.roundtrip import Tree, Unreadable

ITEM_DUE = "item_due"
# the order keys are written in when an edit adds one (the shipped files' order)
_STATE_KEYS = (
    "label",
    "initial",
    "terminal",
    "clock",
    "outcome",
    "counts_as",
    "deadline",
    "templates",
    "request_on_entry",
    "expects",
)
_DEADLINE_KEYS = ("due", "to", "remind_before", "chase_every", "escalate", "digest")
_TRANSITION_KEYS = ("trigger", "label", "from", "to", "roles", "requires", "guards", "effects")


@dataclass(frozen=True, kw_only=True)
class Edit:
    """One change to a workflow. Subclasses say what they change (``change``), where
    (``scope``) and which of their fields a problem at a path is about (``field_at``)."""

    field: ClassVar[str] = ""
    # path fragments (after the scope) -> the field a problem there is about
    fields: ClassVar[Mapping[str, str]] = {}

    def scope(self) -> tuple[PathPart, ...]:
        raise NotImplementedError

    def change(self, doc: CommentedMap) -> None:
        """Make the edit on the tree.

        Raises:
            EditRefused: a value given cannot be written (a duration that does not parse,
                an empty label, a state or step that does not exist).
        """
        raise NotImplementedError

    def field_at(self, path: str) -> str:
        rest = path.removeprefix(format_path(self.scope()))
        for fragment, name in self.fields.items():
            if rest.startswith(fragment):
                return name
        return self.field


def apply(text: str, edit: Edit, *, known_templates: Collection[str] | None = None) -> str:
    """``text`` with ``edit`` made, keeping comments, order and the lines it does not touch.

    Raises:
        EditRefused: the value cannot be written, the YAML cannot be read, or the result
            has a problem the loader did not find in ``text`` (its message, the field).
    """
    before = {(e.path, e.problem) for e in _problems(text, known_templates)}
    try:
        tree = Tree(text)
    except Unreadable as exc:
        raise EditRefused("", f"{exc}; put it right in the YAML view first") from None
    edit.change(tree.data)
    result = tree.render()
    added = [e for e in _problems(result, known_templates) if (e.path, e.problem) not in before]
    if added:
        scope = format_path(edit.scope())
        first = next((e for e in added if e.path.startswith(scope)), added[0])
        raise EditRefused(edit.field_at(first.path), first.problem, first.path)
    return result


def _problems(text: str, known_templates: Collection[str] | None) -> list[SpecError]:
    """What the loader finds wrong with ``text``.

    Raises:
        EditRefused: the reader refuses the text, so nothing in it can be checked or edited.
    """
    try:
        reader.load(text, LIMITS)
    except reader.YamlProblem as exc:
        where = f"line {exc.line}: " if exc.line else ""
        raise EditRefused(
            "",
            f"the draft's YAML cannot be read ({where}{exc.problem}); put it right in the "
            "YAML view first",
        ) from None
    try:
        load_spec(text, "draft", known_templates)
    except SpecErrors as exc:
        return exc.errors
    except SpecError as exc:
        return [exc]
    return []


# --- helpers on the tree ---------------------------------------------------------------


def _mapping(parent: Any, key: str, what: str, choices: Iterable[str]) -> CommentedMap:
    value = parent.get(key) if isinstance(parent, Mapping) else None
    if not isinstance(value, CommentedMap):
        raise EditRefused(what, f"there is no {what} {key!r}; there are: {sorted(choices)}")
    return value


def _state(doc: CommentedMap, name: str) -> CommentedMap:
    states = doc.get("states")
    return _mapping(states, name, "state", states if isinstance(states, Mapping) else ())


def _deadline(doc: CommentedMap, name: str, what: str) -> CommentedMap:
    state = _state(doc, name)
    deadline = state.get("deadline")
    if not isinstance(deadline, CommentedMap):
        raise EditRefused(what, f"state {name!r} has no deadline; set when it is due first")
    return deadline


def _transition(doc: CommentedMap, index: int) -> CommentedMap:
    transitions = doc.get("transitions")
    if not isinstance(transitions, list) or not 0 <= index < len(transitions):
        raise EditRefused("transition", f"there is no transition number {index + 1}")
    found = transitions[index]
    if not isinstance(found, CommentedMap):
        raise EditRefused("transition", f"transition number {index + 1} is not a mapping")
    return found


def _put(mapping: CommentedMap, key: str, value: Any, order: Sequence[str]) -> None:
    """Set ``key``, in place when it is there, else after the keys ``order`` puts before it."""
    if key in mapping:
        mapping[key] = value
        return
    earlier = set(order[: order.index(key)]) if key in order else set(order)
    position = 0
    for i, existing in enumerate(mapping):
        if existing in earlier:
            position = i + 1
    mapping.insert(position, key, value)


def _drop(mapping: CommentedMap, key: str) -> None:
    if key in mapping:
        del mapping[key]


def _flow(values: Iterable[Any]) -> CommentedSeq:
    seq = CommentedSeq(values)
    seq.fa.set_flow_style()
    return seq


def _names(values: Iterable[str]) -> list[str]:
    """Stripped, without blanks or repeats, in the order given."""
    out: list[str] = []
    for value in values:
        name = value.strip()
        if name and name not in out:
            out.append(name)
    return out


def _duration(what: str, text: str) -> str:
    """``text`` as the workflow loader's parser reads it, written back in its words.

    Raises:
        EditRefused: the parser's message.
    """
    try:
        return str(parse_duration(text))
    except ValueError as exc:
        raise EditRefused(what, str(exc)) from None


def _label(text: str, example: str, at: tuple[PathPart, ...]) -> str:
    label = text.strip()
    if not label:
        raise EditRefused("label", f"enter a label; it cannot be empty (for example {example!r})")
    return _checked("label", label, single_line, at)


def _checked(what: str, value: str, check: Callable[[str], str], at: tuple[PathPart, ...]) -> str:
    """``value`` through one of ``engine.spec.fields``' checks, worded as the loader words it
    (ruamel cannot write every control character, so they are refused before writing).

    Raises:
        EditRefused: the check's message after the value.
    """
    try:
        return check(value)
    except OutOfBounds as exc:
        shown = repr(value) if len(repr(value)) <= 80 else repr(value)[:79] + "…"
        raise EditRefused(what, f"{shown} {exc}", format_path(at)) from None


# --- states ----------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class _StateEdit(Edit):
    state: str

    def scope(self) -> tuple[PathPart, ...]:
        return ("states", self.state)


@dataclass(frozen=True, kw_only=True)
class StateLabel(_StateEdit):
    """What people see the state called."""

    label: str
    field: ClassVar[str] = "label"

    def change(self, doc: CommentedMap) -> None:
        _put(
            _state(doc, self.state),
            "label",
            _label(self.label, "Open", (*self.scope(), "label")),
            _STATE_KEYS,
        )


@dataclass(frozen=True, kw_only=True)
class StateClock(_StateEdit):
    """Whether the clock (the time counted against the agency) pauses in the state."""

    paused: bool
    field: ClassVar[str] = "clock"

    def change(self, doc: CommentedMap) -> None:
        state = _state(doc, self.state)
        if self.paused or "clock" in state:
            _put(state, "clock", "paused" if self.paused else "running", _STATE_KEYS)


@dataclass(frozen=True, kw_only=True)
class StateExpects(_StateEdit):
    """What an evidence request made in the state asks the agency for; empty: nothing said."""

    expects: str
    field: ClassVar[str] = "expects"

    def change(self, doc: CommentedMap) -> None:
        state = _state(doc, self.state)
        text = _checked(
            self.field,
            self.expects.replace("\r\n", "\n").strip(),
            plain_text,
            (*self.scope(), "expects"),
        )
        if not text:
            _drop(state, "expects")
            return
        _put(
            state,
            "expects",
            LiteralScalarString(text + "\n") if "\n" in text else text,
            _STATE_KEYS,
        )


@dataclass(frozen=True, kw_only=True)
class StateTemplates(_StateEdit):
    """Which email template the state sends for each kind (request, reminder, chase,
    escalation); a kind left empty sends nothing."""

    templates: Mapping[str, str]
    field: ClassVar[str] = "templates"

    def field_at(self, path: str) -> str:
        rest = path.removeprefix(format_path((*self.scope(), "templates")))
        kind = rest.removeprefix(".").split(".")[0]
        return f"template_{kind}" if kind in self.templates else self.field

    def change(self, doc: CommentedMap) -> None:
        state = _state(doc, self.state)
        chosen = {k: v.strip() for k, v in self.templates.items() if v.strip()}
        if not chosen:
            _drop(state, "templates")
            return
        old = state.get("templates")
        mapping = CommentedMap(chosen)
        if not isinstance(old, CommentedMap) or old.fa.flow_style():
            mapping.fa.set_flow_style()
        _put(state, "templates", mapping, _STATE_KEYS)


# --- deadlines -------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class DeadlineDue(_StateEdit):
    """When the state's deadline falls: the item's due date, or a time after entering the
    state (``20 working days``). A state without a deadline gets one."""

    due: str
    field: ClassVar[str] = "due"

    def scope(self) -> tuple[PathPart, ...]:
        return ("states", self.state, "deadline")

    def change(self, doc: CommentedMap) -> None:
        state = _state(doc, self.state)
        due = ITEM_DUE if self.due.strip() == ITEM_DUE else _duration("due", self.due)
        deadline = state.get("deadline")
        if isinstance(deadline, CommentedMap):
            _put(deadline, "due", due, _DEADLINE_KEYS)
        else:
            _put(state, "deadline", CommentedMap(due=due), _STATE_KEYS)


@dataclass(frozen=True, kw_only=True)
class DeadlineRemove(_StateEdit):
    """No deadline in the state: no reminders, chases or escalations."""

    field: ClassVar[str] = "due"

    def change(self, doc: CommentedMap) -> None:
        _drop(_state(doc, self.state), "deadline")


@dataclass(frozen=True, kw_only=True)
class _DeadlineEdit(_StateEdit):
    def scope(self) -> tuple[PathPart, ...]:
        return ("states", self.state, "deadline")


@dataclass(frozen=True, kw_only=True)
class DeadlineRecipients(_DeadlineEdit):
    """Who receives the reminders and chases: workflow roles or contact roles."""

    to: Sequence[str]
    field: ClassVar[str] = "to"

    def change(self, doc: CommentedMap) -> None:
        deadline = _deadline(doc, self.state, self.field)
        to = _names(self.to)
        if to:
            _put(deadline, "to", _flow(to), _DEADLINE_KEYS)
        else:
            _drop(deadline, "to")


@dataclass(frozen=True, kw_only=True)
class Reminders(_DeadlineEdit):
    """How long before the deadline each reminder goes (``14 days``, ``3 days``); none:
    no reminders."""

    before: Sequence[str]
    field: ClassVar[str] = "remind_before"

    def change(self, doc: CommentedMap) -> None:
        deadline = _deadline(doc, self.state, self.field)
        before = [_duration(self.field, text) for text in self.before if text.strip()]
        if before:
            _put(deadline, "remind_before", _flow(before), _DEADLINE_KEYS)
        else:
            _drop(deadline, "remind_before")


@dataclass(frozen=True, kw_only=True)
class Chase(_DeadlineEdit):
    """How often a late item is chased once overdue (``7 days``); None or '': never."""

    every: str | None
    field: ClassVar[str] = "chase_every"

    def change(self, doc: CommentedMap) -> None:
        deadline = _deadline(doc, self.state, self.field)
        if self.every is None or not self.every.strip():
            _drop(deadline, "chase_every")
        else:
            _put(deadline, "chase_every", _duration(self.field, self.every), _DEADLINE_KEYS)


@dataclass(frozen=True, kw_only=True)
class Digest(_DeadlineEdit):
    """Which kinds of email (reminder, chase, escalation) go as one digest per person
    listing every item instead of one email per item."""

    kinds: Sequence[str]
    field: ClassVar[str] = "digest"

    def change(self, doc: CommentedMap) -> None:
        deadline = _deadline(doc, self.state, self.field)
        kinds = _names(self.kinds)
        for kind in kinds:
            if kind not in DEADLINE_KINDS:
                raise EditRefused(
                    self.field,
                    f"{kind!r} is not allowed{suggest(kind, DEADLINE_KINDS)}; allowed: "
                    f"{', '.join(DEADLINE_KINDS)}",
                )
        if kinds:
            _put(deadline, "digest", _flow(kinds), _DEADLINE_KEYS)
        else:
            _drop(deadline, "digest")


# --- escalation steps ------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class _StepEdit(_DeadlineEdit):
    field: ClassVar[str] = "after"
    fields: ClassVar[Mapping[str, str]] = {}

    def field_at(self, path: str) -> str:
        # states.open.deadline.escalate[1].to[0] -> 'to'
        rest = path.removeprefix(format_path((*self.scope(), "escalate")))
        if "]." in rest:
            part = rest.split("].", 1)[1].split("[")[0].split(".")[0]
            if part in ("after", "to", "urgent"):
                return part
        return self.field


def _steps(deadline: CommentedMap) -> CommentedSeq:
    steps = deadline.get("escalate")
    if isinstance(steps, CommentedSeq):
        return steps
    steps = CommentedSeq()
    _put(deadline, "escalate", steps, _DEADLINE_KEYS)
    return steps


def _step(steps: CommentedSeq, index: int) -> CommentedMap:
    if not 0 <= index < len(steps) or not isinstance(steps[index], CommentedMap):
        raise EditRefused("step", f"there is no escalation step {index + 1}")
    step: CommentedMap = steps[index]
    return step


def _fill_step(step: CommentedMap, after: str, to: Sequence[str], urgent: bool) -> None:
    step["after"] = _duration("after", after)
    targets = _names(to)
    if not targets:
        raise EditRefused("to", "choose who receives this escalation")
    step["to"] = _flow(targets)
    if urgent:
        step["urgent"] = True
    else:
        _drop(step, "urgent")


@dataclass(frozen=True, kw_only=True)
class EscalationAdd(_StepEdit):
    """A new escalation step: how long overdue, to whom (roles, ``ladder``, contacts'
    addresses), and whether it is urgent (sent outside office hours too). It goes among the
    others in order of ``after`` when they share its unit, else last."""

    after: str
    to: Sequence[str]
    urgent: bool = False

    def change(self, doc: CommentedMap) -> None:
        steps = _steps(_deadline(doc, self.state, self.field))
        step = CommentedMap()
        _fill_step(step, self.after, self.to, self.urgent)
        if all(isinstance(s, CommentedMap) and s.fa.flow_style() for s in steps):
            step.fa.set_flow_style()
        new = parse_duration(step["after"])
        position = len(steps)
        for i, existing in enumerate(steps):
            try:
                old = parse_duration(
                    existing.get("after") if isinstance(existing, Mapping) else None
                )
            except ValueError:
                continue
            if old.unit == new.unit and old.count > new.count:
                position = i
                break
        steps.insert(position, step)


@dataclass(frozen=True, kw_only=True)
class EscalationChange(_StepEdit):
    """Escalation step ``index`` (from 0) changed: its delay, recipients and urgency."""

    index: int
    after: str
    to: Sequence[str]
    urgent: bool = False

    def change(self, doc: CommentedMap) -> None:
        steps = _steps(_deadline(doc, self.state, self.field))
        _fill_step(_step(steps, self.index), self.after, self.to, self.urgent)


@dataclass(frozen=True, kw_only=True)
class EscalationRemove(_StepEdit):
    """Escalation step ``index`` (from 0) removed."""

    index: int

    def change(self, doc: CommentedMap) -> None:
        deadline = _deadline(doc, self.state, self.field)
        steps = _steps(deadline)
        _step(steps, self.index)
        del steps[self.index]
        if not steps:
            _drop(deadline, "escalate")


# --- transitions -----------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class _TransitionEdit(Edit):
    index: int  # the transition's place in the file, from 0

    def scope(self) -> tuple[PathPart, ...]:
        return ("transitions", self.index)


@dataclass(frozen=True, kw_only=True)
class TransitionLabel(_TransitionEdit):
    """What people see on the button that fires the transition."""

    label: str
    field: ClassVar[str] = "label"

    def change(self, doc: CommentedMap) -> None:
        t = _transition(doc, self.index)
        _put(
            t,
            "label",
            _label(self.label, "Submit evidence", (*self.scope(), "label")),
            _TRANSITION_KEYS,
        )


@dataclass(frozen=True, kw_only=True)
class TransitionRoles(_TransitionEdit):
    """Which workflow roles may fire the transition."""

    roles: Sequence[str]
    field: ClassVar[str] = "roles"

    def change(self, doc: CommentedMap) -> None:
        roles = _names(self.roles)
        if not roles:
            raise EditRefused("roles", "choose at least one role who may do this")
        _put(_transition(doc, self.index), "roles", _flow(roles), _TRANSITION_KEYS)


@dataclass(frozen=True, kw_only=True)
class TransitionRequires(_TransitionEdit):
    """What the person firing must give: evidence, a reason, a meeting date, RAG, a due date."""

    requires: Sequence[str]
    field: ClassVar[str] = "requires"

    def change(self, doc: CommentedMap) -> None:
        t = _transition(doc, self.index)
        requires = _names(self.requires)
        if requires:
            _put(t, "requires", _flow(requires), _TRANSITION_KEYS)
        else:
            _drop(t, "requires")


@dataclass(frozen=True, kw_only=True)
class TransitionNotify(_TransitionEdit):
    """Who is told when the transition fires: workflow roles, sent ``template`` (by default
    the one the transition already uses, else ``decision``). None: nobody is told."""

    to: Sequence[str]
    template: str | None = None
    field: ClassVar[str] = "notify"

    def change(self, doc: CommentedMap) -> None:
        t = _transition(doc, self.index)
        to = _names(self.to)
        old = t.get("notify")
        if not to:
            _drop(t, "notify")
            return
        template = self.template
        if template is None:
            first = old[0] if isinstance(old, list) and old else None
            template = str(first.get("template")) if isinstance(first, Mapping) else "decision"
        entry = CommentedMap(template=template, to=_flow(to))
        entry.fa.set_flow_style()
        notify = CommentedSeq([entry])
        _put(t, "notify", notify, (*_TRANSITION_KEYS, "notify"))
