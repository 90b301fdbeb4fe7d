"""The demo's example plan, its due dates moved to look like a working week.

The shipped example plan is from 2010, so every item would be years overdue. ``rebase_plan``
rewrites each recommendation's ``due:`` list so its last date (the one an item is due
by) falls a set number of days
from ``today`` (a spread: due soon, just overdue, long overdue), keeping the distance between
the dates of one list. Only the ``due:`` lines change; the importer then reads the copy as it
reads any plan, so items are written by the importer alone. ``today`` is passed in.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

# days from today of each recommendation's due date (its list's last), in file order (cycled)
SPREAD = (5, -3, 12, -40, 2, -1, 21, -90, 35, -10)
_DUE = re.compile(r"^(?P<indent>\s*)due: \[(?P<dates>[0-9, -]*)\]\s*$", re.MULTILINE)


def rebase_plan(text: str, today: dt.date) -> str:
    """``text`` (a plan YAML) with each ``due: [...]`` list moved relative to ``today``."""
    counter = iter(range(10**6))

    def move(match: re.Match[str]) -> str:
        dates = [dt.date.fromisoformat(d.strip()) for d in match["dates"].split(",") if d.strip()]
        if not dates:
            return match.group(0)
        offset = SPREAD[next(counter) % len(SPREAD)]
        shift = today + dt.timedelta(days=offset) - dates[-1]
        moved = ", ".join((d + shift).isoformat() for d in dates)
        return f"{match['indent']}due: [{moved}]"

    return _DUE.sub(move, text)


def rebase_file(path: Path, today: dt.date, out_dir: Path) -> Path:
    """Write the rebased copy of ``path`` into ``out_dir`` (same name); return its path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / path.name
    target.write_text(rebase_plan(path.read_text(encoding="utf-8"), today), encoding="utf-8")
    return target
