"""The business manager's ``/admin/import`` pages: an action plan in, checked row by row first.

Upload a plan (xlsx, csv or YAML): the file goes through the evidence upload checks
(``engine.uploads``; a hostile file is refused in words, nothing kept) and is kept for its
uploader (``engine.staged_imports``). Its page is the dry run: what each row would become,
every problem with its sheet, row, column and value, the mapping the columns were read with
and where it came from, and a select for each column to read it otherwise ("Check again"
keeps the choice with the upload). "Confirm import" imports it, all or nothing, saving the
columns for the board when asked (``engine.saved_mappings``), exactly as ``signoff import``.
Anyone without Permission.ADMINISTER gets the plain 404; every form has its CSRF token.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from fastapi_csrf_protect.exceptions import CsrfProtectError
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException

from engine import staged_imports
from engine.errors import ImportErrors, UploadRefused
from engine.findings import Finding, Severity
from engine.importer import ImportReport, import_files
from engine.permissions import Permission
from engine.sessions import SignedIn
from engine.sheets import MAX_COLUMNS, SheetMappingFile
from web.access import Requires, page
from web.deps import Context, LinkDead, client_of
from web.reply import upload_limits
from web.urls import IMPORT, IMPORT_CHECK, IMPORT_CONFIRM

Manager = Annotated[SignedIn, Depends(Requires(Permission.ADMINISTER))]
ON_PAGE = "the columns as set on this page"
# each field a column can be read as (engine.sheets.SheetField), in a plan's words
FIELDS: dict[str, str] = {
    "ref": "Ref",
    "text": "Recommendation",
    "agreed_action": "Agreed action",
    "agency": "Lead agency",
    "lead": "Lead officer",
    "due": "Target date",
    "priority": "Priority",
    "status": "Status or RAG",
    "evidence": "Evidence",
    "note": "Update or comment",
    "risk_if_not_actioned": "Risk if not actioned",
    "themes": "Themes",
    "ignore": "Not imported",
}
_MAX_SHEETS = 20
_SEVERITY = {
    Severity.ERROR: "Problem",
    Severity.WARNING: "Check",
    Severity.INFO: "Personal data?",
    Severity.NOTE: "Note",
}


def router(ctx: Context) -> APIRouter:
    routes = APIRouter()
    limits = upload_limits(ctx)

    def staged_of(who: SignedIn, upload_id: str) -> staged_imports.Staged:
        found = staged_imports.find(
            ctx.services.data_dir, upload_id, by=who.person.email, now=ctx.clock()
        )
        if found is None:
            raise LinkDead()
        return found

    def run(
        staged: staged_imports.Staged, who: SignedIn, *, dry_run: bool, save: bool = False
    ) -> ImportReport | ImportErrors:
        mapping = SheetMappingFile.model_validate(staged.mapping) if staged.mapping else None
        with ctx.services.db.write() as conn:
            try:
                report = import_files(
                    conn,
                    [staged.path],
                    specs=ctx.services.specs,
                    actor=who.person.email,
                    now=ctx.clock(),
                    dry_run=dry_run,
                    calendar=ctx.services.calendar,
                    mapping=mapping,
                    mapping_given_as=ON_PAGE,
                    save_mapping=save,
                )
            except ImportErrors as exc:
                conn.rollback()
                return exc
            if dry_run:
                conn.rollback()
        return report

    def check_page(
        request: Request,
        who: SignedIn,
        staged: staged_imports.Staged,
        outcome: ImportReport | ImportErrors | None,
        *,
        status: int = 200,
    ) -> Response:
        context: dict[str, Any] = {"staged": staged, "fields": FIELDS}
        if isinstance(outcome, ImportReport):
            key = str(staged.path)
            context |= {
                "report": outcome,
                "columns": outcome.columns.get(key, {}),
                "mapping_from": outcome.mapping_from.get(key),
                "findings": [_finding(f) for f in outcome.findings],
            }
        elif isinstance(outcome, ImportErrors):
            read = outcome.sheets.get(str(staged.path), {})
            problems = [f for f in outcome.findings if f.severity is Severity.ERROR]
            context |= {
                "report": None,
                "columns": read.get("columns", {}),
                "mapping_from": None,
                "findings": [_finding(f) for f in outcome.findings],
                "errors": [
                    {
                        "text": f"{len(problems)} problem{'s' if len(problems) != 1 else ''} "
                        "in the plan: nothing can be imported until each is put right",
                        "href": "#problems",
                    }
                ],
            }
        return page(ctx, request, who, "import_check.html", status=status, **context)

    @routes.get(IMPORT)
    def start(request: Request, who: Manager) -> Response:
        return page(ctx, request, who, "import.html", limit_mb=ctx.settings.max_upload_mb)

    @routes.post(IMPORT)
    async def upload(request: Request, who: Manager) -> Response:
        ctx.throttle.post(client_of(request))
        try:
            form = await request.form(max_files=2, max_fields=5)
        except HTTPException:
            return _refused(request, who, "Choose one plan to upload")
        try:
            try:
                await ctx.csrf().validate_csrf(request)
            except CsrfProtectError:
                raise LinkDead() from None
            plan = form.get("plan")
            if not isinstance(plan, UploadFile) or not (plan.filename or plan.size):
                return _refused(request, who, "Choose the action plan to upload")
            data = await plan.read()
            try:
                staged = await run_in_threadpool(
                    lambda: staged_imports.stage(
                        ctx.services.data_dir,
                        plan.filename or "",
                        data,
                        by=who.person.email,
                        now=ctx.clock(),
                        limits=limits,
                    )
                )
            except UploadRefused as exc:
                return _refused(request, who, str(exc))
        finally:
            await form.close()
        return RedirectResponse(IMPORT_CHECK.format(upload_id=staged.id), status_code=303)

    def _refused(request: Request, who: SignedIn, message: str) -> Response:
        return page(
            ctx,
            request,
            who,
            "import.html",
            status=422,
            limit_mb=ctx.settings.max_upload_mb,
            plan_error=message,
            errors=[{"text": message, "href": "#plan"}],
        )

    @routes.get(IMPORT_CHECK)
    async def check(request: Request, upload_id: str, who: Manager) -> Response:
        staged = staged_of(who, upload_id)
        if staged.imported is not None:
            return check_page(request, who, staged, None)
        outcome = await run_in_threadpool(run, staged, who, dry_run=True)
        return check_page(request, who, staged, outcome)

    @routes.post(IMPORT_CHECK)
    async def adjust(request: Request, upload_id: str, who: Manager) -> Response:
        """Read the columns as chosen in the selects: kept with the upload, checked again."""
        ctx.throttle.post(client_of(request))
        staged = staged_of(who, upload_id)
        form = await request.form(max_files=0, max_fields=_MAX_SHEETS * (2 + 2 * MAX_COLUMNS))
        try:
            await ctx.csrf().validate_csrf(request)
        except CsrfProtectError:
            raise LinkDead() from None
        if staged.imported is not None or not staged.is_sheet:
            raise LinkDead()
        # what the columns were read with last, for its other parts (review, agencies, workflow)
        last = await run_in_threadpool(run, staged, who, dry_run=True)
        if isinstance(last, ImportReport):
            used = last.mappings.get(str(staged.path))
        else:
            used = last.sheets.get(str(staged.path), {}).get("mapping")
        mapping = _chosen(form, used)
        if mapping is None:  # a field no select offers: a forged form
            raise LinkDead()
        staged_imports.remember_mapping(staged, mapping)
        return RedirectResponse(IMPORT_CHECK.format(upload_id=staged.id) + "#rows", status_code=303)

    @routes.post(IMPORT_CONFIRM)
    async def confirm(request: Request, upload_id: str, who: Manager) -> Response:
        ctx.throttle.post(client_of(request))
        staged = staged_of(who, upload_id)
        form = await request.form(max_files=0, max_fields=5)
        try:
            await ctx.csrf().validate_csrf(request)
        except CsrfProtectError:
            raise LinkDead() from None
        if staged.imported is not None:  # a second press: it is imported already
            return RedirectResponse(IMPORT_CHECK.format(upload_id=staged.id), status_code=303)
        save = staged.is_sheet and form.get("save_mapping") == "yes"
        outcome = await run_in_threadpool(run, staged, who, dry_run=False, save=save)
        if isinstance(outcome, ImportErrors):  # changed since the check (the directory, say)
            return check_page(request, who, staged, outcome, status=422)
        staged_imports.imported(staged, _summary(outcome))
        return RedirectResponse(IMPORT_CHECK.format(upload_id=staged.id), status_code=303)

    return routes


def _finding(f: Finding) -> dict[str, Any]:
    """A finding as the page's table shows it: what kind, where, the value, the problem."""
    message = f.message
    sheet, _, row = f.row.partition(" row ")
    return {
        "kind": _SEVERITY[f.severity],
        "error": f.severity is Severity.ERROR,
        "sheet": sheet.removeprefix("sheet ").strip("'") if row else f.row,
        "row": row,
        "line": f.line,
        "column": f.field,
        "value": f.value,
        "message": message[:1].upper() + message[1:],
    }


def _chosen(form: FormData, before: dict[str, Any] | None) -> dict[str, Any] | None:
    """The mapping file the selects make: each sheet's heading row and each heading's field
    (the review part of an earlier choice kept); None when a value is not one offered."""
    sheets: dict[str, Any] = {}
    for i in range(_MAX_SHEETS):
        name = form.get(f"sheet-{i}")
        if not isinstance(name, str):
            break
        row = str(form.get(f"row-{i}") or "")
        if not row.isdigit():
            return None
        columns: dict[str, str] = {}
        for j in range(MAX_COLUMNS):
            heading, field = form.get(f"head-{i}-{j}"), form.get(f"col-{i}-{j}")
            if not isinstance(heading, str):
                break
            if field not in FIELDS:
                return None
            columns[heading] = str(field)
        sheets[name] = {"header_row": int(row), "columns": columns}
    mapping = {**{k: v for k, v in (before or {}).items() if k != "sheets"}, "sheets": sheets}
    try:
        SheetMappingFile.model_validate(mapping)
    except ValidationError:
        return None
    return mapping


def _summary(report: ImportReport) -> dict[str, Any]:
    """What an import did, kept to show on the upload's page."""
    return {
        "reviews": report.reviews,
        "added": report.added,
        "unchanged": report.unchanged,
        "created_agencies": report.created_agencies,
        "imported_statuses": report.imported_statuses,
        "anchors": report.anchors,
        "indicators": report.indicators,
        "saved_mapping": report.saved_mapping,
    }
