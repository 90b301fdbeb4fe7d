"""Signed checkpoints of the history: what the database cannot prove about itself.

The hash chain (``engine.hashchain``) shows that each item's history is consistent with
itself, not that it is the history that was written: whoever can write to the database can
edit an event and recompute every hash after it, and ``verify`` still passes. A checkpoint
seals every item's chain head (its last seq and hash) at one time with an HMAC-SHA256
under the board's secret key, which the caller passes in and which is never stored in the
database. ``check`` then finds a rewrite of any event a checkpoint sealed and names the
item, the events and the checkpoint.

A checkpoint stores only the heads that moved since the checkpoint before it
(``checkpoint_head``), and signs their digest with its number, time, totals and the previous
checkpoint's signature: the checkpoints form a chain of their own, so a removed or altered
one is found. ``take`` refuses to seal a history that does not extend the last checkpoint
(it walks only the events written since). Each checkpoint is also appended as one JSON line
to a file outside the database (``log_path``: owner-only, in the data folder), so deleting
the newest checkpoints from the database is found as well.

What a checkpoint cannot show: a change made before the first checkpoint, or to events
written after the last one; nor anything done by someone who also holds the key.

This module is the only writer of ``checkpoint`` and ``checkpoint_head``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import hmac
import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from engine.errors import CheckpointRefused
from engine.evidence import make_private_dir
from engine.hashchain import GENESIS, canonical_time, heads_digest, row_hash
from engine.items import item_key
from engine.services import Services
from engine.store import core
from engine.store.bulk import execute_many

LOG_NAME = "checkpoints.jsonl"
_DOMAIN = b"signoff-checkpoint:v1:"  # apart from every other HMAC made with the same key
_BATCH = 1000  # ids per statement: well inside every driver's parameter limit
_cp, _head, _item, _event = core.checkpoint, core.checkpoint_head, core.item, core.event
_rec = core.recommendation
_HEAD_VALUES = ("item_id", "seq", "hash")


def log_path(data_dir: Path) -> Path:
    """The file outside the database where each checkpoint is appended."""
    return data_dir / LOG_NAME


def key_id(key: bytes) -> str:
    """A short public name of ``key`` (it tells keys apart and reveals nothing of them)."""
    return hmac.new(key, b"signoff-checkpoint-key-id", hashlib.sha256).hexdigest()[:16]


@dataclass(frozen=True, kw_only=True)
class Seal:
    """One checkpoint as signed: a row of ``checkpoint`` and a line of the log file."""

    number: int
    taken_at: dt.datetime
    taken_by: str
    prev_signature: str
    items: int
    events: int
    heads: int
    heads_sha256: str
    key_id: str
    signature: str = ""

    def message(self) -> bytes:
        """What the signature covers: every field but the signature."""
        fields = [
            self.number,
            canonical_time(self.taken_at),
            self.taken_by,
            self.prev_signature,
            self.items,
            self.events,
            self.heads,
            self.heads_sha256,
            self.key_id,
        ]
        return _DOMAIN + json.dumps(fields, separators=(",", ":"), ensure_ascii=False).encode()

    def signed(self, key: bytes) -> Seal:
        return dataclasses.replace(self, signature=_mac(key, self.message()))

    def verifies(self, key: bytes) -> bool:
        return hmac.compare_digest(self.signature, _mac(key, self.message()))

    def record(self) -> dict[str, Any]:
        """The seal as JSON (a line of the log file, and ``verify-log --json``)."""
        out = dataclasses.asdict(self)
        out["taken_at"] = canonical_time(self.taken_at)
        return out

    @classmethod
    def from_record(cls, data: dict[str, Any]) -> Seal:
        """Raises: KeyError, TypeError or ValueError for a record that is not a seal."""
        names = {f.name for f in dataclasses.fields(cls)}
        if set(data) != names:
            raise ValueError(f"fields {sorted(data)}, expected {sorted(names)}")
        at = dt.datetime.fromisoformat(str(data["taken_at"]).replace("Z", "+00:00"))
        return cls(**{**data, "taken_at": at})

    @classmethod
    def from_row(cls, row: Any) -> Seal:
        return cls(**{f.name: getattr(row, f.name) for f in dataclasses.fields(cls)})


def _mac(key: bytes, message: bytes) -> str:
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def _digest(heads: Iterable[tuple[int, int, str]]) -> str:
    """The SHA-256 of heads given in item order, one ``item seq hash`` line each."""
    return heads_digest(heads)


@dataclass(frozen=True, kw_only=True)
class Problem:
    """Something the checkpoints show to be wrong; ``str`` says what, where and since when."""

    message: str
    checkpoint: int | None = None
    item_id: int | None = None
    item: str | None = None  # the item's key, REVIEW/REF@AGENCY
    seq: int | None = None

    def __str__(self) -> str:
        return self.message

    def record(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True, kw_only=True)
class Taken:
    """A checkpoint just taken: its seal, how many heads moved, and where it was filed."""

    seal: Seal
    log_file: Path
    log_error: str | None  # why the log file could not be appended to (the seal is kept)


@dataclass(frozen=True, kw_only=True)
class CheckpointCheck:
    """What ``check`` found: every checkpoint's signature, the sealed heads against the
    history, and the database against the log file."""

    checkpoints: int
    verified: int
    latest: Seal | None
    problems: list[Problem]
    notes: list[str]

    @property
    def ok(self) -> bool:
        return not self.problems


# --- reading and checking the seals ---------------------------------------------------------


@dataclass
class _Walk:
    seals: list[Seal]
    valid: set[int]
    problems: list[Problem]
    sealed: dict[int, tuple[int, str, int]]  # item -> (seq, hash, checkpoint), valid seals only


def _walk(conn: sa.Connection, key: bytes) -> _Walk:
    """Read every seal with its heads in number order and check each: its heads against
    their signed digest and count, its signature, its number and its predecessor."""
    seals = [Seal.from_row(r) for r in conn.execute(sa.select(_cp).order_by(_cp.c.number))]
    by_number = {s.number: s for s in seals}
    mine = key_id(key)
    heads: dict[int, tuple[str, int]] = {}
    sealed: dict[int, tuple[int, str, int]] = {}
    problems: list[Problem] = []
    stream = conn.execute(  # the statement streams, not the connection: more follow
        sa.select(_head.c.checkpoint, _head.c.item_id, _head.c.seq, _head.c.hash)
        .order_by(_head.c.checkpoint, _head.c.item_id)
        .execution_options(yield_per=5000)
    )
    current, h, count = None, hashlib.sha256(), 0
    with stream as rows:
        for row in rows:
            if row.checkpoint != current:
                if current is not None:
                    heads[current] = (h.hexdigest(), count)
                current, h, count = row.checkpoint, hashlib.sha256(), 0
            h.update(f"{row.item_id} {row.seq} {row.hash}\n".encode())
            count += 1
            if row.checkpoint in by_number:
                seen = sealed.get(row.item_id)
                if seen is None or seen[0] < row.seq:
                    sealed[row.item_id] = (row.seq, row.hash, row.checkpoint)
    if current is not None:
        heads[current] = (h.hexdigest(), count)
    valid: set[int] = set()
    previous: Seal | None = None
    for seal in seals:
        n = seal.number
        expected = previous.number + 1 if previous else 1
        if n != expected:
            gap = f"#{expected}" if n == expected + 1 else f"#{expected} to #{n - 1}"
            problems.append(
                Problem(
                    checkpoint=n,
                    message=f"checkpoint {gap} is missing from the database, before #{n}: "
                    "checkpoints were deleted",
                )
            )
        elif seal.prev_signature != (previous.signature if previous else ""):
            problems.append(
                Problem(
                    checkpoint=n,
                    message=f"checkpoint #{n} does not follow checkpoint #{n - 1} "
                    f"(its prev_signature is not #{n - 1}'s signature): a checkpoint was "
                    "replaced",
                )
            )
        digest, count = heads.get(n, (_digest(()), 0))
        if seal.key_id != mine:
            problems.append(
                Problem(
                    checkpoint=n,
                    message=f"checkpoint #{n} was signed with another key (key id "
                    f"{seal.key_id}; the secret key given has id {mine}): it cannot be checked",
                )
            )
        elif not seal.verifies(key):
            problems.append(
                Problem(
                    checkpoint=n,
                    message=f"checkpoint #{n} (taken {_when(seal.taken_at)}) has a signature "
                    "that does not verify: the row was forged or changed",
                )
            )
        elif (digest, count) != (seal.heads_sha256, seal.heads):
            problems.append(
                Problem(
                    checkpoint=n,
                    message=f"checkpoint #{n} (taken {_when(seal.taken_at)}): "
                    + (
                        f"its {count} item heads are not the ones it signed"
                        if count == seal.heads
                        else f"it signed {seal.heads} item heads and {count} are there now"
                    )
                    + ": its heads were changed",
                )
            )
        else:
            valid.add(n)
        previous = seal
    orphans = sorted(set(heads) - set(by_number))
    if orphans:
        problems.append(
            Problem(
                checkpoint=orphans[0],
                message=f"item heads are kept for checkpoint(s) "
                f"{', '.join(f'#{n}' for n in orphans)}, which the database no longer holds: "
                "checkpoints were deleted",
            )
        )
    if valid != set(by_number):  # fall back to the heads of valid seals only
        sealed = _valid_heads(conn, valid)
    return _Walk(seals=seals, valid=valid, problems=problems, sealed=sealed)


def _valid_heads(conn: sa.Connection, valid: set[int]) -> dict[int, tuple[int, str, int]]:
    sealed: dict[int, tuple[int, str, int]] = {}
    if not valid:
        return sealed
    for row in conn.execute(
        sa.select(_head.c.checkpoint, _head.c.item_id, _head.c.seq, _head.c.hash).order_by(
            _head.c.checkpoint
        )
    ):
        seen = sealed.get(row.item_id)
        if row.checkpoint in valid and (seen is None or seen[0] < row.seq):
            sealed[row.item_id] = (row.seq, row.hash, row.checkpoint)
    return sealed


def _when(at: dt.datetime) -> str:
    return at.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def _keys(conn: sa.Connection, item_ids: Iterable[int]) -> dict[int, str]:
    ids = sorted(set(item_ids))
    out: dict[int, str] = {}
    for start in range(0, len(ids), _BATCH):
        chunk = ids[start : start + _BATCH]
        for r in conn.execute(
            sa.select(_item.c.id, _rec.c.review_id, _rec.c.ref, _item.c.agency_id)
            .join(_rec, _rec.c.id == _item.c.recommendation_id)
            .where(_item.c.id.in_(chunk))
        ):
            out[r.id] = item_key(r.review_id, r.ref, r.agency_id)
    return out


def _rewritten(conn: sa.Connection, walk: _Walk) -> list[Problem]:
    """Every item whose history no longer holds an event a valid checkpoint sealed.

    One query finds every sealed head whose event is gone or has another hash; with the
    chain verified by ``hashchain.verify``, a head that still matches proves every event up
    to it unchanged, so the rewrite lies after the highest matching head below the first
    one that differs."""
    e = _event.alias("e")
    found = conn.execute(
        sa.select(_head.c.checkpoint, _head.c.item_id, _head.c.seq, e.c.hash.label("now"))
        .select_from(
            _head.outerjoin(e, sa.and_(e.c.item_id == _head.c.item_id, e.c.seq == _head.c.seq))
        )
        .where(sa.or_(e.c.hash.is_(None), e.c.hash != _head.c.hash))
        .order_by(_head.c.item_id, _head.c.seq)
    ).all()
    first: dict[int, Any] = {}
    for row in found:
        if row.checkpoint in walk.valid and row.item_id not in first:
            first[row.item_id] = row
    if not first:
        return []
    keys = _keys(conn, first)
    taken = {s.number: s.taken_at for s in walk.seals}
    below: dict[int, int] = {}  # item -> highest sealed seq that still matches, below the first
    ids = sorted(first)
    for start in range(0, len(ids), _BATCH):
        for h in conn.execute(
            sa.select(_head.c.checkpoint, _head.c.item_id, _head.c.seq).where(
                _head.c.item_id.in_(ids[start : start + _BATCH])
            )
        ):
            if h.checkpoint in walk.valid and h.seq < first[h.item_id].seq:
                below[h.item_id] = max(below.get(h.item_id, 0), h.seq)
    problems = []
    for item_id, row in sorted(first.items()):
        name = f"item {item_id} ({keys.get(item_id, 'no longer in the item table')})"
        by = f"checkpoint #{row.checkpoint} (taken {_when(taken[row.checkpoint])})"
        low = below.get(item_id, 0) + 1
        span = f"event {row.seq}" if low == row.seq else f"events {low} to {row.seq}"
        if row.now is None:
            what = f"event {row.seq}, which {by} sealed, is gone: events were removed"
        else:
            what = (
                f"event {row.seq} is not the one {by} sealed: its history was rewritten "
                f"after that checkpoint, in {span}"
            )
        problems.append(
            Problem(
                checkpoint=row.checkpoint,
                item_id=item_id,
                item=keys.get(item_id),
                seq=row.seq,
                message=f"{name}: {what}",
            )
        )
    return problems


def _read_log(path: Path) -> tuple[list[tuple[int, Seal]], list[Problem]]:
    seals: list[tuple[int, Seal]] = []
    problems: list[Problem] = []
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                seals.append((number, Seal.from_record(json.loads(line))))
            except (ValueError, TypeError, KeyError) as exc:
                problems.append(
                    Problem(message=f"{path}: line {number} is not a checkpoint record ({exc})")
                )
    return seals, problems


def _against_log(walk: _Walk, key: bytes, path: Path | None) -> tuple[list[Problem], list[str]]:
    """The database's seals against the log file's lines."""
    if path is None:
        return [], []
    if not path.exists():
        if walk.seals:
            return [], [
                f"the checkpoint file {path} does not exist: the {len(walk.seals)} "
                "checkpoint(s) in the database were not compared with it (was it written on "
                "another machine?)"
            ]
        return [], []
    filed, problems = _read_log(path)
    db = {s.number: s for s in walk.seals}
    seen: set[int] = set()
    for line, seal in filed:
        n = seal.number
        seen.add(n)
        if not seal.verifies(key):
            problems.append(
                Problem(
                    checkpoint=n,
                    message=f"{path}: line {line} (checkpoint #{n}) has a signature that "
                    "does not verify",
                )
            )
        elif n not in db:
            problems.append(
                Problem(
                    checkpoint=n,
                    message=f"checkpoint #{n} (taken {_when(seal.taken_at)}, line {line} of "
                    f"{path}) is missing from the database: checkpoints were deleted",
                )
            )
        elif db[n] != seal:
            problems.append(
                Problem(
                    checkpoint=n,
                    message=f"checkpoint #{n} in the database differs from line {line} of "
                    f"{path}: the row was replaced",
                )
            )
    unfiled = sorted(set(db) - seen)
    notes = (
        [
            f"checkpoint(s) {', '.join(f'#{n}' for n in unfiled)} are in the database but "
            f"not in {path} (taken where that file is not kept, or it could not be written)"
        ]
        if unfiled
        else []
    )
    return problems, notes


def check(conn: sa.Connection, key: bytes, *, log_file: Path | None = None) -> CheckpointCheck:
    """Check every checkpoint against ``key`` and the history against every valid one.

    Finds: a checkpoint whose signature does not verify (forged or changed), whose heads
    were changed, that is missing from the numbering or does not follow the one before; an
    item whose history no longer holds an event a valid checkpoint sealed (named by item,
    events and checkpoint); a checkpoint in ``log_file`` the database lacks or holds
    differently. Run it beside ``hashchain.verify``, which checks the links in between.
    """
    walk = _walk(conn, key)
    problems = list(walk.problems)
    problems += _rewritten(conn, walk)
    in_log, notes = _against_log(walk, key, log_file)
    problems += in_log
    return CheckpointCheck(
        checkpoints=len(walk.seals),
        verified=len(walk.valid),
        latest=walk.seals[-1] if walk.seals else None,
        problems=problems,
        notes=notes,
    )


# --- taking a checkpoint --------------------------------------------------------------------


def _extends(conn: sa.Connection, moved: Sequence[tuple[int, int, str]], walk: _Walk) -> list[str]:
    """Where the events written since the last checkpoint do not chain from the heads it
    sealed to the items' heads now (only those events are read)."""
    problems: list[tuple[int, str]] = []
    cols = [c for c in _event.c if c.name not in ("id",)]
    # items grouped by where their unsealed events start, so each query reads few old ones
    moved = sorted(moved, key=lambda m: (walk.sealed.get(m[0], (0,))[0], m[0]))
    for start in range(0, len(moved), _BATCH):
        part = moved[start : start + _BATCH]
        want = {item_id: (seq, head) for item_id, seq, head in part}
        since = {i: walk.sealed.get(i, (0, GENESIS, 0)) for i in want}
        lowest = min(s[0] for s in since.values())
        state = {i: (s[0], s[1]) for i, s in since.items()}  # item -> (seq, hash) reached
        broken: dict[int, str] = {}
        stream = conn.execute(
            sa.select(*cols)
            .where(_event.c.item_id.in_(list(want)), _event.c.seq > lowest)
            .order_by(_event.c.item_id, _event.c.seq)
            .execution_options(yield_per=5000)
        )
        with stream as rows:
            for row in rows:
                i = row.item_id
                seq, prev = state[i]
                if i in broken or row.seq <= since[i][0] or row.seq > want[i][0]:
                    continue
                if row.seq != seq + 1:
                    broken[i] = f"event {seq + 1} is missing"
                elif row.prev_hash != prev or row.hash != row_hash(prev, row):
                    broken[i] = f"event {row.seq} does not chain from event {seq}" + (
                        f", which checkpoint #{since[i][2]} sealed" if since[i][2] else ""
                    )
                else:
                    state[i] = (row.seq, row.hash)
        for i, (seq, head) in want.items():
            if i not in broken and state[i] != (seq, head):
                broken[i] = f"its head (event {seq}) is not where its events lead" + (
                    f" from checkpoint #{since[i][2]}" if since[i][2] else ""
                )
        problems += broken.items()
    return [f"item {i}: {why}" for i, why in sorted(problems)]


def _take_in(conn: sa.Connection, key: bytes, *, now: dt.datetime, actor: str) -> Seal:
    walk = _walk(conn, key)
    if walk.problems:
        raise CheckpointRefused([str(p) for p in walk.problems])
    current = conn.execute(
        sa.select(_item.c.id, _item.c.seq, _item.c.last_hash).order_by(_item.c.id)
    ).all()
    moved = [
        (r.id, r.seq, r.last_hash)
        for r in current
        if walk.sealed.get(r.id, (0, GENESIS))[:2] != (r.seq, r.last_hash)
    ]
    gone = sorted(set(walk.sealed) - {r.id for r in current})
    problems = [f"item {i}, which checkpoint #{walk.sealed[i][2]} sealed, is gone" for i in gone]
    problems += _extends(conn, moved, walk)
    if problems:
        raise CheckpointRefused(problems)
    last = walk.seals[-1] if walk.seals else None
    seal = Seal(
        number=last.number + 1 if last else 1,
        taken_at=now,
        taken_by=actor,
        prev_signature=last.signature if last else "",
        items=len(current),
        events=sum(r.seq for r in current),
        heads=len(moved),
        heads_sha256=_digest(moved),
        key_id=key_id(key),
    ).signed(key)
    conn.execute(_cp.insert().values(**dataclasses.asdict(seal)))
    rows = [(i, s, h) for i, s, h in moved]
    for start in range(0, len(rows), _BATCH):
        execute_many(
            conn,
            _head.insert(),
            {"checkpoint": seal.number},
            _HEAD_VALUES,
            rows[start : start + _BATCH],
        )
    return seal


def take(services: Services, key: bytes, *, now: dt.datetime, actor: str) -> Taken:
    """Seal every item's chain head now, in one transaction, then append the seal to the
    log file in the data folder.

    Reads only the events written since the last checkpoint (and every event the first
    time). The file is written after the commit: a checkpoint is never filed that the
    database lacks; if the file cannot be written the seal is kept and ``log_error`` says why.

    Raises:
        CheckpointRefused: a checkpoint does not verify under ``key``, or the history does
            not extend the last checkpoint (each problem named), or another checkpoint was
            taken at the same moment. Nothing was written.
    """
    try:
        with services.db.write() as conn:
            seal = _take_in(conn, key, now=now, actor=actor)
    except sa.exc.IntegrityError:
        raise CheckpointRefused(
            ["another checkpoint was taken at the same moment; take this one again"]
        ) from None
    path = log_path(services.data_dir)
    try:
        _append(path, seal)
        error = None
    except OSError as exc:
        error = f"{path}: {exc.strerror or exc}"
    return Taken(seal=seal, log_file=path, log_error=error)


def take_if_due(
    services: Services, key: bytes, *, now: dt.datetime, actor: str, every: dt.timedelta
) -> Taken | None:
    """``take`` when the last checkpoint is ``every`` old or more (or there is none); the
    database decides, so a restarted or doubled scheduler takes no extra ones.

    Raises:
        CheckpointRefused: as ``take``.
    """
    with services.db.engine.connect() as conn:
        last = conn.execute(sa.select(sa.func.max(_cp.c.taken_at))).scalar_one_or_none()
    if last is not None and now - last.replace(tzinfo=dt.UTC) < every:
        return None
    return take(services, key, now=now, actor=actor)


def _append(path: Path, seal: Seal) -> None:
    """Append one line to the owner-only log file, and flush it to disk."""
    make_private_dir(path.parent)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        if os.fstat(fd).st_mode & 0o077:
            os.fchmod(fd, 0o600)
        line = json.dumps(seal.record(), sort_keys=True, ensure_ascii=False) + "\n"
        os.write(fd, line.encode())
        os.fsync(fd)
    finally:
        os.close(fd)
