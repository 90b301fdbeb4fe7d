"""The contact form of ``/admin/directory``: name, email, roles, absence (GOV.UK date inputs)
and deputy, read from a posted form without ever raising.

Every problem the form itself can see (an empty name, an address that is not one, no role, a
date that is not a real date) is an error at its field; the rest (a deputy who is not a
contact, dates the wrong way round, the last holder of a ladder rung) is the engine's
(``engine.directory``), mapped to the same fields by ``FIELDS``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from starlette.datastructures import FormData

from engine.directory import Person
from engine.directory.model import email_problem, name_problem, normal_email

# the page's field for each field a Problem names
FIELDS = {
    "name": "name",
    "email": "email",
    "roles": "roles",
    "absent": "absent",
    "absent_from": "absent_from",
    "absent_until": "absent_until",
    "deputy": "deputy",
}
_DATE_WORDS = {"absent_from": "the first day away", "absent_until": "the last day away"}
PARTS = ("day", "month", "year")


@dataclass
class ContactForm:
    """What was typed, as typed, and the errors found by field."""

    name: str = ""
    email: str = ""
    roles: list[str] = field(default_factory=list)
    absent: str = "no"  # "yes" or "no"
    # field -> day/month/year
    dates: dict[str, dict[str, str]] = field(
        default_factory=lambda: {n: dict.fromkeys(PARTS, "") for n in _DATE_WORDS}
    )
    deputy: str = ""
    errors: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, person: Person) -> ContactForm:
        """The form as a stored contact fills it."""
        return cls(
            name=person.name,
            email=person.email,
            roles=list(person.roles),
            absent="yes" if person.absent else "no",
            dates={name: _parts(getattr(person, name)) for name in _DATE_WORDS},
            deputy=person.deputy or "",
        )

    @classmethod
    def read(cls, form: FormData) -> ContactForm:
        def text(name: str) -> str:
            value = form.get(name)
            return value.strip() if isinstance(value, str) else ""

        return cls(
            name=text("name"),
            email=text("email"),
            roles=[r for r in form.getlist("roles") if isinstance(r, str)],
            absent="yes" if text("absent") == "yes" else "no",
            dates={n: {p: text(f"{n}-{p}") for p in PARTS} for n in _DATE_WORDS},
            deputy=text("deputy"),
        )

    def person(self, offered: list[str]) -> Person | None:
        """The contact the form describes; None (with ``errors``) when it cannot say."""
        if (problem := name_problem(self.name, "the contact's name")) is not None:
            self.errors["name"] = problem
        email = normal_email(self.email)
        if (problem := email_problem(email)) is not None:
            self.errors["email"] = problem
        unknown = [r for r in self.roles if r not in offered]
        if not self.roles:
            self.errors["roles"] = "Choose at least one role"
        elif unknown:
            self.errors["roles"] = f"Choose roles from the list ({', '.join(unknown)} is not one)"
        dates = {n: self._date(n) for n in _DATE_WORDS}
        away = self.absent == "yes"
        if not away and any(any(self.dates[n].values()) for n in _DATE_WORDS):
            self.errors["absent"] = "Choose ‘Yes’ to record an absence on these dates, or " \
                                    "clear the dates"  # fmt: skip
        if self.errors:
            return None
        return Person(
            name=self.name,
            email=email,
            roles=tuple(self.roles),
            absent=away,
            absent_from=dates["absent_from"] if away else None,
            absent_until=dates["absent_until"] if away else None,
            deputy=normal_email(self.deputy) or None,
        )

    def _date(self, name: str) -> dt.date | None:
        parts = self.dates[name]
        what = _DATE_WORDS[name]
        missing = [p for p in PARTS if not parts[p]]
        if len(missing) == 3:
            return None
        if missing:
            self.errors[name] = f"{what[:1].upper()}{what[1:]} must include a {missing[0]}"
            return None
        try:
            day, month, year = (int(parts[p]) for p in PARTS)
            if year < 1990 or year > 2100:
                raise ValueError(year)
            return dt.date(year, month, day)
        except ValueError:
            self.errors[name] = f"{what[:1].upper()}{what[1:]} must be a real date"
            return None

    def as_context(self) -> dict[str, Any]:
        return {"name": self.name, "email": self.email, "roles": self.roles,
                "absent": self.absent, "dates": self.dates, "deputy": self.deputy}  # fmt: skip


def _parts(value: dt.date | None) -> dict[str, str]:
    if value is None:
        return dict.fromkeys(PARTS, "")
    return {"day": str(value.day), "month": str(value.month), "year": str(value.year)}
