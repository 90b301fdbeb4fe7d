"""The home page: what needs the signed-in person now, and what the roles table lets them do.

What needs them now, with counts (``engine.listing.mine``): items whose move is theirs by the
workflow's deadlines (oldest first), their agency's overdue items, and evidence requests
addressed to them. Then each permission they hold and where it reaches, with links to the
pages that exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from engine import listing, queries
from engine.permissions import Permission, Role
from engine.sessions import SignedIn
from web.access import Requires, page
from web.deps import Context

# what each permission lets a person do, in words, and the page for it where one exists
_WORDS: dict[Permission, tuple[str, str | None]] = {
    Permission.VIEW_ITEMS: ("Read recommendations, their history and evidence", "/items"),
    Permission.DOWNLOAD_EVIDENCE: ("Download evidence files", None),
    Permission.ACT_ON_ITEMS: ("Act on recommendations (as the workflow allows)", None),
    Permission.REQUEST_EVIDENCE: ("Ask an agency for evidence", None),
    Permission.MANAGE_QUARANTINE: ("Deal with emailed replies held in quarantine", "/quarantine"),
    Permission.MANAGE_OUTBOX: ("See and retry the emails signoff sends", "/outbox"),
    Permission.MANAGE_SESSIONS: ("See who is signed in and end a session", "/sessions"),
    Permission.VIEW_DIRECTORY: ("Read the directory of agencies and contacts", "/directory"),
    Permission.ADMINISTER: (
        "Import plans, edit and publish workflows, edit email wording and the directory",
        "/admin",
    ),
}


# the work queues (web.panel) and the roles whose home page links to them
_QUEUES = (
    ("Decisions waiting for you (panel)", "/panel",
     {Role.PANEL_MEMBER, Role.CHAIR, Role.BUSINESS_MANAGER}),
    ("Confirmations waiting for you (internal audit)", "/audit", {Role.INTERNAL_AUDITOR}),
)  # fmt: skip


@dataclass(frozen=True)
class Allowed:
    what: str
    where: str
    href: str | None


def router(ctx: Context) -> APIRouter:
    routes = APIRouter()

    @routes.get("/")
    def home(request: Request, who: Annotated[SignedIn, Depends(Requires())]) -> Response:
        now = ctx.clock()
        view = who.person.access(Permission.VIEW_ITEMS)
        with ctx.services.db.engine.connect() as conn:
            names = queries.agency_names(conn)
            needs = (
                listing.mine(
                    conn, ctx.services.specs, email=who.person.email, agencies=view.agencies,
                    now=now, today=ctx.services.calendar.local(now).date(),
                )
                if view.any
                else None
            )  # fmt: skip
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
        queues = [(what, href) for what, href, usual in _QUEUES if who.person.roles & usual]
        return page(
            ctx, request, who, "home.html", allowed=allowed, roles=roles, needs=needs,
            queues=queues,
        )  # fmt: skip

    return routes
