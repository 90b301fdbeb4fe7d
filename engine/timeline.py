"""An item's history in plain language, from the workflow's own labels.

"Case review panel (J. Smith) challenged the evidence on 3 March 2026" rather than
``challenge``: who (the workflow role they acted as, and their name from the directory), what
(the transition's label, put in the past tense), when (the board's local date), and the
reason, the RAG, the meeting date and the due dates the event carries. This module is the one
place the wording of history entries lives; pages and reports ask it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from engine.spec import WorkflowSpec

# the imperative first words of workflow labels, in the past tense; a label starting with any
# other word is quoted instead ("recorded “Not for this board”")
_PAST = {
    "ask": "asked",
    "challenge": "challenged",
    "close": "closed",
    "confirm": "confirmed",
    "grant": "granted",
    "mark": "marked",
    "record": "recorded",
    "refuse": "refused",
    "reopen": "reopened",
    "request": "requested",
    "schedule": "scheduled",
    "send": "sent",
    "set": "set",
    "sign": "signed",
    "submit": "submitted",
    "transfer": "transferred",
}
_IMPORTED = "import"
_IMPORTED_STATUS = "import_status"  # engine.importer.IMPORTED_STATUS
_DATED = "due_from_anchor"  # engine.anchors.DATED


@dataclass(frozen=True, kw_only=True)
class Entry:
    """One line of the history: ``text`` says who did what when; ``reason`` is their words."""

    seq: int
    at: dt.datetime
    text: str
    reason: str | None


@dataclass(frozen=True)
class Who:
    """A person as the directory knows them: name and contact roles."""

    name: str
    contact_roles: frozenset[str]


def long_date(value: dt.date) -> str:
    return f"{value.day} {value:%B %Y}"


def past(label: str) -> str:
    """``Challenge the evidence`` -> ``challenged the evidence``; other labels quoted."""
    first, _, rest = label.partition(" ")
    done = _PAST.get(first.lower())
    if done is None:
        return f"recorded “{label}”"
    return f"{done} {rest}".strip()


def _who(spec: WorkflowSpec, trigger: str, actor: str, people: Mapping[str, Who]) -> str:
    person = people.get(actor)
    if person is None:
        return "signoff" if actor in ("", "system", "sweep") else actor
    roles = [t.roles for t in spec.model.transitions if t.trigger == trigger]
    for name in (r for rs in roles for r in rs):
        role = spec.model.roles.get(name)
        if role is not None and person.contact_roles & set(role.contact_roles):
            return f"{role.label or name} ({person.name})"
    return person.name


def describe(
    spec: WorkflowSpec,
    event: Mapping[str, Any],
    people: Mapping[str, Who],
    local: Callable[[dt.datetime], dt.datetime] = lambda t: t,
) -> Entry:
    """One event (a row of ``queries.show``'s ``history``, ``at`` an ISO time) in words."""
    at = dt.datetime.fromisoformat(event["at"])
    day = long_date(local(at).date())
    trigger = event["trigger"]
    data = event.get("data") or {}
    if trigger == _IMPORTED_STATUS:
        text = f"Status “{data.get('imported_status', '')}” imported on {day}"
        if data.get("status_source"):
            text += f" from {data['status_source']}"
        text += ", not verified by signoff"
        state = spec.model.states.get(event["to"])
        if state is not None and event["to"] != event["from"]:
            text += f". Now: {state.label}"
        return Entry(seq=event["seq"], at=at, text=text + ".", reason=None)
    if trigger == _DATED and data.get("due_set"):
        due = long_date(dt.date.fromisoformat(data["due_set"]))
        given = long_date(dt.date.fromisoformat(data["anchor_date"]))
        who = _who(spec, trigger, event["actor"], people)
        text = (
            f"Due date set to {due}: {data.get('after')} after {data.get('anchor')} "
            f"({given}, given by {who} on {day})"
        )
        return Entry(seq=event["seq"], at=at, text=text + ".", reason=None)
    if trigger == _IMPORTED or event.get("from") is None:
        text = f"Recorded in signoff on {day}"
        state = spec.model.states.get(event["to"])
        if state is not None:
            text += f" ({state.label})"
        return Entry(seq=event["seq"], at=at, text=text + ".", reason=event.get("reason"))
    labels = {t.trigger: t.label or t.trigger.replace("_", " ") for t in spec.model.transitions}
    what = past(labels.get(trigger, trigger.replace("_", " ")))
    text = f"{_who(spec, trigger, event['actor'], people)} {what} on {day}"
    extra = []
    if event.get("rag"):
        extra.append(f"RAG {event['rag']}")
    if data.get("meeting_date"):
        extra.append(f"panel meeting {long_date(dt.date.fromisoformat(data['meeting_date']))}")
    if data.get("due_date"):
        extra.append(f"proposed date {long_date(dt.date.fromisoformat(data['due_date']))}")
    if data.get("due_to"):
        extra.append(f"due date now {long_date(dt.date.fromisoformat(data['due_to']))}")
    if data.get("evidence"):
        n = len(data["evidence"])
        extra.append(f"{n} piece{'s' if n != 1 else ''} of evidence")
    if extra:
        text += f" ({'; '.join(extra)})"
    if event["to"] != event["from"]:
        state = spec.model.states.get(event["to"])
        if state is not None:
            text += f". Now: {state.label}"
    return Entry(seq=event["seq"], at=at, text=text + ".", reason=event.get("reason"))


def history(
    spec: WorkflowSpec,
    events: Iterable[Mapping[str, Any]],
    people: Mapping[str, Who],
    local: Callable[[dt.datetime], dt.datetime] = lambda t: t,
) -> list[Entry]:
    """Every event of one item, oldest first, in words."""
    return [describe(spec, e, people, local) for e in events]
