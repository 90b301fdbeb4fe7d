"""The directory: contacts, their roles, ladders, deputies, board roles, failing addresses.

The only module that reads or writes contact rows for the engine's decisions.

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

Absent contacts are replaced by their deputy, who also holds their roles for that agency
while they are absent (``held_by``); contacts whose address bounces, and absent contacts
with no deputy (or a deputy whose address bounces), are skipped. When nobody is left, the
board's business manager receives it instead; when no business manager is reachable either,
the role has nobody reachable (``Directory.unreachable``): the sweep records that and the
daily summary tells another reachable member of the board (``engine.failures``), so
nothing is silently dropped.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from engine.spec import LADDER, Scope, WorkflowSpec
from engine.store.tables import Agency, Contact, WorkflowVersion
from engine.versions import SpecCache

_contact = Contact.__table__  # type: ignore[attr-defined]
_agency = Agency.__table__  # type: ignore[attr-defined]
_wv = WorkflowVersion.__table__  # type: ignore[attr-defined]
FALLBACK_ROLE = "business_manager"
# what a Directory is built from; every read that feeds one selects exactly these
CONTACT_COLUMNS = (
    _contact.c.agency_id,
    _contact.c.role,
    _contact.c.email,
    _contact.c.absent,
    _contact.c.deputy_email,
    _contact.c.failing,
)


@dataclass(frozen=True, kw_only=True)
class Recipient:
    email: str
    via: str  # the target it was resolved from
    fallback: bool = False  # the target resolved to nobody; the business manager stands in


class Directory:
    """A snapshot of contacts and ladders, loaded once per sweep or fire."""

    def __init__(self, contacts: Sequence[Any], ladders: dict[str, list[str]]) -> None:
        self._ladders = ladders
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
        for c in contacts:
            if c.failing:
                continue
            email = c.email
            if c.absent:  # their deputy stands in; with none reachable, nobody does
                if not c.deputy_email or c.deputy_email in failing:
                    continue
                email = c.deputy_email
            if c.agency_id in board:
                self._reachable_board.add(email)
            named.setdefault(c.email.lower(), set()).add(email)
            index.setdefault((c.role, c.agency_id), set()).add(email)
            index.setdefault((c.role, None), set()).add(email)
        self._index = {key: sorted(emails) for key, emails in index.items()}
        self._named = {key: sorted(emails) for key, emails in named.items()}

    @classmethod
    def load(cls, conn: sa.Connection) -> Directory:
        """Every contact and every agency's ladder."""
        contacts = conn.execute(sa.select(*CONTACT_COLUMNS)).all()
        ladders = {
            r.id: list(r.ladder) for r in conn.execute(sa.select(_agency.c.id, _agency.c.ladder))
        }
        return cls(contacts, ladders)

    def _emails(self, role: str, agency: str | None) -> list[str]:
        return self._index.get((role, agency), [])

    def workflow_role(self, spec: WorkflowSpec, name: str, agency: str) -> list[str]:
        """The addresses responsible for workflow role ``name`` on an item of ``agency``."""
        role = spec.model.roles[name]
        board_wide = role.scope is Scope.ANY
        for contact_role in role.contact_roles:
            mine = not board_wide or contact_role in self._agency_roles
            found = self._emails(contact_role, agency if mine else None)
            if found:
                return found
        return []

    def _target(self, spec: WorkflowSpec, target: str, agency: str, step: int) -> list[str]:
        """The reachable addresses one target names (no fallback)."""
        if target in spec.model.roles:
            return self.workflow_role(spec, target, agency)
        if "@" in target:  # a named contact (escalation steps), or their deputy
            return self._named.get(target.lower(), [])
        if target == LADDER:
            ladder = self._ladders.get(agency, [])
            return self._emails(ladder[min(step + 1, len(ladder) - 1)], agency) if ladder else []
        return self._emails(target, agency)

    def unreachable(
        self, spec: WorkflowSpec, targets: Iterable[str], agency: str, step: int = 0
    ) -> list[str]:
        """The targets that reach nobody at all, the business manager's fallback included.

        Empty whenever a business manager is reachable (they stand in for every target).
        """
        if self._emails(FALLBACK_ROLE, None):
            return []
        return [t for t in targets if not self._target(spec, t, agency, step)]

    def board_reachable(self) -> list[str]:
        """Who is told when a role has nobody reachable: the reachable business managers,
        or, with none, every reachable contact of the board's own agencies."""
        return self._emails(FALLBACK_ROLE, None) or sorted(self._reachable_board)

    def resolve(
        self, spec: WorkflowSpec, targets: Iterable[str], agency: str, step: int = 0
    ) -> list[Recipient]:
        """Every address the targets name, deduplicated, with the business manager as fallback.

        A target nobody is reachable for, the fallback included, adds nobody (see
        ``unreachable``).
        """
        out: dict[str, Recipient] = {}
        for target in targets:
            emails = self._target(spec, target, agency, step)
            fallback = not emails
            if fallback:
                emails = self._emails(FALLBACK_ROLE, None)
            for email in emails:
                out.setdefault(email, Recipient(email=email, via=target, fallback=fallback))
        return list(out.values())


def held_by(email: Any) -> sa.ColumnElement[bool]:
    """Contact rows whose roles ``email`` holds: its own, and an absent contact's it deputises.

    A deputy stands in for an absent contact: receives their mail and may answer and act as
    that contact's role for that agency while they are absent. ``email``: a value or bind.
    """
    return sa.or_(
        _contact.c.email == email,
        sa.and_(_contact.c.absent.is_(True), _contact.c.deputy_email == email),
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


def roles_of(conn: sa.Connection, email: str) -> set[str]:
    """Every contact role the address holds, in any agency (as itself or as a deputy)."""
    query = sa.select(_contact.c.role).where(held_by(email.strip().lower()))
    return set(conn.execute(query).scalars())


def fallback_addresses(conn: sa.Connection) -> list[str]:
    """Everyone who stands in when a role resolves to nobody (the business managers)."""
    query = sa.select(_contact.c.email).where(_contact.c.role == FALLBACK_ROLE).distinct()
    return sorted(conn.execute(query).scalars())


@dataclass(frozen=True, kw_only=True)
class Listed:
    """One agency as the directory page shows it: its contacts and its escalation ladder."""

    id: str
    name: str
    ladder: tuple[str, ...]
    contacts: tuple[Any, ...]  # rows: name, email, role, absent, deputy_email, failing


def listing(conn: sa.Connection) -> list[Listed]:
    """Every agency, by name, with its contacts (by role, then name). Read only."""
    people: dict[str, list[Any]] = {}
    for c in conn.execute(
        sa.select(
            _contact.c.agency_id,
            _contact.c.name,
            _contact.c.email,
            _contact.c.role,
            _contact.c.absent,
            _contact.c.deputy_email,
            _contact.c.failing,
        ).order_by(_contact.c.role, _contact.c.name)
    ):
        people.setdefault(c.agency_id, []).append(c)
    return [
        Listed(id=a.id, name=a.name, ladder=tuple(a.ladder), contacts=tuple(people.get(a.id, ())))
        for a in conn.execute(
            sa.select(_agency.c.id, _agency.c.name, _agency.c.ladder).order_by(_agency.c.name)
        )
    ]
