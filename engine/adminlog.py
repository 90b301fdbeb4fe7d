"""Stand-in for the administrators' log (branch ``adminlog``): the signature its call sites
are written against. Replaced by the real module when that branch lands on main; until then
``record`` keeps nothing."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa


def record(
    conn: sa.Connection,
    *,
    actor: str,
    at: dt.datetime,
    action: str,
    subject: str,
    before: Any,
    after: Any,
    note: str | None = None,
) -> int:
    """Append one entry in the caller's transaction; return its ``seq`` (here: 0)."""
    return 0
