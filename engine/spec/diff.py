"""What changed between two versions of a workflow: in words, and line by line.

``describe`` compares two checked specs (``WorkflowSpec``), so it speaks of what a business
manager changed — a state added, a deadline's chasing from "every 7 days" to "every 14 days",
an escalation step added, who may fire a transition — never of indentation or key order.
Every field of the file is compared: one this module has no words for still shows up as
"... changed". ``yaml_lines`` is the unified diff of the two texts (``difflib``), one row per
line, marked added, removed or unchanged for pages that must not rely on colour alone.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from engine.durations import Duration
from engine.spec.compiled import WorkflowSpec
from engine.spec.model import (
    Deadline,
    EscalationStep,
    Role,
    Separation,
    State,
    Transition,
)


def describe(old: WorkflowSpec, new: WorkflowSpec) -> list[str]:
    """Each change from ``old`` to ``new`` as one plain sentence, in the file's order:
    the workflow's own fields, roles, states, transitions, separation of duties.

    Guarantees: empty exactly when the two specs' models are equal.
    """
    out: list[str] = []
    a, b = old.model, new.model
    _field(out, "The workflow's name", a.name, b.name)
    _field(out, "The workflow's label", a.label, b.label)
    _field(out, "The workflow's description", a.description, b.description, long=True)
    _listed(out, "Contact roles", a.contact_roles, b.contact_roles)
    _keyed(out, "Role", a.roles, b.roles, _role_words, _role_changes)
    _keyed(out, "State", a.states, b.states, _state_words, _state_changes)
    _transitions(out, old, new)
    _separations(out, a.separation_of_duties, b.separation_of_duties)
    if not out and a != b:  # a guarantee, not a hope: every difference gets a sentence
        out.append("The workflow changed in a way not described here; see the YAML changes")
    return out


def summary(old: WorkflowSpec, new: WorkflowSpec, *, most: int = 5) -> list[str]:
    """``describe``'s first ``most`` sentences, and how many more there are."""
    changes = describe(old, new)
    if len(changes) <= most:
        return changes
    return changes[:most] + [f"and {len(changes) - most} more change(s)"]


class LineKind(StrEnum):
    HUNK = "hunk"  # "@@ -3,7 +3,7 @@": where the lines below are
    SAME = "same"
    ADDED = "added"
    REMOVED = "removed"


@dataclass(frozen=True, kw_only=True)
class DiffLine:
    """One row of a unified diff: its kind, its numbers in the old and new text (None where
    it has none) and its text without the newline."""

    kind: LineKind
    old_no: int | None
    new_no: int | None
    text: str

    @property
    def sign(self) -> str:
        """The unified diff's marker: ``+``, ``-``, a space, or ``@@`` on a hunk header."""
        return {"hunk": "@@", "same": " ", "added": "+", "removed": "-"}[self.kind.value]


def yaml_lines(old_text: str, new_text: str, *, context: int = 3) -> list[DiffLine]:
    """The unified diff of two YAML texts, row by row (empty when they are equal)."""
    rows: list[DiffLine] = []
    old_lines, new_lines = old_text.splitlines(), new_text.splitlines()
    matcher = difflib.SequenceMatcher(None, old_lines, new_lines, autojunk=False)
    for group in matcher.get_grouped_opcodes(context):
        first, last = group[0], group[-1]
        header = (
            f"lines {first[1] + 1}-{last[2]} of the published version, "
            f"{first[3] + 1}-{last[4]} of the draft"
        )
        rows.append(DiffLine(kind=LineKind.HUNK, old_no=None, new_no=None, text=header))
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                for k in range(i2 - i1):
                    rows.append(
                        DiffLine(
                            kind=LineKind.SAME,
                            old_no=i1 + k + 1,
                            new_no=j1 + k + 1,
                            text=old_lines[i1 + k],
                        )
                    )
                continue
            for i in range(i1, i2):
                rows.append(
                    DiffLine(kind=LineKind.REMOVED, old_no=i + 1, new_no=None, text=old_lines[i])
                )
            for j in range(j1, j2):
                rows.append(
                    DiffLine(kind=LineKind.ADDED, old_no=None, new_no=j + 1, text=new_lines[j])
                )
    return rows


def line_counts(old_text: str, new_text: str) -> tuple[int, int]:
    """(lines added, lines removed) from ``old_text`` to ``new_text``."""
    rows = yaml_lines(old_text, new_text, context=0)
    added = sum(r.kind is LineKind.ADDED for r in rows)
    return added, sum(r.kind is LineKind.REMOVED for r in rows)


# --- words ------------------------------------------------------------------------------


def _q(value: object) -> str:
    return f"“{value}”"


def _shown(value: object) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Duration):
        return str(value)
    if isinstance(value, StrEnum):
        return value.value.replace("_", " ")
    if isinstance(value, list | tuple):
        return ", ".join(_shown(v) for v in value) if value else "none"
    return str(value)


def _field(out: list[str], what: str, a: Any, b: Any, *, long: bool = False) -> None:
    if a == b:
        return
    if long:
        out.append(f"{what} changed" if a and b else f"{what} {'added' if b else 'removed'}")
    else:
        out.append(f"{what}: {_shown(a)} → {_shown(b)}")


def _listed(out: list[str], what: str, a: Sequence[Any], b: Sequence[Any]) -> None:
    if list(a) == list(b):
        return
    gone = [x for x in a if x not in b]
    came = [x for x in b if x not in a]
    parts = []
    if came:
        parts.append(f"added {_shown(came)}")
    if gone:
        parts.append(f"removed {_shown(gone)}")
    out.append(f"{what}: {'; '.join(parts) if parts else 'reordered'}")


def _keyed(
    out: list[str],
    kind: str,
    a: dict[str, Any],
    b: dict[str, Any],
    words: Any,
    changes: Any,
) -> None:
    for name in b:
        if name not in a:
            out.append(f"{kind} {name} added: {words(b[name])}")
    for name in a:
        if name not in b:
            out.append(f"{kind} {name} ({words(a[name])}) removed")
    for name in b:
        if name in a and a[name] != b[name]:
            out.extend(f"{kind} {name}: {c}" for c in changes(a[name], b[name]))
    if [n for n in a if n in b] != [n for n in b if n in a]:
        out.append(f"{kind}s reordered")


def _role_words(r: Role) -> str:
    scope = "the item's agency only" if r.scope.value == "own_agency" else "every agency"
    return f"{_q(r.label or '')} held by {_shown(r.contact_roles)}, for {scope}"


def _role_changes(a: Role, b: Role) -> list[str]:
    out: list[str] = []
    _field(out, "label", a.label, b.label)
    _listed(out, "held by", a.contact_roles, b.contact_roles)
    _field(out, "scope", a.scope, b.scope)
    return out


def _state_words(s: State) -> str:
    words = [_q(s.label)]
    if s.initial:
        words.append("where items start")
    if s.terminal:
        words.append(f"final, {_shown(s.outcome)}")
    if s.clock.value == "paused":
        words.append("the clock pauses")
    return ", ".join(words)


def _state_changes(a: State, b: State) -> list[str]:
    out: list[str] = []
    _field(out, "label", _q(a.label), _q(b.label))
    if a.clock != b.clock:
        out.append("the clock now pauses" if b.clock.value == "paused" else "the clock now runs")
    _field(out, "items start here", a.initial, b.initial)
    _field(out, "final state", a.terminal, b.terminal)
    _field(out, "outcome", a.outcome, b.outcome)
    _field(out, "counts as", a.counts_as, b.counts_as)
    _deadline(out, a.deadline, b.deadline)
    for kind in dict.fromkeys([*a.templates, *b.templates]):
        was, now = a.templates.get(kind), b.templates.get(kind)
        if was != now:
            if was is None:
                out.append(f"sends the {kind} email with template {now} (new)")
            elif now is None:
                out.append(f"no longer sends a {kind} email (was template {was})")
            else:
                out.append(f"{kind} email template: {was} → {now}")
    _field(out, "what an evidence request asks for", a.expects, b.expects, long=True)
    _field(out, "asks the agency for evidence on entry", a.request_on_entry, b.request_on_entry)
    return out


def _due(value: str) -> str:
    return "the item's due date" if value == "item_due" else f"{value} after entering"


def _deadline_words(d: Deadline) -> str:
    words = [f"due {_due(d.due)}"]
    if d.remind_before:
        words.append(f"reminders {_shown(d.remind_before)} before")
    if d.chase_every:
        words.append(f"chase every {d.chase_every}")
    if d.escalate:
        words.append(f"{len(d.escalate)} escalation step(s)")
    return ", ".join(words)


def _deadline(out: list[str], a: Deadline | None, b: Deadline | None) -> None:
    if a == b:
        return
    if a is None or b is None:
        if b is not None:
            out.append(f"deadline added: {_deadline_words(b)}")
        else:
            assert a is not None  # a != b and b is None
            out.append(f"deadline removed (was {_deadline_words(a)})")
        return
    if a.due != b.due:
        out.append(f"due {_due(a.due)} → {_due(b.due)}")
    if a.remind_before != b.remind_before:
        out.append(
            f"reminders before the due date: {_shown(a.remind_before)} → {_shown(b.remind_before)}"
        )
    if a.chase_every != b.chase_every:
        if a.chase_every is None:
            out.append(f"now chases every {b.chase_every}")
        elif b.chase_every is None:
            out.append(f"no longer chases (was every {a.chase_every})")
        else:
            out.append(f"chase every {a.chase_every} → {b.chase_every}")
    _listed(out, "reminders and chases go to", a.to, b.to)
    if a.digest_kinds() != b.digest_kinds():
        out.append(
            f"gathered into digests: {_shown(sorted(a.digest_kinds()))} → "
            f"{_shown(sorted(b.digest_kinds()))}"
        )
    _escalation(out, a.escalate, b.escalate)


def _step_words(s: EscalationStep) -> str:
    return f"after {s.after} overdue to {_shown(s.to)}" + (", urgent" if s.urgent else "")


def _escalation(out: list[str], a: Sequence[EscalationStep], b: Sequence[EscalationStep]) -> None:
    for i in range(max(len(a), len(b))):
        n = i + 1
        if i >= len(a):
            out.append(f"escalation step {n} added: {_step_words(b[i])}")
        elif i >= len(b):
            out.append(f"escalation step {n} removed (was {_step_words(a[i])})")
        elif a[i] != b[i]:
            parts: list[str] = []
            if a[i].after != b[i].after:
                parts.append(f"after {a[i].after} → {b[i].after} overdue")
            if a[i].to != b[i].to:
                parts.append(f"to {_shown(a[i].to)} → {_shown(b[i].to)}")
            if a[i].urgent != b[i].urgent:
                parts.append("now urgent" if b[i].urgent else "no longer urgent")
            out.append(f"escalation step {n}: {'; '.join(parts)}")


def _transition_words(spec: WorkflowSpec, t: Transition) -> str:
    to = f"to {t.dest}" if t.dest else "staying in the same state"
    return f"{_q(t.label or t.trigger)} from {_shown(spec.sources(t))} {to}, by {_shown(t.roles)}"


def _transitions(out: list[str], old: WorkflowSpec, new: WorkflowSpec) -> None:
    a = {t.trigger: t for t in old.model.transitions}
    b = {t.trigger: t for t in new.model.transitions}
    for name, t in b.items():
        if name not in a:
            out.append(f"Transition {name} added: {_transition_words(new, t)}")
    for name, t in a.items():
        if name not in b:
            out.append(f"Transition {name} ({_transition_words(old, t)}) removed")
    for name, t in b.items():
        was = a.get(name)
        if was is None or was == t:
            continue
        parts: list[str] = []
        _field(parts, "label", _q(was.label or ""), _q(t.label or ""))
        _listed(parts, "from", old.sources(was), new.sources(t))
        if was.source != t.source and old.sources(was) == new.sources(t):
            parts.append(f"from written as {_shown(was.source)} → {_shown(t.source)}")
        _field(parts, "to", was.dest or "the same state", t.dest or "the same state")
        _listed(parts, "who may fire it", was.roles, t.roles)
        _listed(parts, "requires", [r.value for r in was.requires], [r.value for r in t.requires])
        _listed(parts, "guards", was.guards, t.guards)
        _listed(parts, "effects", was.effects, t.effects)
        if was.notify != t.notify:
            parts.append(f"tells {_notify(was.notify)} → {_notify(t.notify)}")
        out.extend(f"Transition {name}: {p}" for p in parts)
    if [n for n in a if n in b] != [n for n in b if n in a]:
        out.append("Transitions reordered")


def _notify(notify: Iterable[Any]) -> str:
    told = [f"{_shown(n.to)} ({n.template})" for n in notify]
    return "; ".join(told) if told else "nobody"


def _separations(out: list[str], a: Sequence[Separation], b: Sequence[Separation]) -> None:
    if list(a) == list(b):
        return
    for s in b:
        if s not in a:
            out.append(
                f"Separation of duties added: whoever did {_shown(s.not_actor_of)} may not "
                f"{s.trigger}"
            )
    for s in a:
        if s not in b:
            out.append(
                f"Separation of duties removed: whoever did {_shown(s.not_actor_of)} may not "
                f"{s.trigger}"
            )
    if all(s in b for s in a) and all(s in a for s in b):
        out.append("Separation of duties reordered")
