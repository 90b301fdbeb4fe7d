"""`signoff workflow validate` and `signoff workflow diagram`, via the real console script."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT

SIGNOFF = Path(sys.executable).parent / "signoff"
GOOD = "workflows/recommendation.yaml"
BAD = "tests/workflows/bad/unknown_target_state.yaml"
BAD_MESSAGE = f"{BAD}:39: transitions[1].to: unknown state 'close'; did you mean 'closed'?"


def _signoff(*args: str) -> subprocess.CompletedProcess[str]:
    # no SIGNOFF_* settings from the caller's shell: these commands need none
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIGNOFF_")}
    return subprocess.run(
        [str(SIGNOFF), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_validate_good_file_says_ok() -> None:
    done = _signoff("workflow", "validate", GOOD)
    assert (done.returncode, done.stdout, done.stderr) == (
        0,
        f"{GOOD}: ok (recommendation: 9 states, 14 transitions)\n",
        "",
    )


def test_validate_bad_file_exits_1_with_the_message_on_stderr() -> None:
    done = _signoff("workflow", "validate", BAD)
    assert (done.returncode, done.stdout) == (1, "")
    assert BAD_MESSAGE in done.stderr


def test_validate_reports_every_file() -> None:
    done = _signoff("workflow", "validate", BAD, GOOD)
    assert done.returncode == 1
    assert f"{GOOD}: ok" in done.stdout
    assert BAD_MESSAGE in done.stderr


def test_diagram_prints_mermaid() -> None:
    done = _signoff("workflow", "diagram", GOOD)
    lines = done.stdout.splitlines()
    assert (done.returncode, lines[0]) == (0, "stateDiagram-v2")
    assert "    open --> evidence_submitted : submit_evidence" in lines


def test_diagram_of_a_bad_file_is_refused() -> None:
    done = _signoff("workflow", "diagram", BAD)
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr.startswith(f"error: {BAD_MESSAGE}")
