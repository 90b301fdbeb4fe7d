"""The guard and effect registry, the state graph and the spec-level notions built on them."""

from __future__ import annotations

import datetime as dt
import importlib
from collections.abc import Sequence
from dataclasses import dataclass

import pytest

from engine.errors import BadInput
from engine.spec import Requirement, Transition, load_spec, load_spec_file
from engine.spec.machine import build_machine, state_graph
from engine.spec.rules import EFFECTS, GUARDS, apply_effects, failed_guard
from tests.conftest import WORKFLOWS

D = dt.date


@dataclass(frozen=True)
class _Item:
    due: dt.date | None = None
    pending_due: dt.date | None = None
    due_history: Sequence[str] = ()


def _transition(trigger: str) -> Transition:
    spec = load_spec_file(WORKFLOWS / "recommendation.yaml")
    return next(t for t in spec.model.transitions if t.trigger == trigger)


# --- the registry --------------------------------------------------------------------------


def test_every_rule_is_registered_under_its_own_name() -> None:
    assert sorted(GUARDS) == ["extension_pending", "no_extension_pending"]
    assert sorted(EFFECTS) == ["grant_extension", "propose_due_date", "refuse_extension"]
    assert all(name == rule.name for name, rule in GUARDS.items())
    assert all(name == rule.name for name, rule in EFFECTS.items())


def test_the_registry_cannot_be_changed_from_outside() -> None:
    with pytest.raises(TypeError):
        GUARDS["always"] = GUARDS["extension_pending"]  # type: ignore[index]


def test_effects_declare_what_the_spec_checks() -> None:
    needs = {n: (e.needs, e.needs_guard, e.refuses) for n, e in EFFECTS.items()}
    assert needs == {
        "propose_due_date": (Requirement.DUE_DATE, None, False),
        "grant_extension": (None, "extension_pending", False),
        "refuse_extension": (None, "extension_pending", True),
    }


# --- guards --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pending", "holds"), [(None, {"no_extension_pending"}), (D(2026, 3, 1), {"extension_pending"})]
)
def test_guards_read_the_pending_due_date(pending: dt.date | None, holds: set[str]) -> None:
    item = _Item(pending_due=pending)
    assert {n for n, g in GUARDS.items() if g.check(item)} == holds


def test_failed_guard_names_the_guard_that_does_not_hold() -> None:
    failed = failed_guard(_transition("grant_extension"), _Item())
    assert failed is not None
    assert (failed.name, failed.description) == (
        "extension_pending",
        "an extension has been requested and not yet decided",
    )


def test_failed_guard_is_none_when_every_guard_holds() -> None:
    assert failed_guard(_transition("request_extension"), _Item()) is None


# --- effects -------------------------------------------------------------------------------


def test_propose_due_date_records_the_date_until_the_panel_decides() -> None:
    changes = apply_effects(
        _transition("request_extension"),
        _Item(due=D(2026, 2, 1)),
        key="scr-1/R1",
        due_date=D(2026, 3, 1),
    )
    assert changes == {"pending_due": D(2026, 3, 1)}


@pytest.mark.parametrize("proposed", [D(2026, 2, 1), D(2026, 1, 31)], ids=["same", "earlier"])
def test_propose_due_date_refuses_a_date_that_is_not_later(proposed: dt.date) -> None:
    with pytest.raises(BadInput) as info:
        apply_effects(
            _transition("request_extension"), _Item(due=D(2026, 2, 1)), key="R1", due_date=proposed
        )
    assert (
        f"the proposed due date {proposed} must be later than the current one, 2026-02-01"
        in str(info.value)
    )


def test_grant_extension_makes_the_pending_date_current_keeping_the_old_one() -> None:
    item = _Item(due=D(2026, 2, 1), pending_due=D(2026, 3, 1))
    changes = apply_effects(
        _transition("grant_extension"), item, key="scr-1/R1", due_date=D(2026, 3, 1)
    )
    assert changes == {
        "due": D(2026, 3, 1),
        "pending_due": None,
        "due_history": ["2026-02-01", "2026-03-01"],
    }


def test_grant_extension_extends_an_existing_history() -> None:
    item = _Item(due=D(2026, 3, 1), pending_due=D(2026, 4, 1), due_history=["a", "b"])
    changes = apply_effects(
        _transition("grant_extension"), item, key="scr-1/R1", due_date=D(2026, 3, 1)
    )
    assert changes["due_history"] == ["a", "b", "2026-04-01"]


def test_refuse_extension_drops_the_pending_date() -> None:
    item = _Item(due=D(2026, 2, 1), pending_due=D(2026, 3, 1))
    assert apply_effects(
        _transition("refuse_extension"), item, key="scr-1/R1", due_date=D(2026, 3, 1)
    ) == {"pending_due": None}


def test_a_transition_without_effects_changes_nothing() -> None:
    assert (
        apply_effects(
            _transition("submit_evidence"), _Item(), key="scr-1/R1", due_date=D(2026, 3, 1)
        )
        == {}
    )


# --- the state graph (built by the transitions library) ------------------------------------


def test_state_graph_follows_every_trigger_and_leaves_out_internal_ones() -> None:
    spec = load_spec_file(WORKFLOWS / "imr_action.yaml")
    assert state_graph(build_machine(spec.model)) == {
        "in_progress": {"completed", "closed_no_assurance"},
        "completed": {"in_progress", "signed_off", "closed_no_assurance"},
        "signed_off": set(),
        "closed_no_assurance": set(),
    }


def test_state_graph_has_no_edge_for_a_transition_that_keeps_the_state() -> None:
    spec = load_spec_file(WORKFLOWS / "recommendation.yaml")
    edges = state_graph(build_machine(spec.model))
    assert "open" not in edges["open"]  # set_rag and the extension triggers stay put


# --- challenge triggers --------------------------------------------------------------------


def test_challenge_triggers_of_the_shipped_workflows() -> None:
    rec = load_spec_file(WORKFLOWS / "recommendation.yaml")
    imr = load_spec_file(WORKFLOWS / "imr_action.yaml")
    assert rec.challenge_triggers == {"challenge", "audit_not_confirmed", "refuse_extension"}
    assert imr.challenge_triggers == frozenset()


ASKS_AGAIN = """\
name: asks_again
label: A return that asks for evidence again
contact_roles: [lead_officer, chair]
roles:
  agency: {contact_roles: [lead_officer]}
  panel: {contact_roles: [chair], scope: any}
states:
  open: {label: Open, initial: true, templates: {request: request}}
  submitted: {label: Submitted}
  returned: {label: Returned, request_on_entry: true, templates: {request: request}}
  closed: {label: Closed, terminal: true, outcome: implemented}
transitions:
  - {trigger: submit, from: [open, returned], to: submitted, roles: [agency], requires: [evidence]}
  - {trigger: send_back, from: submitted, to: returned, roles: [panel], requires: [reason]}
  - {trigger: nudge, from: returned, to: returned, roles: [panel]}
  - {trigger: close, from: submitted, to: closed, roles: [panel]}
"""


def test_a_transition_into_a_state_that_asks_on_entry_is_a_challenge() -> None:
    spec = load_spec(ASKS_AGAIN, "asks_again.yaml")
    assert spec.challenge_triggers == {"send_back"}


# --- the front door ------------------------------------------------------------------------


def test_spec_all_is_honest() -> None:
    module = importlib.import_module("engine.spec")
    public = {n for n in vars(module) if not n.startswith("_") and n != "annotations"}
    submodules = {n for n in public if type(getattr(module, n)).__name__ == "module"}
    assert set(module.__all__) == public - submodules
