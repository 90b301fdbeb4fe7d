"""The business manager's ``/admin/emails`` pages: the wording of each email, edited.

``/admin/emails`` lists the emails and whether each is changed from the shipped wording. An
email's page has its subject, text and HTML in textareas, a preview with sample values (the
text as sent; the HTML as escaped source, and rendered under a CSP that allows no script or
remote content at ``/admin/emails/NAME/rendered``), the version history, "Send me a test
email" (the current wording with sample values, through the outbox) and "Revert to the
shipped wording". Every save and preview goes through the notification sandbox's check: a
refusal is the GOV.UK error summary and an inline error at the field, naming the line, with
what was typed kept and nothing saved. ``engine.wording`` keeps the versions.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi_csrf_protect.exceptions import CsrfProtectError
from starlette.concurrency import run_in_threadpool

from engine import wording
from engine.errors import TemplateError
from engine.permissions import Permission
from engine.sessions import SignedIn
from web.access import Requires, page
from web.deps import Context, LinkDead, client_of

Manager = Annotated[SignedIn, Depends(Requires(Permission.ADMINISTER))]
SUBJECT = "Subject:"
_MAX_FIELD = 200_000
# the rendered HTML preview: no script, no remote anything, no form; framed by nobody
RENDERED_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'; sandbox"
)


def split(text_source: str) -> tuple[str, str]:
    """A text part as the editor shows it: the subject line's template, and the body."""
    first, _, rest = text_source.partition("\n")
    return first.removeprefix(SUBJECT).strip(), rest


def join(subject: str, body: str) -> str:
    return f"{SUBJECT} {subject.strip()}\n{body}"


def router(ctx: Context, book: wording.Book) -> APIRouter:
    routes = APIRouter()

    def known(name: str) -> str:
        if name not in book.names:
            raise LinkDead()
        return name

    def current_sources(name: str) -> tuple[str, str]:
        saved = wording.current(ctx.services).get(name)
        return (saved.text_source, saved.html_source) if saved else book.shipped(name)

    def edit_page(
        request: Request,
        who: SignedIn,
        name: str,
        *,
        status: int = 200,
        form: dict[str, str] | None = None,
        error: tuple[str, str] | None = None,
        preview: wording.Preview | None = None,
    ) -> Response:
        if form is None:
            text, html = current_sources(name)
            subject, body = split(text)
            form = {"subject": subject, "body": body, "html": html, "note": ""}
        field, message = error if error else (None, None)
        errors: list[dict[str, Any]] = []
        if field:
            errors = [{"text": message, "href": f"#{field}"}]
        return page(
            ctx,
            request,
            who,
            "emails_edit.html",
            status=status,
            email=name,
            form=form,
            errors=errors,
            error_field=field,
            error_text=message,
            preview=preview,
            versions=wording.history(ctx.services, name),
            sent=request.query_params.get("sent") == "1",
        )

    async def form_of(request: Request) -> tuple[dict[str, str], bool]:
        """The form, and whether its CSRF token is good."""
        ctx.throttle.post(client_of(request))
        data = await request.form(max_files=0, max_fields=10, max_part_size=_MAX_FIELD)
        form = {k: str(data.get(k) or "") for k in ("subject", "body", "html", "note", "action")}
        form["body"] = form["body"].replace("\r\n", "\n")
        form["html"] = form["html"].replace("\r\n", "\n")
        try:
            await ctx.csrf().validate_csrf(request)
        except CsrfProtectError:
            return form, False
        return form, True

    @routes.get("/admin/emails")
    def list_emails(request: Request, who: Manager) -> Response:
        saved = wording.current(ctx.services)
        emails = [
            {"name": n, "changed": n in saved, "version": saved[n] if n in saved else None}
            for n in sorted(book.names)
        ]
        return page(ctx, request, who, "emails.html", emails=emails)

    @routes.get("/admin/emails/{name}")
    def edit(request: Request, name: str, who: Manager) -> Response:
        return edit_page(request, who, known(name))

    @routes.post("/admin/emails/{name}")
    async def save(request: Request, name: str, who: Manager) -> Response:
        known(name)
        form, good = await form_of(request)
        if not good:  # kept: what was typed is shown again, saved by a second press
            return edit_page(request, who, name, status=400, form=form, error=_EXPIRED)
        text, html = join(form["subject"], form["body"]), form["html"]
        try:
            if "\n" in form["subject"] or "\r" in form["subject"]:
                raise TemplateError(name, "text", "the subject must be one line", 1)
            if form["action"] == "preview":
                shown = await run_in_threadpool(book.preview, name, text, html)
                return edit_page(request, who, name, form=form, preview=shown)
            await run_in_threadpool(
                lambda: wording.save(
                    ctx.services,
                    name=name,
                    text_source=text,
                    html_source=html,
                    author=who.person.email,
                    now=ctx.clock(),
                    check=book.check,
                    names=book.names,
                    note=form["note"],
                )
            )
        except TemplateError as exc:
            return edit_page(request, who, name, status=422, form=form, error=_where(exc))
        except wording.WordingRefused as exc:
            bad = ("note", _sentence(str(exc)))
            return edit_page(request, who, name, status=422, form=form, error=bad)
        return RedirectResponse(f"/admin/emails/{name}", status_code=303)

    @routes.post("/admin/emails/{name}/revert")
    async def revert(request: Request, name: str, who: Manager) -> Response:
        known(name)
        if not (await form_of(request))[1]:
            raise LinkDead()
        text, html = book.shipped(name)
        await run_in_threadpool(
            lambda: wording.revert(
                ctx.services,
                name=name,
                shipped_text=text,
                shipped_html=html,
                author=who.person.email,
                now=ctx.clock(),
                names=book.names,
            )
        )
        return RedirectResponse(f"/admin/emails/{name}", status_code=303)

    @routes.post("/admin/emails/{name}/test")
    async def send_test(request: Request, name: str, who: Manager) -> Response:
        known(name)
        if not (await form_of(request))[1]:
            raise LinkDead()
        await run_in_threadpool(
            lambda: wording.send_test(
                ctx.services, name=name, to=who.person.email, now=ctx.clock(), names=book.names
            )
        )
        return RedirectResponse(f"/admin/emails/{name}?sent=1", status_code=303)

    @routes.get("/admin/emails/{name}/rendered")
    def rendered(name: str, who: Manager) -> Response:
        shown = book.preview(known(name), *current_sources(name))
        return HTMLResponse(shown.html, headers={"Content-Security-Policy": RENDERED_CSP})

    return routes


_EXPIRED = (
    "subject",
    "This page was open too long to save safely. Check your changes below and save again",
)


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


def _where(error: TemplateError) -> tuple[str, str]:
    """The field a sandbox refusal is about, and the message naming its line there."""
    if error.part == "html":
        field, line = "html", error.line
    elif error.part == "text" and error.line == 1:
        field, line = "subject", None
    elif error.part == "text":
        field, line = "body", (error.line - 1 if error.line else None)
    else:
        return "note", _sentence(error.problem)
    where = f"line {line}: " if line else ""
    label = {"html": "HTML", "subject": "Subject", "body": "Text"}[field]
    return field, f"{label}, {where}{error.problem}"
