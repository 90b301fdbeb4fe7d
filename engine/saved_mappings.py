"""Column mappings saved per board, and used again for a file with the same headings.

A board keeps its plans in the same layout quarter after quarter. Once the business manager
has mapped a layout's columns (``signoff import --save-mapping``, or the import page), the
mapping is saved for the board with the headings it was made for: each sheet's heading row
and the words of its headings. The next spreadsheet whose sheets have those headings on
those rows is read with it, and the import says so. What is saved is the layout's part of
the mapping (sheets, columns, agencies' names, workflow, the board and the review's kind),
never one review's id, title or date: the next file is another plan in the same layout.
The one writer of ``sheet_mapping``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from pydantic import ValidationError

from engine.sheets import SheetMappingFile, Table, cell_text
from engine.spec.fields import words
from engine.store.tables import SheetMapping

_saved = SheetMapping.__table__  # type: ignore[attr-defined]
MAX_SAVED = 500  # per database: far more layouts than any board keeps
_REVIEW_KEPT = ("board", "kind")  # of a mapping's review: the layout's, not one review's


@dataclass(frozen=True, kw_only=True)
class Saved:
    """A mapping saved for a board and the headings it was made for."""

    id: int
    board: str
    headings: dict[str, Any]
    mapping: dict[str, Any]
    saved_at: dt.datetime
    saved_by: str

    def described(self) -> str:
        day = f"{self.saved_at.day} {self.saved_at:%B %Y}"
        return f"the mapping saved for {self.board} by {self.saved_by} on {day}"


def signature(layout: dict[str, Any]) -> dict[str, Any]:
    """The headings a plan was read with (its layout's sheets): each sheet's heading row and
    its headings' words, trailing empty headings left out."""
    out = {}
    for name, sheet in layout["sheets"].items():
        heads = [words(h) for h in sheet["headings"]]
        while heads and not heads[-1]:
            heads.pop()
        out[name] = {"header_row": sheet["header_row"], "headings": heads}
    return out


def _key(headings: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(headings, sort_keys=True).encode()).hexdigest()


def reusable(mapping: dict[str, Any]) -> dict[str, Any]:
    """The layout's part of a mapping: without the review's id, title and date."""
    out = dict(mapping)
    review = {k: v for k, v in (mapping.get("review") or {}).items() if k in _REVIEW_KEPT}
    if review.get("board") == "not given":
        review.pop("board")
    out["review"] = review
    return out


def save(
    conn: sa.Connection,
    *,
    board: str,
    layout: dict[str, Any],
    mapping: dict[str, Any],
    actor: str,
    now: dt.datetime,
) -> tuple[Saved, dict[str, Any] | None]:
    """Save ``mapping`` (its layout's part) for ``board`` and the headings of ``layout``,
    replacing one saved before for the same board and headings. Returns what was saved, and
    the mapping it replaced (None when new)."""
    headings = signature(layout)
    key = _key(headings)
    kept = reusable(mapping)
    before = conn.execute(
        sa.select(_saved.c.id, _saved.c.mapping).where(
            _saved.c.board == board, _saved.c.headings_key == key
        )
    ).one_or_none()
    values = {
        "headings": headings,
        "mapping": kept,
        "saved_at": now,
        "saved_by": actor,
    }
    if before is None:
        row_id = conn.execute(
            _saved.insert().values(board=board, headings_key=key, **values).returning(_saved.c.id)
        ).scalar_one()
    else:
        row_id = before.id
        conn.execute(_saved.update().where(_saved.c.id == row_id).values(**values))
    saved = Saved(
        id=int(row_id), board=board, headings=headings, mapping=kept, saved_at=now, saved_by=actor
    )
    return saved, (before.mapping if before is not None else None)


def all_saved(conn: sa.Connection) -> list[Saved]:
    """Every saved mapping, newest first."""
    rows = conn.execute(
        sa.select(_saved).order_by(_saved.c.saved_at.desc(), _saved.c.id.desc()).limit(MAX_SAVED)
    )
    return [
        Saved(
            id=r.id,
            board=r.board,
            headings=r.headings,
            mapping=r.mapping,
            saved_at=r.saved_at,
            saved_by=r.saved_by,
        )
        for r in rows
    ]


def matches(saved: Saved, tables: list[Table]) -> bool:
    """Whether every sheet ``saved`` was made for is among ``tables`` with the same
    headings on the same row (a CSV file is one sheet, whatever its name)."""
    by_name = {t.name: t for t in tables}
    sheets = saved.headings
    if not sheets:
        return False
    for name, sheet in sheets.items():
        table = by_name.get(name)
        if table is None and len(tables) == 1 and len(sheets) == 1 and tables[0].name not in sheets:
            table = tables[0]  # a CSV file, renamed since
        row = sheet["header_row"]
        if table is None or row > len(table.rows):
            return False
        heads = [words(cell_text(v)) for v in table.rows[row - 1]]
        while heads and not heads[-1]:
            heads.pop()
        if heads != sheet["headings"]:
            return False
    return True


def finder(conn: sa.Connection) -> Callable[[list[Table]], tuple[SheetMappingFile, str] | None]:
    """What ``engine.sheets.read_plan`` asks for a saved mapping: the newest one saved for
    these headings, read as a mapping file, and what to call it."""
    candidates = all_saved(conn)

    def find(tables: list[Table]) -> tuple[SheetMappingFile, str] | None:
        for saved in candidates:
            if not matches(saved, tables):
                continue
            try:
                return SheetMappingFile.model_validate(saved.mapping), saved.described()
            except ValidationError:  # saved by an older signoff: not used, looked past
                continue
        return None

    return find
