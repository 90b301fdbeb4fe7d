"""Taking an action on an item from its page: one form per action, built from what the
workflow's transition requires.

``POST /items/{review}/{ref}@{agency}/{trigger}`` fires ``trigger`` on that agency's item as
the signed-in person, when it is among the actions they may take now (``engine.actions``;
otherwise the plain 404). The fields follow the transition's ``requires``: a reason, a
proposed due date (asking for more time), a meeting date, a RAG, evidence. Evidence goes
through the item's live evidence request (``engine.requests.answer``: the reply page's upload
checks and its messages); everything else through ``engine.fire``.

Every form carries the CSRF token and the item's ``version`` and ``seq`` as loaded: when the
item changed since (someone acted first, new evidence arrived), nothing is written and the
conflict page shows what changed. A refused form re-shows the item page with the GOV.UK error
summary, the message beside the field and what was typed; nothing is stored.

New kinds of action (the panel's, the auditor's) need no new route: a transition's
requirements choose its fields (``templates/item_action.html``).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from fastapi_csrf_protect.exceptions import CsrfProtectError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException

from engine.actions import Action
from engine.dossier import AgencyItem, Dossier
from engine.errors import (
    BadInput,
    ConcurrentUpdate,
    FireError,
    GuardFailed,
    Refusal,
    RequestRefused,
    TransitionNotAllowed,
    UploadRefused,
)
from engine.fire import FireRequest, fire
from engine.permissions import Permission
from engine.requests.answer import Upload, answer
from engine.sessions import SignedIn
from engine.spec import Requirement
from engine.store.tables import Rag
from web import urls
from web.access import Requires, page
from web.deps import Context, LinkDead, client_of
from web.filters import has_control
from web.items import FormState, item_page, load_dossier, split_ref
from web.pages import long_date
from web.reply import REFUSED, upload_limits

_MAX_REASON = 5000
_TIMED_OUT = "This page timed out or was opened in another tab. Check what you typed and try again."
_CONTROL = "{what} must only include letters, numbers, spaces, line breaks and punctuation"
_NOT_NOW = (
    "You cannot do this on this item now. If you think you should be able to, ask the "
    "board's business manager."
)
_NAMES = {
    Requirement.REASON: "reason",
    Requirement.DUE_DATE: "due_date",
    Requirement.MEETING_DATE: "meeting_date",
    Requirement.RAG: "rag",
    Requirement.EVIDENCE: "statement",
}
_WORDS = {  # how a missing or wrong value is named in a message
    "due_date": "the date you are asking for",
    "meeting_date": "the date of the panel meeting",
}


def _date(
    form: FormData, name: str, errors: dict[str, str], values: dict[str, str]
) -> dt.date | None:
    parts = {p: str(form.get(f"{name}-{p}") or "").strip() for p in ("day", "month", "year")}
    values.update({f"{name}-{p}": v[:10] for p, v in parts.items()})
    words = _WORDS.get(name, "the date")
    if not any(parts.values()):
        errors[name] = f"Enter {words}"
        return None
    missing = [p for p, v in parts.items() if not v]
    if missing:
        errors[name] = f"{words[0].upper()}{words[1:]} must include a {missing[0]}"
        return None
    try:
        return dt.date(int(parts["year"]), int(parts["month"]), int(parts["day"]))
    except ValueError:
        errors[name] = f"{words[0].upper()}{words[1:]} must be a real date"
        return None


def router(ctx: Context) -> APIRouter:
    routes = APIRouter()
    limits = upload_limits(ctx)

    @routes.post(urls.ITEM_ACTION)
    async def act(
        request: Request,
        review: str,
        ref: str,
        trigger: str,
        who: Annotated[SignedIn, Depends(Requires(Permission.ACT_ON_ITEMS))],
    ) -> Response:
        ctx.throttle.post(client_of(request))
        base, agency = split_ref(ref)
        found = await run_in_threadpool(load_dossier, ctx, who, review, ref)
        item = found.item(agency) if agency else (found.items[0] if len(found.items) == 1 else None)
        if item is None or trigger not in found.labels:
            raise LinkDead()
        agency = str(item.view["agency"])
        try:
            form = await request.form(max_files=limits.max_files + 1, max_fields=20)
        except HTTPException:
            state = FormState(agency=agency, trigger=trigger, errors={
                "files": f"Select at most {limits.max_files} files at once. "
                "Send the rest in another reply."})  # fmt: skip
            return item_page(ctx, request, who, found, form=state, status=400)
        try:
            return await _act(request, who, found, item, trigger, form, review, base, agency)
        finally:
            await form.close()

    async def _act(
        request: Request, who: SignedIn, found: Dossier, item: AgencyItem, trigger: str,
        form: FormData, review: str, base: str, agency: str,
    ) -> Response:  # fmt: skip
        values: dict[str, str] = {}
        errors: dict[str, str] = {}
        reason = str(form.get("reason") or "").strip()
        statement = str(form.get("statement") or "").strip()
        values.update(reason=reason, statement=statement, rag=str(form.get("rag") or ""))
        try:
            await ctx.csrf().validate_csrf(request)
        except CsrfProtectError:
            action = item.action(trigger)
            if action is None:
                raise LinkDead() from None
            errors[_first_field(action)] = _TIMED_OUT
            state = FormState(agency=agency, trigger=trigger, values=values, errors=errors)
            return item_page(ctx, request, who, found, form=state, status=400)
        seen_version, seen_seq = _whole(form.get("version")), _whole(form.get("seq"))
        if seen_version is None or seen_seq is None:
            raise LinkDead()
        if seen_version != item.view["version"]:  # changed since the page was loaded
            return await run_in_threadpool(_conflict, request, who, found, item, seen_seq)
        action = item.action(trigger)
        if action is None:  # not theirs to take, now or ever: the same 404 as a wrong address
            raise LinkDead()
        needs = set(action.requires)
        if Requirement.REASON in needs:
            if not reason:
                errors["reason"] = "Enter a reason"
            elif len(reason) > _MAX_REASON:
                errors["reason"] = f"Reason must be {_MAX_REASON} characters or fewer"
            elif has_control(reason):
                errors["reason"] = _CONTROL.format(what="Reason")
        today = ctx.services.calendar.local(ctx.clock()).date()
        due = _date(form, "due_date", errors, values) if Requirement.DUE_DATE in needs else None
        current = dt.date.fromisoformat(item.view["due"]) if item.view["due"] else None
        if due is not None and due <= today:
            errors["due_date"] = "The date you are asking for must be in the future"
        elif due is not None and current is not None and due <= current:
            errors["due_date"] = (
                "The date you are asking for must be later than the current due date, "
                f"{long_date(current)}"
            )
        meeting = (
            _date(form, "meeting_date", errors, values)
            if Requirement.MEETING_DATE in needs
            else None
        )
        if meeting is not None and meeting > today:
            errors["meeting_date"] = "The date of the panel meeting must be today or in the past"
        rag = None
        if Requirement.RAG in needs:
            if values["rag"] in {r.value for r in Rag}:
                rag = Rag(values["rag"])
            else:
                errors["rag"] = "Select red, amber or green"
        uploads = [
            Upload(filename=f.filename or "", data=await f.read())
            for f in form.getlist("files")
            if isinstance(f, UploadFile) and (f.filename or f.size)
        ]
        if Requirement.EVIDENCE in needs and item.request is None:
            raise LinkDead()  # evidence goes through the live request; the page offered none
        if Requirement.EVIDENCE in needs and not statement and not uploads:
            errors["statement"] = REFUSED[Refusal.EMPTY]
        elif Requirement.EVIDENCE in needs and has_control(statement):
            errors["statement"] = _CONTROL.format(what="Statement")
        if errors:
            state = FormState(agency=agency, trigger=trigger, values=values, errors=errors)
            return item_page(ctx, request, who, found, form=state, status=422)
        try:
            if Requirement.EVIDENCE in needs:
                await run_in_threadpool(
                    lambda: answer(
                        ctx.services, str(item.request), actor=who.person.email,
                        statement=statement, uploads=uploads, now=ctx.clock(), limits=limits,
                        channel="web", expected_version=seen_version,
                    )
                )  # fmt: skip
            else:
                await run_in_threadpool(
                    fire,
                    ctx.services,
                    FireRequest(
                        item=int(item.view["item_id"]), trigger=trigger, actor=who.person.email,
                        now=ctx.clock(), reason=reason or None, rag=rag, meeting_date=meeting,
                        due_date=due, expected_version=seen_version, channel="web",
                    ),
                )  # fmt: skip
        except (ConcurrentUpdate, TransitionNotAllowed, GuardFailed):
            # someone acted first: the state, or what the guard reads, moved under the form
            return await run_in_threadpool(_conflict, request, who, found, item, seen_seq)
        except UploadRefused as exc:
            errors["files"] = str(exc)
        except RequestRefused as exc:
            errors["statement"] = REFUSED[exc.reason]
        except BadInput as exc:
            field = "due_date" if Requirement.DUE_DATE in needs else "reason"
            errors[field] = exc.problem[:1].upper() + exc.problem[1:]
        except FireError:  # refused for who they are now (roles changed): worded, never a 500
            errors[_first_field(action)] = _NOT_NOW
        if errors:
            state = FormState(agency=agency, trigger=trigger, values=values, errors=errors)
            return item_page(ctx, request, who, found, form=state, status=422)
        target = urls.item_path(review, base, agency) + "?done=" + trigger
        return RedirectResponse(target, status_code=303)

    def _conflict(
        request: Request, who: SignedIn, found: Dossier, item: AgencyItem, seen_seq: int
    ) -> Response:
        ref = f"{found.rec['ref']}@{item.view['agency']}"
        fresh = load_dossier(ctx, who, found.rec["review"]["id"], ref)
        now_item = fresh.items[0]
        changes = [e for e in now_item.history if e.seq > seen_seq]
        return page(
            ctx, request, who, "conflict.html", status=409, item=now_item, rec=fresh.rec,
            changes=changes,
        )  # fmt: skip

    return routes


def _first_field(action: Action) -> str:
    """The field a message about the whole form is shown beside."""
    return _NAMES[action.requires[0]] if action.requires else "reason"


def _whole(value: object) -> int | None:
    text = str(value or "")
    return int(text) if text.isascii() and text.isdigit() and len(text) < 10 else None
