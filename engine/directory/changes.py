"""What differs between two directories: the dry run's list, and what the log records."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from engine.directory.model import AgencyEntry, Person, Snapshot, day_text, label, ladder_text


@dataclass(frozen=True, kw_only=True)
class Change:
    """One difference between two snapshots, as the dry run lists it and the log keeps it."""

    agency: str
    kind: str  # agency | contact | ladder | conflict | auditor
    action: str  # added | changed | removed
    subject: str  # the agency id, or "agency-id: email"
    text: str
    before: Any
    after: Any

    @property
    def log_action(self) -> str:
        return f"directory.{self.kind}.{self.action}"

    def as_json(self) -> dict[str, Any]:
        return {
            "agency": self.agency,
            "kind": self.kind,
            "action": self.action,
            "subject": self.subject,
            "text": self.text,
            "before": self.before,
            "after": self.after,
        }


def changes(before: Snapshot, after: Snapshot) -> list[Change]:
    """Every difference from ``before`` to ``after``, agency by agency (by id)."""
    out: list[Change] = []
    for agency in sorted(before.keys() | after.keys()):
        old, new = before.get(agency), after.get(agency)
        if old == new:
            continue
        here = label(after if new else before, agency)
        if old is None or new is None:
            entry = new or old
            assert entry is not None  # one of them is there: the union's keys
            action = "added" if old is None else "removed"
            out.append(
                Change(
                    agency=agency, kind="agency", action=action, subject=agency,
                    text=f"Agency {here}: {action}",
                    before=None if old is None else agency_json(old),
                    after=None if new is None else agency_json(new),
                )
            )  # fmt: skip
            if new is None:
                continue
            old = AgencyEntry(id=agency, name=new.name)
        out += _agency_changes(agency, here, old, new)
    return out


def _agency_changes(agency: str, here: str, old: AgencyEntry, new: AgencyEntry) -> list[Change]:
    out: list[Change] = []

    def add(kind: str, action: str, subject: str, text: str, before: Any, after: Any) -> None:
        out.append(Change(agency=agency, kind=kind, action=action, subject=subject,
                          text=f"{here}: {text}", before=before, after=after))  # fmt: skip

    if old.name != new.name:
        add("agency", "changed", agency, f"name changed from {old.name!r} to {new.name!r}",
            {"name": old.name}, {"name": new.name})  # fmt: skip
    was = {p.email: p for p in old.contacts}
    now = {p.email: p for p in new.contacts}
    for email, p in now.items():
        subject = f"{agency}: {email}"
        if email not in was:
            add("contact", "added", subject, f"contact {p.name} <{email}> added ({roles_text(p)})",
                None, p.as_json())  # fmt: skip
        elif was[email] != p and (said := _person_diff(was[email], p)):
            add("contact", "changed", subject, f"contact {p.name} <{email}>: {said}",
                was[email].as_json(), p.as_json())  # fmt: skip
    for email, p in was.items():
        if email not in now:
            add("contact", "removed", f"{agency}: {email}",
                f"contact {p.name} <{email}> removed", p.as_json(), None)  # fmt: skip
    if old.ladder != new.ladder:
        add("ladder", "changed", agency,
            f"escalation ladder changed from {ladder_text(old.ladder)} to "
            f"{ladder_text(new.ladder)}",
            list(old.ladder), list(new.ladder))  # fmt: skip
    before_c = {c.email: c for c in old.conflicts}
    after_c = {c.email: c for c in new.conflicts}
    for email, c in after_c.items():
        subject = f"{agency}: {email}"
        alt = f" (alternate: {c.alternate})" if c.alternate else " (no alternate)"
        if email not in before_c:
            add("conflict", "added", subject,
                f"conflict of interest added: {email} receives no escalations{alt}",
                None, c.as_json())  # fmt: skip
        elif before_c[email] != c:
            add("conflict", "changed", subject,
                f"conflict of interest of {email}: alternate now{alt[1:].removeprefix('(')}"
                .rstrip(")"), before_c[email].as_json(), c.as_json())  # fmt: skip
    for email, c in before_c.items():
        if email not in after_c:
            add("conflict", "removed", f"{agency}: {email}",
                f"conflict of interest of {email} removed", c.as_json(), None)  # fmt: skip
    for email in new.auditors:
        if email not in old.auditors:
            add("auditor", "added", f"{agency}: {email}", f"internal auditor {email} assigned",
                None, {"auditor": email})  # fmt: skip
    for email in old.auditors:
        if email not in new.auditors:
            add("auditor", "removed", f"{agency}: {email}",
                f"internal auditor {email} no longer assigned", {"auditor": email},
                None)  # fmt: skip
    return out


def _person_diff(old: Person, new: Person) -> str:
    said = []
    if old.name != new.name:
        said.append(f"name {old.name!r} to {new.name!r}")
    if old.roles != new.roles:
        said.append(f"roles {roles_text(old)} to {roles_text(new)}")
    if _absence(old) != _absence(new):
        said.append(f"absence {_absence(old)} to {_absence(new)}")
    if old.deputy != new.deputy:
        said.append(f"deputy {old.deputy or 'none'} to {new.deputy or 'none'}")
    return "; ".join(said)


def _absence(p: Person) -> str:
    if not p.absent:
        return "none"
    if not p.absent_from and not p.absent_until:
        return "away until further notice"
    start = day_text(p.absent_from) if p.absent_from else "now"
    end = day_text(p.absent_until) if p.absent_until else "further notice"
    return f"away from {start} to {end}"


def roles_text(p: Person) -> str:
    return ", ".join(p.roles) or "no roles"


def agency_json(entry: AgencyEntry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "name": entry.name,
        "ladder": list(entry.ladder),
        "contacts": [p.as_json() for p in entry.contacts],
        "conflicts": [c.as_json() for c in entry.conflicts],
        "auditors": list(entry.auditors),
    }


def fingerprint(snapshot: Snapshot) -> str:
    """A digest of a whole directory: a dry run's, checked again before its change is made."""
    text = json.dumps([agency_json(e) for e in snapshot.values()], sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()
