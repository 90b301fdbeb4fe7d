"""The panel's and internal audit's pages: the queues and the decision form.

- ``/panel``: items waiting for a decision the signed-in person may take now (the panel's
  challenge or sign-off, extension requests, closing, scheduling a re-audit), oldest first.
- ``/audit``: items waiting for a confirmation (internal audit's, and the re-audit).
- ``/items/{review}/{ref}/decide/{trigger}``: one of the workflow's triggers on one item
  (``ref`` is ``R1`` or ``R1@agency``). The fields are the transition's ``requires``; the
  page carries the item's version, its last event and the evidence on file, and the decision
  is fired with them as ``expected_version`` and ``expected_evidence``. When the item changed
  meanwhile the form comes back (409) with what changed and what was typed, at the new
  version. A person who may not take the decision is told why and who may instead. Every
  action on the item page links here (``?back=`` the item page), the agency's evidence and
  requests for more time included: there is no other form that fires a trigger.

Which queue an item is on, and which actions are offered, is read from the workflow
(``engine.queue``, ``engine.decisions``); nothing here names a state or a trigger.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from fastapi_csrf_protect.exceptions import CsrfProtectError
from itsdangerous import BadSignature, URLSafeSerializer
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException

from engine import decisions, queue
from engine.decisions import DecisionView, Refused
from engine.errors import (
    BadInput,
    ConcurrentUpdate,
    FireError,
    GuardFailed,
    ItemChanged,
    MissingInput,
    NotPermitted,
    RequestRefused,
    RoleNotAllowed,
    SeparationOfDuties,
    TransitionNotAllowed,
    UploadRefused,
)
from engine.fire import FireRequest
from engine.permissions import Permission
from engine.requests.answer import Upload
from engine.sessions import SignedIn
from engine.spec import Requirement
from engine.spec.moves import Owed
from engine.timeline import Entry
from engine.uploads import UploadLimits
from web import urls
from web.access import Requires, page
from web.decision_form import DecisionForm
from web.deps import Context, LinkDead, client_of
from web.reply import REFUSED

PANEL, AUDIT, DECIDE = urls.PANEL, urls.AUDIT, urls.DECIDE
decide_path = urls.decide_path
_QUEUES = {PANEL: Owed.DECISION, AUDIT: Owed.CONFIRMATION}
_MB = 1024 * 1024
_FIELD_OF = {
    Requirement.REASON: "reason",
    Requirement.RAG: "rag",
    Requirement.MEETING_DATE: "meeting_date-day",
    Requirement.DUE_DATE: "due_date-day",
    Requirement.EVIDENCE: "statement",
}


def router(ctx: Context) -> APIRouter:
    routes = APIRouter()
    limits = UploadLimits(
        max_file_bytes=ctx.settings.max_upload_mb * _MB, max_files=ctx.settings.max_upload_files
    )
    signer = URLSafeSerializer(ctx.secret, salt="signoff-decided")

    def queue_page(request: Request, who: SignedIn, path: str) -> Response:
        waiting = queue.awaiting(ctx.services, who.person.email, _QUEUES[path])
        done = None
        try:
            if "done" in request.query_params:
                done = signer.loads(request.query_params["done"])
        except BadSignature:
            done = None
        return page(
            ctx, request, who, "queue.html", waiting=waiting, path=path, done=done,
            decide_path=decide_path,
        )  # fmt: skip

    @routes.get(PANEL)
    def panel(
        request: Request, who: Annotated[SignedIn, Depends(Requires(Permission.ACT_ON_ITEMS))]
    ) -> Response:
        return queue_page(request, who, PANEL)

    @routes.get(AUDIT)
    def audit(
        request: Request, who: Annotated[SignedIn, Depends(Requires(Permission.ACT_ON_ITEMS))]
    ) -> Response:
        return queue_page(request, who, AUDIT)

    def load(who: SignedIn, review: str, ref: str, trigger: str) -> DecisionView:
        """The decision page's view; LinkDead when there is no such item or trigger, or the
        person may not see the item's agency (the same 404 either way)."""
        bare, _, agency = ref.partition("@")
        found = decisions.view(
            ctx.services, review, bare, agency or None, trigger, who.person.email
        )
        if found is None or not who.person.may(Permission.ACT_ON_ITEMS, found.agency_id):
            raise LinkDead()
        return found

    def form_page(
        request: Request,
        who: SignedIn,
        view: DecisionView,
        *,
        form: DecisionForm | None = None,
        status: int = 200,
        changes: list[Entry] | None = None,
        refused: Refused | None = None,
        back: str = PANEL,
        new_evidence: list[Any] | None = None,
    ) -> Response:
        form = form or DecisionForm()
        errors = [
            {"text": text, "href": f"#{'meeting_date-day' if f == 'meeting_date' else f}"}
            for f, text in form.errors.items()
        ]
        return page(
            ctx, request, who, "decide.html", status=status, view=view, form=form,
            errors=errors, changes=changes, refused=refused or view.refused, back=back,
            new_evidence=new_evidence or [],
            item_href=urls.item_path(view.review_id, view.ref, view.agency_id),
            action=decide_path(view.review_id, view.ref, view.agency_id, view.trigger, back),
            requires={r.value for r in view.requires}, limits=limits,
        )  # fmt: skip

    @routes.get(DECIDE)
    def decide_form(
        request: Request,
        review: str,
        ref: str,
        trigger: str,
        who: Annotated[SignedIn, Depends(Requires(Permission.ACT_ON_ITEMS))],
    ) -> Response:
        view = load(who, review, ref, trigger)
        return form_page(request, who, view, back=_back(request, view))

    @routes.post(DECIDE)
    async def decide(
        request: Request,
        review: str,
        ref: str,
        trigger: str,
        who: Annotated[SignedIn, Depends(Requires(Permission.ACT_ON_ITEMS))],
    ) -> Response:
        ctx.throttle.post(client_of(request))
        view = await run_in_threadpool(load, who, review, ref, trigger)
        back = _back(request, view)
        try:
            posted = await request.form(max_files=limits.max_files + 1, max_fields=30)
        except HTTPException:
            form = DecisionForm(errors={"files": f"Select at most {limits.max_files} files"})
            return form_page(request, who, view, form=form, status=400, back=back)
        try:
            form = DecisionForm.read(posted)
            try:
                await ctx.csrf().validate_csrf(request)
            except CsrfProtectError:
                form.errors["reason"] = (
                    "This page timed out or was opened in another tab. Check your answers "
                    "and send them again."
                )
                return form_page(request, who, view, form=form, status=400, back=back)
            files = [
                f
                for f in posted.getlist("files")
                if isinstance(f, UploadFile) and (f.filename or f.size)
            ]
            uploads = [Upload(filename=f.filename or "", data=await f.read()) for f in files]
        finally:
            await posted.close()
        return await run_in_threadpool(_fire, request, who, view, form, uploads, back)

    def _fire(
        request: Request,
        who: SignedIn,
        view: DecisionView,
        form: DecisionForm,
        uploads: list[Upload],
        back: str,
    ) -> Response:
        seen = form.seen()
        if seen is None:
            raise LinkDead()
        version, seq, evidence = seen
        on_file = tuple(e.id for e in view.evidence)
        if version != view.version or sorted(evidence) != sorted(on_file):
            # changed since the page was loaded: say so before anything typed is checked
            stale = ItemChanged(
                view.key, view.trigger, seen_version=version, version=view.version,
                seen_evidence=evidence, evidence=on_file,
            )  # fmt: skip
            return conflict(request, who, form, view, seq, back, stale)
        now = ctx.clock()
        today = ctx.services.calendar.local(now).date()
        values: dict[str, Any] = form.check(
            view.requires, today=today, has_files=bool(uploads), current_due=view.due
        )
        if uploads and Requirement.EVIDENCE not in view.requires:
            form.errors["reason"] = "This decision does not take files"
        if form.errors:
            return form_page(request, who, view, form=form, status=422, back=back)
        fire_request = FireRequest(
            item=view.item_id,
            trigger=view.trigger,
            actor=who.person.email,
            now=now,
            channel="web",
            expected_version=version,
            expected_evidence=evidence,
            **values,
        )
        try:
            decisions.decide(
                ctx.services, fire_request, statement=form.statement, uploads=uploads,
                limits=limits,
            )  # fmt: skip
        except ConcurrentUpdate as exc:
            return conflict(request, who, form, view, seq, back, exc)
        except UploadRefused as exc:
            form.errors["files"] = str(exc)
            return form_page(request, who, view, form=form, status=422, back=back)
        except RequestRefused as exc:  # the request it answers closed meanwhile
            form.errors["statement"] = REFUSED[exc.reason]
            return form_page(request, who, view, form=form, status=422, back=back)
        except MissingInput as exc:
            form.errors[_FIELD_OF.get(Requirement(exc.requirement), "reason")] = (
                f"Enter {exc.missing}"
            )
            return form_page(request, who, view, form=form, status=422, back=back)
        except BadInput as exc:
            form.errors["reason"] = exc.problem[:1].upper() + exc.problem[1:]
            return form_page(request, who, view, form=form, status=422, back=back)
        except (RoleNotAllowed, NotPermitted, SeparationOfDuties) as exc:
            fresh = load(who, view.review_id, _ref(view), view.trigger)
            why = fresh.refused or Refused(why=str(exc))
            return form_page(request, who, fresh, form=form, status=403, refused=why, back=back)
        except (GuardFailed, TransitionNotAllowed, FireError):
            fresh = load(who, view.review_id, _ref(view), view.trigger)
            return form_page(request, who, fresh, form=form, status=409, back=back)
        if back not in _QUEUES:  # the item page: it says what was done by the trigger's name
            return RedirectResponse(f"{back}?done={view.trigger}", status_code=303)
        done = signer.dumps({"key": view.key, "label": view.label})
        return RedirectResponse(f"{back}?done={done}", status_code=303)

    def conflict(
        request: Request,
        who: SignedIn,
        form: DecisionForm,
        view: DecisionView,
        seq: int,
        back: str,
        exc: ConcurrentUpdate,
    ) -> Response:
        """The form again, at the item's new version, with what changed since ``seq`` and
        what the person typed; nothing was written."""
        fresh = load(who, view.review_id, _ref(view), view.trigger)
        changes = decisions.changes_since(ctx.services, view.item_id, seq)
        seen = set(exc.seen_evidence) if isinstance(exc, ItemChanged) else set()
        new = [e for e in fresh.evidence if isinstance(exc, ItemChanged) and e.id not in seen]
        form.errors = {}
        return form_page(
            request, who, fresh, form=form, status=409, back=back, changes=changes,
            new_evidence=new,
        )  # fmt: skip

    return routes


def _ref(view: DecisionView) -> str:
    return f"{view.ref}@{view.agency_id}"


def _back(request: Request, view: DecisionView) -> str:
    """Where the page returns to: a queue, or this item's page (nothing else)."""
    back = request.query_params.get("back", PANEL)
    own = urls.item_path(view.review_id, view.ref, view.agency_id)
    return back if back in _QUEUES or back == own else PANEL
