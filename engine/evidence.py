"""Evidence files: kept under the data directory by content hash, never overwritten.

A file is copied to a temporary name, hashed on the way, then renamed to
``evidence/ab/abcdef…`` (its SHA-256). The same content stored twice is one file;
a crash before the database commit leaves at most an unreferenced file, never a
record without its file. Original names are kept only as cleaned metadata.

Folders are made owner-only (0700) and files owner-only (0600), in every environment:
evidence is about children and must not be readable by other accounts on the machine.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from engine.errors import EvidenceError
from engine.store.tables import Evidence, Item
from engine.uploads.names import clean_filename

_CHUNK = 1 << 16
PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600


def make_private_dir(path: Path) -> Path:
    """Make ``path`` and any missing parents owner-only folders (0700); an existing
    ``path`` of ours is tightened to 0700. Returns ``path``."""
    missing = [p for p in (path, *path.parents) if not p.exists()]
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=PRIVATE_DIR)
        except FileExistsError:  # made meanwhile by another process
            pass
    if path.stat().st_uid == os.getuid() and path.stat().st_mode & 0o777 != PRIVATE_DIR:
        path.chmod(PRIVATE_DIR)
    return path


@dataclass(frozen=True, kw_only=True)
class StoredFile:
    sha256: str
    size: int
    stored_name: str
    filename: str


@dataclass(frozen=True, kw_only=True)
class EvidenceInput:
    """What a person hands in: a statement, a file, or both."""

    statement: str | None = None
    path: Path | None = None
    content_type: str | None = None  # checked by content (engine.uploads) when known


def store_file(data_dir: Path, source: Path) -> StoredFile:
    """Copy ``source`` into the evidence store.

    Raises:
        EvidenceError: the file cannot be read, or is not a regular file.
    """
    if not source.is_file():
        raise EvidenceError(f"evidence file {str(source)!r} does not exist or is not a file")
    root = make_private_dir(data_dir / "evidence")
    digest, size = hashlib.sha256(), 0
    fd, tmp = tempfile.mkstemp(dir=root, prefix=".incoming-")
    try:
        with os.fdopen(fd, "wb") as out, source.open("rb") as src:
            while chunk := src.read(_CHUNK):
                digest.update(chunk)
                size += len(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        sha = digest.hexdigest()
        final = root / sha[:2] / sha
        make_private_dir(final.parent)
        os.replace(tmp, final)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise EvidenceError(f"cannot store evidence file {str(source)!r}: {exc.strerror}") from None
    return StoredFile(
        sha256=sha, size=size, stored_name=f"{sha[:2]}/{sha}", filename=clean_filename(source.name)
    )


def store_bytes(data_dir: Path, data: bytes, filename: str) -> StoredFile:
    """Keep an upload already read into memory (and checked) in the evidence store.

    Raises:
        EvidenceError: the store cannot be written.
    """
    root = make_private_dir(data_dir / "evidence")
    sha = hashlib.sha256(data).hexdigest()
    final = root / sha[:2] / sha
    if not final.exists():
        fd, tmp = tempfile.mkstemp(dir=root, prefix=".incoming-")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            make_private_dir(final.parent)
            os.replace(tmp, final)
        except OSError as exc:
            Path(tmp).unlink(missing_ok=True)
            raise EvidenceError(
                f"cannot store evidence file {filename!r}: {exc.strerror}"
            ) from None
    return StoredFile(
        sha256=sha,
        size=len(data),
        stored_name=f"{sha[:2]}/{sha}",
        filename=clean_filename(filename),
    )


def read_stored(data_dir: Path, sha256: str) -> bytes:
    """The bytes kept in the evidence store under ``sha256`` (a received message, a file).

    Raises:
        EvidenceError: nothing is kept under that hash, or it cannot be read.
    """
    if len(sha256) != 64 or not all(c in "0123456789abcdef" for c in sha256):
        raise EvidenceError(f"not a SHA-256: {sha256[:80]!r}")
    try:
        return (data_dir / "evidence" / sha256[:2] / sha256).read_bytes()
    except OSError as exc:
        raise EvidenceError(f"cannot read stored file {sha256}: {exc.strerror}") from None


_evidence = Evidence.__table__  # type: ignore[attr-defined]
_item = Item.__table__  # type: ignore[attr-defined]
_PUBLIC_ID = re.compile(r"[a-z2-7]{16}")  # engine.store.tables.new_public_id


@dataclass(frozen=True)
class OnFile:
    """Where an evidence file is kept, what it is called, and whose item it is on."""

    path: Path
    filename: str
    content_type: str | None
    agency_id: str


def file_on_record(conn: sa.Connection, data_dir: Path, public_id: str) -> OnFile | None:
    """The stored file of the evidence with ``public_id``, or None (not an id of ours, no
    such evidence, a statement with no file, or a file no longer inside the evidence folder).

    The caller decides whether the person asking may have it (``agency_id``).
    """
    if not _PUBLIC_ID.fullmatch(public_id):
        return None
    row = conn.execute(
        sa.select(
            _evidence.c.stored_name,
            _evidence.c.filename,
            _evidence.c.content_type,
            _item.c.agency_id,
        )
        .join(_item, _item.c.id == _evidence.c.item_id)
        .where(_evidence.c.public_id == public_id)
    ).one_or_none()
    if row is None or not row.stored_name:
        return None
    root = (data_dir / "evidence").resolve()
    path = (root / row.stored_name).resolve()
    if not path.is_relative_to(root) or not path.is_file():
        return None
    return OnFile(path, row.filename or "evidence", row.content_type, row.agency_id)
