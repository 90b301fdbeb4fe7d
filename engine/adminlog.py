"""The administrators' log: every change to a workflow, an email's wording or the directory.

One hash chain, beside the items' chains (``engine.hashchain``): event ``seq`` n stores
``prev_hash`` = the hash of event n-1 (``GENESIS`` for the first) and ``hash`` = SHA-256 of
``prev_hash`` and a canonical JSON of its own fields. ``admin_log_head`` keeps the newest
``seq`` and hash, so removing the newest event is detected as well as editing or removing any
other. ``record`` appends in the caller's transaction, so a change and its log entry commit
or roll back together; appends are serialised (SQLite's ``BEGIN IMMEDIATE`` already does;
on PostgreSQL a transaction-scoped advisory lock), so two administrators saving at once get
consecutive entries, never a fork.

``before`` and ``after`` are what changed, as JSON values (a dict of fields, a text, or None
for a creation or removal). This module is the only writer of both tables.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from engine.errors import SignoffError
from engine.hashchain import GENESIS, canonical_time
from engine.store.tables import AdminEvent, AdminLogHead

_event = AdminEvent.__table__  # type: ignore[attr-defined]
_head = AdminLogHead.__table__  # type: ignore[attr-defined]
_HEAD_ID = 1
# pg_advisory_xact_lock's key for appends to this chain ("signoff admin log", as 8 bytes)
_PG_LOCK = int.from_bytes(hashlib.sha256(b"signoff admin log").digest()[:8], "big", signed=True)
MAX_ACTOR, MAX_ACTION, MAX_SUBJECT, MAX_NOTE = 320, 100, 300, 500
PAGE = 50

# What each action is called on /admin/log; an action not listed shows as its own words.
LABELS = {
    "email.save": "Email wording saved",
    "email.revert": "Email wording reverted to the shipped wording",
    "workflow.draft.create": "Workflow draft created",
    "workflow.draft.save": "Workflow draft saved",
    "workflow.draft.discard": "Workflow draft discarded",
    "workflow.publish": "Workflow published",
    "import.plan": "Action plan or contacts imported",
    "import.mapping.save": "Spreadsheet columns saved for the board",
    "anchor.set": "Date of an event given (relative due dates)",
    "directory.agency.create": "Agency added to the directory",
    "directory.agency.update": "Agency changed in the directory",
    "directory.contacts.replace": "Agency's contacts and ladder replaced",
    "directory.agency.added": "Agency added",
    "directory.agency.changed": "Agency renamed",
    "directory.agency.removed": "Agency removed",
    "directory.contact.added": "Contact added",
    "directory.contact.changed": "Contact changed",
    "directory.contact.removed": "Contact removed",
    "directory.ladder.changed": "Escalation ladder changed",
    "directory.conflict.added": "Conflict of interest added",
    "directory.conflict.changed": "Conflict of interest changed",
    "directory.conflict.removed": "Conflict of interest removed",
    "directory.auditor.added": "Internal auditor assigned",
    "directory.auditor.removed": "Internal auditor no longer assigned",
}


class AdminLogRefused(SignoffError, ValueError):
    """An entry that cannot be recorded as given; nothing was written."""


@dataclass(frozen=True, kw_only=True)
class Entry:
    seq: int
    at: dt.datetime
    actor: str
    action: str
    subject: str
    before: Any
    after: Any
    note: str | None

    @property
    def label(self) -> str:
        return LABELS.get(self.action, self.action.replace(".", " ").replace("_", " ").capitalize())


def entry_hash(
    prev_hash: str,
    *,
    seq: int,
    at: dt.datetime,
    actor: str,
    action: str,
    subject: str,
    before: Any,
    after: Any,
    note: str | None,
) -> str:
    """The hash an admin event with these fields must carry after ``prev_hash``."""
    payload = json.dumps(
        [seq, canonical_time(at), actor, action, subject, before, after, note],
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256((prev_hash + payload).encode()).hexdigest()


def _plain(value: Any, what: str) -> Any:
    """``value`` as JSON will give it back (tuples become lists), or refused naming it."""
    try:
        return json.loads(json.dumps(value, allow_nan=False))
    except (TypeError, ValueError) as exc:
        raise AdminLogRefused(f"the admin log keeps {what} as JSON: {exc}") from exc


def _text(value: str, what: str, most: int) -> str:
    if not value or len(value) > most:
        raise AdminLogRefused(f"the admin log's {what} must be 1 to {most} characters")
    return value


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
    """Append one entry in the caller's transaction; return its ``seq``."""
    values = {
        "at": at,
        "actor": _text(actor, "actor", MAX_ACTOR),
        "action": _text(action, "action", MAX_ACTION),
        "subject": _text(subject, "subject", MAX_SUBJECT),
        "before": _plain(before, "before"),
        "after": _plain(after, "after"),
        "note": (note or "").strip()[:MAX_NOTE] or None,
    }
    if conn.dialect.name == "postgresql":
        conn.execute(sa.select(sa.func.pg_advisory_xact_lock(_PG_LOCK)))
    head = conn.execute(
        sa.select(_head.c.seq, _head.c.hash).where(_head.c.id == _HEAD_ID)
    ).one_or_none()
    prev_seq, prev_hash = (head.seq, head.hash) if head else (0, GENESIS)
    seq = prev_seq + 1
    digest = entry_hash(prev_hash, seq=seq, **values)
    conn.execute(sa.insert(_event).values(seq=seq, prev_hash=prev_hash, hash=digest, **values))
    if head:
        conn.execute(sa.update(_head).where(_head.c.id == _HEAD_ID).values(seq=seq, hash=digest))
    else:
        conn.execute(sa.insert(_head).values(id=_HEAD_ID, seq=seq, hash=digest))
    return seq


def _entry(r: Any) -> Entry:
    return Entry(
        seq=r.seq,
        at=r.at,
        actor=r.actor,
        action=r.action,
        subject=r.subject,
        before=r.before,
        after=r.after,
        note=r.note,
    )


def entries(
    conn: sa.Connection, *, page: int = 1, action_prefix: str | None = None
) -> tuple[Sequence[Entry], int]:
    """One page of entries, newest first, and how many there are in all (for the pager);
    ``action_prefix`` keeps those whose action starts with it (``workflow.``, ``email.``)."""
    where = sa.true()
    if action_prefix:
        where = _event.c.action.startswith(action_prefix, autoescape=True)
    total = conn.execute(sa.select(sa.func.count()).select_from(_event).where(where)).scalar_one()
    rows = conn.execute(
        sa.select(_event)
        .where(where)
        .order_by(_event.c.seq.desc())
        .limit(PAGE)
        .offset(max(page - 1, 0) * PAGE)
    )
    return [_entry(r) for r in rows], total


@dataclass(frozen=True, kw_only=True)
class Verification:
    """What walking the admin chain found: how many entries verify, and the first problem."""

    entries: int
    broken_seq: int | None = None
    problem: str | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None

    def __str__(self) -> str:
        return f"admin log, entry {self.broken_seq}: {self.problem}"


def verify(conn: sa.Connection) -> Verification:
    """Walk the chain in order and report the first broken link."""
    head = conn.execute(
        sa.select(_head.c.seq, _head.c.hash).where(_head.c.id == _HEAD_ID)
    ).one_or_none()
    head_seq, head_hash = (head.seq, head.hash) if head else (0, GENESIS)
    prev, expected = GENESIS, 1
    stream = conn.execute(
        sa.select(_event).order_by(_event.c.seq).execution_options(yield_per=2000)
    )
    with stream as rows:
        for row in rows:
            problem = None
            if row.seq != expected:
                problem = f"expected entry {expected} next, found {row.seq}: an entry is missing"
            elif row.prev_hash != prev:
                problem = "its prev_hash does not match the hash of the entry before it"
            elif row.hash != entry_hash(
                prev,
                seq=row.seq,
                at=row.at,
                actor=row.actor,
                action=row.action,
                subject=row.subject,
                before=row.before,
                after=row.after,
                note=row.note,
            ):
                problem = "its content was changed after it was written (hash mismatch)"
            if problem:
                return Verification(entries=expected - 1, broken_seq=row.seq, problem=problem)
            prev, expected = row.hash, expected + 1
    seen = expected - 1
    if (seen, prev) != (head_seq, head_hash):
        removed = seen <= head_seq
        return Verification(
            entries=seen,
            broken_seq=seen + 1 if removed else head_seq + 1,
            problem=f"the log records {head_seq} entries, {seen} verify: "
            + (
                "its newest entries were removed or replaced"
                if removed
                else "its record of the newest entry was changed"
            ),
        )
    return Verification(entries=seen)
