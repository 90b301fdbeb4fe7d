"""Workflow files: every validation rule refuses a bad file with a precise message.

Each file in ``tests/workflows/bad`` breaks one rule; its first line says which
part of the message proves the right rule fired (``# expect: ...``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from engine.durations import Duration, Unit, parse_duration
from engine.errors import SpecError, SpecErrors
from engine.spec import json_schema, load_spec, load_spec_file
from engine.spec import reader as yamlio
from notifications.templates import available
from tests.conftest import ROOT, WORKFLOWS

BAD = ROOT / "tests" / "workflows" / "bad"
BAD_FILES = sorted(BAD.glob("*.yaml"))
SHIPPED = ["recommendation.yaml", "imr_action.yaml"]
SCHEMA_FILE = WORKFLOWS / "workflow.schema.json"
KNOWN_TEMPLATES = frozenset({"request", "reminder", "chase", "escalation", "decision", "digest"})
REGENERATE = (
    "python -c 'import json; from engine.spec import json_schema; "
    "print(json.dumps(json_schema(), indent=2, sort_keys=True))' > workflows/workflow.schema.json"
)

SMALL = """\
name: tiny_review
label: Tiny review workflow
contact_roles: [lead_officer, chair]
roles:
  agency: {contact_roles: [lead_officer]}
  panel: {contact_roles: [chair], scope: any}
states:
  open: {label: Open, initial: true}
  closed: {label: Closed, terminal: true, outcome: implemented}
transitions:
  - trigger: sign_off
    from: open
    to: closed
    roles: [panel]
    notify:
      - {template: decision, to: [agency]}
"""


def _expected(path: Path) -> str:
    # bytes, not text: one bad file is deliberately not UTF-8 after its first line
    first = path.read_bytes().split(b"\n", 1)[0].decode("utf-8")
    assert first.startswith("# expect: "), f"{path.name}: first line must be '# expect: ...'"
    return first.removeprefix("# expect: ")


def _refusal(path: Path) -> SpecError:
    with pytest.raises(SpecError) as info:
        load_spec_file(path, known_templates=KNOWN_TEMPLATES)
    return info.value


def _schema_errors(data: Any) -> list[str]:
    validator = jsonschema.Draft202012Validator(json.loads(SCHEMA_FILE.read_text()))
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(data)]


# --- bad files ---------------------------------------------------------------------------


def test_there_are_at_least_35_bad_files() -> None:
    assert len(BAD_FILES) >= 35


@pytest.mark.parametrize("path", BAD_FILES, ids=[p.name for p in BAD_FILES])
def test_bad_workflow_is_refused_with_its_message(path: Path) -> None:
    with pytest.raises(SpecError) as info:
        load_spec_file(path, known_templates=KNOWN_TEMPLATES)
    message = str(info.value)
    assert _expected(path) in message
    assert str(path) in message


@pytest.mark.parametrize(
    ("name", "line"),
    [
        ("yaml_tab_indent.yaml", 15),
        ("duplicate_key.yaml", 15),
        ("missing_name.yaml", 2),
        ("missing_state_label.yaml", 24),
        ("unknown_deadline_key.yaml", 20),
        ("unknown_target_state.yaml", 39),
        ("unknown_guard.yaml", 49),
        ("bad_duration_chase_every.yaml", 20),
        ("unknown_escalation_role.yaml", 22),
        ("separation_unknown_prior_trigger.yaml", 46),
    ],
)
def test_message_gives_the_line(name: str, line: int) -> None:
    error = _refusal(BAD / name)
    assert error.line == line
    assert str(error).startswith(f"{BAD / name}:{line}: ")


def test_empty_file_has_no_line() -> None:
    error = _refusal(BAD / "empty.yaml")
    assert (error.line, str(error)) == (
        None,
        f"{BAD / 'empty.yaml'}: a workflow file must be a mapping with keys name, label, "
        "roles, states, ...",
    )


def test_message_carries_its_parts() -> None:
    error = _refusal(BAD / "unknown_target_state.yaml")
    assert (error.file, error.path, error.problem) == (
        str(BAD / "unknown_target_state.yaml"),
        "transitions[1].to",
        "unknown state 'close'; did you mean 'closed'?; states: ['open', 'submitted', 'closed']",
    )


def test_templates_are_not_checked_without_known_templates() -> None:
    spec = load_spec_file(BAD / "unknown_notify_template.yaml", known_templates=None)
    assert spec.name == "tiny_review"


def test_missing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="cannot read the file"):
        load_spec_file(tmp_path / "nowhere.yaml")


# --- several problems at once --------------------------------------------------------------

SEVERAL = (
    SMALL.replace("roles: [panel]", "roles: [panle]")
    .replace("{template: decision, to: [agency]}", "{template: decison, to: [agencies]}")
    .replace("outcome: implemented", "outcome: implemented, deadline: {due: 14 days}")
)


def test_several_problems_are_each_reported() -> None:
    with pytest.raises(SpecErrors) as info:
        load_spec(SEVERAL, "several.yaml", KNOWN_TEMPLATES)
    assert [(e.path, e.line) for e in info.value.errors] == [
        ("states.closed.deadline", 9),
        ("transitions[0].roles[0]", 14),
        ("transitions[0].notify[0].to[0]", 16),
        ("transitions[0].notify[0].template", 16),
    ]


def test_several_problems_are_one_line_each() -> None:
    with pytest.raises(SpecErrors) as info:
        load_spec(SEVERAL, "several.yaml", KNOWN_TEMPLATES)
    assert str(info.value).splitlines() == [
        "several.yaml:9: states.closed.deadline: a terminal state has no deadline",
        "several.yaml:14: transitions[0].roles[0]: unknown role 'panle'; did you mean 'panel'?; "
        "roles: ['agency', 'panel']",
        "several.yaml:16: transitions[0].notify[0].to[0]: unknown role 'agencies'; "
        "did you mean 'agency'?; roles: ['agency', 'panel']",
        "several.yaml:16: transitions[0].notify[0].template: unknown template 'decison'; "
        "did you mean 'decision'?; templates: "
        "['chase', 'decision', 'digest', 'escalation', 'reminder', 'request']",
    ]


# --- good files ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_workflow_loads_with_the_real_templates(name: str) -> None:
    spec = load_spec_file(WORKFLOWS / name, known_templates=available())
    assert spec.name == name.removesuffix(".yaml")


def test_small_workflow_loads() -> None:
    spec = load_spec(SMALL, "small.yaml", KNOWN_TEMPLATES)
    assert (spec.initial, spec.allowed_from("open")) == ("open", ("sign_off",))


YAML_11_BOOLEANS = """\
name: traffic_light
label: States named like YAML 1.1 booleans
contact_roles: [chair]
roles:
  panel: {contact_roles: [chair], scope: any}
states:
  off: {label: Off track, initial: true}
  on: {label: On track}
  yes: {label: Agreed}
  no: {label: No further action, terminal: true, outcome: withdrawn}
transitions:
  - {trigger: on, from: off, to: on, roles: [panel]}
  - {trigger: agree, from: on, to: yes, roles: [panel]}
  - {trigger: n, from: [off, on, yes], to: no, roles: [panel]}
"""


def test_yaml_11_boolean_state_names_stay_strings() -> None:
    spec = load_spec(YAML_11_BOOLEANS, "traffic_light.yaml", KNOWN_TEMPLATES)
    assert list(spec.states) == ["off", "on", "yes", "no"]


def test_yaml_11_boolean_trigger_and_targets_stay_strings() -> None:
    spec = load_spec(YAML_11_BOOLEANS, "traffic_light.yaml", KNOWN_TEMPLATES)
    assert [(t.trigger, t.dest) for t in spec.model.transitions] == [
        ("on", "on"),
        ("agree", "yes"),
        ("n", "no"),
    ]


# --- JSON Schema for editors ---------------------------------------------------------------


def test_workflow_schema_is_in_sync() -> None:
    committed = json.loads(SCHEMA_FILE.read_text())
    assert committed == json_schema(), f"workflows/workflow.schema.json is stale; run: {REGENERATE}"


def test_workflow_schema_is_a_valid_json_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(json.loads(SCHEMA_FILE.read_text()))


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_workflow_matches_the_schema(name: str) -> None:
    data = yamlio.load((WORKFLOWS / name).read_text()).data
    assert _schema_errors(data) == []


@pytest.mark.parametrize(
    "name",
    [
        "unknown_deadline_key.yaml",
        "unknown_escalation_step_key.yaml",
        "bad_duration_chase_every.yaml",
        "bad_duration_escalate_after.yaml",
        "bad_outcome.yaml",
        "unknown_template_kind.yaml",
        "missing_transition_roles.yaml",
    ],
)
def test_schema_flags_what_the_parser_refuses(name: str) -> None:
    data = yamlio.load((BAD / name).read_text()).data
    assert _schema_errors(data) != []


# --- durations -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1 day", Duration(1, Unit.DAY)),
        ("14 days", Duration(14, Unit.DAY)),
        ("20 working days", Duration(20, Unit.WORKING_DAY)),
        ("1 working day", Duration(1, Unit.WORKING_DAY)),
        ("2 weeks", Duration(2, Unit.WEEK)),
        ("6 months", Duration(6, Unit.MONTH)),
        ("  7   days ", Duration(7, Unit.DAY)),
        ("9999 days", Duration(9999, Unit.DAY)),
        ("14 Days", Duration(14, Unit.DAY)),
        ("3 Working Days", Duration(3, Unit.WORKING_DAY)),
    ],
)
def test_parse_duration_reads(text: str, expected: Duration) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["1 day", "14 days", "20 working days", "2 weeks", "6 months"])
def test_duration_prints_as_written(text: str) -> None:
    assert str(parse_duration(text)) == text


@pytest.mark.parametrize(
    "text",
    [
        "",
        "days",
        "14",
        "14days",
        "-3 days",
        "1.5 weeks",
        "two weeks",
        "14 fortnights",
        "14 days 3 hours",
        "10000 days",
        "0 days",
        "007 days",
        14,
        None,
        ["14 days"],
    ],
    ids=repr,
)
def test_parse_duration_refuses(text: object) -> None:
    with pytest.raises(
        ValueError, match="a count of at least 1 and a unit, like '14 days', '20 working days'"
    ):
        parse_duration(text)


def test_digest_takes_true_or_the_kinds_to_gather() -> None:
    text = (WORKFLOWS / "recommendation.yaml").read_text()
    shipped = load_spec(text).states["open"].deadline
    assert shipped is not None
    assert shipped.digest_kinds() == {"reminder", "chase", "escalation"}
    only = load_spec(text.replace("digest: [reminder, chase, escalation]", "digest: [escalation]"))
    assert only.states["open"].deadline.digest_kinds() == {"escalation"}  # type: ignore[union-attr]
    every = load_spec(text.replace("digest: [reminder, chase, escalation]", "digest: true"))
    assert every.states["open"].deadline.digest_kinds() == {"reminder", "chase", "escalation"}  # type: ignore[union-attr]
    none = load_spec(text.replace("digest: [reminder, chase, escalation]", "digest: false"))
    assert none.states["open"].deadline.digest_kinds() == frozenset()  # type: ignore[union-attr]
