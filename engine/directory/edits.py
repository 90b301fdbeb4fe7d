"""The editor's changes: each builds the new directory from the current one, or refuses
with a ``Problem`` of its own (a stale page, a last holder of a rung, a contact still
named elsewhere); ``engine.directory.store.edit`` checks and stores what it builds."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from engine.directory.model import (
    AgencyEntry,
    Conflict,
    Person,
    Snapshot,
    everyone,
    label,
    ladder_text,
    quoted,
    refused,
    who,
)
from engine.directory.store import Edit


def entry_of(snapshot: Snapshot, agency: str) -> AgencyEntry:
    """The agency ``agency`` of ``snapshot``.

    Raises:
        DirectoryRefused: there is no such agency (field ``agency``).
    """
    found = snapshot.get(agency)
    if found is None:
        refused(agency, "agency", f"there is no agency {quoted(agency)}")
    assert found is not None  # refused() raised
    return found


def with_entry(snapshot: Snapshot, entry: AgencyEntry) -> Snapshot:
    return {**snapshot, entry.id: entry}


def add_agency(agency: str, name: str) -> Edit:
    def change(s: Snapshot) -> Snapshot:
        if agency in s:
            refused(agency, "id", f"there is already an agency {label(s, agency)}")
        return dict(sorted(with_entry(s, AgencyEntry(id=agency, name=name.strip())).items()))

    return change


def rename_agency(agency: str, name: str) -> Edit:
    def change(s: Snapshot) -> Snapshot:
        return with_entry(s, replace(entry_of(s, agency), name=name.strip()))

    return change


def remove_agency(agency: str) -> Edit:
    def change(s: Snapshot) -> Snapshot:
        entry_of(s, agency)
        _refuse_if_named(s, agency, {p.email for p in s[agency].contacts}, leaving=agency)
        return {k: v for k, v in s.items() if k != agency}

    return change


def move_rung(agency: str, index: int, role: str, by: int) -> Edit:
    """Move rung ``index`` (which the page showed as ``role``) up (-1) or down (+1)."""

    def change(s: Snapshot) -> Snapshot:
        entry = entry_of(s, agency)
        ladder = list(entry.ladder)
        _same_rung(s, agency, ladder, index, role)
        to = index + by
        if not 0 <= to < len(ladder):
            where = "top" if to < 0 else "bottom"
            refused(agency, "ladder", f"{role} is already the {where} rung of the ladder")
        ladder[index], ladder[to] = ladder[to], ladder[index]
        return with_entry(s, replace(entry, ladder=tuple(ladder)))

    return change


def remove_rung(agency: str, index: int, role: str) -> Edit:
    def change(s: Snapshot) -> Snapshot:
        entry = entry_of(s, agency)
        ladder = list(entry.ladder)
        _same_rung(s, agency, ladder, index, role)
        del ladder[index]
        return with_entry(s, replace(entry, ladder=tuple(ladder)))

    return change


def add_rung(agency: str, role: str) -> Edit:
    def change(s: Snapshot) -> Snapshot:
        entry = entry_of(s, agency)
        if not role:
            refused(agency, "role", "Choose the role to add to the ladder")
        if role in entry.ladder:
            refused(agency, "role", f"{role} is already a rung of the ladder of "
                                    f"{label(s, agency)}")  # fmt: skip
        return with_entry(s, replace(entry, ladder=(*entry.ladder, role)))

    return change


def _same_rung(s: Snapshot, agency: str, ladder: list[str], index: int, role: str) -> None:
    if not 0 <= index < len(ladder) or ladder[index] != role:
        refused(
            agency,
            "ladder",
            f"The escalation ladder of {label(s, agency)} changed since this page was "
            "loaded; check it and try again",
        )


def save_contact(agency: str, person: Person, *, was: str | None) -> Edit:
    """Add ``person`` to ``agency`` (``was`` None) or replace its contact ``was`` (their
    email as it was: an address changed moves what names them along)."""

    def change(s: Snapshot) -> Snapshot:
        entry = entry_of(s, agency)
        if was is not None and entry.person(was) is None:
            refused(agency, "email", f"{was} is no longer a contact of {label(s, agency)}")
        if person.email != was and entry.person(person.email) is not None:
            refused(
                agency,
                "email",
                f"{person.email} is already a contact of {label(s, agency)}; edit that "
                "contact instead",
                person.email,
            )
        old = entry.person(was) if was is not None else None
        if old is not None:
            _refuse_lost_rungs(s, entry, old, person)
        people = [person if p.email == was else p for p in entry.contacts]
        if old is None:
            people.append(person)
        else:
            people = [replace(p, failing=old.failing) if p is person else p for p in people]
        out = with_entry(s, replace(entry, contacts=tuple(people)))
        if old is not None and old.email != person.email:
            out = _renamed(out, old.email, person.email)
        return out

    return change


def remove_contact(agency: str, email: str) -> Edit:
    def change(s: Snapshot) -> Snapshot:
        entry = entry_of(s, agency)
        old = entry.person(email)
        if old is None:
            refused(agency, "email", f"{email} is not a contact of {label(s, agency)}")
        assert old is not None  # refused() raised
        _refuse_lost_rungs(s, entry, old, None)
        _refuse_if_named(s, agency, {email}, leaving=None)
        people = tuple(p for p in entry.contacts if p.email != email)
        return with_entry(s, replace(entry, contacts=people))

    return change


def _refuse_lost_rungs(s: Snapshot, entry: AgencyEntry, old: Person, new: Person | None) -> None:
    """Refuse taking away the last holder of a role the agency's ladder names."""
    kept = set(new.roles) if new is not None else set()
    for role in entry.ladder:
        if role in old.roles and role not in kept:
            others = [p for p in entry.holders(role) if p.email != old.email]
            if not others:
                refused(
                    entry.id,
                    "roles",
                    f"{old.name} is the only {role} of {label(s, entry.id)}, a rung of its "
                    f"escalation ladder ({ladder_text(entry.ladder)}): give another contact that "
                    "role, or take the rung off the ladder, first",
                    old.email,
                )


def _refuse_if_named(s: Snapshot, agency: str, emails: set[str], leaving: str | None) -> None:
    """Refuse removing contacts (``emails`` of ``agency``) that other entries still name:
    as a deputy, an alternate, a barred contact or an assigned auditor. ``leaving``: the
    agency being removed with them (what it names goes with it)."""
    elsewhere = {p.email for k, e in s.items() if k != agency for p in e.contacts}
    for email in sorted(emails - elsewhere):
        for k, e in s.items():
            if k == leaving:
                continue
            uses = [
                f"the deputy of {p.name}" for p in e.contacts if p.deputy == email
            ] + [
                "barred from its escalations" for c in e.conflicts if c.email == email
            ] + [
                f"the alternate of {c.email}" for c in e.conflicts if c.alternate == email
            ] + [
                "its assigned internal auditor" for a in e.auditors if a == email
            ]  # fmt: skip
            if uses:
                refused(
                    agency,
                    "email",
                    f"{who(s, email)} cannot be removed: at {label(s, k)} they are "
                    f"{uses[0]}; change that first",
                    email,
                )


def _renamed(s: Snapshot, old: str, new: str) -> Snapshot:
    """Every mention of address ``old`` (as a deputy, in a conflict, as an auditor) as
    ``new``, where ``old`` is no longer anyone's address."""
    if old in everyone(s):
        return s
    out: Snapshot = {}
    for k, e in s.items():
        out[k] = replace(
            e,
            contacts=tuple(replace(p, deputy=new) if p.deputy == old else p for p in e.contacts),
            conflicts=tuple(
                Conflict(
                    email=new if c.email == old else c.email,
                    alternate=new if c.alternate == old else c.alternate,
                )
                for c in e.conflicts
            ),
            auditors=tuple(new if a == old else a for a in e.auditors),
        )
    return out


def add_conflict(agency: str, email: str, alternate: str | None) -> Edit:
    def change(s: Snapshot) -> Snapshot:
        entry = entry_of(s, agency)
        if not email:
            refused(agency, "contact", "Choose the contact who has the conflict of interest")
        if any(c.email == email for c in entry.conflicts):
            refused(agency, "contact", f"{who(s, email)} is already barred from the "
                                       f"escalations of {label(s, agency)}")  # fmt: skip
        conflict = Conflict(email=email, alternate=alternate or None)
        return with_entry(s, replace(entry, conflicts=(*entry.conflicts, conflict)))

    return change


def remove_conflict(agency: str, email: str) -> Edit:
    def change(s: Snapshot) -> Snapshot:
        entry = entry_of(s, agency)
        kept = tuple(c for c in entry.conflicts if c.email != email)
        if len(kept) == len(entry.conflicts):
            refused(agency, "contact", f"{email} has no conflict of interest here")
        return with_entry(s, replace(entry, conflicts=kept))

    return change


def assign_auditor(agency: str, email: str) -> Edit:
    def change(s: Snapshot) -> Snapshot:
        entry = entry_of(s, agency)
        if not email:
            refused(agency, "auditor", "Choose the internal auditor to assign")
        if email in entry.auditors:
            refused(agency, "auditor", f"{who(s, email)} is already assigned to "
                                       f"{label(s, agency)}")  # fmt: skip
        return with_entry(s, replace(entry, auditors=(*entry.auditors, email)))

    return change


def unassign_auditor(agency: str, email: str) -> Edit:
    def change(s: Snapshot) -> Snapshot:
        entry = entry_of(s, agency)
        if email not in entry.auditors:
            refused(agency, "auditor", f"{email} is not assigned to {label(s, agency)}")
        kept = tuple(a for a in entry.auditors if a != email)
        return with_entry(s, replace(entry, auditors=kept))

    return change


def replace_agencies(entries: Iterable[AgencyEntry], *, keep_failing: bool = True) -> Edit:
    """The agencies of a file, each replacing the one with its id (or added); agencies the
    file does not name are left as they are. Addresses known to bounce stay marked."""

    def change(s: Snapshot) -> Snapshot:
        out = dict(s)
        for entry in entries:
            old = s.get(entry.id)
            people = entry.contacts
            if old is not None and keep_failing:
                failing = {p.email for p in old.contacts if p.failing}
                people = tuple(replace(p, failing=p.email in failing) for p in people)
            out[entry.id] = replace(entry, contacts=people)
        return dict(sorted(out.items()))

    return change


def known_roles(snapshot: Snapshot, offered: Iterable[str]) -> list[str]:
    """The roles the editor offers: ``offered`` (the workflows' and the roles table's) and
    every role someone holds, in that order, each once."""
    held = sorted({r for e in snapshot.values() for p in e.contacts for r in p.roles})
    return list(dict.fromkeys([*offered, *held]))
