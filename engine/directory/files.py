"""Importing and exporting the directory as a file: YAML (the contacts file), CSV or xlsx.

An import reads the file, puts each agency it describes in place of the one with its id
(agencies it does not name are left as they are), checks the whole directory that makes
(``checks.check``: a problem the directory already had before is not the file's) and lists
every change (``changes.changes``). A dry run stops there and writes nothing; a real run
writes every change or none, each recorded in the administrators' log. A problem names where
it is in the file: its line (YAML) or its row and column (CSV, xlsx). A real run may be
bound to the directory its dry run saw (``expected``: that dry run's ``fingerprint``), so
what is confirmed is what was listed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from engine.directory import contacts_file, edits, table
from engine.directory.changes import Change, changes, fingerprint
from engine.directory.checks import check
from engine.directory.model import AgencyEntry, DirectoryRefused, Problem
from engine.directory.store import commit, lock, read
from engine.services import Services
from engine.spec import reader as yamlio

FORMATS = {".yaml": "yaml", ".yml": "yaml", ".csv": "csv", ".xlsx": "xlsx", ".xlsm": "xlsx"}
MAX_BYTES = 2 * 1024 * 1024  # a directory of 500 agencies is far smaller


@dataclass(frozen=True, kw_only=True)
class Planned:
    """What an import did, or (dry run) would do."""

    dry_run: bool
    agencies: tuple[str, ...]  # the file's, in its order
    changes: tuple[Change, ...]
    fingerprint: str  # of the directory before: bind the real run to it

    def as_json(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "agencies": list(self.agencies),
            "changes": [c.as_json() for c in self.changes],
            "fingerprint": self.fingerprint,
        }


def format_of(name: str) -> str:
    """``yaml``, ``csv`` or ``xlsx``, from a file name.

    Raises:
        DirectoryRefused: another kind of file.
    """
    found = FORMATS.get(Path(name).suffix.lower())
    if found is None:
        raise DirectoryRefused([Problem(
            agency=None, field="file", where="the file",
            message=f"{Path(name).name!r} is not a directory file: use a .yaml, .csv or "
            ".xlsx file (as signoff directory export writes them)",
        )])  # fmt: skip
    return found


Locate = Callable[[Problem], Problem]


def read_file(path: Path, names: dict[str, str]) -> tuple[list[AgencyEntry], Locate]:
    """The agencies ``path`` describes, and how to say where a problem is in it.

    Raises:
        DirectoryRefused: the file cannot be read, or has the wrong shape.
    """
    kind = format_of(path.name)
    if kind != "yaml":
        entries, located = table.read_table(path, names)
        return entries, lambda p: replace(p, where=located.where(p))
    try:
        text = yamlio.read_file(path, yamlio.Limits(max_bytes=MAX_BYTES))
    except (OSError, UnicodeDecodeError, yamlio.YamlProblem) as exc:
        raise DirectoryRefused([Problem(agency=None, field="file", where="the file",
                                        message=f"cannot be read: {exc}")]) from None  # fmt: skip
    entries, data, doc = contacts_file.read_yaml(text, names)

    def locate(p: Problem) -> Problem:
        return replace(p, where=contacts_file.where_in(doc, contacts_file.located(p, data)))

    return entries, locate


def import_file(
    services: Services,
    path: Path,
    *,
    actor: str,
    now: dt.datetime,
    dry_run: bool,
    expected: str | None = None,
    name: str | None = None,
) -> Planned:
    """Import the directory file ``path`` (called ``name`` where it came from, e.g. an
    upload's file name): all of it or nothing.

    Raises:
        DirectoryRefused: the file, or the directory it would make, has problems (each
        saying where in the file); or ``expected`` is given and the directory changed since
        the dry run that gave it. Nothing was written.
    """
    with services.db.write() as conn:
        lock(conn)
        before = read(conn)
        entries, locate = read_file(path, {k: v.name for k, v in before.items()})
        after = edits.replace_agencies(entries)(before)
        had = set(check(before))
        problems = [p for p in check(after) if p not in had]
        if problems:
            raise DirectoryRefused([locate(p) for p in problems])
        seen = fingerprint(before)
        if expected is not None and expected != seen:
            raise DirectoryRefused([Problem(
                agency=None, field="file",
                message="The directory changed since this file was checked; check the file "
                "again to see what it would change now",
            )])  # fmt: skip
        agencies = tuple(e.id for e in entries)
        if dry_run:
            return Planned(dry_run=True, agencies=agencies,
                           changes=tuple(changes(before, after)), fingerprint=seen)  # fmt: skip
        done = commit(
            conn, before, after, actor=actor, now=now,
            today=services.calendar.local(now).date(), note=f"imported from {name or path.name}",
        )  # fmt: skip
        return Planned(dry_run=False, agencies=agencies, changes=tuple(done), fingerprint=seen)


def export_rows(services: Services) -> list[list[Any]]:
    """The whole directory as the table's rows (CSV, xlsx), headings first."""
    with services.db.engine.connect() as conn:
        return table.rows(read(conn))


def export_yaml(services: Services) -> str:
    """The whole directory as a contacts file."""
    with services.db.engine.connect() as conn:
        return contacts_file.yaml_text(read(conn))
