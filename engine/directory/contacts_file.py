"""The directory as a YAML contacts file (``config/contacts.schema.json``): read and written.

The format of ``config/examples/southend_contacts.yaml``: agencies by id, each with its
name, contacts (one entry per person and role, as the board's lists have them), escalation
ladder, conflicts of interest and assigned auditors. ``signoff import`` and ``signoff
directory import`` read it; ``signoff directory export --format yaml`` writes it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

import yaml
from pydantic import BaseModel, ConfigDict, EmailStr, Field, ValidationError

from engine.directory.model import (
    AgencyEntry,
    Conflict,
    Person,
    Problem,
    Snapshot,
    normal_email,
    quoted,
)
from engine.spec import reader as yamlio
from engine.spec.fields import Date, Name

Slug = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]*$", max_length=100)]
Role = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=100)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ContactIn(_In):
    role: Role
    name: Name = Field(min_length=1)
    email: EmailStr
    absent: bool = Field(False, description="away (from now, or on the dates given)")
    absent_from: Date | None = Field(None, description="first day away; implies absent")
    absent_until: Date | None = Field(None, description="last day away; implies absent")
    deputy: EmailStr | None = Field(None, description="who receives their mail while absent")


class ConflictIn(_In):
    contact: EmailStr = Field(description="who must not receive escalations about this agency")
    alternate: EmailStr | None = Field(
        None,
        description="who receives them instead; without one, the next rung of the ladder "
        "or the target's other holders",
    )


class AgencyContactsIn(_In):
    name: Name | None = Field(
        None, min_length=1, description="the agency's name: creates the agency if it is new"
    )
    senior_contact_role: Name | None = None
    contacts: list[ContactIn] = Field(default_factory=list, max_length=1_000)
    ladder: list[Role] = Field(
        default_factory=list, max_length=20, description="roles, escalated in this order"
    )
    conflicts: list[ConflictIn] = Field(
        default_factory=list,
        max_length=200,
        description="contacts barred from escalations about this agency",
    )
    auditors: list[EmailStr] = Field(
        default_factory=list,
        max_length=50,
        description="internal auditors (contacts with the role internal_auditor) who audit "
        "this agency's items",
    )


class ContactsFile(_In):
    """Agencies' contacts, escalation ladders, conflicts of interest and assigned auditors."""

    agencies: dict[Slug, AgencyContactsIn] = Field(min_length=1, max_length=500)


def entries_of(content: ContactsFile, names: dict[str, str]) -> list[AgencyEntry]:
    """The agencies a file describes, each whole. ``names``: the names agencies have now,
    for those the file does not rename."""
    out = []
    for agency, a in content.agencies.items():
        people: dict[str, Person] = {}
        for c in a.contacts:
            email = normal_email(c.email)
            known = people.get(email)
            if known is not None:  # one entry per role: the same person again
                if c.role not in known.roles:
                    people[email] = Person(**{**_fields(known), "roles": (*known.roles, c.role)})
                continue
            people[email] = Person(
                name=c.name.strip(),
                email=email,
                roles=(c.role,),
                absent=c.absent or c.absent_from is not None or c.absent_until is not None,
                absent_from=c.absent_from,
                absent_until=c.absent_until,
                deputy=normal_email(c.deputy) if c.deputy else None,
            )
        out.append(
            AgencyEntry(
                id=agency,
                name=(a.name or names.get(agency) or agency).strip(),
                ladder=tuple(a.ladder),
                contacts=tuple(people.values()),
                conflicts=tuple(
                    Conflict(
                        email=normal_email(x.contact),
                        alternate=normal_email(x.alternate) if x.alternate else None,
                    )
                    for x in a.conflicts
                ),
                auditors=tuple(normal_email(e) for e in a.auditors),
            )
        )
    return out


def _fields(p: Person) -> dict[str, Any]:
    return {k: getattr(p, k) for k in ("name", "email", "roles", "absent", "absent_from",
                                       "absent_until", "deputy", "failing")}  # fmt: skip


def located(problem: Problem, data: Any) -> list[Any]:
    """Where in a contacts file's data ``problem`` is (a path for the reader's ``line_of``)."""
    agency = problem.agency
    base: list[Any] = ["agencies", agency]
    entry = data.get("agencies", {}).get(agency) if isinstance(data, dict) else None
    if agency is None or not isinstance(entry, dict):
        return base if agency else []

    def index(key: str, match: Any) -> int | None:
        rows = entry.get(key)
        for i, row in enumerate(rows if isinstance(rows, list) else []):
            if match(row):
                return i
        return None

    def same(value: Any) -> bool:
        return isinstance(value, str) and normal_email(value) == problem.contact

    field = problem.field
    if field in ("contact", "alternate"):
        i = index("conflicts", lambda r: isinstance(r, dict) and same(r.get("contact")))
        return [*base, "conflicts", i, field] if i is not None else [*base, "conflicts"]
    if field == "auditor":
        i = index("auditors", same)
        return [*base, "auditors", i] if i is not None else [*base, "auditors"]
    if field == "ladder":
        return [*base, "ladder"]
    if problem.contact is not None:
        i = index("contacts", lambda r: isinstance(r, dict) and same(r.get("email")))
        key = {"roles": "role", "name": "name", "email": "email", "deputy": "deputy",
               "absent": "absent", "absent_from": "absent_from",
               "absent_until": "absent_until"}.get(field)  # fmt: skip
        if i is not None:
            return [*base, "contacts", i, *([key] if key else [])]
    return [*base, "name"] if field == "name" else base


def read_yaml(text: str, names: dict[str, str]) -> tuple[list[AgencyEntry], Any, yamlio.Document]:
    """The agencies of a contacts file, with its data and document (for ``located``).

    Raises:
        DirectoryRefused: the file is not a contacts file, or a value has the wrong shape;
        each problem says where (line and path).
    """
    from engine.directory.model import DirectoryRefused

    try:
        doc = yamlio.load(text)
    except yamlio.YamlProblem as exc:
        where = f"line {exc.line}" if exc.line else "the file"
        raise DirectoryRefused([Problem(agency=None, field="file", message=exc.problem,
                                        where=where)]) from None  # fmt: skip
    data = doc.data
    if not isinstance(data, dict) or not isinstance(data.get("agencies"), dict):
        raise DirectoryRefused([Problem(
            agency=None, field="file", where="the file",
            message="not a contacts file: expected a top-level key agencies, a mapping of "
            "agency id to its name, contacts and ladder (config/contacts.schema.json)",
        )])  # fmt: skip
    try:
        content = ContactsFile.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors()[:200]:
            loc = [p for p in err["loc"] if isinstance(p, int) or p in _KEYS or p in data.get(
                "agencies", {})]  # fmt: skip
            problems.append(
                Problem(
                    agency=None,
                    field="file",
                    where=where_in(doc, loc),
                    message=_explain(err),
                )
            )
        raise DirectoryRefused(problems) from None
    return entries_of(content, names), data, doc


_KEYS = {*ContactsFile.model_fields, *AgencyContactsIn.model_fields, *ContactIn.model_fields,
         *ConflictIn.model_fields}  # fmt: skip


def where_in(doc: yamlio.Document, path: Sequence[Any]) -> str:
    """A place in a YAML file as messages name it: its line and its path."""
    line = doc.line_of(path)
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return f"line {line}" + (f" ({text})" if text else "") if line else text or "the file"


def _explain(err: Any) -> str:
    kind, value = err["type"], err.get("input")
    if kind == "extra_forbidden":
        return "unknown field; check the spelling against config/contacts.schema.json"
    if kind == "missing":
        return "required field is missing"
    if kind.startswith("date"):
        return f"{quoted(str(value))} is not a date; write it as YYYY-MM-DD, e.g. 2011-04-01"
    if kind == "string_pattern_mismatch":
        return (
            f"{quoted(str(value))}: use lower-case letters, digits and '-' for an agency id, "
            "'_' for a role"
        )
    if kind == "value_error" and "email" in str(err.get("msg", "")).lower():
        return f"{quoted(str(value))} is not an email address"
    return f"{err['msg']} (got {quoted(str(value))})"


def yaml_text(snapshot: Snapshot) -> str:
    """The directory as a contacts file (every agency)."""
    agencies: dict[str, Any] = {}
    for agency, e in snapshot.items():
        contacts = []
        for p in e.contacts:
            extra: dict[str, Any] = {}
            if p.absent and not (p.absent_from or p.absent_until):
                extra["absent"] = True
            if p.absent and p.absent_from:
                extra["absent_from"] = p.absent_from
            if p.absent and p.absent_until:
                extra["absent_until"] = p.absent_until
            if p.deputy:
                extra["deputy"] = p.deputy
            contacts += [{"role": r, "name": p.name, "email": p.email, **extra} for r in p.roles]
        entry: dict[str, Any] = {"name": e.name, "contacts": contacts, "ladder": list(e.ladder)}
        if e.conflicts:
            entry["conflicts"] = [
                {"contact": c.email, **({"alternate": c.alternate} if c.alternate else {})}
                for c in e.conflicts
            ]
        if e.auditors:
            entry["auditors"] = list(e.auditors)
        agencies[agency] = entry
    head = (
        "# The directory of signoff: agencies, contacts (one entry per role), escalation\n"
        "# ladders, conflicts of interest and assigned auditors. Format:\n"
        "# config/contacts.schema.json. Import with: signoff directory import FILE --dry-run\n"
    )
    return head + yaml.safe_dump(
        {"agencies": agencies}, sort_keys=False, allow_unicode=True, width=100
    )
