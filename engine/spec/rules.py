"""Guards and effects: the rules a workflow file may name, each beside its behaviour.

A workflow names rules from this registry, never import paths, because admins edit those
files. Each rule is declared once with what it means, the inputs and guards it needs and
what it does; the spec checks names and needs against it on load and publish
(``engine.spec.references``), and ``engine.fire`` runs it when a transition fires.

This registry lives in the spec package rather than beside ``engine.fire``: the spec
validation reads it, and ``engine.spec`` must not import from the modules that use specs.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Protocol

from engine.errors import BadInput
from engine.spec.fields import FIRST_DATE, LAST_DATE
from engine.spec.model import Requirement, Transition


class ItemDates(Protocol):
    """What the rules read of an item row."""

    @property
    def due(self) -> dt.date | None: ...

    @property
    def pending_due(self) -> dt.date | None: ...

    @property
    def due_history(self) -> Sequence[str]: ...


@dataclass(frozen=True, kw_only=True)
class Given:
    """What the person firing gave that an effect may read, and where it is fired."""

    key: str
    trigger: str
    due_date: dt.date | None = None


@dataclass(frozen=True, kw_only=True)
class Guard:
    """A condition on the item that must hold for a transition to fire."""

    name: str
    description: str  # completes "needs ...", in GuardFailed messages
    check: Callable[[ItemDates], bool]


@dataclass(frozen=True, kw_only=True)
class Effect:
    """A change to the item's columns that a transition makes besides its state."""

    name: str
    description: str
    apply: Callable[[ItemDates, Given], dict[str, Any]]
    needs: Requirement | None = None  # the input the transition must require
    needs_guard: str | None = None  # the guard the transition must have
    # turns down what the agency asked for: the agency is shown why, like a challenge
    refuses: bool = False


_guards: dict[str, Guard] = {}
_effects: dict[str, Effect] = {}
GUARDS: Mapping[str, Guard] = MappingProxyType(_guards)
EFFECTS: Mapping[str, Effect] = MappingProxyType(_effects)


def _guard(description: str) -> Callable[[Callable[[ItemDates], bool]], Guard]:
    def register(check: Callable[[ItemDates], bool]) -> Guard:
        rule = Guard(name=check.__name__, description=description, check=check)
        _guards[rule.name] = rule
        return rule

    return register


def _effect(
    description: str,
    *,
    needs: Requirement | None = None,
    needs_guard: str | None = None,
    refuses: bool = False,
) -> Callable[[Callable[[ItemDates, Given], dict[str, Any]]], Effect]:
    def register(apply: Callable[[ItemDates, Given], dict[str, Any]]) -> Effect:
        rule = Effect(
            name=apply.__name__,
            description=description,
            apply=apply,
            needs=needs,
            needs_guard=needs_guard,
            refuses=refuses,
        )
        _effects[rule.name] = rule
        return rule

    return register


@_guard("an extension has been requested and not yet decided")
def extension_pending(item: ItemDates) -> bool:
    return item.pending_due is not None


@_guard("no extension request is waiting for a decision")
def no_extension_pending(item: ItemDates) -> bool:
    return item.pending_due is None


@_effect("records the requested due date until the panel decides", needs=Requirement.DUE_DATE)
def propose_due_date(item: ItemDates, given: Given) -> dict[str, Any]:
    """Raises:
    BadInput: the proposed date is not later than the current due date, or is not a
        believable date (outside engine.spec.fields' FIRST_DATE..LAST_DATE).
    """
    if given.due_date is not None and not FIRST_DATE <= given.due_date <= LAST_DATE:
        raise BadInput(
            given.key,
            given.trigger,
            f"the proposed due date {given.due_date} is outside {FIRST_DATE.year}-"
            f"{LAST_DATE.year}; check the year",
        )
    if item.due is not None and given.due_date is not None and given.due_date <= item.due:
        raise BadInput(
            given.key,
            given.trigger,
            f"the proposed due date {given.due_date} must be "
            f"later than the current one, {item.due}",
        )
    return {"pending_due": given.due_date}


@_effect(
    "makes the requested due date the current one, keeping every earlier one",
    needs_guard="extension_pending",
)
def grant_extension(item: ItemDates, given: Given) -> dict[str, Any]:
    if item.pending_due is None:  # pragma: no cover - the extension_pending guard ran first
        raise BadInput(given.key, given.trigger, "no extension has been requested")
    earlier = list(item.due_history) or ([item.due.isoformat()] if item.due else [])
    return {
        "due": item.pending_due,
        "pending_due": None,
        "due_history": [*earlier, item.pending_due.isoformat()],
    }


@_effect(
    "drops the requested due date; the current one stands",
    needs_guard="extension_pending",
    refuses=True,
)
def refuse_extension(item: ItemDates, given: Given) -> dict[str, Any]:
    return {"pending_due": None}


def failed_guard(t: Transition, item: ItemDates) -> Guard | None:
    """The first of ``t``'s guards that does not hold for ``item``, or None."""
    for name in t.guards:
        rule = GUARDS[name]
        if not rule.check(item):
            return rule
    return None


def apply_effects(
    t: Transition, item: ItemDates, *, key: str, due_date: dt.date | None
) -> dict[str, Any]:
    """The item columns ``t``'s effects change, in the order the file lists them.

    Raises:
        BadInput: an effect refused what was given (see each effect).
    """
    if not t.effects:  # most transitions: nothing to build on the hot path
        return {}
    given = Given(key=key, trigger=t.trigger, due_date=due_date)
    changes: dict[str, Any] = {}
    for name in t.effects:
        changes.update(EFFECTS[name].apply(item, given))
    return changes
