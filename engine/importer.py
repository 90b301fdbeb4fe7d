"""Importing action plans and agency contacts from YAML (the shapes in config/examples/).

Every file is checked completely before anything is written; a file with any bad
row writes nothing, and the error names each row, field, line and what to write
instead. Several files import in one transaction: all of them or none.

Recommendations already present (same review and ref) are left unchanged, so an
import can be repeated safely; contacts and ladders of an agency are replaced by the
file's, since the directory is the board's to maintain.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, EmailStr, Field, ValidationError, field_validator

from engine import privacy
from engine.calendar import Calendar
from engine.errors import ImportErrors
from engine.items import create_item
from engine.spec import reader as yamlio
from engine.spec import suggest
from engine.store.tables import Agency, Contact, Item, Recommendation, Review
from engine.versions import SpecCache, require_latest

_SLUG = r"^[a-z0-9][a-z0-9-]*$"
_agency = Agency.__table__  # type: ignore[attr-defined]
_contact = Contact.__table__  # type: ignore[attr-defined]
_review = Review.__table__  # type: ignore[attr-defined]
_rec = Recommendation.__table__  # type: ignore[attr-defined]
_item = Item.__table__  # type: ignore[attr-defined]

ReviewKind = Literal[
    "serious_case_review",
    "internal_audit",
    "scrutiny",
    "inspection_response",
    "annual_report",
    "safeguarding_practice_review",
    "individual_management_review",
]
ReportedStatus = Literal[
    "open",
    "evidence_submitted",
    "challenged",
    "panel_signed_off",
    "audit_confirmed",
    "embedded_reaudit",
    "closed_no_response",
    "not_for_this_board",
    "unknown",
]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


_LINE_BREAK = re.compile("[\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")


def _one_line(value: str | None) -> str | None:
    """An email field: one line of text, or nothing."""
    if value is None:
        return None
    if _LINE_BREAK.search(value):
        raise ValueError("must be a single line (it goes into email subjects)")
    return value.strip() or None


class ReviewIn(_In):
    id: str = Field(pattern=_SLUG, description="slug, e.g. southend-iawg-scr-audit-2010")
    title: str = Field(min_length=1)
    email_name: str | None = Field(
        None,
        max_length=60,
        description="the review's name in emails, marked safe for email (no names of children "
        "or families); emails use the id when it is not given, never the title",
    )
    board: str = Field(min_length=1)
    kind: ReviewKind
    source_document: str | None = None
    date: dt.date | None = None
    note: str | None = None

    _email_name = field_validator("email_name")(_one_line)


class AgencyIn(_In):
    id: str = Field(pattern=_SLUG)
    name: str = Field(min_length=1)
    senior_contact_role: str | None = None
    note: str | None = None


class RecommendationIn(_In):
    ref: str = Field(min_length=1, max_length=50)
    agency: str | list[str] = Field(description="an agency id, or a list when several answer it")
    text: str = Field(min_length=1)
    risk_if_not_actioned: str | None = None
    lead: str | None = None
    priority: Literal["H", "M", "L"] | None = None
    agreed_action: str | None = None
    email_summary: str | None = Field(
        None,
        max_length=120,
        description="a short summary marked safe for email (no names, dates of birth, "
        "addresses); emails carry only this and the ref, never the text or agreed action",
    )
    due: list[dt.date] | None = Field(None, description="dates in source order; earliest is chased")
    evidence: list[str] = Field(default_factory=list, description="kept as source context")
    reported_status: ReportedStatus | None = Field(None, description="kept as source context")
    status_basis: str | None = None
    themes: list[str] = Field(default_factory=list)
    note: str | None = None
    workflow: str | None = Field(None, description="overrides the plan's workflow for this item")

    _email_summary = field_validator("email_summary")(_one_line)


class ActionPlan(_In):
    """An action plan: one review, its agencies and its recommendations."""

    review: ReviewIn
    workflow: str = Field("recommendation", description="published workflow the items follow")
    agencies: list[AgencyIn] = Field(min_length=1)
    recommendations: list[RecommendationIn] = Field(min_length=1)


class ContactIn(_In):
    role: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name: str = Field(min_length=1)
    email: EmailStr
    absent: bool = False
    deputy: EmailStr | None = Field(None, description="who receives their mail while absent")


class AgencyContactsIn(_In):
    contacts: list[ContactIn] = Field(min_length=1)
    ladder: list[str] = Field(default_factory=list, description="roles, escalated in this order")


class ContactsFile(_In):
    """Agencies' contacts and escalation ladders."""

    agencies: dict[str, AgencyContactsIn] = Field(min_length=1)


@dataclass
class ImportReport:
    """What an import did (or, with dry_run, would do)."""

    dry_run: bool
    reviews: list[str] = field(default_factory=list)
    agencies: list[str] = field(default_factory=list)
    contacts: int = 0
    added: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    email_fields_set: list[str] = field(default_factory=list)
    # likely personal data (engine.privacy), with the file each was found in
    findings: list[tuple[str, privacy.Finding]] = field(default_factory=list)

    def lines(self) -> list[str]:
        verb = "would import" if self.dry_run else "imported"
        out = [
            f"{verb}: {len(self.reviews)} review(s), {len(self.agencies)} agency record(s), "
            f"{self.contacts} contact(s), {len(self.added)} new item(s)"
        ]
        if self.unchanged:
            out.append(f"already present, left unchanged: {', '.join(self.unchanged)}")
        if self.email_fields_set:
            out.append(f"email name or summary set: {', '.join(self.email_fields_set)}")
        for file, f in self.findings:
            where = f"line {f.line}: " if f.line else ""
            out.append(f"{f.severity.value}: {file}: {where}{f.row}.{f.field}: {f.message}")
        return out


def _parse(path: Path) -> tuple[yamlio.Document, ActionPlan | ContactsFile]:
    file = str(path)
    try:
        doc = yamlio.load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ImportErrors(file, [f"cannot read the file: {exc}"]) from None
    except yamlio.YamlProblem as exc:
        raise ImportErrors(file, [f"line {exc.line}: {exc.problem}"]) from None
    data = doc.data
    if isinstance(data, dict) and "review" in data:
        model: type[ActionPlan | ContactsFile] = ActionPlan
    elif isinstance(data, dict) and "agencies" in data and isinstance(data["agencies"], dict):
        model = ContactsFile
    else:
        raise ImportErrors(
            file,
            [
                "not an import file: expected an action plan (top-level keys "
                "review, agencies, recommendations) or a contacts file "
                "(top-level key agencies: a mapping of agency id to contacts)"
            ],
        )
    try:
        return doc, model.model_validate(data)
    except ValidationError as exc:
        raise ImportErrors(file, [_explain(doc, data, e) for e in exc.errors()]) from None


def _where(doc: yamlio.Document, data: Any, loc: Sequence[Any]) -> str:
    loc = [p for p in loc if isinstance(p, int) or not re.match(r"^(str|list\[|function-)", p)]
    text = ""
    for i, part in enumerate(loc):
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
        if i == 1 and loc[0] == "recommendations" and isinstance(part, int):
            try:
                text += f" ({data['recommendations'][part]['ref']})"
            except (KeyError, IndexError, TypeError):
                pass
    return f"line {doc.line_of(loc)}: {text}"


def _explain(doc: yamlio.Document, data: Any, err: Any) -> str:
    where, kind, value = _where(doc, data, err["loc"]), err["type"], err.get("input")
    if kind == "extra_forbidden":
        return f"{where}: unknown field; check the spelling against the import format in the README"
    if kind == "missing":
        return f"{where}: required field is missing"
    if kind.startswith("date"):
        return f"{where}: {value!r} is not a date; write it as YYYY-MM-DD, e.g. 2011-04-01"
    if kind == "string_pattern_mismatch":
        return f"{where}: {value!r} must be a slug (lower-case letters, digits and '-')"
    if kind == "literal_error":
        return f"{where}: {value!r} is not allowed; allowed: {err['ctx']['expected']}"
    if kind == "value_error":
        return f"{where}: {value!r}: {err.get('ctx', {}).get('reason') or err['msg']}"
    return f"{where}: {err['msg']} (got {value!r})"


def import_files(
    conn: sa.Connection,
    paths: Sequence[Path],
    *,
    specs: SpecCache,
    actor: str,
    now: dt.datetime,
    dry_run: bool = False,
    calendar: Calendar | None = None,
) -> ImportReport:
    """Check every file, then write them all on ``conn`` (the caller's transaction).

    With ``dry_run`` nothing is written but every check still runs.

    Raises:
        ImportErrors: for the first file with problems, listing all of its problems.
    """
    parsed = [(p, *_parse(p)) for p in paths]
    report = ImportReport(dry_run=dry_run)
    known_agencies = set(conn.execute(sa.select(_agency.c.id)).scalars())
    for _path, _doc, content in parsed:
        if isinstance(content, ActionPlan):
            known_agencies |= {a.id for a in content.agencies}
    for path, doc, content in parsed:
        if isinstance(content, ActionPlan):
            _check_plan(conn, path, doc, content, known_agencies)
            report.findings.extend((str(path), f) for f in personal_data(doc, content))
        else:
            _check_contacts(path, doc, content, known_agencies)
    # plans first, whatever the order given: contacts belong to agencies the plans create
    parsed.sort(key=lambda entry: not isinstance(entry[2], ActionPlan))
    for path, _doc, content in parsed:
        if isinstance(content, ActionPlan):
            _write_plan(
                conn, path, content, specs, actor, now, report, dry_run, calendar or Calendar()
            )
        else:
            _write_contacts(conn, content, report, dry_run)
    return report


def _check_plan(
    conn: sa.Connection, path: Path, doc: yamlio.Document, plan: ActionPlan, agencies: set[str]
) -> None:
    problems: list[str] = []
    seen_agency: set[str] = set()
    for i, a in enumerate(plan.agencies):
        if a.id in seen_agency:
            problems.append(
                f"{_where(doc, doc.data, ['agencies', i, 'id'])}: agency {a.id!r} is listed twice"
            )
        seen_agency.add(a.id)
    seen_ref: dict[str, int] = {}
    for i, r in enumerate(plan.recommendations):
        if r.ref in seen_ref:
            problems.append(
                f"{_where(doc, doc.data, ['recommendations', i, 'ref'])}: ref "
                f"{r.ref!r} is already used by recommendations[{seen_ref[r.ref]}]; "
                "refs must be unique within a review"
            )
        seen_ref[r.ref] = i
        owners = [r.agency] if isinstance(r.agency, str) else r.agency
        if not owners:
            problems.append(
                f"{_where(doc, doc.data, ['recommendations', i, 'agency'])}: "
                "name at least one agency"
            )
        for j, owner in enumerate(owners):
            if owner not in agencies:
                loc: list[Any] = ["recommendations", i, "agency"]
                if isinstance(r.agency, list):
                    loc.append(j)
                problems.append(
                    f"{_where(doc, doc.data, loc)}: unknown agency {owner!r}"
                    f"{suggest(owner, agencies)}; list it under 'agencies'"
                )
        for name in {plan.workflow, r.workflow} - {None}:
            try:
                require_latest(conn, str(name))
            except LookupError as exc:
                problems.append(
                    f"{_where(doc, doc.data, ['recommendations', i, 'workflow'])}: {exc}"
                )
    if problems:
        raise ImportErrors(str(path), problems)


def personal_data(doc: yamlio.Document, plan: ActionPlan) -> list[privacy.Finding]:
    """Likely personal data in ``plan``: warnings for what goes into emails (the review's
    email name, each email summary), information for the review's title."""
    review = plan.review
    fields = [
        privacy.Field(
            row="review",
            field="email_name",
            text=review.email_name,
            in_email=True,
            line=doc.line_of(["review", "email_name"]),
        ),
        privacy.Field(
            row="review",
            field="title",
            text=review.title,
            in_email=False,
            line=doc.line_of(["review", "title"]),
        ),
    ]
    fields += [
        privacy.Field(
            row=f"recommendations[{i}] ({r.ref})",
            field="email_summary",
            text=r.email_summary,
            in_email=True,
            line=doc.line_of(["recommendations", i, "email_summary"]),
        )
        for i, r in enumerate(plan.recommendations)
    ]
    return privacy.check(fields)


def _check_contacts(
    path: Path, doc: yamlio.Document, content: ContactsFile, agencies: set[str]
) -> None:
    problems: list[str] = []
    for agency_id, entry in content.agencies.items():
        if agency_id not in agencies:
            problems.append(
                f"{_where(doc, doc.data, ['agencies', agency_id])}: unknown agency "
                f"{agency_id!r}{suggest(agency_id, agencies)}; import the action plan "
                "that lists it first, or in the same command"
            )
        roles = {c.role for c in entry.contacts}
        for j, role in enumerate(entry.ladder):
            if role not in roles:
                problems.append(
                    f"{_where(doc, doc.data, ['agencies', agency_id, 'ladder', j])}: "
                    f"no contact of {agency_id!r} has the role {role!r}"
                    f"{suggest(role, roles)}; roles here: {sorted(roles)}"
                )
        seen: set[tuple[str, str]] = set()
        for j, c in enumerate(entry.contacts):
            pair = (c.email.lower(), c.role)
            if pair in seen:
                problems.append(
                    f"{_where(doc, doc.data, ['agencies', agency_id, 'contacts', j])}"
                    f": {c.email} is listed twice with role {c.role!r}"
                )
            seen.add(pair)
    if problems:
        raise ImportErrors(str(path), problems)


def _write_plan(
    conn: sa.Connection,
    path: Path,
    plan: ActionPlan,
    specs: SpecCache,
    actor: str,
    now: dt.datetime,
    report: ImportReport,
    dry_run: bool,
    calendar: Calendar,
) -> None:
    r = plan.review
    existing = conn.execute(
        sa.select(_review.c.id, _review.c.email_name).where(_review.c.id == r.id)
    ).one_or_none()
    exists = existing is not None
    report.reviews.append(r.id)
    existing_agencies = set(conn.execute(sa.select(_agency.c.id)).scalars())
    for a in plan.agencies:
        report.agencies.append(a.id)
        if dry_run:
            continue
        values = {"name": a.name, "senior_contact_role": a.senior_contact_role, "note": a.note}
        if a.id in existing_agencies:
            conn.execute(_agency.update().where(_agency.c.id == a.id).values(**values))
        else:
            conn.execute(_agency.insert().values(id=a.id, ladder=[], **values))
    if existing is not None and r.email_name not in (None, existing.email_name):
        report.email_fields_set.append(r.id)
        if not dry_run:
            conn.execute(
                _review.update().where(_review.c.id == r.id).values(email_name=r.email_name)
            )
    if not exists and not dry_run:
        conn.execute(
            _review.insert().values(
                id=r.id,
                title=r.title,
                email_name=r.email_name,
                board=r.board,
                kind=r.kind,
                source_document=r.source_document,
                date=r.date,
                note=r.note,
                imported_at=now,
            )
        )
    present: dict[str, str | None] = {
        row.ref: row.email_summary
        for row in conn.execute(
            sa.select(_rec.c.ref, _rec.c.email_summary).where(_rec.c.review_id == r.id)
        )
    }
    for rec in plan.recommendations:
        if rec.ref in present:
            report.unchanged.append(f"{r.id}/{rec.ref}")
            if rec.email_summary not in (None, present[rec.ref]):  # the field a re-import sets
                report.email_fields_set.append(f"{r.id}/{rec.ref}")
                if not dry_run:
                    conn.execute(
                        _rec.update()
                        .where(_rec.c.review_id == r.id, _rec.c.ref == rec.ref)
                        .values(email_summary=rec.email_summary)
                    )
            continue
        report.added.append(f"{r.id}/{rec.ref}")
        if dry_run:
            continue
        rec_id = conn.execute(
            _rec.insert()
            .values(
                review_id=r.id,
                ref=rec.ref,
                text=rec.text,
                risk_if_not_actioned=rec.risk_if_not_actioned,
                lead=rec.lead,
                priority=rec.priority,
                agreed_action=rec.agreed_action,
                email_summary=rec.email_summary,
                due_dates=[d.isoformat() for d in rec.due or []],
                themes=rec.themes,
                note=rec.note,
                source={
                    "file": path.name,
                    "reported_status": rec.reported_status,
                    "status_basis": rec.status_basis,
                    "evidence": rec.evidence,
                },
            )
            .returning(_rec.c.id)
        ).scalar_one()
        version_id = require_latest(conn, rec.workflow or plan.workflow)
        spec = specs.get(conn, version_id)
        owners = [rec.agency] if isinstance(rec.agency, str) else rec.agency
        for owner in owners:
            create_item(
                conn,
                recommendation_id=rec_id,
                agency_id=owner,
                spec=spec,
                version_id=version_id,
                due=min(rec.due) if rec.due else None,
                actor=actor,
                now=now,
                data={"imported_from": path.name},
                calendar=calendar,
            )


def _write_contacts(
    conn: sa.Connection, content: ContactsFile, report: ImportReport, dry_run: bool
) -> None:
    for agency_id, entry in content.agencies.items():
        report.contacts += len(entry.contacts)
        if dry_run:
            continue
        conn.execute(_contact.delete().where(_contact.c.agency_id == agency_id))
        conn.execute(
            _contact.insert(),
            [
                {
                    "agency_id": agency_id,
                    "name": c.name,
                    "email": c.email.lower(),
                    "role": c.role,
                    "absent": c.absent,
                    "deputy_email": c.deputy.lower() if c.deputy else None,
                    "failing": False,
                }
                for c in entry.contacts
            ],
        )
        conn.execute(_agency.update().where(_agency.c.id == agency_id).values(ladder=entry.ladder))


def json_schemas() -> dict[str, dict[str, Any]]:
    """JSON Schemas of both import shapes, keyed by file name under config/."""
    out = {}
    for name, model in (
        ("action-plan.schema.json", ActionPlan),
        ("contacts.schema.json", ContactsFile),
    ):
        schema = model.model_json_schema()
        schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
        out[name] = schema
    return out
