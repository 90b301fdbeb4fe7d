"""The rules a directory must keep before it is stored; each broken one is a ``Problem``
naming the agency, the contact and the field, and saying how to put it right."""

from __future__ import annotations

from engine.contacts import AUDITOR_ROLE
from engine.directory.model import (
    MAX_CONTACTS,
    MAX_ID,
    MAX_LADDER,
    MAX_ROLE,
    ROLE,
    SLUG,
    AgencyEntry,
    Problem,
    Snapshot,
    auditors_in,
    day_text,
    email_problem,
    everyone,
    label,
    name_problem,
    quoted,
    who,
)


def check(snapshot: Snapshot, *, outside_deputies: bool = False) -> list[Problem]:
    """Every problem with a whole directory; empty when it may be stored.

    ``outside_deputies``: a deputy need not be a contact (the contacts files of
    ``signoff import`` name cover staff the directory does not list).
    """
    out: list[Problem] = []
    people = everyone(snapshot)
    auditors = auditors_in(snapshot)
    for agency, entry in snapshot.items():
        out += _check_agency(snapshot, agency, entry, people, auditors, outside_deputies)
    return out


def _check_agency(
    snapshot: Snapshot,
    agency: str,
    entry: AgencyEntry,
    people: set[str],
    auditors: set[str],
    outside_deputies: bool,
) -> list[Problem]:
    out: list[Problem] = []
    here = label(snapshot, agency)

    def bad(field_name: str, message: str, contact: str | None = None) -> None:
        out.append(Problem(agency=agency, field=field_name, message=message, contact=contact))

    if not SLUG.match(agency) or len(agency) > MAX_ID:
        bad(
            "id",
            f"{quoted(agency)} cannot be an agency id: use lower-case letters, digits and "
            f"'-' (for example 'essex-police'), at most {MAX_ID} characters",
        )
    if (problem := name_problem(entry.name, "the agency's name")) is not None:
        bad("name", f"{here}: {problem}")
    if len(entry.contacts) > MAX_CONTACTS:
        bad("contacts", f"{here}: more than {MAX_CONTACTS} contacts; split the agency")
    seen: set[str] = set()
    for p in entry.contacts:
        whom = f"{here}: {p.name or p.email}"
        if p.email in seen:
            bad("email", f"{here}: {p.email} is listed twice; give each person once", p.email)
        seen.add(p.email)
        if (problem := email_problem(p.email)) is not None:
            bad("email", f"{whom}: {problem}", p.email)
        if (problem := name_problem(p.name, "the contact's name")) is not None:
            bad("name", f"{here}: {p.email}: {problem}", p.email)
        if not p.roles:
            bad("roles", f"{whom}: choose at least one role", p.email)
        for role in p.roles:
            if not ROLE.match(role) or len(role) > MAX_ROLE:
                bad(
                    "roles",
                    f"{whom}: {quoted(role)} is not a role name: use lower-case letters, "
                    "digits and '_' (for example lead_officer)",
                    p.email,
                )
        if p.absent_from and p.absent_until and p.absent_from > p.absent_until:
            bad(
                "absent_until",
                f"{whom}: the last day away ({day_text(p.absent_until)}) is before the first "
                f"({day_text(p.absent_from)}); swap them or correct one",
                p.email,
            )
        if (p.absent_from or p.absent_until) and not p.absent:
            bad("absent", f"{whom}: dates of an absence are given but no absence", p.email)
        if p.deputy is not None:
            if p.deputy == p.email:
                bad("deputy", f"{whom}: cannot be their own deputy; choose someone else", p.email)
            elif p.deputy not in people and not outside_deputies:
                bad(
                    "deputy",
                    f"{whom}: the deputy {p.deputy} is not a contact in the directory; add them "
                    "as a contact first, or choose another deputy",
                    p.email,
                )
    roles_here = {r for p in entry.contacts for r in p.roles}
    if len(entry.ladder) > MAX_LADDER:
        bad("ladder", f"{here}: the escalation ladder has more than {MAX_LADDER} rungs")
    for i, role in enumerate(entry.ladder):
        if role in entry.ladder[:i]:
            bad("ladder", f"{here}: the escalation ladder names {role} twice; keep one rung")
        elif role not in roles_here:
            held = ", ".join(sorted(roles_here)) or "none"
            bad(
                "ladder",
                f"{here}: the escalation ladder names the role {role}, which no contact of "
                f"{here} holds; give a contact that role or take the rung off (roles held "
                f"there: {held})",
            )
    barred: set[str] = set()
    for c in entry.conflicts:
        if c.email in barred:
            bad("contact", f"{here}: {who(snapshot, c.email)} is already barred here", c.email)
        barred.add(c.email)
        if c.email not in people:
            bad(
                "contact",
                f"{here}: a conflict of interest names {c.email}, who is not a contact in "
                "the directory",
                c.email,
            )
    for c in entry.conflicts:
        if c.alternate is None:
            continue
        if c.alternate == c.email:
            bad(
                "alternate",
                f"{here}: {who(snapshot, c.email)} cannot be their own alternate",
                c.email,
            )
        elif c.alternate not in people:
            bad(
                "alternate",
                f"{here}: the alternate {c.alternate} is not a contact in the directory",
                c.email,
            )
        elif c.alternate in barred:
            bad(
                "alternate",
                f"{here}: the alternate {who(snapshot, c.alternate)} has a conflict of "
                f"interest about {here} too; choose someone else",
                c.email,
            )
    seen = set()
    for email in entry.auditors:
        if email in seen:
            bad("auditor", f"{here}: {who(snapshot, email)} is assigned twice", email)
        seen.add(email)
        if email not in auditors:
            bad(
                "auditor",
                f"{here}: {who(snapshot, email)} cannot audit it: only a contact with the "
                f"role {AUDITOR_ROLE} can be assigned",
                email,
            )
    return out
