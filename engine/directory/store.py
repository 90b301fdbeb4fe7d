"""Reading the directory from its tables, and writing a checked change to them with its
record in the administrators' log."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable
from dataclasses import replace

import sqlalchemy as sa

from engine import adminlog
from engine.directory.changes import Change, changes
from engine.directory.checks import check
from engine.directory.model import (
    AgencyEntry,
    Conflict,
    DirectoryRefused,
    Person,
    Snapshot,
    label,
    refused,
)
from engine.services import Services
from engine.store.tables import (
    Agency,
    ApiToken,
    AuditorAssignment,
    ConflictOfInterest,
    Contact,
    EvidenceRequest,
    Item,
)

_agency = Agency.__table__  # type: ignore[attr-defined]
_contact = Contact.__table__  # type: ignore[attr-defined]
_conflict = ConflictOfInterest.__table__  # type: ignore[attr-defined]
_assigned = AuditorAssignment.__table__  # type: ignore[attr-defined]
_item = Item.__table__  # type: ignore[attr-defined]
_request = EvidenceRequest.__table__  # type: ignore[attr-defined]
_token = ApiToken.__table__  # type: ignore[attr-defined]
# pg_advisory_xact_lock's key for directory edits ("signoff directory", as 8 bytes)
_PG_LOCK = int.from_bytes(hashlib.sha256(b"signoff directory").digest()[:8], "big", signed=True)

Edit = Callable[[Snapshot], Snapshot]


def read(conn: sa.Connection) -> Snapshot:
    """The whole directory as it is stored, agencies by id."""
    rows = conn.execute(
        sa.select(
            _contact.c.id,
            _contact.c.agency_id,
            _contact.c.name,
            _contact.c.email,
            _contact.c.role,
            _contact.c.absent,
            _contact.c.absent_from,
            _contact.c.absent_until,
            _contact.c.deputy_email,
            _contact.c.failing,
        ).order_by(_contact.c.id)
    ).all()
    people: dict[str, dict[str, Person]] = {}
    for r in rows:
        mine = people.setdefault(r.agency_id, {})
        known = mine.get(r.email)
        if known is None:
            mine[r.email] = Person(
                id=r.id,
                name=r.name,
                email=r.email,
                roles=(r.role,),
                absent=bool(r.absent or r.absent_from or r.absent_until),
                absent_from=r.absent_from,
                absent_until=r.absent_until,
                deputy=r.deputy_email,
                failing=bool(r.failing),
            )
        elif r.role not in known.roles:
            mine[r.email] = replace(known, roles=(*known.roles, r.role))
    conflicts: dict[str, list[Conflict]] = {}
    for x in conn.execute(sa.select(_conflict).order_by(_conflict.c.id)):
        conflicts.setdefault(x.agency_id, []).append(
            Conflict(email=x.email, alternate=x.alternate_email)
        )
    auditors: dict[str, list[str]] = {}
    for x in conn.execute(sa.select(_assigned).order_by(_assigned.c.id)):
        auditors.setdefault(x.agency_id, []).append(x.email)
    out: Snapshot = {}
    for a in conn.execute(sa.select(_agency.c.id, _agency.c.name, _agency.c.ladder)):
        out[a.id] = AgencyEntry(
            id=a.id,
            name=a.name,
            ladder=tuple(a.ladder),
            contacts=tuple(people.get(a.id, {}).values()),
            conflicts=tuple(conflicts.get(a.id, ())),
            auditors=tuple(auditors.get(a.id, ())),
        )
    return dict(sorted(out.items()))


def lock(conn: sa.Connection) -> None:
    """Serialise directory edits (PostgreSQL: a transaction-scoped advisory lock; SQLite's
    write transactions are serial already)."""
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK})


def commit(
    conn: sa.Connection,
    before: Snapshot,
    after: Snapshot,
    *,
    actor: str,
    now: dt.datetime,
    today: dt.date,
    note: str | None = None,
    outside_deputies: bool = False,
) -> list[Change]:
    """Check ``after``, write what differs from ``before`` and log each change.

    Raises:
        DirectoryRefused: ``after`` has problems ``before`` had not; nothing was written.
    """
    had = set(check(before, outside_deputies=outside_deputies))
    problems = [p for p in check(after, outside_deputies=outside_deputies) if p not in had]
    if problems:  # a problem the directory had already is not this change's
        raise DirectoryRefused(problems)
    found = changes(before, after)
    for agency in sorted(before.keys() | after.keys()):
        old, new = before.get(agency), after.get(agency)
        if old != new:
            _write_agency(conn, agency, old, new, today)
    for change in found:
        adminlog.record(
            conn, actor=actor, at=now, action=change.log_action, subject=change.subject,
            before=change.before, after=change.after, note=note,
        )  # fmt: skip
    return found


def _write_agency(
    conn: sa.Connection,
    agency: str,
    old: AgencyEntry | None,
    new: AgencyEntry | None,
    today: dt.date,
) -> None:
    if new is None:  # removed: what names it first, then the agency itself
        for table in (_conflict, _assigned, _contact):
            conn.execute(table.delete().where(table.c.agency_id == agency))
        conn.execute(_agency.delete().where(_agency.c.id == agency))
        return
    if old is None:
        conn.execute(_agency.insert().values(id=agency, name=new.name, ladder=list(new.ladder)))
        old = AgencyEntry(id=agency, name=new.name, ladder=new.ladder)
    elif (old.name, old.ladder) != (new.name, new.ladder):
        conn.execute(
            _agency.update()
            .where(_agency.c.id == agency)
            .values(name=new.name, ladder=list(new.ladder))
        )
    _write_contacts(conn, agency, old, new, today)
    if old.conflicts != new.conflicts:
        conn.execute(_conflict.delete().where(_conflict.c.agency_id == agency))
        if new.conflicts:
            conn.execute(
                _conflict.insert(),
                [{"agency_id": agency, "email": c.email, "alternate_email": c.alternate}
                 for c in new.conflicts],
            )  # fmt: skip
    if old.auditors != new.auditors:
        conn.execute(_assigned.delete().where(_assigned.c.agency_id == agency))
        if new.auditors:
            conn.execute(
                _assigned.insert(), [{"agency_id": agency, "email": e} for e in new.auditors]
            )


def _write_contacts(
    conn: sa.Connection, agency: str, old: AgencyEntry, new: AgencyEntry, today: dt.date
) -> None:
    """Contact rows: one per person and role. The rows of roles a person keeps are updated
    in place (their ids, which the editor's addresses use, stay)."""
    was = {p.email: p for p in old.contacts}
    now = {p.email: p for p in new.contacts}
    here = _contact.c.agency_id == agency
    gone = [e for e in was if e not in now]
    if gone:
        conn.execute(_contact.delete().where(here, _contact.c.email.in_(gone)))
    rows = []
    for email, p in now.items():
        values = {
            "name": p.name,
            "absent": p.away_on(today),
            "absent_from": p.absent_from if p.absent else None,
            "absent_until": p.absent_until if p.absent else None,
            "deputy_email": p.deputy,
            "failing": p.failing,
        }
        before = was.get(email)
        if before is not None:
            if before == p:
                continue
            dropped = [r for r in before.roles if r not in p.roles]
            if dropped:
                conn.execute(
                    _contact.delete().where(
                        here, _contact.c.email == email, _contact.c.role.in_(dropped)
                    )
                )
            conn.execute(_contact.update().where(here, _contact.c.email == email).values(values))
        held = before.roles if before is not None else ()
        rows += [
            {"agency_id": agency, "email": email, "role": role, **values}
            for role in p.roles
            if role not in held
        ]
    if rows:
        conn.execute(_contact.insert(), rows)


def edit(
    services: Services,
    change: Edit,
    *,
    actor: str,
    now: dt.datetime,
    note: str | None = None,
) -> list[Change]:
    """Apply ``change`` (a new snapshot from the current one) in one transaction.

    Raises:
        DirectoryRefused: the change, or the directory it leaves, is not allowed; nothing
        was written. ``change`` raises it too, for a reason of its own.
    """
    with services.db.write() as conn:
        lock(conn)
        before = read(conn)
        after = change(before)
        _check_in_use(conn, before, after)
        return commit(
            conn, before, after, actor=actor, now=now,
            today=services.calendar.local(now).date(), note=note,
        )  # fmt: skip


def _check_in_use(conn: sa.Connection, before: Snapshot, after: Snapshot) -> None:
    """An agency that items, requests or tokens name cannot be removed."""
    for agency in before.keys() - after.keys():
        for table, what in ((_item, "items"), (_request, "evidence requests"),
                            (_token, "API tokens")):  # fmt: skip
            count = conn.execute(
                sa.select(sa.func.count()).select_from(table).where(table.c.agency_id == agency)
            ).scalar_one()
            if count:
                refused(
                    agency,
                    "agency",
                    f"{label(before, agency)} cannot be removed: {count} {what} belong to it",
                )
