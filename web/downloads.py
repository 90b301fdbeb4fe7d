"""Evidence downloads, for whoever the roles table lets download that agency's evidence.

Evidence is named in URLs by its random public id (``/evidence/{public_id}``), never by its
row number. A malformed id, an unknown one and another agency's one are the same plain 404.
"""

from __future__ import annotations

import urllib.parse
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, Response

from engine.evidence import file_on_record
from engine.permissions import Permission
from engine.sessions import SignedIn
from web.access import Requires
from web.deps import Context, LinkDead


def router(ctx: Context) -> APIRouter:
    routes = APIRouter()

    @routes.get("/evidence/{public_id}")
    def download(
        request: Request,
        public_id: str,
        who: Annotated[SignedIn, Depends(Requires(Permission.DOWNLOAD_EVIDENCE))],
    ) -> Response:
        with ctx.services.db.engine.connect() as conn:
            found = file_on_record(conn, ctx.services.data_dir, public_id)
        if found is None or not who.person.may(Permission.DOWNLOAD_EVIDENCE, found.agency_id):
            raise LinkDead()
        return _attachment(found.path, found.filename, found.content_type)

    return routes


def _attachment(path: Path, filename: str, content_type: str | None) -> FileResponse:
    ascii_name = "".join(
        c if c.isascii() and c.isprintable() and c not in '"\\;' else "_" for c in filename
    )
    quoted = urllib.parse.quote(filename, safe="")
    return FileResponse(
        path,
        media_type=content_type or "application/octet-stream",
        headers={
            "Content-Disposition": (
                f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quoted}"
            ),
            # nothing in a download may run, even if a browser ignores the disposition
            "Content-Security-Policy": "default-src 'none'; sandbox",
        },
    )
