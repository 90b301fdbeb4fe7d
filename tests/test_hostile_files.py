"""Hostile files in administrators' hands (issue 9): action plans, contacts files, workflow
files and email templates built to exhaust memory, time or the stack are refused through the
command line with a clear message, never a traceback. (Time and memory are measured and
reported outside the tests; each command here runs under the Cli helper's 120 s timeout.)"""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

import pytest

from tests.conftest import CONTACTS, PLAN, ROOT
from tests.test_cli import Cli

WORKFLOW = ROOT / "workflows" / "recommendation.yaml"
MIB = 1024 * 1024


def _laughs() -> str:
    lines = ["lol0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for i in range(1, 8):
        lines.append(f"lol{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 10) + "]")
    return "\n".join(lines) + "\n"  # 10**8 strings once expanded


def _alias_flood() -> str:
    """10**7 strings from one anchor: an alias expansion that went into an import."""
    seed = "seed: &s [" + ", ".join(["x"] * 1_000) + "]\n"
    return seed + "flood: [" + ", ".join(["*s"] * 10_000) + "]\n"


# Each builds text appended (as more top-level keys) to a file that is otherwise valid.
HOSTILE_YAML: dict[str, tuple[Callable[[], str], str]] = {
    "billion_laughs": (_laughs, "anchors and aliases (&name, *name) are not allowed"),
    "recursive_anchor": (lambda: "loop: &a [*a]\n", "anchors and aliases"),
    "alias_expansion_10e7": (_alias_flood, "anchors and aliases"),
    "nesting_20000_flow": (
        lambda: "deep: " + "[" * 20_000 + "]" * 20_000 + "\n",
        "values nest more than 32 deep",
    ),
    "nesting_20000_block": (lambda: "deep:\n  " + "- " * 20_000 + "x\n", "nest more than 32 deep"),
    "file_40_mib": (
        lambda: "padding: '" + "x" * (40 * MIB) + "'\n",
        "the file is larger than",
    ),
    "merge_key_hides_duplicate": (
        lambda: "extra:\n  <<: {priority: H}\n  priority: M\n",
        "merge keys (<<) are not allowed",
    ),
    "too_many_values": (
        lambda: "numbers: [" + ", ".join(["1"] * 150_000) + "]\n",
        "values; split the file",
    ),
}


@pytest.fixture(scope="session")
def _initialised(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("cli-hostile")
    run = Cli(folder)
    run("init")
    run("import", str(PLAN), "--now", "2011-01-10T09:00Z")
    with closing(sqlite3.connect(run.db)) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return folder


@pytest.fixture
def cli(tmp_path: Path, _initialised: Path) -> Cli:
    run = Cli(tmp_path)
    shutil.copyfile(_initialised / "cli.db", run.db)
    return run


def _hostile(tmp_path: Path, base: Path, case: str) -> str:
    build, _ = HOSTILE_YAML[case]
    path = tmp_path / f"{case}.yaml"
    path.write_text(base.read_text() + build(), encoding="utf-8")
    return str(path)


def _refused(err: str, expected: str) -> None:
    assert expected in err, err[-2000:]
    assert "Traceback" not in err
    assert "RecursionError" not in err
    assert len(err) < 4_000  # the hostile content is not echoed back


@pytest.mark.parametrize("case", sorted(HOSTILE_YAML))
def test_hostile_action_plan_is_refused(cli: Cli, tmp_path: Path, case: str) -> None:
    err = cli("import", _hostile(tmp_path, PLAN, case), "--dry-run", code=1).stderr
    _refused(err, HOSTILE_YAML[case][1])


@pytest.mark.parametrize("case", sorted(HOSTILE_YAML))
def test_hostile_contacts_file_is_refused(cli: Cli, tmp_path: Path, case: str) -> None:
    before = cli("list", "--json").stdout
    err = cli("import", _hostile(tmp_path, CONTACTS, case), code=1).stderr
    _refused(err, HOSTILE_YAML[case][1])
    assert cli("list", "--json").stdout == before


@pytest.mark.parametrize("case", sorted(HOSTILE_YAML))
def test_hostile_workflow_is_refused(cli: Cli, tmp_path: Path, case: str) -> None:
    path = _hostile(tmp_path, WORKFLOW, case)
    _refused(cli("workflow", "validate", path, code=1).stderr, HOSTILE_YAML[case][1])
    published = cli("workflow", "publish", path, "--actor", "bm@example.org", code=1).stderr
    _refused(published, HOSTILE_YAML[case][1])


def _with_states(count: int, per_state: str) -> str:
    states = "".join(f"  extra_{i}: {per_state}\n" for i in range(count))
    return WORKFLOW.read_text().replace("states:\n", "states:\n" + states, 1)


@pytest.mark.parametrize(
    ("count", "per_state", "expected"),
    [
        pytest.param(20_000, "{label: S}", "more than 20,000 values", id="20000_states"),
        pytest.param(
            150,
            "{label: S, terminal: true, outcome: withdrawn}",
            "states: 159 entries, more than the 100 allowed",
            id="150_states",
        ),
    ],
)
def test_a_workflow_with_too_many_states_is_refused(
    cli: Cli, tmp_path: Path, count: int, per_state: str, expected: str
) -> None:
    path = tmp_path / "many.yaml"
    path.write_text(_with_states(count, per_state))
    _refused(cli("workflow", "validate", str(path), code=1).stderr, expected)


def test_a_workflow_label_with_a_line_break_is_refused(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "label.yaml"
    path.write_text(
        WORKFLOW.read_text().replace(
            "label: Open, awaiting evidence", 'label: "Open\\r\\nBcc: x@evil.example"', 1
        )
    )
    err = cli("workflow", "validate", str(path), code=1).stderr
    assert "states.open.label: 'Open\\r\\nBcc: x@evil.example' contains U+000D" in err


def test_a_merge_key_cannot_hide_a_duplicate_in_a_plan(cli: Cli, tmp_path: Path) -> None:
    """The merged key would silently have lost to (or beaten) the one written out."""
    text = PLAN.read_text().replace("  priority: H\n", "  <<: {priority: L}\n  priority: H\n", 1)
    path = tmp_path / "merge.yaml"
    path.write_text(text)
    err = cli("import", str(path), code=1).stderr
    assert "merge keys (<<) are not allowed in this file" in err


HOSTILE_TEMPLATES: dict[str, tuple[str, str]] = {
    "percent_width": ("{{ '%*d' % (999999999, 1) }}", "'%' formatting is not allowed"),
    "tilde_doubling": (
        "{% set a = 'xxxxxxxxxx' %}" + "{% set a = a ~ a %}" * 40 + "{{ a }}",
        "'~' would build a value longer than 100,000",
    ),
    "join_squaring": (
        "{% set s = 'x' * 99999 %}{{ s|join(s) }}",
        "'join' would build a value longer than 100,000",
    ),
    "replace_empty": (
        "{% set s = 'x' * 99999 %}{{ s|replace('', s) }}",
        "'replace' would build a value longer than 100,000",
    ),
    "parentheses_5000": ("{{ " + "(" * 5000 + "1" + ")" * 5000 + " }}", "brackets nest more"),
    "number_squaring": (
        "{% set n = 99999999 %}" + "{% set n = n * n %}" * 40 + "{{ n }}",
        "'*' would build a number of more than 256 bits",
    ),
    "output_loop": (
        "{% set s = 'y' * 99999 %}{% for c in s %}{{ s }}{% endfor %}",
        "stopped: the output would be longer than 1,000,000 characters",
    ),
    "silent_loop": (
        "{% set s = 'y' * 99999 %}{% for a in s %}{% for b in s %}{% endfor %}{% endfor %}",
        "stopped: rendering took longer than 2 seconds",
    ),
    "tags_3000_deep": ("{% if ref %}" * 3000 + "{% endif %}" * 3000, "tags nest more than 20"),
    "not_5000": ("{{ " + "not " * 5000 + "ref }}", "a tag of more than 200 tokens"),
    "file_40_mib": ("x" * (40 * MIB), "longer than 100,000 characters"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE_TEMPLATES))
def test_hostile_template_is_refused_naming_template_and_line(tmp_path: Path, case: str) -> None:
    payload, expected = HOSTILE_TEMPLATES[case]
    folder = tmp_path / "templates"
    folder.mkdir()
    for part in (ROOT / "notifications" / "templates").iterdir():
        (folder / part.name).write_text(part.read_text())
    with (folder / "chase.txt.j2").open("a") as f:
        f.write(payload + "\n")
    err = Cli(tmp_path)("templates", "--directory", str(folder), code=1).stderr
    line = (ROOT / "notifications" / "templates" / "chase.txt.j2").read_text().count("\n") + 1
    where = "template 'chase' (text)" + ("" if case == "file_40_mib" else f" line {line}")
    _refused(err, expected)
    assert where in err, err
