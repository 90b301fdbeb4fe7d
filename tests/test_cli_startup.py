"""``signoff list`` loads only what a list needs (issue 8: start-up within 2x
``import sqlalchemy``; ``bench/startup.py`` measures it)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import CONTACTS, PLAN, ROOT

SIGNOFF = str(Path(sys.executable).parent / "signoff")
# typer itself loads pydantic to coerce options, so pydantic is not in this list
HEAVY = ["engine.spec", "holidays", "pydantic_settings", "sqlalchemy.orm", "sqlmodel"]


def test_list_loads_neither_the_models_nor_the_settings_nor_the_holidays(
    tmp_path: Path,
) -> None:
    env = {
        **{k: v for k, v in os.environ.items() if not k.upper().startswith("SIGNOFF_")},
        "SIGNOFF_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
        "SIGNOFF_DATA_DIR": str(tmp_path / "data"),
    }
    for argv in (["init"], ["import", str(PLAN), str(CONTACTS)]):
        subprocess.run([SIGNOFF, *argv], env=env, cwd=ROOT, check=True, capture_output=True)
    code = (
        "import json, sys\n"
        "from app.cli import app\n"
        "try:\n"
        "    app(['list', '--json'])\n"
        "except SystemExit:\n"
        "    pass\n"
        f"print(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, check=True
    )
    listed, _, loaded = done.stdout.rstrip().rpartition("\n")
    assert json.loads(loaded) == []
    assert json.loads(listed)["items"]
