"""The home page: who is signed in and what the roles table lets them do.

A placeholder until the item pages arrive: it lists each permission the person holds and
where it reaches (every agency, or the agencies the directory lists them for), with links to
the pages that exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from engine import queries, queue
from engine.permissions import Permission, Role
from engine.sessions import SignedIn
from engine.spec.moves import Owed
from web.access import Requires, page
from web.deps import Context

# what each permission lets a person do, in words, and the page for it where one exists
_WORDS: dict[Permission, tuple[str, str | None]] = {
    Permission.VIEW_ITEMS: ("Read recommendations, their history and evidence", None),
    Permission.DOWNLOAD_EVIDENCE: ("Download evidence files", None),
    Permission.ACT_ON_ITEMS: ("Act on recommendations (as the workflow allows)", None),
    Permission.REQUEST_EVIDENCE: ("Ask an agency for evidence", None),
    Permission.MANAGE_QUARANTINE: ("Deal with emailed replies held in quarantine", "/quarantine"),
    Permission.MANAGE_OUTBOX: ("See and retry the emails signoff sends", "/outbox"),
    Permission.MANAGE_SESSIONS: ("See who is signed in and end a session", "/sessions"),
    Permission.VIEW_DIRECTORY: ("Read the directory of agencies and contacts", "/directory"),
    Permission.ADMINISTER: ("Import plans, publish workflows and edit email wording", None),
}


# the work queues (web.panel), and the roles that see theirs even when it is empty
_QUEUES = (
    ("Decisions waiting for you", "/panel", Owed.DECISION,
     {Role.PANEL_MEMBER, Role.CHAIR, Role.BUSINESS_MANAGER}),
    ("Confirmations waiting for you", "/audit", Owed.CONFIRMATION, {Role.INTERNAL_AUDITOR}),
)  # fmt: skip


@dataclass(frozen=True)
class Queue:
    what: str
    href: str
    count: int


@dataclass(frozen=True)
class Allowed:
    what: str
    where: str
    href: str | None


def router(ctx: Context) -> APIRouter:
    routes = APIRouter()

    @routes.get("/")
    def home(request: Request, who: Annotated[SignedIn, Depends(Requires())]) -> Response:
        with ctx.services.db.engine.connect() as conn:
            names = queries.agency_names(conn)
        allowed = []
        for permission, (what, href) in _WORDS.items():
            access = who.person.access(permission)
            if not access.any:
                continue
            if access.agencies is None:
                where = "all agencies"
            else:
                where = ", ".join(sorted(names.get(a, a) for a in access.agencies))
            allowed.append(Allowed(what, where, href))
        roles = sorted(r.value.replace("_", " ") for r in who.person.roles)
        queues = []
        if who.person.may(Permission.ACT_ON_ITEMS):
            for what, href, owed, usual in _QUEUES:
                count = len(queue.awaiting(ctx.services, who.person.email, owed))
                if count or who.person.roles & usual:
                    queues.append(Queue(what, href, count))
        return page(ctx, request, who, "home.html", allowed=allowed, roles=roles, queues=queues)

    return routes
