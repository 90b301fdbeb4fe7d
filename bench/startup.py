"""How long the command line takes to start, against the limits of issue 8.

Measured in one run, alternating, so a busy machine slows both sides alike:

* ``signoff --help`` against ``python -c pass``: limit 4x;
* ``signoff list`` on the demo database (``signoff init`` and the example import, in a
  temporary folder) against ``python -c 'import sqlalchemy'``: limit 2x.

Prints the median and the spread (min-max) of each, and each ratio against its limit.

    .venv/bin/python bench/startup.py            # 15 runs each
    .venv/bin/python bench/startup.py --quick    # 5 runs each
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import CONTACTS, PLAN

SIGNOFF = str(Path(sys.executable).parent / "signoff")
LIMITS = {"help": 4.0, "list": 2.0}


def wall(argv: list[str], env: dict[str, str], cwd: str) -> float:
    started = time.perf_counter()
    subprocess.run(argv, env=env, cwd=cwd, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def spread(values: list[float]) -> str:
    return (
        f"median {statistics.median(values) * 1000:6.0f} ms "
        f"(min {min(values) * 1000:.0f}, max {max(values) * 1000:.0f})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="5 runs each")
    parser.add_argument("--runs", type=int, help="runs of each command (default 15)")
    args = parser.parse_args()
    runs = args.runs or (5 if args.quick else 15)
    with tempfile.TemporaryDirectory() as tmp:
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("SIGNOFF_")},
            "SIGNOFF_DATABASE_URL": f"sqlite:///{Path(tmp) / 'signoff.db'}",
            "SIGNOFF_DATA_DIR": str(Path(tmp) / "data"),
        }
        subprocess.run([SIGNOFF, "init"], env=env, cwd=tmp, check=True, capture_output=True)
        subprocess.run(
            [SIGNOFF, "import", str(PLAN), str(CONTACTS)],
            env=env,
            cwd=tmp,
            check=True,
            capture_output=True,
        )
        commands = {
            "python -c pass": [sys.executable, "-c", "pass"],
            "signoff --help": [SIGNOFF, "--help"],
            "python -c 'import sqlalchemy'": [sys.executable, "-c", "import sqlalchemy"],
            "signoff list": [SIGNOFF, "list"],
        }
        for argv in commands.values():  # warm the file cache and the bytecode
            wall(argv, env, tmp)
        times: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(runs):
            for name, argv in commands.items():
                times[name].append(wall(argv, env, tmp))
    print(f"signoff start-up: {runs} runs each, load average {os.getloadavg()[0]:.2f}")
    for name, values in times.items():
        print(f"  {name:<32} {spread(values)}")
    pairs = (
        ("help", "signoff --help", "python -c pass"),
        ("list", "signoff list", "python -c 'import sqlalchemy'"),
    )
    for key, mine, base in pairs:
        ratio = statistics.median(times[mine]) / statistics.median(times[base])
        verdict = "ok" if ratio <= LIMITS[key] else "OVER"
        print(
            f"  {mine} / {base}: {ratio:.2f}x (limit {LIMITS[key]:.0f}x; "
            f"{ratio / LIMITS[key]:.0%} of it) {verdict}"
        )


if __name__ == "__main__":
    main()
