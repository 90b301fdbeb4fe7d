"""The business manager's ``/admin/workflows`` pages: drafts, their YAML, diff, diagram, publish
and every version.

``/admin/workflows`` lists each workflow with its published version (who, when, why) and open
drafts, and creates a draft. A draft's page says whether it is ready to publish or lists its
problems, who changed what since the published version, the differences in words and in the
YAML, and the diagram with its table of transitions. The YAML page saves whatever is typed
(a draft may be invalid) and shows the engine's messages in the error summary and beside each
offending line. The publish page asks where items in states that disappear go and why the
workflow is changing; refusals (an invalid draft, stranded items, someone else publishing
first) are the GOV.UK error summary, with what was typed kept and nothing published. A
version's "Republish" makes a draft from it and opens its publish page: rolling back is a
publish like any other. ``engine.drafts`` keeps the drafts; every page is the business
manager's alone (anyone else gets the plain 404).
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Collection
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from fastapi_csrf_protect.exceptions import CsrfProtectError
from starlette.concurrency import run_in_threadpool

from engine import drafts, versions
from engine.consequences import preview
from engine.errors import (
    DraftChanged,
    DraftInvalid,
    DraftNotFound,
    DraftRefused,
    PublishConflict,
    PublishRefused,
    SpecError,
)
from engine.permissions import Permission
from engine.sessions import SignedIn
from engine.spec import WorkflowSpec, load_spec
from engine.spec.diff import describe, yaml_lines
from web import diagram
from web.access import Requires, page
from web.deps import Context, LinkDead, client_of

Manager = Annotated[SignedIn, Depends(Requires(Permission.ADMINISTER))]
WORKFLOWS = "/admin/workflows"
DRAFT = WORKFLOWS + "/drafts/{draft_id}"
# the form's YAML field as posted (percent-encoded: up to 3 bytes a character); the engine
# refuses a text past 1 MiB, in words
_MAX_TEXT = 4 * 1024 * 1024
PREVIEW_DAYS = 30  # the consequences preview's window: the emails of the next 30 days
_CONTEXT_LINES = 2  # lines shown above and below each problem's line
# the standalone diagram: an image, nothing to run or fetch
_DIAGRAM_CSP = "default-src 'none'; frame-ancestors 'none'"
_EXPIRED = (
    "This page was open too long to save safely. Check the text below and press the button again"
)


def workflow_path(name: str) -> str:
    return f"{WORKFLOWS}/{urllib.parse.quote(name, safe='')}"


def draft_path(draft_id: int, part: str = "") -> str:
    return DRAFT.format(draft_id=draft_id) + (f"/{part}" if part else "")


@dataclass(frozen=True, kw_only=True)
class ListedLine:
    """One line of the YAML shown around a problem; ``problems`` are those at this line."""

    number: int
    text: str
    problems: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class Excerpt:
    """The lines around one or more problems, for the YAML page."""

    first: int
    lines: tuple[ListedLine, ...]


def excerpts(text: str, problems: Collection[drafts.Problem]) -> list[Excerpt]:
    """Numbered excerpts of ``text`` around each problem's line, with its messages under it;
    overlapping excerpts are merged."""
    lines = text.splitlines() or [""]
    at: dict[int, list[str]] = {}
    for p in problems:
        if p.line:
            line = min(p.line, len(lines))
            at.setdefault(line, []).append(_problem_text(p))
    spans: list[list[int]] = []
    for line in sorted(at):
        lo, hi = max(1, line - _CONTEXT_LINES), min(len(lines), line + _CONTEXT_LINES)
        if spans and lo <= spans[-1][1] + 1:
            spans[-1][1] = max(spans[-1][1], hi)
        else:
            spans.append([lo, hi])
    return [
        Excerpt(
            first=lo,
            lines=tuple(
                ListedLine(number=n, text=lines[n - 1], problems=tuple(at.get(n, ())))
                for n in range(lo, hi + 1)
            ),
        )
        for lo, hi in spans
    ]


def _mapping_of(form: dict[str, str]) -> dict[str, str]:
    """The state mapping chosen on the publish page: ``map-OLD`` = NEW, blanks left out."""
    return {k.removeprefix("map-"): v for k, v in form.items() if k.startswith("map-") and v}


def _problem_text(p: drafts.Problem) -> str:
    return f"{p.path}: {p.message}" if p.path else p.message


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


def router(ctx: Context, known_templates: Collection[str] | None = None) -> APIRouter:
    """The pages; ``known_templates``: the email template names a workflow may use (None
    skips that check, as ``signoff workflow validate`` without templates would)."""
    routes = APIRouter()
    db = ctx.services.db

    def load(text: str) -> WorkflowSpec | None:
        try:
            return load_spec(text, "draft", known_templates)
        except SpecError:
            return None

    def draft_of(draft_id: str) -> drafts.Draft:
        if not draft_id.isdigit() or len(draft_id) > 12:
            raise LinkDead()
        with db.engine.connect() as conn:
            try:
                return drafts.get(conn, int(draft_id))
            except DraftNotFound:
                raise LinkDead() from None

    def base_of(draft: drafts.Draft) -> tuple[versions.VersionInfo, str]:
        with db.engine.connect() as conn:
            return (
                versions.version_info(conn, draft.base_version_id),
                versions.text_of(conn, draft.base_version_id),
            )

    def known_workflow(name: str) -> None:
        with db.engine.connect() as conn:
            if name not in versions.names(conn):
                raise LinkDead()

    async def form_of(request: Request, limit: int = 64 * 1024) -> tuple[dict[str, str], bool]:
        """The form's fields, and whether its CSRF token is good."""
        ctx.throttle.post(client_of(request))
        data = await request.form(max_files=0, max_fields=200, max_part_size=limit)
        form = {k: str(v) for k, v in data.items() if isinstance(v, str)}
        try:
            await ctx.csrf().validate_csrf(request)
        except CsrfProtectError:
            return form, False
        return form, True

    # --- the list and the versions ----------------------------------------------------

    @routes.get(WORKFLOWS)
    def list_workflows(request: Request, who: Manager) -> Response:
        with db.engine.connect() as conn:
            listed = []
            for name in versions.names(conn):
                newest = versions.history(conn, name)[0]
                listed.append(
                    {
                        "name": name,
                        "label": ctx.services.specs.get(conn, newest.id).model.label,
                        "version": newest,
                        "drafts": drafts.list_open(conn, name),
                        "path": workflow_path(name),
                    }
                )
        return page(ctx, request, who, "workflows.html", workflows=listed, draft_path=draft_path)

    @routes.post(WORKFLOWS + "/{name}/drafts")
    async def create_draft(request: Request, name: str, who: Manager) -> Response:
        known_workflow(name)
        if not (await form_of(request))[1]:
            raise LinkDead()

        def create() -> int:
            with db.write() as conn:
                return drafts.create(
                    conn, workflow=name, author=who.person.email, now=ctx.clock()
                ).id

        return RedirectResponse(draft_path(await run_in_threadpool(create)), status_code=303)

    @routes.get(WORKFLOWS + "/{name}/versions")
    def list_versions(request: Request, name: str, who: Manager) -> Response:
        known_workflow(name)
        with db.engine.connect() as conn:
            history = versions.history(conn, name)
            label = ctx.services.specs.get(conn, history[0].id).model.label
        published = request.query_params.get("published", "")
        return page(
            ctx, request, who, "workflows_versions.html", workflow=name, label=label,
            versions=history, path=workflow_path(name),
            published=int(published) if published.isdigit() and len(published) < 9 else None,
        )  # fmt: skip

    @routes.post(WORKFLOWS + "/{name}/versions/{version}/republish")
    async def republish(request: Request, name: str, version: str, who: Manager) -> Response:
        known_workflow(name)
        with db.engine.connect() as conn:
            found = [v for v in versions.history(conn, name) if str(v.version) == version]
        if not found:
            raise LinkDead()
        if not (await form_of(request))[1]:
            raise LinkDead()

        def create() -> int:
            with db.write() as conn:
                return drafts.create(
                    conn, workflow=name, author=who.person.email, now=ctx.clock(),
                    from_version_id=found[0].id,
                ).id  # fmt: skip

        made = await run_in_threadpool(create)
        return RedirectResponse(draft_path(made, "publish"), status_code=303)

    # --- one draft ----------------------------------------------------------------------

    @routes.get(DRAFT)
    def show_draft(request: Request, draft_id: str, who: Manager) -> Response:
        draft = draft_of(draft_id)
        base, base_text = base_of(draft)
        problems = drafts.check(draft.text, known_templates, workflow=draft.workflow)
        spec, old = load(draft.text), load(base_text)
        words = describe(old, spec) if spec is not None and old is not None else None
        drawn, drawing_missing = None, False
        if spec is not None:
            try:
                drawn = diagram.svg(spec, ident="draft-diagram", fit=True)
            except diagram.DiagramUnavailable:
                drawing_missing = True
        return page(
            ctx, request, who, "workflows_draft.html", draft=draft, base=base,
            problems=problems, words=words, diff=yaml_lines(base_text, draft.text),
            unchanged=draft.text == base_text, spec=spec, svg=drawn,
            drawing_missing=drawing_missing,
            transitions=diagram.transitions(spec) if spec is not None else [],
            path=draft_path(draft.id), workflow_path=workflow_path(draft.workflow),
        )  # fmt: skip

    @routes.get(DRAFT + "/diagram.svg")
    def diagram_file(draft_id: str, who: Manager) -> Response:
        spec = load(draft_of(draft_id).text)
        if spec is None:
            raise LinkDead()
        try:
            drawn = diagram.svg(spec, ident="diagram")
        except diagram.DiagramUnavailable:
            raise LinkDead() from None
        return Response(
            drawn, media_type="image/svg+xml", headers={"Content-Security-Policy": _DIAGRAM_CSP}
        )

    def yaml_page(
        request: Request,
        who: SignedIn,
        draft: drafts.Draft,
        *,
        text: str | None = None,
        status: int = 200,
        refusal: str | None = None,
    ) -> Response:
        shown = draft.text if text is None else text
        problems = [] if refusal else drafts.check(shown, known_templates, workflow=draft.workflow)
        errors = [
            {"text": f"Line {p.line}: {_problem_text(p)}" if p.line else _problem_text(p),
             "href": f"#line-{p.line}" if p.line else "#text"}
            for p in problems
        ]  # fmt: skip
        if refusal:
            errors = [{"text": refusal, "href": "#text"}]
        field_error = refusal or (
            f"{len(problems)} problem(s) in the YAML: each is shown under its line below"
            if problems
            else None
        )
        return page(
            ctx, request, who, "workflows_yaml.html", status=status, draft=draft, text=shown,
            errors=errors, field_error=field_error, excerpts=excerpts(shown, problems),
            saved=request.query_params.get("saved") == "1" and not refusal,
            path=draft_path(draft.id), workflow_path=workflow_path(draft.workflow),
        )  # fmt: skip

    @routes.get(DRAFT + "/yaml")
    def edit_yaml(request: Request, draft_id: str, who: Manager) -> Response:
        return yaml_page(request, who, draft_of(draft_id))

    @routes.post(DRAFT + "/yaml")
    async def save_yaml(request: Request, draft_id: str, who: Manager) -> Response:
        draft = draft_of(draft_id)
        form, good = await form_of(request, _MAX_TEXT)
        text = form.get("text", "").replace("\r\n", "\n")
        if not good:  # kept: what was typed is shown again, saved by a second press
            return yaml_page(request, who, draft, text=text, status=400, refusal=_EXPIRED)
        revision = form.get("revision", "")
        expected = int(revision) if revision.isdigit() and len(revision) < 9 else -1

        def save() -> None:
            with db.write() as conn:
                drafts.save_text(
                    conn, draft.id, text=text, author=who.person.email, now=ctx.clock(),
                    expected_revision=expected,
                )  # fmt: skip

        try:
            await run_in_threadpool(save)
        except DraftChanged as exc:
            said = (
                f"{exc.by} saved this draft at {ctx.pages.env.filters['long_time'](exc.at)}, "
                "after you opened it, so your text was not saved. It is kept below: copy your "
                "changes, open the draft again and make them there"
            )
            return yaml_page(request, who, draft_of(draft_id), text=text, status=409,
                             refusal=said)  # fmt: skip
        except DraftRefused as exc:
            return yaml_page(request, who, draft, text=text, status=422,
                             refusal=_sentence(exc.problem))  # fmt: skip
        return RedirectResponse(draft_path(draft.id, "yaml") + "?saved=1", status_code=303)

    @routes.post(DRAFT + "/discard")
    async def discard(request: Request, draft_id: str, who: Manager) -> Response:
        draft = draft_of(draft_id)
        if not (await form_of(request))[1] or not draft.is_open:
            raise LinkDead()

        def close() -> None:
            with db.write() as conn:
                drafts.discard(conn, draft.id, author=who.person.email, now=ctx.clock())

        await run_in_threadpool(close)
        return RedirectResponse(WORKFLOWS, status_code=303)

    # --- publishing ---------------------------------------------------------------------

    def publish_page(
        request: Request,
        who: SignedIn,
        draft: drafts.Draft,
        *,
        form: dict[str, str] | None = None,
        status: int = 200,
        errors: list[dict[str, str]] | None = None,
        field_errors: dict[str, str] | None = None,
        stranded: list[str] | None = None,
    ) -> Response:
        base, base_text = base_of(draft)
        spec = load(draft.text)
        problems = drafts.check(draft.text, known_templates, workflow=draft.workflow)
        with db.engine.connect() as conn:
            to_map = drafts.states_to_map(conn, ctx.services, draft, spec) if spec else []
            latest = versions.history(conn, draft.workflow)[0]
        old = load(base_text)
        mapping = _mapping_of(form or {})
        consequences = None
        if spec is not None and draft.is_open:
            try:
                consequences = preview(
                    ctx.services, workflow=draft.workflow, candidate=spec, mapping=mapping,
                    now=ctx.clock(), days=PREVIEW_DAYS,
                )  # fmt: skip
            except SpecError:  # a mapping to a state the draft lacks: the refusal says so
                consequences = None
        return page(
            ctx, request, who, "workflows_publish.html", status=status, draft=draft,
            base=base, latest=latest, spec=spec, problems=problems, to_map=to_map,
            words=describe(old, spec) if spec is not None and old is not None else None,
            form=form or {}, errors=errors or [], field_errors=field_errors or {},
            stranded=stranded or [], path=draft_path(draft.id),
            workflow_path=workflow_path(draft.workflow),
            consequences=consequences,
        )  # fmt: skip

    @routes.get(DRAFT + "/publish")
    def confirm_publish(request: Request, draft_id: str, who: Manager) -> Response:
        return publish_page(request, who, draft_of(draft_id))

    @routes.post(DRAFT + "/publish")
    async def publish(request: Request, draft_id: str, who: Manager) -> Response:
        draft = draft_of(draft_id)
        form, good = await form_of(request)
        if not good:
            return publish_page(
                request, who, draft, form=form, status=400,
                errors=[{"text": _EXPIRED, "href": "#note"}],
            )  # fmt: skip
        mapping = _mapping_of(form)
        if form.get("action") == "preview":  # the consequences of the choices made, again
            return publish_page(request, who, draft, form=form)

        def publish_now() -> int:
            with db.write() as conn:
                return drafts.publish(
                    conn, ctx.services, draft.id, author=who.person.email,
                    note=form.get("note", ""), mapping=mapping, now=ctx.clock(),
                    known_templates=known_templates,
                ).version  # fmt: skip

        def refused(status: int, errors: list[dict[str, str]], **kw: Any) -> Response:
            return publish_page(
                request, who, draft_of(draft_id), form=form, status=status, errors=errors, **kw
            )

        try:
            version = await run_in_threadpool(publish_now)
        except DraftInvalid as exc:
            yaml = draft_path(draft.id, "yaml")
            return refused(422, [
                {"text": f"Line {p.line}: {_problem_text(p)}" if p.line else _problem_text(p),
                 "href": f"{yaml}#line-{p.line}" if p.line else yaml}
                for p in exc.problems if isinstance(p, drafts.Problem)
            ])  # fmt: skip
        except DraftRefused as exc:
            if exc.field == "note":
                message = (
                    "Enter why the workflow is changing"
                    if "required" in exc.problem
                    else _sentence(exc.problem)
                )
                return refused(422, [{"text": message, "href": "#note"}],
                               field_errors={"note": message})  # fmt: skip
            return refused(409 if exc.field == "status" else 422,
                           [{"text": _sentence(exc.problem), "href": "#summary"}])  # fmt: skip
        except PublishConflict as exc:
            when = ctx.pages.env.filters["long_time"](exc.at)
            message = (
                f"{exc.by} published version {exc.latest} on {when}, after this draft was "
                f"started from version {exc.base}. Publishing it would undo their change: "
                f"create a new draft from version {exc.latest} and make your change there"
            )
            return refused(409, [{"text": message, "href": "#summary"}])
        except PublishRefused as exc:
            field_errors = {
                f"map-{s}": f"Choose where the items in {s} go: the new version lacks it"
                for s in exc.unmapped
            }
            errors = [
                {"text": f"{len(exc.items)} item(s) would be left in a state the new version "
                 "lacks: choose a state for each below", "href": "#stranded"},
                *({"text": m, "href": f"#{k}"} for k, m in field_errors.items()),
            ]  # fmt: skip
            return refused(422, errors, field_errors=field_errors, stranded=exc.items)
        except SpecError as exc:  # a mapping to a state the draft lacks (a tampered form)
            old = exc.path.partition("=")[0]
            message = _sentence(exc.problem)
            return refused(422, [{"text": message, "href": f"#map-{old}"}],
                           field_errors={f"map-{old}": message})  # fmt: skip
        where = workflow_path(draft.workflow) + f"/versions?published={version}"
        return RedirectResponse(where, status_code=303)

    return routes
