"""The directory as one table, for CSV and xlsx: a row per agency, contact, ladder, conflict
of interest and assigned auditor.

Columns (the first row holds the headings, in any order; a heading this format does not
know is refused): ``Agency`` (its id), ``Record`` (agency, contact, ladder, conflict or
auditor), ``Agency name``, ``Name``, ``Email``, ``Roles`` (several separated by ``;``; on a
ladder row, its rungs from the bottom), ``Absent`` (yes or no), ``First day away``, ``Last
day away``, ``Deputy`` and ``Alternate``. An ``agency`` row names the agency (needed for a
new one); a ``contact`` row is one person and all their roles there; a ``conflict`` row bars
the contact in ``Email`` from the agency's escalations, with an optional ``Alternate``; an
``auditor`` row assigns the internal auditor in ``Email``. Each agency in the file is
described whole (its contacts, ladder, conflicts and auditors are replaced by the file's);
agencies not in it are left as they are. Dates are written YYYY-MM-DD or DD/MM/YYYY (or are
date cells). Reading goes through ``engine.sheets.read_tables`` (its bounds, and the
apostrophe an export put before a formula character taken off again).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine import sheets
from engine.directory.model import (
    AgencyEntry,
    Conflict,
    DirectoryRefused,
    Person,
    Problem,
    Snapshot,
    normal_email,
    quoted,
)

HEADINGS = (
    "Agency",
    "Record",
    "Agency name",
    "Name",
    "Email",
    "Roles",
    "Absent",
    "First day away",
    "Last day away",
    "Deputy",
    "Alternate",
)
RECORDS = ("agency", "contact", "ladder", "conflict", "auditor")
_YES, _NO = {"yes", "y", "true", "1"}, {"no", "n", "false", "0", ""}
_SPLIT = re.compile(r"[;,]")
_DMY = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")
# the column a problem's field is in, by record
_COLUMN = {
    "id": "Agency", "name": "Name", "email": "Email", "roles": "Roles", "absent": "Absent",
    "absent_from": "First day away", "absent_until": "Last day away", "deputy": "Deputy",
    "ladder": "Roles", "contact": "Email", "alternate": "Alternate", "auditor": "Email",
}  # fmt: skip


def rows(snapshot: Snapshot) -> list[list[Any]]:
    """The directory as the table's rows, headings first (dates as dates)."""
    out: list[list[Any]] = [list(HEADINGS)]

    def row(agency: str, record: str, **cells: Any) -> None:
        named = {"Agency": agency, "Record": record, **cells}
        out.append([named.get(h) for h in HEADINGS])

    for agency, e in snapshot.items():
        row(agency, "agency", **{"Agency name": e.name})
        for p in e.contacts:
            row(agency, "contact", Name=p.name, Email=p.email, Roles="; ".join(p.roles),
                Absent="yes" if p.absent else "no",
                **{"First day away": p.absent_from if p.absent else None,
                   "Last day away": p.absent_until if p.absent else None},
                Deputy=p.deputy)  # fmt: skip
        row(agency, "ladder", Roles="; ".join(e.ladder))
        for c in e.conflicts:
            row(agency, "conflict", Email=c.email, Alternate=c.alternate)
        for a in e.auditors:
            row(agency, "auditor", Email=a)
    return out


@dataclass
class _Agency:
    name: str | None = None
    people: list[Person] = field(default_factory=list)
    ladder: tuple[str, ...] | None = None
    conflicts: list[Conflict] = field(default_factory=list)
    auditors: list[str] = field(default_factory=list)


@dataclass
class Located:
    """Where each thing of a table came from: its row (1-based), for messages."""

    agency: dict[str, int] = field(default_factory=dict)
    contact: dict[tuple[str, str], int] = field(default_factory=dict)
    ladder: dict[str, int] = field(default_factory=dict)
    conflict: dict[tuple[str, str], int] = field(default_factory=dict)
    auditor: dict[tuple[str, str], int] = field(default_factory=dict)

    def where(self, problem: Problem) -> str | None:
        """``row N, column 'X'`` of ``problem``, when the table has it."""
        agency, email, f = problem.agency or "", problem.contact or "", problem.field
        if f in ("contact", "alternate"):
            found = self.conflict.get((agency, email))
        elif f == "auditor":
            found = self.auditor.get((agency, email))
        elif f == "ladder":
            found = self.ladder.get(agency)
        elif problem.contact is not None:
            found = self.contact.get((agency, email))
        else:
            found = self.agency.get(agency)
            f = "agency name" if f == "name" else f
        if found is None:
            found = self.agency.get(agency)
        if found is None:
            return None
        column = "Agency name" if f == "agency name" else _COLUMN.get(f)
        return f"row {found}, column {column!r}" if column else f"row {found}"


def read_table(path: Path, names: dict[str, str]) -> tuple[list[AgencyEntry], Located]:
    """The agencies a CSV or xlsx file describes, and where each part was.

    ``names``: the agencies' names now (a file need not repeat an existing agency's name).

    Raises:
        DirectoryRefused: the file is not a directory table, or rows are bad; every problem
        names its row and column.
    """
    try:
        tables = sheets.read_tables(path)
    except sheets.NotASpreadsheet as exc:
        raise DirectoryRefused([_problem("the file", f"cannot be read: {exc}")]) from None
    except OSError as exc:
        raise DirectoryRefused([_problem("the file", f"cannot be read: {exc}")]) from None
    grids = [t for t in tables if any(any(c is not None for c in r) for r in t.rows)]
    if len(grids) != 1:
        raise DirectoryRefused([_problem(
            "the file",
            f"expected one sheet of the directory, found {len(grids)} with content; keep the "
            "directory on one sheet (as signoff directory export writes it)",
        )])  # fmt: skip
    return _parse(grids[0].rows, names)


def _problem(where: str, message: str) -> Problem:
    return Problem(agency=None, field="file", message=message, where=where)


def _parse(grid: list[list[Any]], names: dict[str, str]) -> tuple[list[AgencyEntry], Located]:
    problems: list[Problem] = []
    header = [sheets.cell_text(c).strip().lower() if c is not None else "" for c in grid[0]]
    known = {h.lower(): h for h in HEADINGS}
    for i, h in enumerate(header):
        if h and h not in known:
            problems.append(_problem(
                f"row 1, column {sheets.col_letter(i + 1)}",
                f"unknown heading {quoted(h)}; the headings are: {', '.join(HEADINGS)}",
            ))  # fmt: skip
    for needed in ("agency", "record"):
        if needed not in header:
            problems.append(_problem("row 1", f"no column {known[needed]!r}; the headings "
                                     f"are: {', '.join(HEADINGS)}"))  # fmt: skip
    if problems:
        raise DirectoryRefused(problems)
    at = {known[h]: i for i, h in enumerate(header) if h}
    agencies: dict[str, _Agency] = {}
    where = Located()
    for n, raw in enumerate(grid[1:], start=2):
        cells = {h: (raw[i] if i < len(raw) else None) for h, i in at.items()}
        if all(v is None or sheets.cell_text(v).strip() == "" for v in cells.values()):
            continue
        problems += _row(n, cells, agencies, where)
    if problems:
        raise DirectoryRefused(problems)
    out = []
    for agency, a in agencies.items():
        name = a.name or names.get(agency)
        if name is None:
            problems.append(_problem(
                f"row {where.agency.get(agency) or min(_rows_of(where, agency))}",
                f"{agency} is a new agency: give its name on an 'agency' row (column "
                "'Agency name')",
            ))  # fmt: skip
            continue
        out.append(AgencyEntry(
            id=agency, name=name.strip(), ladder=a.ladder or (), contacts=tuple(a.people),
            conflicts=tuple(a.conflicts), auditors=tuple(a.auditors),
        ))  # fmt: skip
    if problems:
        raise DirectoryRefused(problems)
    return out, where


def _rows_of(where: Located, agency: str) -> list[int]:
    found = [r for (a, _e), r in where.contact.items() if a == agency]
    found += [r for a, r in where.ladder.items() if a == agency]
    found += [r for (a, _e), r in [*where.conflict.items(), *where.auditor.items()] if a == agency]
    return found or [0]


def _row(n: int, cells: dict[str, Any], agencies: dict[str, _Agency],
         where: Located) -> list[Problem]:  # fmt: skip
    problems: list[Problem] = []

    def text(column: str) -> str:
        value = cells.get(column)
        return "" if value is None else sheets.cell_text(value).strip()

    def bad(column: str, message: str) -> None:
        problems.append(_problem(f"row {n}, column {column!r}", message))

    agency, record = text("Agency"), text("Record").lower()
    if not agency:
        bad("Agency", "give the agency's id (for example sept)")
        return problems
    if record not in RECORDS:
        bad("Record", f"{quoted(record)} is not a record; use one of: {', '.join(RECORDS)}")
        return problems
    a = agencies.setdefault(agency, _Agency())
    email = normal_email(text("Email"))
    if record == "agency":
        if agency in where.agency:
            bad("Agency", f"{agency} has a second 'agency' row (the first is row "
                          f"{where.agency[agency]}); keep one")  # fmt: skip
        where.agency[agency] = n
        a.name = text("Agency name") or None
    elif record == "ladder":
        if agency in where.ladder:
            bad("Roles", f"{agency} has a second ladder (the first is row "
                         f"{where.ladder[agency]}); keep one")  # fmt: skip
        where.ladder[agency] = n
        a.ladder = _roles(text("Roles"))
    elif record == "conflict":
        where.conflict.setdefault((agency, email), n)
        alternate = normal_email(text("Alternate")) or None
        a.conflicts.append(Conflict(email=email, alternate=alternate))
    elif record == "auditor":
        where.auditor.setdefault((agency, email), n)
        a.auditors.append(email)
    else:
        where.contact.setdefault((agency, email), n)
        absent_text = text("Absent").lower()
        if absent_text not in _YES | _NO:
            bad("Absent", f"{quoted(absent_text)}: write yes or no")
        start = _date(cells.get("First day away"), "First day away", bad)
        end = _date(cells.get("Last day away"), "Last day away", bad)
        a.people.append(Person(
            name=text("Name"), email=email, roles=_roles(text("Roles")),
            absent=absent_text in _YES or start is not None or end is not None,
            absent_from=start, absent_until=end,
            deputy=normal_email(text("Deputy")) or None,
        ))  # fmt: skip
    return problems


def _roles(text: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(r.strip() for r in _SPLIT.split(text) if r.strip()))


def _date(value: Any, column: str, bad: Any) -> dt.date | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = sheets.cell_text(value).strip()
    if not text:
        return None
    try:
        found = _DMY.match(text)
        if found:
            day, month, year = (int(g) for g in found.groups())
            return dt.date(year, month, day)
        return dt.date.fromisoformat(text)
    except ValueError:
        bad(column, f"{quoted(text)} is not a date; write it as 2011-02-28 or 28/02/2011")
        return None
