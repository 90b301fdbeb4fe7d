"""The business manager's directory editor: ``/admin/directory``.

``/admin/directory`` lists the agencies with their contacts and escalation ladders; an
agency's page changes its name, its ladder (Move up, Move down and Remove on each rung, Add a
rung: no dragging), its conflicts of interest and the internal auditors assigned to it; a
contact's page changes their name, address, roles and absence (dates and a deputy). Every
change goes through ``engine.directory`` (checked whole, recorded in the administrators'
log); a refusal is the GOV.UK error summary and an inline error at the field, with what was
typed kept and nothing changed. Importing and exporting files is ``web.directory_files``.

Every route needs ``Permission.ADMINISTER``; anyone else gets the plain 404. A rung's
buttons carry the role the page showed, so a ladder changed meanwhile is not edited blindly.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from fastapi_csrf_protect.exceptions import CsrfProtectError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from engine import contacts, directory
from engine.directory import DirectoryRefused, edits
from engine.directory.model import auditors_in
from engine.permissions import CONTACT_ROLES, Permission
from engine.sessions import SignedIn
from web.access import Requires, page
from web.deps import Context, LinkDead, client_of
from web.directory_form import FIELDS, ContactForm

Manager = Annotated[SignedIn, Depends(Requires(Permission.ADMINISTER))]
HOME = "/admin/directory"
AGENCY = HOME + "/agencies/{agency}"
NEW_AGENCY = HOME + "/new-agency"
CONTACT = AGENCY + "/contacts/{contact}"
NEW_CONTACT = AGENCY + "/new-contact"
EXPIRED = "This page was open too long to save safely. Check it and try again"
# what each done= says on the page it returns to
DONE = {
    "agency": "Agency added",
    "name": "Name saved",
    "ladder": "Escalation ladder saved",
    "conflict": "Conflicts of interest saved",
    "auditor": "Assigned auditors saved",
    "contact": "Contact saved",
    "removed": "Contact removed",
    "agency-removed": "Agency removed",
    "imported": "The file was imported",
}


def agency_path(agency: str) -> str:
    return AGENCY.format(agency=agency)


def router(ctx: Context) -> APIRouter:
    routes = APIRouter()

    def snapshot() -> directory.Snapshot:
        with ctx.services.db.engine.connect() as conn:
            return directory.read(conn)

    def offered(s: directory.Snapshot) -> list[str]:
        with ctx.services.db.engine.connect() as conn:
            named = contacts.published_contact_roles(conn, ctx.services.specs)
        return edits.known_roles(s, [*named, *CONTACT_ROLES])

    def entry(s: directory.Snapshot, agency: str) -> directory.AgencyEntry:
        found = s.get(agency)
        if found is None:
            raise LinkDead()
        return found

    async def posted(request: Request) -> FormData | None:
        """The form; None when its CSRF token does not hold."""
        ctx.throttle.post(client_of(request))
        form = await request.form(max_files=0, max_fields=60)
        try:
            await ctx.csrf().validate_csrf(request)
        except CsrfProtectError:
            return None
        return form

    async def change(who: SignedIn, edit: directory.Edit) -> None:
        await run_in_threadpool(
            directory.edit, ctx.services, edit, actor=who.person.email, now=ctx.clock()
        )

    def done(request: Request) -> str | None:
        return DONE.get(request.query_params.get("done", ""))

    @routes.get(HOME)
    def index(request: Request, who: Manager) -> Response:
        with ctx.services.db.engine.connect() as conn:
            agencies = contacts.listing(conn)
        return page(ctx, request, who, "directory_admin.html", agencies=agencies,
                    done=done(request))  # fmt: skip

    def new_agency_page(
        request: Request, who: SignedIn, *, status: int = 200,
        typed: dict[str, str] | None = None, errors: dict[str, str] | None = None,
    ) -> Response:  # fmt: skip
        errors = errors or {}
        return page(
            ctx, request, who, "directory_new_agency.html", status=status, typed=typed or {},
            field_errors=errors, errors=[{"text": t, "href": f"#{f}"} for f, t in errors.items()],
        )  # fmt: skip

    @routes.get(NEW_AGENCY)
    def new_agency(request: Request, who: Manager) -> Response:
        return new_agency_page(request, who)

    @routes.post(NEW_AGENCY)
    async def add_agency(request: Request, who: Manager) -> Response:
        form = await posted(request)
        typed = {k: str(form.get(k) or "").strip() for k in ("id", "name")} if form else {}
        if form is None:
            return new_agency_page(request, who, status=400, typed=typed,
                                   errors={"id": EXPIRED})  # fmt: skip
        errors = {}
        if not typed["id"]:
            errors["id"] = "Enter the agency's id, for example essex-police"
        if not typed["name"]:
            errors["name"] = "Enter the agency's name"
        if not errors:
            try:
                await change(who, edits.add_agency(typed["id"], typed["name"]))
            except DirectoryRefused as exc:
                errors = {_field(p.field, {"id": "id", "name": "name"}, "id"): _sentence(p.text)
                          for p in reversed(exc.problems)}  # fmt: skip
            else:
                return RedirectResponse(agency_path(typed["id"]) + "?done=agency", 303)
        return new_agency_page(request, who, status=422, typed=typed, errors=errors)

    def agency_page(
        request: Request, who: SignedIn, agency: str, *, status: int = 200,
        typed: dict[str, str] | None = None, errors: dict[str, str] | None = None,
    ) -> Response:  # fmt: skip
        s = snapshot()
        found = entry(s, agency)
        with ctx.services.db.engine.connect() as conn:
            [listed] = contacts.listing(conn, agency)
        errors = errors or {}
        held = sorted({r for p in found.contacts for r in p.roles} - set(found.ladder))
        people = sorted(((p.name, p.email, label) for label, e in s.items()
                         for p in e.contacts), key=lambda x: (x[0].lower(), x[1]))  # fmt: skip
        everyone: dict[str, str] = {}
        for name, email, _agency in people:  # each person once, by name
            everyone.setdefault(email, name)
        auditors = sorted(auditors_in(s) - set(found.auditors))
        return page(
            ctx, request, who, "directory_agency.html", status=status, agency=found,
            listed=listed, rungs=_rungs(found), held=held, everyone=everyone,
            auditors=[(e, everyone.get(e, e)) for e in auditors], typed=typed or {},
            field_errors=errors, errors=[{"text": t, "href": f"#{f}"} for f, t in errors.items()],
            done=done(request),
        )  # fmt: skip

    @routes.get(AGENCY)
    def show_agency(request: Request, agency: str, who: Manager) -> Response:
        return agency_page(request, who, agency)

    async def agency_post(
        request: Request, who: SignedIn, agency: str, make: Any, done_as: str, field_of: str,
    ) -> Response:  # fmt: skip
        """Post one of the agency page's forms: ``make(form)`` gives the edit, or a dict of
        errors by field; a refusal is shown at ``field_of`` (or the field it names)."""
        entry(snapshot(), agency)
        form = await posted(request)
        if form is None:
            return agency_page(request, who, agency, status=400, errors={field_of: EXPIRED})
        typed = {k: v for k, v in form.items() if isinstance(v, str) and k != "csrf_token"}
        made = make(form)
        if isinstance(made, dict):
            return agency_page(request, who, agency, status=422, typed=typed, errors=made)
        try:
            await change(who, made)
        except DirectoryRefused as exc:
            fields = {"name": "name", "ladder": "ladder", "role": "rung-role",
                      "contact": "conflict-contact", "alternate": "conflict-alternate",
                      "auditor": "auditor"}  # fmt: skip
            errors = {_field(p.field, fields, field_of): _sentence(p.text)
                      for p in reversed(exc.problems)}  # fmt: skip
            return agency_page(request, who, agency, status=422, typed=typed, errors=errors)
        if done_as == "agency-removed":
            return RedirectResponse(f"{HOME}?done={done_as}", status_code=303)
        return RedirectResponse(f"{agency_path(agency)}?done={done_as}", status_code=303)

    @routes.post(AGENCY + "/name")
    async def rename(request: Request, agency: str, who: Manager) -> Response:
        def make(form: FormData) -> Any:
            name = _text(form, "name")
            if not name:
                return {"name": "Enter the agency's name"}
            return edits.rename_agency(agency, name)

        return await agency_post(request, who, agency, make, "name", "name")

    @routes.post(AGENCY + "/remove")
    async def remove_agency(request: Request, agency: str, who: Manager) -> Response:
        return await agency_post(
            request, who, agency, lambda _f: edits.remove_agency(agency), "agency-removed",
            "remove-agency",
        )  # fmt: skip

    @routes.post(AGENCY + "/ladder")
    async def ladder(request: Request, agency: str, who: Manager) -> Response:
        def make(form: FormData) -> Any:
            action, role = _text(form, "action"), _text(form, "role")
            if action == "add":
                if not role:
                    return {"rung-role": "Choose the role to add to the ladder"}
                return edits.add_rung(agency, role)
            try:
                rung = int(_text(form, "rung"))
            except ValueError:
                rung = -1
            if action in ("up", "down"):
                return edits.move_rung(agency, rung, role, -1 if action == "up" else 1)
            if action == "remove":
                return edits.remove_rung(agency, rung, role)
            return {"ladder": "Choose what to do with the ladder"}

        return await agency_post(request, who, agency, make, "ladder", "ladder")

    @routes.post(AGENCY + "/conflicts")
    async def conflicts(request: Request, agency: str, who: Manager) -> Response:
        def make(form: FormData) -> Any:
            email = _text(form, "contact")
            if _text(form, "action") == "remove":
                return edits.remove_conflict(agency, email)
            if not email:
                return {"conflict-contact": "Choose the contact who has the conflict of interest"}
            return edits.add_conflict(agency, email, _text(form, "alternate") or None)

        return await agency_post(request, who, agency, make, "conflict", "conflict-contact")

    @routes.post(AGENCY + "/auditors")
    async def auditors(request: Request, agency: str, who: Manager) -> Response:
        def make(form: FormData) -> Any:
            email = _text(form, "auditor")
            if _text(form, "action") == "remove":
                return edits.unassign_auditor(agency, email)
            if not email:
                return {"auditor": "Choose the internal auditor to assign"}
            return edits.assign_auditor(agency, email)

        return await agency_post(request, who, agency, make, "auditor", "auditor")

    def contact_page(
        request: Request, who: SignedIn, agency: str, person: directory.Person | None, *,
        status: int = 200, form: ContactForm | None = None,
    ) -> Response:  # fmt: skip
        s = snapshot()
        found = entry(s, agency)
        if form is None:
            form = ContactForm.of(person) if person is not None else ContactForm()
        errors = form.errors
        everyone: dict[str, str] = {}
        for e in s.values():
            for p in e.contacts:
                if person is None or p.email != person.email:
                    everyone.setdefault(p.email, p.name)
        deputies = sorted(everyone.items(), key=lambda x: (x[1].lower(), x[0]))
        if form.deputy and form.deputy not in everyone:  # kept as it is, to be seen
            deputies.insert(0, (form.deputy, "not in the directory"))
        action = (CONTACT.format(agency=agency, contact=person.id) if person is not None
                  else NEW_CONTACT.format(agency=agency))  # fmt: skip
        return page(
            ctx, request, who, "directory_contact.html", status=status, agency=found,
            person=person, form=form.as_context(), roles=offered(s), deputies=deputies,
            action=action, field_errors=errors,
            errors=[{"text": t, "href": f"#{_anchor(f)}"} for f, t in errors.items()],
        )  # fmt: skip

    def person_of(agency: str, contact: int) -> directory.Person:
        found = next((p for p in entry(snapshot(), agency).contacts if p.id == contact), None)
        if found is None:
            raise LinkDead()
        return found

    @routes.get(NEW_CONTACT)
    def new_contact(request: Request, agency: str, who: Manager) -> Response:
        return contact_page(request, who, agency, None)

    @routes.get(CONTACT)
    def show_contact(request: Request, agency: str, contact: int, who: Manager) -> Response:
        return contact_page(request, who, agency, person_of(agency, contact))

    async def save(
        request: Request, who: SignedIn, agency: str, person: directory.Person | None
    ) -> Response:
        posted_form = await posted(request)
        if posted_form is None:
            form = ContactForm()
            form.errors["name"] = EXPIRED
            return contact_page(request, who, agency, person, status=400, form=form)
        form = ContactForm.read(posted_form)
        made = form.person(offered(snapshot()))
        if made is not None:
            was = person.email if person is not None else None
            try:
                await change(who, edits.save_contact(agency, made, was=was))
            except DirectoryRefused as exc:
                for p in reversed(exc.problems):
                    mine = p.contact in (None, made.email, was)
                    where = FIELDS.get(p.field, "name") if mine else "name"
                    form.errors[where] = _sentence(p.text)
            else:
                return RedirectResponse(f"{agency_path(agency)}?done=contact", status_code=303)
        return contact_page(request, who, agency, person, status=422, form=form)

    @routes.post(NEW_CONTACT)
    async def add_contact(request: Request, agency: str, who: Manager) -> Response:
        entry(snapshot(), agency)
        return await save(request, who, agency, None)

    @routes.post(CONTACT)
    async def edit_contact(request: Request, agency: str, contact: int, who: Manager) -> Response:
        return await save(request, who, agency, person_of(agency, contact))

    @routes.post(CONTACT + "/remove")
    async def remove_contact(request: Request, agency: str, contact: int, who: Manager) -> Response:
        person = person_of(agency, contact)
        if await posted(request) is None:
            form = ContactForm.of(person)
            form.errors["name"] = EXPIRED
            return contact_page(request, who, agency, person, status=400, form=form)
        try:
            await change(who, edits.remove_contact(agency, person.email))
        except DirectoryRefused as exc:
            form = ContactForm.of(person)
            for p in reversed(exc.problems):
                form.errors[FIELDS.get(p.field, "name")] = _sentence(p.text)
            return contact_page(request, who, agency, person, status=422, form=form)
        return RedirectResponse(f"{agency_path(agency)}?done=removed", status_code=303)

    return routes


def _rungs(e: directory.AgencyEntry) -> list[dict[str, Any]]:
    """The ladder as the page shows it: each rung with who holds it."""
    return [
        {"index": i, "role": role, "first": i == 0, "last": i == len(e.ladder) - 1,
         "holders": [p.name for p in e.holders(role)]}
        for i, role in enumerate(e.ladder)
    ]  # fmt: skip


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def _field(problem_field: str, fields: dict[str, str], default: str) -> str:
    return fields.get(problem_field, default)


def _anchor(field: str) -> str:
    """The element an error summary links to: a date input's first box, a checkbox list's
    first box."""
    if field in ("absent_from", "absent_until"):
        return f"{field}-day"
    return {"roles": "roles", "absent": "absent"}.get(field, field)


def _sentence(text: str) -> str:
    """``text`` with a capital first letter, unless it starts with an address, an id or a
    quoted value (written as they are)."""
    first = text.split(" ", 1)[0]
    if any(c in first for c in "@_-'.") or not first.isalpha():
        return text
    return text[:1].upper() + text[1:]
