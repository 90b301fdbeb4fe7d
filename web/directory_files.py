"""Importing and exporting the directory on ``/admin/directory``: a file in, checked and
listed change by change before anything is changed, then confirmed; the whole directory
out as YAML, CSV or xlsx.

The upload (YAML, CSV or xlsx, at most ``MAX_BYTES``) is checked by the engine's dry run
(``engine.directory.files``): its problems are the error summary and an inline error at the
file field, each naming its line, or its row and column; nothing is changed. Otherwise the
page lists every change and carries the file (base64) and the fingerprint of the directory
the dry run saw to the Confirm button: confirming imports that file, all or nothing, and is
refused if the directory changed meanwhile.
"""

from __future__ import annotations

import base64
import binascii
import tempfile
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from fastapi_csrf_protect.exceptions import CsrfProtectError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from engine.directory import DirectoryRefused, files
from engine.permissions import Permission
from engine.sessions import SignedIn
from reports.directory_sheet import render_directory_csv, render_directory_xlsx
from web.access import Requires, page
from web.deps import Context, LinkDead, client_of

Manager = Annotated[SignedIn, Depends(Requires(Permission.ADMINISTER))]
IMPORT = "/admin/directory/import"
CONFIRM = IMPORT + "/confirm"
EXPORT = "/admin/directory/export/{fmt}"
MAX_BYTES = 1024 * 1024
_TYPES = {
    "yaml": "application/yaml; charset=utf-8",
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
_EXPIRED = "This page was open too long to import safely. Choose the file again"


def router(ctx: Context) -> APIRouter:
    routes = APIRouter()

    def import_page(
        request: Request, who: SignedIn, *, status: int = 200, problems: list[str] | None = None,
        planned: files.Planned | None = None, carried: dict[str, str] | None = None,
    ) -> Response:  # fmt: skip
        problems = problems or []
        errors = [{"text": p, "href": "#file"} for p in problems]
        return page(
            ctx, request, who, "directory_import.html", status=status, errors=errors,
            problems=problems, planned=planned, carried=carried or {},
        )  # fmt: skip

    def run(content: bytes, filename: str, who: SignedIn, *, dry_run: bool,
            expected: str | None = None) -> files.Planned:  # fmt: skip
        suffix = Path(filename).suffix.lower()
        with tempfile.TemporaryDirectory(prefix="signoff-directory-") as folder:
            path = Path(folder) / f"upload{suffix}"
            path.write_bytes(content)
            return files.import_file(
                ctx.services, path, actor=who.person.email, now=ctx.clock(), dry_run=dry_run,
                expected=expected, name=filename,
            )  # fmt: skip

    @routes.get(IMPORT)
    def choose(request: Request, who: Manager) -> Response:
        return import_page(request, who)

    @routes.post(IMPORT)
    async def check(request: Request, who: Manager) -> Response:
        ctx.throttle.post(client_of(request))
        form = await request.form(max_files=1, max_fields=5)
        try:
            upload = form.get("file")
            filename = Path(upload.filename or "").name if isinstance(upload, UploadFile) else ""
            content = await upload.read(MAX_BYTES + 1) if isinstance(upload, UploadFile) else b""
        finally:
            await form.close()
        try:
            await ctx.csrf().validate_csrf(request)
        except CsrfProtectError:
            return import_page(request, who, status=400, problems=[_EXPIRED])
        if not filename:
            return import_page(request, who, status=422, problems=["Choose a file to import"])
        if len(content) > MAX_BYTES:
            return import_page(request, who, status=422, problems=[
                f"{filename} is larger than {MAX_BYTES // 1024 // 1024} MB; a directory file "
                "is far smaller: check it is the right file"])  # fmt: skip
        try:
            planned = await run_in_threadpool(run, content, filename, who, dry_run=True)
        except DirectoryRefused as exc:
            said = [f"{filename}: {p.text}" for p in exc.problems]
            return import_page(request, who, status=422, problems=said)
        carried = {
            "content": base64.b64encode(content).decode("ascii"),
            "filename": filename,
            "fingerprint": planned.fingerprint,
        }
        return import_page(request, who, planned=planned, carried=carried)

    @routes.post(CONFIRM)
    async def confirm(request: Request, who: Manager) -> Response:
        ctx.throttle.post(client_of(request))
        form = await request.form(max_files=0, max_fields=10, max_part_size=2 * MAX_BYTES)
        try:
            await ctx.csrf().validate_csrf(request)
        except CsrfProtectError:
            return import_page(request, who, status=400, problems=[_EXPIRED])
        filename = Path(str(form.get("filename") or "")).name
        try:
            content = base64.b64decode(str(form.get("content") or ""), validate=True)
        except (binascii.Error, ValueError):
            content = b""
        if not content or not filename:
            return import_page(request, who, status=422, problems=["Choose a file to import"])
        try:
            planned = await run_in_threadpool(
                run, content, filename, who, dry_run=False,
                expected=str(form.get("fingerprint") or ""),
            )  # fmt: skip
        except DirectoryRefused as exc:
            said = [f"{filename}: {p.text}" for p in exc.problems]
            return import_page(request, who, status=422, problems=said)
        return RedirectResponse(
            f"/admin/directory?done=imported&changes={len(planned.changes)}", status_code=303
        )

    @routes.get(EXPORT)
    def export(fmt: str, who: Manager) -> Response:
        if fmt not in _TYPES:
            raise LinkDead()
        if fmt == "yaml":
            body = files.export_yaml(ctx.services).encode("utf-8")
        else:
            rows = files.export_rows(ctx.services)
            body = render_directory_xlsx(rows) if fmt == "xlsx" else render_directory_csv(rows)
        day = ctx.clock().date().isoformat()
        return Response(
            body,
            media_type=_TYPES[fmt],
            headers={
                "Content-Disposition": f'attachment; filename="signoff-directory-{day}.{fmt}"',
                "Content-Security-Policy": "default-src 'none'; sandbox",
            },
        )

    return routes
