"""A plan's lead officer, found in the directory by name or email.

Boards write the lead officer as a name ("Jane Smith"), an address
("jane.smith@agency.example.org"), both ("Jane Smith <jane.smith@...>") or a job title
("Designated Nurse"). A name is compared by its letters and digits (case, punctuation
and spacing ignored), an address case-insensitively. Where several contacts share the
name, the one of the row's own agency is taken; otherwise the match is ambiguous and
reported. What is not found is kept as written, with the closest names in the directory
suggested (difflib).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from dataclasses import dataclass

from engine.spec.fields import words

_EMAIL = re.compile(r"[A-Za-z0-9._%+'-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")


@dataclass(frozen=True, kw_only=True)
class Person:
    """A contact of the directory."""

    name: str
    email: str
    agency: str

    def shown(self) -> str:
        return f"{self.name} <{self.email}> ({self.agency})"


@dataclass(frozen=True, kw_only=True)
class LeadMatch:
    """The contact a lead officer cell names, or why none was taken (``problem``, with the
    close matches in ``suggestions``)."""

    person: Person | None
    problem: str | None = None
    suggestions: tuple[str, ...] = ()


def match(written: str, people: Sequence[Person], agencies: Sequence[str] = ()) -> LeadMatch:
    """The directory's contact for a lead officer cell.

    ``agencies``: the row's agencies, whose contacts are preferred when a name is shared.
    """
    address = _EMAIL.search(written)
    if address:
        email = address.group().lower()
        by_email = [p for p in people if p.email == email]
        if by_email:
            return LeadMatch(person=_prefer(by_email, agencies) or by_email[0])
        if words(written.replace(address.group(), "")) == "":
            return _not_found(email, people, agencies, by_email=True)
    name = _letters(_EMAIL.sub("", written).strip(" <>"))
    named = [p for p in people if _letters(p.name) == name]
    if len({p.email for p in named}) == 1:
        return LeadMatch(person=named[0])
    if named:
        own = _prefer(named, agencies)
        if own is not None:
            return LeadMatch(person=own)
        shown = tuple(p.shown() for p in named)
        return LeadMatch(
            person=None,
            problem=f"several contacts are called this, none of the row's agency: "
            f"{'; '.join(shown[:5])}; write the lead officer's email address instead",
            suggestions=shown,
        )
    return _not_found(words(_EMAIL.sub("", written)), people, agencies, by_email=False)


def _letters(name: str) -> str:
    """A name's letters and digits: "O'Neill-Smith", "O Neill Smith" and "oneill smith"
    are one name."""
    return words(name).replace(" ", "")


def _prefer(candidates: Sequence[Person], agencies: Sequence[str]) -> Person | None:
    own = [p for p in candidates if p.agency in agencies]
    return own[0] if len({p.email for p in own}) == 1 else None


def _not_found(
    key: str, people: Sequence[Person], agencies: Sequence[str], *, by_email: bool
) -> LeadMatch:
    keyed: dict[str, list[Person]] = {}
    for p in people:
        keyed.setdefault(p.email if by_email else words(p.name), []).append(p)
    close = difflib.get_close_matches(key, list(keyed), n=3, cutoff=0.6)
    if not by_email and key:  # a job title written short: "Designated Nurse"
        close += [k for k in keyed if k not in close and f" {key} " in f" {k} "]
    # the row's own agency's contacts first, then the closest; three at most
    found = [p for c in close for p in keyed[c]]
    found.sort(key=lambda p: p.agency not in agencies)
    suggestions = tuple(p.shown() for p in found[:3])
    what = "address" if by_email else "name"
    problem = f"lead officer not found in the directory by {what}"
    if suggestions:
        problem += f"; did you mean {' or '.join(suggestions)}? Kept as written"
    else:
        problem += "; kept as written (add them to the directory with a contacts file)"
    return LeadMatch(person=None, problem=problem, suggestions=suggestions)
