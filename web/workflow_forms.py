"""The structured workflow editor: a draft's everyday settings changed through GOV.UK forms.

A draft's page (``web.workflows``) lists its states and transitions, each with "Change". A
state's page (``/admin/workflows/drafts/ID/states/NAME``) lists its settings — label, clock,
deadline, who is reminded and chased, reminders, chasing, digests, its escalation steps, its
emails and what its evidence requests ask for — each with "Change" leading to a page that
asks one thing (``.../states/open/chase``, ``.../states/open/escalation/2``); a transition's
page (``.../transitions/N``) likewise: label, who may do it, what it requires, who is told.

Saving makes the change with ``engine.spec.edits`` on the draft's text (comments and every
other line kept) and saves it with ``engine.drafts.save_text`` at the revision the form was
read from, which also records it in the admin log. A change the engine refuses (a duration
its parser cannot read, an unknown role, an empty label, steps out of order) is the GOV.UK
error summary and the engine's message at the field, with what was typed kept and nothing
saved. A form read before someone else saved the draft is refused naming who and when, with
what was typed kept; pressing Save again makes this one change on top of theirs. Every page
is the business manager's alone (anyone else gets the plain 404); a draft that is published
or discarded shows its settings without "Change".
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from fastapi_csrf_protect.exceptions import CsrfProtectError
from starlette.concurrency import run_in_threadpool

from engine import contacts, drafts
from engine.errors import DraftChanged, DraftNotFound, DraftRefused, EditRefused
from engine.permissions import Permission
from engine.sessions import SignedIn
from engine.spec import edits as E
from web.access import Requires, page
from web.deps import Context, LinkDead, client_of
from web.workflow_outline import Outline, deadline_of, steps_of
from web.workflow_questions import (
    TRANSITION_SETTINGS,
    Posted,
    Question,
    ask_step,
    state_settings,
    step_targets,
    step_words,
)

Manager = Annotated[SignedIn, Depends(Requires(Permission.ADMINISTER))]
DRAFT = "/admin/workflows/drafts/{draft_id}"
STATE = DRAFT + "/states/{state}"
STEP = STATE + "/escalation/{step}"
TRANSITION = DRAFT + "/transitions/{number}"
_NUMBER = re.compile(r"[1-9][0-9]{0,3}")
_TARGET = re.compile(r"\.to\[(\d+)\]$")
_EXPIRED = "This page was open too long to save safely. Check your answer and save again"


def draft_path(draft_id: int, part: str = "") -> str:
    return DRAFT.format(draft_id=draft_id) + (f"/{part}" if part else "")


def structure(draft: drafts.Draft) -> dict[str, Any] | None:
    """A draft's states and transitions with the addresses of their pages, for its page;
    None when its YAML cannot be read."""
    try:
        o = Outline(draft.text)
    except ValueError:
        return None
    return {
        "states": [
            {"name": s, "label": o.state_label(s), "href": draft_path(draft.id, f"states/{s}")}
            for s in o.states
        ],
        "transitions": [
            {"label": o.transition_label(i), "from": o.sources(i), "to": o.dest(i),
             "href": draft_path(draft.id, f"transitions/{i + 1}")}
            for i in range(len(o.transitions))
        ],
    }  # fmt: skip


def router(ctx: Context, known_templates: Collection[str] | None = None) -> APIRouter:
    """The pages; ``known_templates``: the email template names a workflow may use (None:
    not checked, and the emails page takes any name)."""
    routes = APIRouter()
    db = ctx.services.db
    templates = sorted(known_templates) if known_templates is not None else None
    settings = state_settings(templates)
    ctx.pages.env.globals["workflow_structure"] = structure

    def draft_of(draft_id: str) -> drafts.Draft:
        if not draft_id.isdigit() or len(draft_id) > 12:
            raise LinkDead()
        with db.engine.connect() as conn:
            try:
                return drafts.get(conn, int(draft_id))
            except DraftNotFound:
                raise LinkDead() from None

    def outline_of(draft: drafts.Draft) -> Outline | None:
        try:
            return Outline(draft.text)
        except ValueError:
            return None

    def state_of(draft: drafts.Draft, state: str) -> Outline:
        o = outline_of(draft)
        if o is None or state not in o.states:
            raise LinkDead()
        return o

    def index_of(o: Outline, number: str) -> int:
        if not _NUMBER.fullmatch(number) or int(number) > len(o.transitions):
            raise LinkDead()
        return int(number) - 1

    def open_draft(draft_id: str) -> drafts.Draft:
        draft = draft_of(draft_id)
        if not draft.is_open:
            raise LinkDead()
        return draft

    async def form_of(request: Request) -> tuple[Posted, int, bool]:
        """What was posted, the revision the form was read at, and whether its CSRF token
        is good."""
        ctx.throttle.post(client_of(request))
        data = await request.form(max_files=0, max_fields=200, max_part_size=64 * 1024)
        lists = {k: [str(v) for v in data.getlist(k) if isinstance(v, str)] for k in data}
        posted = Posted(lists)
        revision = posted.one("revision")
        expected = int(revision) if revision.isdigit() and len(revision) < 9 else -1
        try:
            await ctx.csrf().validate_csrf(request)
        except CsrfProtectError:
            return posted, expected, False
        return posted, expected, True

    def save(draft: drafts.Draft, edit: E.Edit, expected: int, author: str) -> None:
        """Raises:
        DraftChanged: saved by someone else since revision ``expected`` was read.
        EditRefused: the engine refuses the change.
        DraftRefused: the draft was closed meanwhile, or the result is too large.
        """
        if draft.revision != expected:
            raise DraftChanged(draft.id, expected=expected, revision=draft.revision,
                               by=draft.updated_by, at=draft.updated_at)  # fmt: skip
        text = E.apply(draft.text, edit, known_templates=known_templates)
        with db.write() as conn:
            drafts.save_text(conn, draft.id, text=text, author=author, now=ctx.clock(),
                             expected_revision=expected)  # fmt: skip

    def question_page(
        request: Request,
        who: SignedIn,
        draft: drafts.Draft,
        question: Question,
        *,
        caption: str,
        back: str,
        action: str,
        revision: int | None = None,
        status: int = 200,
        error: tuple[str, str] | None = None,
        remove: str | None = None,
    ) -> Response:
        names = [f.name for f in question.fields]
        field, message = error if error else ("", "")
        if error and field not in names:
            field = names[0]
        return page(
            ctx, request, who, "workflow_question.html", status=status, draft=draft,
            question=question, caption=caption, back=back, action=action,
            revision=draft.revision if revision is None else revision,
            errors=[{"text": message, "href": f"#{field}"}] if error else [],
            field_errors={field: message} if error else {}, remove=remove,
        )  # fmt: skip

    async def answer(
        request: Request,
        who: SignedIn,
        draft: drafts.Draft,
        *,
        ask: Callable[[Posted | None], Question],
        edit_of: Callable[[Posted], E.Edit],
        caption: str,
        back: str,
        done: str,
        field_of: Callable[[EditRefused, Posted], str] = lambda exc, _p: exc.field,
        check: Callable[[Posted], None] = lambda _p: None,
    ) -> Response:
        posted, expected, good = await form_of(request)
        shown = ask(posted)

        def again(status: int, field: str, message: str, revision: int | None = None) -> Response:
            return question_page(request, who, draft, shown, caption=caption, back=back,
                                 action=request.url.path, status=status,
                                 revision=expected if revision is None else revision,
                                 error=(field, message))  # fmt: skip

        if not good:
            return again(400, "", _EXPIRED)
        try:
            edit = edit_of(posted)
            check(posted)
            await run_in_threadpool(save, draft, edit, expected, who.person.email)
        except DraftChanged as exc:
            when = ctx.pages.env.filters["long_time"](exc.at)
            said = (
                f"{exc.by} saved this draft on {when}, after you opened this page, so your "
                "change was not saved. What you entered is kept below: check it and save "
                "again to make it on top of their change"
            )
            return again(409, "", said, revision=exc.revision)
        except EditRefused as exc:
            return again(422, field_of(exc, posted), _sentence(exc.problem))
        except DraftRefused as exc:
            return again(409 if exc.field == "status" else 422, "", _sentence(exc.problem))
        return RedirectResponse(f"{back}?saved={done}", status_code=303)

    # --- states -------------------------------------------------------------------------

    @routes.get(STATE)
    def show_state(request: Request, draft_id: str, state: str, who: Manager) -> Response:
        draft = draft_of(draft_id)
        o = state_of(draft, state)
        here = draft_path(draft.id, f"states/{state}")
        has_deadline = deadline_of(o.states[state]) is not None
        rows = [
            {"key": s.key, "value": s.shown(o, state), "href": f"{here}/{s.slug}"}
            for s in settings.values()
            if has_deadline or not s.deadline
        ]
        steps = [
            {"number": n, "words": step_words(o, step), "href": f"{here}/escalation/{n}"}
            for n, step in enumerate(steps_of(o.states[state]), start=1)
        ]
        return page(
            ctx, request, who, "workflow_state.html", draft=draft, state=state,
            label=o.state_label(state), rows=rows, steps=steps, has_deadline=has_deadline,
            path=here, draft_path=draft_path(draft.id), saved=_banner(request),
        )  # fmt: skip

    def setting_of(slug: str, o: Outline, state: str) -> Any:
        found = settings.get(slug)
        if found is None or (found.deadline and deadline_of(o.states[state]) is None):
            raise LinkDead()
        return found

    @routes.get(STATE + "/{setting}")
    def ask_state(
        request: Request, draft_id: str, state: str, setting: str, who: Manager
    ) -> Response:
        draft = open_draft(draft_id)
        o = state_of(draft, state)
        found = setting_of(setting, o, state)
        back = draft_path(draft.id, f"states/{state}")
        return question_page(
            request, who, draft, found.ask(o, state, None), caption=o.state_label(state),
            back=back, action=f"{back}/{setting}",
        )  # fmt: skip

    @routes.post(STATE + "/{setting}")
    async def save_state(
        request: Request, draft_id: str, state: str, setting: str, who: Manager
    ) -> Response:
        draft = open_draft(draft_id)
        o = state_of(draft, state)
        found = setting_of(setting, o, state)
        return await answer(
            request, who, draft, ask=lambda p: found.ask(o, state, p),
            edit_of=lambda p: found.edit(state, p), caption=o.state_label(state),
            back=draft_path(draft.id, f"states/{state}"), done=setting,
        )  # fmt: skip

    # --- escalation steps ---------------------------------------------------------------

    def step_of(o: Outline, state: str, step: str) -> int | None:
        """The step's index (None: 'new'); 404 for one that does not exist."""
        if deadline_of(o.states[state]) is None:
            raise LinkDead()
        if step == "new":
            return None
        if not _NUMBER.fullmatch(step) or int(step) > len(steps_of(o.states[state])):
            raise LinkDead()
        return int(step) - 1

    def known_contacts(posted: Posted) -> None:
        """Raises EditRefused (``contacts``) for an address nobody in the directory has."""
        _roles, addresses = step_targets(posted)
        with db.engine.connect() as conn:
            for address in addresses:
                if "@" in address and not contacts.roles_of(conn, address):
                    raise EditRefused(
                        "contacts",
                        f"no contact in the directory has the address {address!r}; check it, "
                        "or add them to the directory first",
                    )

    @routes.get(STEP)
    def ask_escalation(
        request: Request, draft_id: str, state: str, step: str, who: Manager
    ) -> Response:
        draft = open_draft(draft_id)
        o = state_of(draft, state)
        index = step_of(o, state, step)
        back = draft_path(draft.id, f"states/{state}")
        return question_page(
            request, who, draft, ask_step(o, state, index, None), caption=o.state_label(state),
            back=back, action=f"{back}/escalation/{step}",
            remove=None if index is None else f"{back}/escalation/{step}/remove",
        )  # fmt: skip

    @routes.post(STEP)
    async def save_escalation(
        request: Request, draft_id: str, state: str, step: str, who: Manager
    ) -> Response:
        draft = open_draft(draft_id)
        o = state_of(draft, state)
        index = step_of(o, state, step)

        def edit_of(p: Posted) -> E.Edit:
            roles, addresses = step_targets(p)
            urgent = p.one("urgent") == "yes"
            if index is None:
                return E.EscalationAdd(state=state, after=p.one("after"), to=roles + addresses,
                                       urgent=urgent)  # fmt: skip
            return E.EscalationChange(state=state, index=index, after=p.one("after"),
                                      to=roles + addresses, urgent=urgent)  # fmt: skip

        def field_of(exc: EditRefused, p: Posted) -> str:
            at = _TARGET.search(exc.path)
            if exc.field == "to" and at and int(at.group(1)) >= len(p.many("to")):
                return "contacts"  # the bad one was typed, not ticked
            return exc.field

        return await answer(
            request, who, draft, ask=lambda p: ask_step(o, state, index, p), edit_of=edit_of,
            caption=o.state_label(state), back=draft_path(draft.id, f"states/{state}"),
            done="escalation", field_of=field_of, check=known_contacts,
        )  # fmt: skip

    @routes.post(STEP + "/remove")
    async def remove_escalation(
        request: Request, draft_id: str, state: str, step: str, who: Manager
    ) -> Response:
        draft = open_draft(draft_id)
        o = state_of(draft, state)
        index = step_of(o, state, step)
        if index is None:
            raise LinkDead()
        return await answer(
            request, who, draft, ask=lambda p: ask_step(o, state, index, None),
            edit_of=lambda p: E.EscalationRemove(state=state, index=index),
            caption=o.state_label(state), back=draft_path(draft.id, f"states/{state}"),
            done="removed",
        )  # fmt: skip

    # --- transitions --------------------------------------------------------------------

    @routes.get(TRANSITION)
    def show_transition(request: Request, draft_id: str, number: str, who: Manager) -> Response:
        draft = draft_of(draft_id)
        o = outline_of(draft)
        if o is None:
            raise LinkDead()
        index = index_of(o, number)
        here = draft_path(draft.id, f"transitions/{number}")
        rows = [
            {"key": s.key, "value": s.shown(o, index), "href": f"{here}/{s.slug}"}
            for s in TRANSITION_SETTINGS.values()
        ]
        t = o.transitions[index]
        return page(
            ctx, request, who, "workflow_transition.html", draft=draft,
            label=o.transition_label(index), trigger=str(t.get("trigger", "")),
            sources=o.sources(index), dest=o.dest(index), rows=rows, path=here,
            draft_path=draft_path(draft.id), saved=_banner(request),
        )  # fmt: skip

    def transition_of(draft: drafts.Draft, number: str, setting: str) -> tuple[Outline, int, Any]:
        o = outline_of(draft)
        if o is None or setting not in TRANSITION_SETTINGS:
            raise LinkDead()
        return o, index_of(o, number), TRANSITION_SETTINGS[setting]

    @routes.get(TRANSITION + "/{setting}")
    def ask_transition(
        request: Request, draft_id: str, number: str, setting: str, who: Manager
    ) -> Response:
        draft = open_draft(draft_id)
        o, index, found = transition_of(draft, number, setting)
        back = draft_path(draft.id, f"transitions/{number}")
        return question_page(
            request, who, draft, found.ask(o, index, None), caption=o.transition_label(index),
            back=back, action=f"{back}/{setting}",
        )  # fmt: skip

    @routes.post(TRANSITION + "/{setting}")
    async def save_transition(
        request: Request, draft_id: str, number: str, setting: str, who: Manager
    ) -> Response:
        draft = open_draft(draft_id)
        o, index, found = transition_of(draft, number, setting)
        return await answer(
            request, who, draft, ask=lambda p: found.ask(o, index, p),
            edit_of=lambda p: found.edit(index, p), caption=o.transition_label(index),
            back=draft_path(draft.id, f"transitions/{number}"), done=setting,
        )  # fmt: skip

    return routes


_SAVED = {
    "label": "Label changed", "clock": "Clock changed", "deadline": "Deadline changed",
    "recipients": "Recipients changed", "reminders": "Reminders changed",
    "chase": "Chasing changed", "digest": "Digests changed", "templates": "Emails changed",
    "expects": "What evidence requests ask for changed", "escalation": "Escalation step saved",
    "removed": "Escalation step removed", "roles": "Who may do it changed",
    "requires": "What it requires changed", "notify": "Who is told changed",
}  # fmt: skip


def _banner(request: Request) -> str | None:
    return _SAVED.get(request.query_params.get("saved", ""))


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]
