"""The directory as the editor sees it: agencies, their contacts (a person and all their roles
at one agency), ladders, conflicts of interest and assigned auditors; what a refusal says."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from email_validator import EmailNotValidError, validate_email

from engine.contacts import AUDITOR_ROLE, away
from engine.errors import SignoffError
from engine.spec.fields import OutOfBounds, single_line

SLUG = re.compile(r"^[a-z0-9][a-z0-9-]*$")
ROLE = re.compile(r"^[a-z][a-z0-9_]*$")
MAX_NAME, MAX_ID, MAX_ROLE, MAX_EMAIL = 200, 100, 100, 320
MAX_CONTACTS, MAX_LADDER = 200, 20


@dataclass(frozen=True, kw_only=True)
class Person:
    """One contact of one agency: their roles there and their absence."""

    name: str
    email: str
    roles: tuple[str, ...]
    absent: bool = False  # an absence is recorded (dated, or from now until taken off)
    absent_from: dt.date | None = None
    absent_until: dt.date | None = None
    deputy: str | None = None
    failing: bool = False  # mail to the address bounced (engine.contacts.mark_failing)
    id: int | None = field(default=None, compare=False)  # their first row, once stored

    def __post_init__(self) -> None:  # roles are a set: kept sorted, each once
        object.__setattr__(self, "roles", tuple(sorted(set(self.roles))))

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "email": self.email,
            "roles": list(self.roles),
            "absent": self.absent,
            "absent_from": iso_day(self.absent_from),
            "absent_until": iso_day(self.absent_until),
            "deputy": self.deputy,
        }

    def away_on(self, day: dt.date) -> bool:
        """Whether their recorded absence covers ``day`` (the flag stored for today)."""
        return self.absent and away(self, day)


@dataclass(frozen=True, kw_only=True)
class Conflict:
    """``email`` must not receive escalations about the agency; ``alternate`` does instead."""

    email: str
    alternate: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {"contact": self.email, "alternate": self.alternate}


@dataclass(frozen=True, kw_only=True)
class AgencyEntry:
    """One agency as the directory holds it."""

    id: str
    name: str
    ladder: tuple[str, ...] = ()
    contacts: tuple[Person, ...] = ()
    conflicts: tuple[Conflict, ...] = ()
    auditors: tuple[str, ...] = ()

    def person(self, email: str) -> Person | None:
        return next((p for p in self.contacts if p.email == email), None)

    def holders(self, role: str) -> list[Person]:
        return [p for p in self.contacts if role in p.roles]


Snapshot = dict[str, AgencyEntry]


@dataclass(frozen=True, kw_only=True)
class Problem:
    """One reason a change is refused: which agency, contact and field, and what to do."""

    agency: str | None
    field: str  # name, id, email, roles, absent_from, absent_until, deputy, ladder, ...
    message: str
    contact: str | None = None  # the contact's email it is about
    where: str | None = None  # in a file: its line, or its row and column

    @property
    def text(self) -> str:
        return f"{self.where}: {self.message}" if self.where else self.message


class DirectoryRefused(SignoffError, ValueError):
    """A change to the directory that is not allowed; ``problems`` says each reason. Nothing
    was written."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        super().__init__("; ".join(p.text for p in problems))
        self.problems = list(problems)


def refused(agency: str | None, field_name: str, message: str, contact: str | None = None) -> None:
    """Refuse with one problem.

    Raises:
        DirectoryRefused: always.
    """
    raise DirectoryRefused([Problem(agency=agency, field=field_name, message=message,
                                    contact=contact)])  # fmt: skip


def normal_email(value: str) -> str:
    """An address as the directory keeps it: trimmed and lower case."""
    return value.strip().lower()


def email_problem(value: str) -> str | None:
    """Why ``value`` is not an email address, or None when it is one."""
    if not value:
        return "Enter an email address"
    if len(value) > MAX_EMAIL:
        return f"The email address is longer than {MAX_EMAIL} characters"
    try:
        validate_email(value, check_deliverability=False)
    except EmailNotValidError:
        return f"{quoted(value)} is not an email address; write it like name@example.org"
    return None


def name_problem(value: str, what: str) -> str | None:
    """Why ``value`` is not a good name for ``what`` (e.g. "the contact's name"), or None."""
    if not value.strip():
        return f"Enter {what}"
    if len(value) > MAX_NAME:
        return f"Keep {what} to {MAX_NAME} characters or fewer"
    try:
        single_line(value)
    except OutOfBounds as exc:
        return f"{what[:1].upper()}{what[1:]} {exc}"
    return None


def label(snapshot: Mapping[str, AgencyEntry], agency: str) -> str:
    """How messages name an agency: its name, with its id when they differ."""
    entry = snapshot.get(agency)
    if entry is None or entry.name in ("", agency):
        return agency
    return f"{entry.name} ({agency})"


def who(snapshot: Snapshot, email: str) -> str:
    for entry in snapshot.values():
        found = entry.person(email)
        if found is not None:
            return f"{found.name} ({email})"
    return email


def everyone(snapshot: Snapshot) -> set[str]:
    return {p.email for entry in snapshot.values() for p in entry.contacts}


def auditors_in(snapshot: Snapshot) -> set[str]:
    """The addresses that hold the internal auditor's role at some agency."""
    return {p.email for e in snapshot.values() for p in e.contacts if AUDITOR_ROLE in p.roles}


def ladder_text(ladder: Sequence[str]) -> str:
    """A ladder as messages show it: its rungs from the bottom, with arrows."""
    return " → ".join(ladder) if ladder else "(none)"


def quoted(value: str) -> str:
    text = value if len(value) <= 60 else value[:59] + "…"
    return repr(text)


def day_text(value: dt.date | None) -> str:
    return value.strftime("%-d %B %Y") if value else ""


def iso_day(value: dt.date | None) -> str | None:
    return value.isoformat() if value else None
