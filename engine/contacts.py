"""The directory: contacts, their roles, ladders, deputies, board roles, failing addresses,
conflicts of interest and the auditors assigned to agencies.

The only module that reads contact rows for the engine's decisions (``engine.directory_edits``
is the one writer of what an administrator changes).

Who receives a notification: roles resolved against the agency directory.

A target is a workflow role (the first of its contact roles that anyone holds wins), a
contact role of the item's agency, or ``ladder`` (in an escalation step, the next rung of
the agency's own ladder), or, in an escalation step, a named contact's email address (of
any agency: whoever the board chose to hear of it, or their deputy while they are absent).
Mail goes to the people responsible for the item: an ``own_agency`` role reaches only the
item's agency, and so does an *agency* contact role (one held by a contact of an agency
other than the board's, e.g. ``internal_auditor``) even when its workflow role has scope
``any``: an audit reminder about one agency's item goes to that agency's auditor, never to
every auditor in the partnership. Board staff
roles (held only by the board's own contacts: business manager, panel, chair) reach the
board. The board's agencies are those with a business manager (``FALLBACK_ROLE``). Who may
*act* is a separate question (``engine.fire``): scope ``any`` still lets any holder act.

An agency with internal auditors *assigned* to it (``auditor_assignment``) has its audit
mail (``AUDITOR_ROLE``) go to them instead of to its own auditors (while none of them is
reachable, to its own again): one partner's internal audit may audit the board's own items.

Absent contacts are replaced by their deputy, who also holds their roles for that agency
while they are absent (``held_by``); contacts whose address bounces, and absent contacts
with no deputy (or a deputy whose address bounces), are skipped. Absence has optional dates
(first and last day away): a directory built for a day (``on``) reads them (``away``); the
``absent`` flag is the absence today, which ``refresh_absences`` (each sweep) sets from the
dates, and which ``held_by`` (who may act as whom) reads.

A conflict of interest (``conflict_of_interest``) bars a contact from an agency's oversight:
they receive no escalation about that agency's items, however it would reach them (a rung
of its ladder, the board chair's role), and no other mail about them through a role they
hold outside that agency (the panel's, the chair's); mail to them as one of the agency's own
contacts still goes. The escalation goes to the named alternate instead, or, with none, to
the next rung of the ladder up (for a ladder step) or the target's other holders. The sweep,
``fire`` and the forecast all resolve through ``Directory``, so all three follow it.

When nobody is left, the board's business manager receives it instead; when no business
manager is reachable either, the role has nobody reachable (``Directory.unreachable``): the
sweep records that and the daily summary tells another reachable member of the board
(``engine.failures``), so nothing is silently dropped.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from engine.spec import LADDER, Scope, WorkflowSpec
from engine.store.tables import (
    Agency,
    AuditorAssignment,
    ConflictOfInterest,
    Contact,
    WorkflowVersion,
)
from engine.versions import SpecCache

_contact = Contact.__table__  # type: ignore[attr-defined]
_agency = Agency.__table__  # type: ignore[attr-defined]
_wv = WorkflowVersion.__table__  # type: ignore[attr-defined]
_conflict = ConflictOfInterest.__table__  # type: ignore[attr-defined]
_assigned = AuditorAssignment.__table__  # type: ignore[attr-defined]
FALLBACK_ROLE = "business_manager"
AUDITOR_ROLE = "internal_auditor"  # the contact role an assigned auditor stands in for
# what a Directory is built from; every read that feeds one selects exactly these
CONTACT_COLUMNS = (
    _contact.c.agency_id,
    _contact.c.role,
    _contact.c.email,
    _contact.c.absent,
    _contact.c.deputy_email,
    _contact.c.failing,
    _contact.c.absent_from,
    _contact.c.absent_until,
)
# conflicts of interest and auditor assignments, as a Directory reads them: (what, agency,
# email, alternate); what is "conflict" or "auditor"
_CONCERNS = sa.union_all(
    sa.select(
        sa.literal("conflict").label("what"),
        _conflict.c.agency_id,
        _conflict.c.email,
        _conflict.c.alternate_email.label("alternate"),
    ),
    sa.select(
        sa.literal("auditor").label("what"),
        _assigned.c.agency_id,
        _assigned.c.email,
        sa.null().label("alternate"),
    ),
)


@dataclass(frozen=True, kw_only=True)
class Recipient:
    email: str
    via: str  # the target it was resolved from
    fallback: bool = False  # the target resolved to nobody; the business manager stands in


def away(contact: Any, on: dt.date | None) -> bool:
    """Whether a contact row (``CONTACT_COLUMNS``) is absent on day ``on``.

    With dates (either may be open) and a day, the dates decide, both days included; without
    dates, or without a day, the ``absent`` flag does.
    """
    start, end = contact.absent_from, contact.absent_until
    if on is None or (start is None and end is None):
        return bool(contact.absent)
    return (start is None or start <= on) and (end is None or on <= end)


def concerns(conn: sa.Connection, agency: str | None = None) -> list[Any]:
    """Conflicts of interest and auditor assignments (all, or about ``agency``), as a
    ``Directory`` takes them."""
    query = _CONCERNS.subquery()
    select = sa.select(query)
    if agency is not None:
        select = select.where(query.c.agency_id == agency)
    return list(conn.execute(select).all())


def people_about(agency: Any) -> sa.CompoundSelect[Any]:
    """The addresses an agency's conflicts name as alternates, and its assigned auditors: the
    contact rows a partial ``Directory`` (``engine.fire``) needs beside the roles it tells."""
    return sa.union(
        sa.select(_conflict.c.alternate_email).where(_conflict.c.agency_id == agency),
        sa.select(_assigned.c.email).where(_assigned.c.agency_id == agency),
    )


class Directory:
    """A snapshot of contacts, ladders, conflicts and assignments, loaded once per sweep or
    fire, for one day (``on``; None: absence by the flags)."""

    def __init__(
        self,
        contacts: Sequence[Any],
        ladders: dict[str, list[str]],
        concerns: Sequence[Any] = (),
        *,
        on: dt.date | None = None,
    ) -> None:
        self._rows, self._ladders, self._concerns, self.on = contacts, ladders, concerns, on
        self._days: dict[dt.date, Directory] = {}
        # the board's agencies hold the business manager; a role any other agency's contact
        # holds is an agency role, and reaches only the item's agency (no board: none is)
        board = {c.agency_id for c in contacts if c.role == FALLBACK_ROLE}
        self._agency_roles = {c.role for c in contacts if board and c.agency_id not in board}
        # addresses by (role, agency) and by (role, None) for any agency, built once: a sweep
        # asks thousands of times
        index: dict[tuple[str, str | None], set[str]] = {}
        failing = {c.email for c in contacts if c.failing}
        self._reachable_board: set[str] = set()
        named: dict[str, set[str]] = {}  # a contact's address -> who receives their mail
        # who a contact's mail reaches: them, their deputy while away, or nobody (None)
        self._address: dict[str, str | None] = {}
        own: dict[str, set[str]] = {}  # each agency's own contacts, as reached
        for c in contacts:
            email: str | None = c.email
            if c.failing:
                email = None
            elif away(c, on):  # their deputy stands in; with none reachable, nobody does
                has_deputy = c.deputy_email and c.deputy_email not in failing
                email = c.deputy_email if has_deputy else None
            if email is not None or c.email not in self._address:
                self._address[c.email] = email
            if email is None:
                continue
            if c.agency_id in board:
                self._reachable_board.add(email)
            named.setdefault(c.email.lower(), set()).add(email)
            index.setdefault((c.role, c.agency_id), set()).add(email)
            index.setdefault((c.role, None), set()).add(email)
            own.setdefault(c.agency_id, set()).add(email)
        self._barred: dict[str, dict[str, str | None]] = {}
        assigned: dict[str, set[str]] = {}
        for x in concerns:
            if x.what == "conflict":
                self._barred.setdefault(x.agency_id, {})[x.email] = x.alternate
            elif (address := self._address.get(x.email)) is not None:
                assigned.setdefault(x.agency_id, set()).add(address)
        for agency, emails in assigned.items():  # audit mail about the agency goes to them
            index[(AUDITOR_ROLE, agency)] = emails
            own.setdefault(agency, set()).update(emails)
        self._assigned = set(assigned)
        self._own = own
        self._index = {key: sorted(emails) for key, emails in index.items()}
        self._named = {key: sorted(emails) for key, emails in named.items()}

    @classmethod
    def load(cls, conn: sa.Connection, *, on: dt.date | None = None) -> Directory:
        """Every contact, every agency's ladder, every conflict and assignment, for day ``on``
        (None: absence as flagged)."""
        contacts = conn.execute(sa.select(*CONTACT_COLUMNS)).all()
        ladders = {
            r.id: list(r.ladder) for r in conn.execute(sa.select(_agency.c.id, _agency.c.ladder))
        }
        return cls(contacts, ladders, concerns(conn), on=on)

    def at(self, day: dt.date) -> Directory:
        """The same directory on another day (absence by the dates); built once per day."""
        if day == self.on:
            return self
        if not any(c.absent_from or c.absent_until for c in self._rows):
            return self  # nobody's absence has dates: every day is alike
        found = self._days.get(day)
        if found is None:
            found = self._days[day] = Directory(self._rows, self._ladders, self._concerns, on=day)
        return found

    def _emails(self, role: str, agency: str | None) -> list[str]:
        return self._index.get((role, agency), [])

    def _screen(self, emails: list[str], agency: str, escalation: bool) -> list[str]:
        """``emails`` less those barred by a conflict of interest about ``agency``, each with
        their alternate (when reachable and not barred too) instead."""
        barred = self._barred.get(agency)
        if not barred or not any(e in barred for e in emails):
            return emails
        own = self._own.get(agency, set())
        out: set[str] = set()
        for email in emails:
            if email in barred and (escalation or email not in own):
                alternate = barred[email]
                address = self._address.get(alternate) if alternate else None
                if address is not None and address not in barred:
                    out.add(address)
                continue
            out.add(email)
        return sorted(out)

    def workflow_role(
        self, spec: WorkflowSpec, name: str, agency: str, *, escalation: bool = False
    ) -> list[str]:
        """The addresses responsible for workflow role ``name`` on an item of ``agency``
        (for an escalation about it when ``escalation``), conflicts of interest applied."""
        role = spec.model.roles[name]
        board_wide = role.scope is Scope.ANY
        for contact_role in role.contact_roles:
            mine = (
                not board_wide
                or contact_role in self._agency_roles
                or (contact_role == AUDITOR_ROLE and agency in self._assigned)
            )
            found = self._emails(contact_role, agency if mine else None)
            if found and (found := self._screen(found, agency, escalation)):
                return found
        return []

    def _target(
        self, spec: WorkflowSpec, target: str, agency: str, step: int, escalation: bool
    ) -> list[str]:
        """The reachable addresses one target names (no fallback)."""
        if target in spec.model.roles:
            return self.workflow_role(spec, target, agency, escalation=escalation)
        if "@" in target:  # a named contact (escalation steps), or their deputy
            return self._screen(self._named.get(target.lower(), []), agency, escalation)
        if target == LADDER:
            ladder = self._ladders.get(agency, [])
            for rung in ladder[min(step + 1, len(ladder) - 1) :] if ladder else []:
                found = self._emails(rung, agency)
                if not found:  # nobody reachable on the rung: the usual fallback
                    return []
                if found := self._screen(found, agency, escalation):
                    return found
            return []  # each rung up was barred by a conflict, none with an alternate
        return self._screen(self._emails(target, agency), agency, escalation)

    def _fallback(self, agency: str, escalation: bool) -> list[str]:
        return self._screen(self._emails(FALLBACK_ROLE, None), agency, escalation)

    def unreachable(
        self,
        spec: WorkflowSpec,
        targets: Iterable[str],
        agency: str,
        step: int = 0,
        *,
        escalation: bool = False,
    ) -> list[str]:
        """The targets that reach nobody at all, the business manager's fallback included.

        Empty whenever a business manager is reachable (they stand in for every target).
        """
        if self._fallback(agency, escalation):
            return []
        return [t for t in targets if not self._target(spec, t, agency, step, escalation)]

    def board_reachable(self) -> list[str]:
        """Who is told when a role has nobody reachable: the reachable business managers,
        or, with none, every reachable contact of the board's own agencies."""
        return self._emails(FALLBACK_ROLE, None) or sorted(self._reachable_board)

    def resolve(
        self,
        spec: WorkflowSpec,
        targets: Iterable[str],
        agency: str,
        step: int = 0,
        *,
        escalation: bool = False,
    ) -> list[Recipient]:
        """Every address the targets name, deduplicated, with the business manager as fallback;
        for an escalation about ``agency``'s item when ``escalation`` (conflicts of interest
        bar more then).

        A target nobody is reachable for, the fallback included, adds nobody (see
        ``unreachable``).
        """
        out: dict[str, Recipient] = {}
        for target in targets:
            emails = self._target(spec, target, agency, step, escalation)
            fallback = not emails
            if fallback:
                emails = self._fallback(agency, escalation)
            for email in emails:
                out.setdefault(email, Recipient(email=email, via=target, fallback=fallback))
        return list(out.values())


def refresh_absences(conn: sa.Connection, today: dt.date) -> int:
    """Set the ``absent`` flag of every contact whose absence has dates to what they say for
    ``today`` (the flag ``held_by`` reads); returns how many rows changed."""
    start, end = _contact.c.absent_from, _contact.c.absent_until
    dated = sa.or_(start.is_not(None), end.is_not(None))
    now_away = sa.and_(sa.or_(start.is_(None), start <= today), sa.or_(end.is_(None), end >= today))
    changed = 0
    for flag, when in ((True, now_away), (False, sa.not_(now_away))):
        result = conn.execute(
            _contact.update().where(dated, when, _contact.c.absent.is_not(flag)).values(absent=flag)
        )
        changed += int(result.rowcount)
    return changed


def held_by(email: Any) -> sa.ColumnElement[bool]:
    """Contact rows whose roles ``email`` holds: its own, and an absent contact's it deputises.

    A deputy stands in for an absent contact: receives their mail and may answer and act as
    that contact's role for that agency while they are absent. ``email``: a value or bind.
    """
    return sa.or_(
        _contact.c.email == email,
        sa.and_(_contact.c.absent.is_(True), _contact.c.deputy_email == email),
    )


def assigned_to(email: str) -> sa.Select[Any]:
    """(agency_id, role) of each agency ``email`` is assigned to audit, as its
    ``AUDITOR_ROLE`` (itself, or the deputy of an absent assigned auditor): what
    ``engine.permissions`` adds to the roles they hold."""
    acting = sa.select(_contact.c.email).where(held_by(email))
    return (
        sa.select(_assigned.c.agency_id, sa.literal(AUDITOR_ROLE).label("role"))
        .where(_assigned.c.email.in_(acting))
        .distinct()
    )


def acting_as(contacts: Iterable[Any], email: str) -> list[Any]:
    """Of ``contacts`` (rows of ``CONTACT_COLUMNS``), those whose roles ``email`` holds.

    The same rule as ``held_by``, over rows already read.
    """
    return [c for c in contacts if c.email == email or (c.absent and c.deputy_email == email)]


def answers_for(conn: sa.Connection, email: str, agency: str) -> bool:
    """Whether ``email`` is a contact of ``agency``, or the deputy of an absent one."""
    query = sa.select(_contact.c.id).where(held_by(email), _contact.c.agency_id == agency)
    return conn.execute(query.limit(1)).first() is not None


def deputises(conn: sa.Connection, deputy: str, email: str) -> bool:
    """Whether ``deputy`` stands in for ``email`` (a contact marked absent with that deputy)."""
    query = sa.select(_contact.c.id).where(
        _contact.c.email == email, _contact.c.absent.is_(True), _contact.c.deputy_email == deputy
    )
    return conn.execute(query.limit(1)).first() is not None


def agencies_of(conn: sa.Connection, email: str) -> set[str]:
    """The agencies ``email`` answers for: as a contact, or as the deputy of an absent one."""
    query = sa.select(_contact.c.agency_id).where(held_by(email)).distinct()
    return set(conn.execute(query).scalars())


def mark_failing(conn: sa.Connection, email: str) -> int:
    """Mark an address failing (mail to it bounced): the directory skips it from now on.

    Every contact row with that address is marked; returns how many.
    """
    result = conn.execute(
        _contact.update().where(_contact.c.email == email.strip().lower()).values(failing=True)
    )
    return int(result.rowcount)


def board_roles(specs: Iterable[WorkflowSpec]) -> set[str]:
    """The board's own contact roles: those a workflow role of scope ``any`` includes.

    Board staff (business manager, panel, chair, internal audit) act on any agency's items;
    an agency's contacts only on their own. This is the one place that decides which is which.
    """
    return {
        cr
        for spec in specs
        for role in spec.model.roles.values()
        if role.scope is Scope.ANY
        for cr in role.contact_roles
    }


def published_board_roles(conn: sa.Connection, specs: SpecCache) -> set[str]:
    """``board_roles`` over every published workflow version."""
    ids = conn.execute(sa.select(_wv.c.id)).scalars().all()
    return board_roles(specs.get(conn, i) for i in ids)


def published_contact_roles(conn: sa.Connection, specs: SpecCache) -> list[str]:
    """Every contact role a published workflow names, in the order first named."""
    ids = conn.execute(sa.select(_wv.c.id).order_by(_wv.c.id)).scalars().all()
    found = [cr for i in ids for cr in specs.get(conn, i).model.contact_roles]
    return list(dict.fromkeys(found))


def roles_of(conn: sa.Connection, email: str) -> set[str]:
    """Every contact role the address holds, in any agency (as itself or as a deputy)."""
    query = sa.select(_contact.c.role).where(held_by(email.strip().lower()))
    return set(conn.execute(query).scalars())


def fallback_addresses(conn: sa.Connection) -> list[str]:
    """Everyone who stands in when a role resolves to nobody (the business managers)."""
    query = sa.select(_contact.c.email).where(_contact.c.role == FALLBACK_ROLE).distinct()
    return sorted(conn.execute(query).scalars())


@dataclass(frozen=True, kw_only=True)
class Concern:
    """A conflict of interest or an auditor assignment about one agency, with names."""

    email: str
    name: str  # the contact's name (the address again when they are not in the directory)
    alternate: str | None = None  # a conflict's named alternate
    alternate_name: str | None = None
    id: int = 0  # its row


@dataclass(frozen=True, kw_only=True)
class Listed:
    """One agency as the directory pages show it: its contacts, its escalation ladder, the
    contacts barred from its escalations and the auditors assigned to it."""

    id: str
    name: str
    ladder: tuple[str, ...]
    # rows: id, name, email, role, absent, deputy_email, failing, absent_from, absent_until
    contacts: tuple[Any, ...]
    conflicts: tuple[Concern, ...] = ()
    auditors: tuple[Concern, ...] = ()


def listing(conn: sa.Connection, agency: str | None = None) -> list[Listed]:
    """Every agency (or the one named), by name, with its contacts (by role, then name),
    conflicts and assigned auditors. Read only."""
    people: dict[str, list[Any]] = {}
    query = sa.select(
        _contact.c.id,
        _contact.c.agency_id,
        _contact.c.name,
        _contact.c.email,
        _contact.c.role,
        _contact.c.absent,
        _contact.c.deputy_email,
        _contact.c.failing,
        _contact.c.absent_from,
        _contact.c.absent_until,
    ).order_by(_contact.c.role, _contact.c.name, _contact.c.id)
    names: dict[str, str] = {}
    for c in conn.execute(query):
        people.setdefault(c.agency_id, []).append(c)
        names.setdefault(c.email, c.name)
    conflicts: dict[str, list[Concern]] = {}
    select = sa.select(
        _conflict.c.id, _conflict.c.agency_id, _conflict.c.email, _conflict.c.alternate_email
    )
    for x in conn.execute(select.order_by(_conflict.c.id)):
        alternate = x.alternate_email
        conflicts.setdefault(x.agency_id, []).append(
            Concern(
                id=x.id,
                email=x.email,
                name=names.get(x.email, x.email),
                alternate=alternate,
                alternate_name=names.get(alternate, alternate) if alternate else None,
            )
        )
    auditors: dict[str, list[Concern]] = {}
    select = sa.select(_assigned.c.id, _assigned.c.agency_id, _assigned.c.email)
    for x in conn.execute(select.order_by(_assigned.c.id)):
        auditors.setdefault(x.agency_id, []).append(
            Concern(id=x.id, email=x.email, name=names.get(x.email, x.email))
        )
    agencies = sa.select(_agency.c.id, _agency.c.name, _agency.c.ladder).order_by(
        _agency.c.name, _agency.c.id
    )
    if agency is not None:
        agencies = agencies.where(_agency.c.id == agency)
    return [
        Listed(
            id=a.id,
            name=a.name,
            ladder=tuple(a.ladder),
            contacts=tuple(people.get(a.id, ())),
            conflicts=tuple(conflicts.get(a.id, ())),
            auditors=tuple(auditors.get(a.id, ())),
        )
        for a in conn.execute(agencies)
    ]
