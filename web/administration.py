"""The business manager's administration: ``/admin`` (what can be changed, and where) and
``/admin/log`` (every change made, from ``engine.adminlog``, newest first).

Both need ``Permission.ADMINISTER``; anyone else gets the plain 404. Other ``/admin`` pages
(email wording, workflows, directory, import) live in their own modules and are listed here.
"""

from __future__ import annotations

import json
import math
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from engine import adminlog
from engine.permissions import Permission
from engine.sessions import SignedIn
from web.access import Requires, page
from web.deps import Context

Manager = Annotated[SignedIn, Depends(Requires(Permission.ADMINISTER))]

# what the log can be narrowed to: the action's first word, and its label
KINDS = {
    "workflow": "Workflows",
    "email": "Email wording",
    "directory": "Directory",
    "import": "Imports",
    "anchor": "Dates of events",
}

# the administration pages, as the /admin page lists them: (title, path, what it is for)
SECTIONS: list[tuple[str, str, str]] = [
    (
        "Workflows",
        "/admin/workflows",
        "Drafts of each workflow, changed in forms or in YAML, previewed and published.",
    ),
    (
        "Directory",
        "/admin/directory",
        "Agencies, contacts, escalation ladders, absences, conflicts of interest and assigned "
        "auditors; import and export as YAML, CSV or Excel.",
    ),
    ("Email wording", "/admin/emails", "What each email says, with a preview and a test email."),
    (
        "Import an action plan",
        "/admin/import",
        "A plan from Excel, CSV or YAML, checked row by row before it is imported.",
    ),
    (
        "Dates of events",
        "/admin/anchors",
        "The dates relative deadlines count from, such as a review's publication.",
    ),
    ("Administrators' log", "/admin/log", "Every change made: who, when, before and after."),
]


def shown(value: Any) -> str:
    """A logged before or after value as readable text: a text as it is, else indented JSON."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True)


def router(ctx: Context) -> APIRouter:
    routes = APIRouter()

    @routes.get("/admin")
    def index(request: Request, who: Manager) -> Response:
        return page(ctx, request, who, "admin.html", sections=SECTIONS)

    @routes.get("/admin/log")
    def log(request: Request, who: Manager, kind: str = "", page_number: int = 1) -> Response:
        kind = kind if kind in KINDS else ""
        with ctx.services.db.engine.connect() as conn:
            found, total = adminlog.entries(
                conn, page=max(page_number, 1), action_prefix=f"{kind}." if kind else None
            )
        pages = max(math.ceil(total / adminlog.PAGE), 1)

        def link(n: int) -> str:
            query = "&".join(p for p in (f"kind={kind}" if kind else "", f"page_number={n}") if p)
            return f"/admin/log?{query}"

        return page(
            ctx, request, who, "admin_log.html", entries=found, total=total, kind=kind,
            kinds=KINDS, page_number=min(max(page_number, 1), pages), pages=pages,
            page_link=link, shown=shown,
        )  # fmt: skip

    return routes
