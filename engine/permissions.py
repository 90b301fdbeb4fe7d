"""Who may see and do what: one role x permission table, the single source for every interface.

The web pages (``web.access``), downloads, the JSON API and the command line's ``--actor``
(``engine.fire``, ``engine.requests.issue``) all ask this module; none keeps a list of its own.
Which *transition* a person may fire is still the workflow's business (its roles, in
``engine.fire``): this table says whose items they may act on at all.

A person's roles come from the directory: each contact row they hold (their own, and an
absent colleague's they deputise for, ``engine.contacts.held_by``) maps its contact role to
one :class:`Role` (:data:`CONTACT_ROLES`; any other contact role is an agency contact, the
least access). A permission's :class:`Scope` is ``ALL`` agencies, ``OWN``: the agencies for
which they hold a contact role of that Role, or ``OWN_AND_BOARD``: those and the board's own
agencies (those holding its business manager), whose items (the board's own process: panel
terms of reference, training) the partners' internal auditors confirm. For an internal
auditor ``OWN`` is the agencies whose auditor the directory lists them as (one auditor may
serve two council departments), and those it assigns them to audit (``auditor_assignment``,
as themselves or as the deputy of an absent assigned auditor); there is no finer assignment
of single items to auditors, so an auditor sees every item of those agencies and of the
board, and nothing of any other partner.

===================  =====  =======  ========  =====  =======  ==========  ======  ========  =====
role                 items  reports  evidence  act    request  quarantine  outbox  sessions  dir.
===================  =====  =======  ========  =====  =======  ==========  ======  ========  =====
business manager     all    all      all       all    all      all         all     all       all
panel member, chair  all    all      all       all    all      -           -       -         all
internal auditor     own+b  -        own+b     own+b  -        -           -       -         -
board viewer         all    all      -         -      -        -           -       -         -
agency contact       own    -        own       own    -        -           -       -         -
===================  =====  =======  ========  =====  =======  ==========  ======  ========  =====

(own: their agencies' items; own+b: those and the board's own. Reports count every agency's
items, so only roles that see every agency read them: an agency contact or auditor would learn
other partners' figures. ``TABLE`` below is the
truth; the README prints it, and a test keeps the two equal.)
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import sqlalchemy as sa

from engine.contacts import FALLBACK_ROLE, assigned_to, held_by
from engine.errors import ActorRefused
from engine.store.tables import Contact

_contact = Contact.__table__  # type: ignore[attr-defined]


class Role(StrEnum):
    BUSINESS_MANAGER = "business_manager"
    PANEL_MEMBER = "panel_member"
    CHAIR = "chair"
    INTERNAL_AUDITOR = "internal_auditor"
    BOARD_VIEWER = "board_viewer"  # executive group and board members: read only
    AGENCY_CONTACT = "agency_contact"  # lead officers, safeguarding leads, senior contacts


class Permission(StrEnum):
    VIEW_ITEMS = "view_items"  # items, their history and evidence metadata
    VIEW_REPORTS = "view_reports"  # board reports across every agency (/reports)
    DOWNLOAD_EVIDENCE = "download_evidence"
    ACT_ON_ITEMS = "act_on_items"  # fire transitions (the workflow's roles say which)
    REQUEST_EVIDENCE = "request_evidence"  # ask an agency for evidence
    MANAGE_QUARANTINE = "manage_quarantine"  # read held mail, assign or discard it
    MANAGE_OUTBOX = "manage_outbox"
    MANAGE_SESSIONS = "manage_sessions"  # who is signed in; end a session
    VIEW_DIRECTORY = "view_directory"
    ADMINISTER = "administer"  # import plans, publish workflows, tokens, email wording


class Scope(StrEnum):
    ALL = "all"  # every agency
    OWN = "own"  # the agencies the person holds this role for
    OWN_AND_BOARD = "own_and_board"  # those, and the board's own items (its own agency's)


_A, _O, _OB = Scope.ALL, Scope.OWN, Scope.OWN_AND_BOARD
_STAFF_READ = {Permission.VIEW_ITEMS: _A, Permission.DOWNLOAD_EVIDENCE: _A}
_AGENCY = {
    Permission.VIEW_ITEMS: _O,
    Permission.DOWNLOAD_EVIDENCE: _O,
    Permission.ACT_ON_ITEMS: _O,
}
_AUDITOR = {
    Permission.VIEW_ITEMS: _OB,
    Permission.DOWNLOAD_EVIDENCE: _OB,
    Permission.ACT_ON_ITEMS: _OB,
}
_PANEL = {
    **_STAFF_READ,
    Permission.ACT_ON_ITEMS: _A,
    Permission.REQUEST_EVIDENCE: _A,
    Permission.VIEW_DIRECTORY: _A,
    Permission.VIEW_REPORTS: _A,
}
TABLE: dict[Role, dict[Permission, Scope]] = {
    Role.BUSINESS_MANAGER: dict.fromkeys(Permission, _A),
    Role.PANEL_MEMBER: _PANEL,
    Role.CHAIR: _PANEL,
    Role.INTERNAL_AUDITOR: _AUDITOR,
    Role.BOARD_VIEWER: {Permission.VIEW_ITEMS: _A, Permission.VIEW_REPORTS: _A},
    Role.AGENCY_CONTACT: _AGENCY,
}
"""Each role's permissions and their scope; a permission not listed is refused."""

CONTACT_ROLES: dict[str, Role] = {
    "business_manager": Role.BUSINESS_MANAGER,
    "panel_member": Role.PANEL_MEMBER,
    "chair": Role.CHAIR,
    "internal_auditor": Role.INTERNAL_AUDITOR,
    "board_member": Role.BOARD_VIEWER,
    "executive": Role.BOARD_VIEWER,
}
"""Directory contact roles with more than an agency contact's access; any other contact role
(``lead_officer``, ``safeguarding_lead``, ``senior_contact``, …) is an agency contact."""


def role_of(contact_role: str) -> Role:
    return CONTACT_ROLES.get(contact_role, Role.AGENCY_CONTACT)


@dataclass(frozen=True)
class Access:
    """Where a permission reaches: every agency (``agencies is None``) or those listed."""

    agencies: frozenset[str] | None

    def allows(self, agency: str) -> bool:
        return self.agencies is None or agency in self.agencies

    @property
    def any(self) -> bool:
        return self.agencies is None or bool(self.agencies)


NOWHERE = Access(frozenset())


@dataclass(frozen=True)
class Person:
    """Someone in the directory, with the roles they hold and for which agencies."""

    email: str
    holds: frozenset[tuple[Role, str]]  # (role, agency)
    board: frozenset[str] = frozenset()  # the board's own agencies (they hold its manager)

    @classmethod
    def from_contacts(cls, email: str, rows: Iterable[Any], board: Iterable[str] = ()) -> Person:
        """From contact rows (``agency_id`` and ``role``) whose roles ``email`` holds, and
        the ids of the board's own agencies."""
        holds = frozenset((role_of(r.role), r.agency_id) for r in rows)
        return cls(email, holds, frozenset(board))

    @property
    def roles(self) -> frozenset[Role]:
        return frozenset(role for role, _ in self.holds)

    def access(self, permission: Permission) -> Access:
        """Where ``permission`` reaches for this person (``NOWHERE`` when not at all)."""
        agencies: set[str] = set()
        for role, agency in self.holds:
            scope = TABLE[role].get(permission)
            if scope is Scope.ALL:
                return Access(None)
            if scope in (Scope.OWN, Scope.OWN_AND_BOARD):
                agencies.add(agency)
            if scope is Scope.OWN_AND_BOARD:
                agencies.update(self.board)
        return Access(frozenset(agencies))

    def may(self, permission: Permission, agency: str | None = None) -> bool:
        """Whether the person has ``permission`` at all, or on ``agency``'s items."""
        access = self.access(permission)
        return access.any if agency is None else access.allows(agency)

    def digest(self) -> str:
        """A fingerprint of the roles held: a session ends when it changes."""
        text = "\n".join(sorted(f"{role}@{agency}" for role, agency in self.holds))
        return hashlib.sha256(text.encode()).hexdigest()


def person(conn: sa.Connection, email: str) -> Person | None:
    """The person with address ``email``, or None when the directory does not know it."""
    email = email.strip().lower()
    rows = list(
        conn.execute(sa.select(_contact.c.agency_id, _contact.c.role).where(held_by(email)))
    )
    if not rows:
        return None
    rows += conn.execute(assigned_to(email)).all()
    board = conn.execute(
        sa.select(_contact.c.agency_id).where(_contact.c.role == FALLBACK_ROLE).distinct()
    ).scalars()
    return Person.from_contacts(email, rows, board)


def who_may(permission: Permission) -> list[Role]:
    """The roles the table gives ``permission`` (for refusals that say who may instead)."""
    return [role for role, granted in TABLE.items() if permission in granted]


def require(conn: sa.Connection, actor: str, permission: Permission) -> None:
    """Refuse a command's ``--actor`` the table does not give ``permission`` (anywhere).

    ``system:…`` actors (the defaults of ``init`` and ``import``: whoever runs the server's
    command line, before anyone is in the directory) are not people and pass.

    Raises:
        ActorRefused.
    """
    if actor.startswith("system:"):
        return
    found = person(conn, actor)
    if found is None or not found.may(permission):
        raise ActorRefused(actor, permission.value, [r.value for r in who_may(permission)])
