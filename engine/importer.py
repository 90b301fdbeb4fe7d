"""Importing action plans and agency contacts from YAML (the shapes in config/examples/).

Every file is read within the reader's bounds (``engine.spec.reader``) and checked
completely before anything is written: the shape of each row (the models below, with the
bounded values of ``engine.spec.fields``) and the checks across rows and files (refs,
agencies, workflows) all run, and what they find is one list of ``Finding``s (file, line,
row, field, message, severity). Any error stops the import and writes nothing
(``ImportErrors`` carries every finding); warnings and notes are returned in the report.
Several files import in one transaction: all of them or none. A dry run runs the writes
in a savepoint and rolls it back, so it fails wherever the import would.

An action plan's top-level sections that this importer does not use yet (an annual
report's ``performance_indicators``) are kept as the review's source context and noted.
A contacts file creates an agency it names with a ``name``.

Recommendations already present (same review and ref) are left unchanged, so an
import can be repeated safely; contacts and ladders of an agency are replaced by the
file's, since the directory is the board's to maintain.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from engine import adminlog, anchors, directory, indicators, leads, privacy, saved_mappings, sheets
from engine.calendar import Calendar
from engine.directory import edits
from engine.directory.contacts_file import (
    ContactsFile,
    entries_of,
    located,
)
from engine.durations import parse_duration
from engine.errors import ImportErrors
from engine.findings import Finding, Severity
from engine.indicators import IndicatorIn
from engine.items import amend, create_item
from engine.spec import WorkflowSpec, suggest
from engine.spec import reader as yamlio
from engine.spec.fields import Date, Name, OutOfBounds, Ref, Text, Title, single_line
from engine.store.tables import Agency, Contact, Item, Recommendation, RelativeDue, Review
from engine.versions import SpecCache, require_latest

_SLUG = r"^[a-z0-9][a-z0-9-]*$"
_agency = Agency.__table__  # type: ignore[attr-defined]
_contact = Contact.__table__  # type: ignore[attr-defined]
_review = Review.__table__  # type: ignore[attr-defined]
_rec = Recommendation.__table__  # type: ignore[attr-defined]
_item = Item.__table__  # type: ignore[attr-defined]
_relative = RelativeDue.__table__  # type: ignore[attr-defined]
IMPORTED_STATUS = "import_status"  # the trigger of a plan's status, imported (not verified)

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
    """An email field: one line of text without control characters, or nothing."""
    if value is None:
        return None
    if _LINE_BREAK.search(value):
        raise ValueError("must be a single line (it goes into email subjects)")
    return single_line(value).strip() or None


Slug = Annotated[str, Field(pattern=_SLUG, max_length=100)]


class ReviewIn(_In):
    id: Slug = Field(description="slug, e.g. southend-iawg-scr-audit-2010")
    title: Title = Field(min_length=1)
    email_name: str | None = Field(
        None,
        max_length=60,
        description="the review's name in emails, marked safe for email (no names of children "
        "or families); emails use the id when it is not given, never the title",
    )
    board: Name = Field(min_length=1)
    kind: ReviewKind
    source_document: Title | None = None
    date: Date | None = None
    note: Text | None = None

    _email_name = field_validator("email_name")(_one_line)


class AgencyIn(_In):
    id: Slug
    name: Name = Field(min_length=1)
    senior_contact_role: Name | None = None
    note: Text | None = None


def _duration(value: str) -> str:
    parse_duration(value)
    return value


class RelativeDueIn(_In):
    """A deadline written as a time after an event whose date is not known yet."""

    wording: Text = Field(min_length=1, description="as the plan says it")
    after: str = Field(
        max_length=50, description="the time after the anchor, e.g. '6 months', '20 working days'"
    )
    anchor: Name = Field(
        min_length=1, description="the event it counts from, e.g. 'publication of this Review'"
    )

    _after = field_validator("after")(_duration)


class RecommendationIn(_In):
    ref: Ref = Field(min_length=1)
    agency: Slug | list[Slug] = Field(
        max_length=100, description="an agency id, or a list when several answer it"
    )
    text: Text = Field(min_length=1)
    risk_if_not_actioned: Text | None = None
    lead: Name | None = None
    priority: Literal["H", "M", "L"] | None = None
    agreed_action: Text | None = None
    email_summary: str | None = Field(
        None,
        max_length=120,
        description="a short summary marked safe for email (no names, dates of birth, "
        "addresses); emails carry only this and the ref, never the text or agreed action",
    )
    due: list[Date] | None = Field(
        None, max_length=20, description="dates in source order; the earliest is chased"
    )
    starts: list[Date] | None = Field(
        None,
        max_length=20,
        description="start dates ('from January 2011'): kept and shown, never chased; a row "
        "with only start dates has no deadline until one is given",
    )
    relative_due: RelativeDueIn | None = Field(
        None,
        description="due a time after an anchor whose date is given later (signoff anchor "
        "set); no deadline until then",
    )
    evidence: list[Text] = Field(
        default_factory=list, max_length=200, description="kept as source context"
    )
    reported_status: ReportedStatus | None = Field(None, description="kept as source context")
    status_basis: Text | None = None
    themes: list[Name] = Field(default_factory=list, max_length=50)
    note: Text | None = None
    workflow: Name | None = Field(None, description="overrides the plan's workflow for this item")

    _email_summary = field_validator("email_summary")(_one_line)


class ActionPlan(_In):
    """An action plan: one review, its agencies and its recommendations, and an annual
    report's performance indicators.

    Other top-level sections are kept as the review's source context and reported, not
    refused."""

    review: ReviewIn
    workflow: Name = Field("recommendation", description="published workflow the items follow")
    agencies: list[AgencyIn] = Field(min_length=1, max_length=500)
    recommendations: list[RecommendationIn] = Field(min_length=1, max_length=5_000)
    performance_indicators: list[IndicatorIn] = Field(
        default_factory=list,
        max_length=200,
        description="as the report states them; shown beside the figures signoff computes",
    )


@dataclass
class ImportReport:
    """What an import did (or, with dry_run, would do), and what its checks found that did
    not stop it (warnings and notes, in ``findings``)."""

    dry_run: bool
    reviews: list[str] = field(default_factory=list)
    agencies: list[str] = field(default_factory=list)
    contacts: int = 0
    added: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    email_fields_set: list[str] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    mappings: dict[str, dict[str, Any]] = field(default_factory=dict)  # per spreadsheet
    mapping_from: dict[str, str] = field(default_factory=dict)  # per spreadsheet, in words
    rows: list[str] = field(default_factory=list)  # a spreadsheet's rows and their outcome
    outcomes: list[dict[str, Any]] = field(default_factory=list)  # the same, as data
    created_agencies: list[str] = field(default_factory=list)  # new to the directory
    imported_statuses: list[str] = field(default_factory=list)  # items placed by a status
    anchors: list[dict[str, Any]] = field(default_factory=list)  # waiting for their date
    indicators: list[str] = field(default_factory=list)  # performance indicators added
    saved_mapping: str | None = None  # the mapping saved for the board, in words
    columns: dict[str, dict[str, Any]] = field(default_factory=dict)  # SheetPlan.columns()
    # each change made to the directory (action, subject, before, after), for the admin log
    directory_changes: list[tuple[str, str, Any, Any]] = field(default_factory=list, repr=False)

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
        if self.created_agencies:
            out.append(f"new agencies in the directory: {', '.join(self.created_agencies)}")
        if self.imported_statuses:
            out.append(
                "placed by an imported status, not verified by signoff: "
                + ", ".join(self.imported_statuses)
            )
        for a in self.anchors:
            out.append(
                f"waiting for the date of {a['name']!r} ({a['review']}): "
                f"{', '.join(a['waiting'])}; give it with `signoff anchor set`"
            )
        if self.indicators:
            out.append(f"performance indicators: {len(self.indicators)}")
        if self.dry_run:
            out.extend(self.rows)
        if self.saved_mapping:
            out.append(f"saved {self.saved_mapping}")
        out.extend(f"{f.severity.value}: {f.file}: {f}" for f in self.findings)
        return out

    def as_json(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "reviews": self.reviews,
            "agencies": self.agencies,
            "contacts": self.contacts,
            "added": self.added,
            "unchanged": self.unchanged,
            "email_fields_set": self.email_fields_set,
            # likely personal data (engine.privacy): warnings and information
            "warnings": [
                f.as_json()
                for f in self.findings
                if f.severity in (Severity.WARNING, Severity.INFO)
            ],
            "findings": [f.as_json() for f in self.findings],
            "mappings": self.mappings,
            "mapping_from": self.mapping_from,
            "rows": self.rows,
            "outcomes": self.outcomes,
            "created_agencies": self.created_agencies,
            "imported_statuses": self.imported_statuses,
            "anchors": self.anchors,
            "indicators": self.indicators,
            "saved_mapping": self.saved_mapping,
        }


@dataclass
class _File:
    """One file on its way through the checks."""

    path: Path
    doc: yamlio.Document | None = None
    content: ActionPlan | ContactsFile | None = None
    kept: dict[str, Any] = field(default_factory=dict)  # top-level sections kept, not used
    findings: list[Finding] = field(default_factory=list)
    sheet: sheets.SheetPlan | None = None  # a plan read from a spreadsheet (engine.sheets)

    @property
    def data(self) -> Any:
        if self.sheet is not None:
            return self.sheet.data
        return self.doc.data if self.doc else None

    def add(self, loc: Sequence[Any], message: str, severity: Severity = Severity.ERROR) -> None:
        """Record a finding at ``loc`` (a path into the data), located by line, row and field."""
        if len(self.findings) == MAX_FINDINGS:
            self.findings.append(
                Finding(
                    file=str(self.path),
                    message=f"more than {MAX_FINDINGS} problems; fix these and check again",
                )
            )
        if len(self.findings) > MAX_FINDINGS:
            return
        loc = [p for p in loc if isinstance(p, int) or not _PYDANTIC_LOC.match(str(p))]
        if self.sheet is not None:  # sheet, row, column and value; one error per cell
            row_at, column, value = self.sheet.located.where(loc)
            if any(
                x.row == row_at and x.field == column and x.severity is Severity.ERROR
                for x in self.findings
            ):
                return
            shown = f"value {sheets.cell_text(value)[:60]!r}: " if value not in (None, "") else ""
            message = _ROW_REF.sub(lambda m: self._sheet_row(int(m[1])), message)
            self.findings.append(
                Finding(
                    file=str(self.path),
                    row=row_at,
                    field=column,
                    message=shown + message,
                    severity=severity,
                    value=sheets.cell_text(value)[:200] if shown else None,
                )
            )
            return
        row_len = (
            2
            if len(loc) >= 2 and loc[0] in ("recommendations", "agencies", "performance_indicators")
            else 1
        )
        row, rest = loc[:row_len], loc[row_len:]
        row_text = _path_text(row)
        if len(row) == 2 and row[0] == "recommendations" and isinstance(row[1], int):
            try:
                ref = self.data["recommendations"][row[1]]["ref"]
            except (KeyError, IndexError, TypeError):
                ref = None
            if isinstance(ref, str | int) and not isinstance(ref, bool):
                row_text += f" ({_short(str(ref), 50, quote=False)})"
        line = self.doc.line_of(loc) if self.doc else None
        self.findings.append(
            Finding(
                file=str(self.path),
                line=line,
                row=row_text,
                field=_path_text(rest),
                message=message,
                severity=severity,
            )
        )

    def _sheet_row(self, i: int) -> str:
        assert self.sheet is not None
        return self.sheet.located.where(["recommendations", i])[0]

    @property
    def failed(self) -> bool:
        return any(f.severity is Severity.ERROR for f in self.findings)


MAX_FINDINGS = 200  # per file: enough to fix a file in one go, and a bounded report
_ROW_REF = re.compile(r"recommendations\[(\d+)\]")
_PYDANTIC_LOC = re.compile(r"^(str|list\[|function-|\[key\]$)")


def _path_text(parts: Sequence[Any]) -> str:
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            name = _short(str(part), 60, quote=False)
            out += f".{name}" if out else name
    return out


def _short(value: Any, limit: int = 60, *, quote: bool = True) -> str:
    """A value for a message: dates as written, text quoted and cut to ``limit`` characters
    (a hostile value can be megabytes long), control characters escaped."""
    if isinstance(value, dt.date):
        return value.isoformat()
    text = repr(value) if quote or not isinstance(value, str) else value
    if not quote:
        text = text.encode("unicode_escape").decode("ascii") if not text.isprintable() else text
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _read(path: Path) -> _File:
    """Read and shape-check one file; every problem found is in ``findings``."""
    f = _File(path)
    try:
        f.doc = yamlio.load(yamlio.read_file(path))
    except (OSError, UnicodeDecodeError) as exc:
        f.add([], f"cannot read the file: {exc}")
        return f
    except yamlio.YamlProblem as exc:
        f.findings.append(
            Finding(file=str(path), line=exc.line, field=_path_text(exc.path), message=exc.problem)
        )
        return f
    data = f.data
    if isinstance(data, dict) and "review" in data:
        model: type[ActionPlan | ContactsFile] = ActionPlan
        data = _set_aside_sections(f, data)
    elif isinstance(data, dict) and isinstance(data.get("agencies"), dict):
        model = ContactsFile
    else:
        f.add(
            [],
            "not an import file: expected an action plan (top-level keys "
            "review, agencies, recommendations) or a contacts file "
            "(top-level key agencies: a mapping of agency id to contacts)",
        )
        return f
    try:
        f.content = model.model_validate(data)
    except ValidationError as exc:
        for err in exc.errors():
            f.add(err["loc"], _explain(err))
    return f


def _read_sheet(
    path: Path,
    mapping: sheets.SheetMappingFile | None,
    directory: sheets.Directory,
    today: dt.date,
    saved: Callable[[list[sheets.Table]], tuple[sheets.SheetMappingFile, str] | None] | None,
    given_as: str,
) -> _File:
    """A spreadsheet plan (``engine.sheets``) shape-checked as a YAML plan is."""
    f = _File(path)
    try:
        plan = sheets.read_plan(
            path, mapping, directory, today=today, saved=saved, given_as=given_as
        )
    except sheets.NotASpreadsheet as exc:
        f.add([], f"cannot read the file: {exc}")
        return f
    except OSError as exc:
        f.add([], f"cannot read the file: {exc}")
        return f
    f.sheet = plan
    f.findings.extend(plan.findings)
    try:
        f.content = ActionPlan.model_validate(plan.data)
    except ValidationError as exc:
        for err in exc.errors():
            if tuple(err["loc"]) in (("agencies",), ("recommendations",)) and f.failed:
                continue  # no agency or no row could be read: their own errors say why
            f.add(err["loc"], _explain(err))
    return f


def _set_aside_sections(f: _File, data: dict[Any, Any]) -> dict[Any, Any]:
    """The plan without the top-level sections this importer does not use yet (an annual
    report's ``performance_indicators``): those are kept as the review's source context and
    noted; a name close to a section we use is taken for a misspelling and refused."""
    known = list(ActionPlan.model_fields)
    used = {}
    for key, value in data.items():
        name = str(key)
        if name in known:
            used[key] = value
            continue
        close = suggest(name[:100], known)
        if close:
            f.add([key], f"unknown section{close}")
        else:
            f.kept[name] = _jsonable(value)
            f.add([key], f"kept, not used: {_short(name, 60, quote=False)}", Severity.NOTE)
    return used


def _jsonable(value: Any) -> Any:
    """YAML data as JSON both databases store: string keys, no NaN or infinity."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value


def _explain(err: Any) -> str:
    kind, value, ctx = err["type"], err.get("input"), err.get("ctx", {})
    if kind == "extra_forbidden":
        return "unknown field; check the spelling against the import format in the README"
    if kind == "missing":
        return "required field is missing"
    if kind.startswith("date"):
        return f"{_short(value)} is not a date; write it as YYYY-MM-DD, e.g. 2011-04-01"
    if kind == "string_pattern_mismatch":
        if ctx.get("pattern") == _SLUG:
            return f"{_short(value)} must be a slug (lower-case letters, digits and '-')"
        return f"{_short(value)} must be snake_case (lower-case letters, digits and '_')"
    if kind == "string_too_long":
        return (
            f"{len(value):,} characters, at most {ctx['max_length']:,} characters are "
            "allowed; shorten it (the full text can stay in the source document)"
        )
    if kind == "too_long":
        return (
            f"{ctx.get('actual_length', len(value)):,} entries, more than the "
            f"{ctx['max_length']:,} allowed; split the file"
        )
    if kind == "literal_error":
        return f"{_short(value)} is not allowed; allowed: {ctx['expected']}"
    if kind == "value_error":
        reason = ctx.get("reason") or str(ctx.get("error", "")) or err["msg"]
        if isinstance(ctx.get("error"), OutOfBounds):
            return f"{_short(value)} {reason}"
        return f"{_short(value)}: {reason}"
    return f"{err['msg']} (got {_short(value)})"


def import_files(
    conn: sa.Connection,
    paths: Sequence[Path],
    *,
    specs: SpecCache,
    actor: str,
    now: dt.datetime,
    dry_run: bool = False,
    calendar: Calendar | None = None,
    mapping: sheets.SheetMappingFile | None = None,
    mapping_given_as: str = "the mapping given",
    use_saved: bool = True,
    save_mapping: bool = False,
) -> ImportReport:
    """Check every file, then write them all on ``conn`` (the caller's transaction).

    Every check of every file runs before anything is decided, so one run lists every
    problem. With ``dry_run`` the writes run too, inside a savepoint that is rolled back,
    so a dry run that passes means the import passes. A spreadsheet without ``mapping`` is
    read with a mapping saved for its headings (``use_saved``); ``save_mapping`` saves the
    mapping each spreadsheet was read with for its board (not in a dry run).

    Raises:
        ImportErrors: any file has a problem; it carries every finding of every file.
    """
    directory = _directory(conn)
    saved = saved_mappings.finder(conn) if use_saved and mapping is None else None
    today = now.date()
    files = [
        _read_sheet(p, mapping, directory, today, saved, mapping_given_as)
        if sheets.is_sheet(p)
        else _read(p)
        for p in paths
    ]
    known = set(conn.execute(sa.select(_agency.c.id)).scalars())
    for f in files:
        known |= _agencies_made_by(f)
    workflows = _WorkflowCheck(conn, specs)
    for f in files:
        if isinstance(f.content, ContactsFile) or _is_contacts(f):
            _check_contacts(f, known)
        elif (f.doc is not None or f.sheet is not None) and isinstance(f.data, dict):
            _check_plan(f, known, workflows)
        if isinstance(f.content, ActionPlan) and f.doc is not None:
            f.findings.extend(personal_data(f.path, f.doc, f.content))
        if isinstance(f.content, ActionPlan) and f.sheet is not None:
            _check_statuses(f, f.content, workflows)
    for f in files:
        if f.sheet is not None and f.content is None and not f.failed:  # never skipped quietly
            f.add([], "the plan could not be read; nothing imported")
    findings = [x for f in files for x in sorted(f.findings, key=lambda x: x.line or 0)]
    if any(f.failed for f in files):
        read = {
            str(f.path): {"mapping": f.sheet.mapping, "columns": f.sheet.columns()}
            for f in files
            if f.sheet is not None
        }
        raise ImportErrors(findings, read)
    report = ImportReport(dry_run=dry_run, findings=findings)
    report.mappings = {str(f.path): f.sheet.mapping for f in files if f.sheet is not None}
    report.mapping_from = {str(f.path): f.sheet.mapping_from for f in files if f.sheet is not None}
    report.columns = {str(f.path): f.sheet.columns() for f in files if f.sheet is not None}
    write = _Writer(conn, specs, actor, now, report, calendar or Calendar())
    if dry_run:
        savepoint = conn.begin_nested()
        try:
            write.all(files)
        finally:
            savepoint.rollback()
    else:
        write.all(files)
        _log(conn, files, report, actor, now)
        if save_mapping:
            _save_mappings(conn, files, directory, actor, now, report)
    return report


def _log(
    conn: sa.Connection, files: Sequence[_File], report: ImportReport, actor: str, now: dt.datetime
) -> None:
    """The administrators' log: each change to the directory, then the import itself."""
    for action, subject, before, after in report.directory_changes:
        adminlog.record(
            conn, actor=actor, at=now, action=action, subject=subject, before=before, after=after
        )
    names = ", ".join(f.path.name for f in files)
    adminlog.record(
        conn,
        actor=actor,
        at=now,
        action="import.plan",
        subject=names[: adminlog.MAX_SUBJECT],
        before=None,
        after={
            "files": [f.path.name for f in files],
            "reviews": report.reviews,
            "added": report.added,
            "unchanged": len(report.unchanged),
            "contacts": report.contacts,
            "created_agencies": report.created_agencies,
            "imported_statuses": report.imported_statuses,
            "anchors": report.anchors,
            "indicators": report.indicators,
            "mapping_from": {Path(k).name: v for k, v in report.mapping_from.items()},
        },
    )


def _directory(conn: sa.Connection) -> sheets.Directory:
    """The directory as a spreadsheet is matched against: agencies, contacts, the board."""
    agencies = {
        row.id: dict(row._mapping)
        for row in conn.execute(
            sa.select(_agency.c.id, _agency.c.name, _agency.c.senior_contact_role, _agency.c.note)
        )
    }
    people = [
        leads.Person(name=r.name, email=r.email, agency=r.agency_id)
        for r in conn.execute(
            sa.select(_contact.c.name, _contact.c.email, _contact.c.agency_id).order_by(
                _contact.c.agency_id, _contact.c.id
            )
        )
    ]
    # the board is the agency holding its business manager (engine.permissions)
    board = conn.execute(
        sa.select(_agency.c.name)
        .join(_contact, _contact.c.agency_id == _agency.c.id)
        .where(_contact.c.role == "business_manager")
        .order_by(_agency.c.id)
        .limit(1)
    ).scalar_one_or_none()
    return sheets.Directory(agencies, people=people, board=board)


def _save_mappings(
    conn: sa.Connection,
    files: Sequence[_File],
    directory: sheets.Directory,
    actor: str,
    now: dt.datetime,
    report: ImportReport,
) -> None:
    """Save the mapping each spreadsheet was read with, for its board."""
    for f in files:
        if f.sheet is None:
            continue
        board = (f.sheet.mapping.get("review") or {}).get("board")
        if not board or board == "not given":
            board = directory.board or "not given"
        saved, before = saved_mappings.save(
            conn,
            board=board,
            layout=f.sheet.layout,
            mapping=f.sheet.mapping,
            actor=actor,
            now=now,
        )
        adminlog.record(
            conn,
            actor=actor,
            at=now,
            action="import.mapping.save",
            subject=f"{board}: {f.path.name}"[: adminlog.MAX_SUBJECT],
            before=before,
            after={"headings": saved.headings, "mapping": saved.mapping},
        )
        report.saved_mapping = (
            f"the mapping for {saved.board}, to read files with the headings of {f.path.name}"
        )


def _is_contacts(f: _File) -> bool:
    data = f.data
    return (
        isinstance(data, dict) and "review" not in data and isinstance(data.get("agencies"), dict)
    )


def _agencies_made_by(f: _File) -> set[str]:
    """Agency ids a file creates: a plan's ``agencies``, a contacts file's named agencies."""
    data = f.data
    if not isinstance(data, dict) or (f.doc is None and f.sheet is None):
        return set()
    if "review" in data:
        rows = data.get("agencies")
        return (
            {a["id"] for a in rows or [] if isinstance(a, dict) and isinstance(a.get("id"), str)}
            if isinstance(rows, list)
            else set()
        )
    entries = data.get("agencies")
    if not isinstance(entries, dict):
        return set()
    return {
        k for k, v in entries.items() if isinstance(k, str) and isinstance(v, dict) and "name" in v
    }


class _WorkflowCheck:
    """Whether a workflow is published, and its latest version, asked of the database once
    per name."""

    def __init__(self, conn: sa.Connection, specs: SpecCache) -> None:
        self.conn, self.specs = conn, specs
        self.seen: dict[str, str | None] = {}
        self.latest: dict[str, WorkflowSpec] = {}

    def problem(self, name: str) -> str | None:
        if name not in self.seen:
            try:
                version = require_latest(self.conn, name)
                self.latest[name] = self.specs.get(self.conn, version)
                self.seen[name] = None
            except LookupError as exc:
                self.seen[name] = str(exc)
        return self.seen[name]

    def spec(self, name: str) -> WorkflowSpec | None:
        """The latest published version of ``name``, or None when there is none."""
        return None if self.problem(name) else self.latest[name]


def _check_statuses(f: _File, plan: ActionPlan, workflows: _WorkflowCheck) -> None:
    """A spreadsheet's status column: the state each row's status places its items in, by
    the workflow's ``imported_status``; a word the workflow does not name is warned about and
    leaves the items in the initial state. The state is kept with the row for the writer."""
    assert f.sheet is not None
    for i, rec in enumerate(plan.recommendations):
        row = f.sheet.row_source[i]
        if "imported_status" not in row:
            continue
        name = rec.workflow or plan.workflow
        spec = workflows.spec(name)
        if spec is None:
            continue  # an unknown workflow is already refused
        word = row["imported_status"]
        state = spec.imported_state(word)
        if state is None:
            known = ", ".join(spec.model.imported_status) or "none"
            f.add(
                ["recommendations", i, "reported_status"],
                f"status not in workflow {name!r}'s imported_status, so the item stays in "
                f"{spec.initial!r}; add the word there to place such items (known: {known})",
                Severity.WARNING,
            )
        row["imported_state"] = state or spec.initial


def _check_plan(f: _File, agencies: set[str], workflows: _WorkflowCheck) -> None:
    """The checks across rows, on the data as read: they run even when some rows failed
    their own checks, so one run reports both kinds of problem."""
    data = f.data
    rows = data.get("agencies")
    seen_agency: set[str] = set()
    for i, a in enumerate(rows if isinstance(rows, list) else []):
        aid = a.get("id") if isinstance(a, dict) else None
        if isinstance(aid, str):
            if aid in seen_agency:
                f.add(["agencies", i, "id"], f"agency {_short(aid)} is listed twice")
            seen_agency.add(aid)
    shown: dict[str, int] = {}
    stated = data.get("performance_indicators")
    for i, ind in enumerate(stated if isinstance(stated, list) else []):
        name = ind.get("name", ind.get("indicator")) if isinstance(ind, dict) else None
        if isinstance(name, str):
            if name in shown:
                f.add(
                    ["performance_indicators", i],
                    f"indicator {_short(name)} is already performance_indicators[{shown[name]}]; "
                    "give each indicator once",
                )
            shown.setdefault(name, i)
    plan_workflow = data.get("workflow", "recommendation")
    if isinstance(plan_workflow, str):
        problem = workflows.problem(plan_workflow)
        if problem:
            f.add(["workflow"], problem)
    recs = data.get("recommendations")
    seen_ref: dict[str, int] = {}
    for i, r in enumerate(recs if isinstance(recs, list) else []):
        if not isinstance(r, dict):
            continue
        ref = r.get("ref")
        if isinstance(ref, str):
            if ref in seen_ref:
                f.add(
                    ["recommendations", i, "ref"],
                    f"ref {_short(ref)} is already used by recommendations[{seen_ref[ref]}]; "
                    "refs must be unique within a review",
                )
            seen_ref.setdefault(ref, i)
        owner = r.get("agency")
        if isinstance(owner, list) and not owner:
            f.add(["recommendations", i, "agency"], "name at least one agency")
        owners: list[tuple[int | None, Any]] = []
        if isinstance(owner, str):
            owners = [(None, owner)]
        elif isinstance(owner, list):
            owners = list(enumerate(owner))
        for j, name in owners:
            if isinstance(name, str) and name not in agencies:
                loc: list[Any] = ["recommendations", i, "agency"] + ([] if j is None else [j])
                f.add(
                    loc,
                    f"unknown agency {_short(name)}{suggest(name[:100], agencies)}; "
                    "list it under 'agencies'",
                )
        workflow = r.get("workflow")
        if isinstance(workflow, str):
            problem = workflows.problem(workflow)
            if problem:
                f.add(["recommendations", i, "workflow"], problem)


def personal_data(path: Path, doc: yamlio.Document, plan: ActionPlan) -> list[Finding]:
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
    return [
        Finding(
            file=str(path),
            line=f.line,
            row=f.row,
            field=f.field,
            message=f.message,
            severity=Severity(f.severity.value),
        )
        for f in privacy.check(fields)
    ]


def _check_contacts(f: _File, agencies: set[str]) -> None:
    entries = f.data.get("agencies")
    for agency_id, entry in entries.items():
        if not isinstance(entry, dict):
            continue
        name = str(agency_id)
        if name not in agencies:
            f.add(
                ["agencies", agency_id],
                f"unknown agency {_short(name)}{suggest(name[:100], agencies)}; give its "
                "name here (name: ...) to create it, or import the action plan that lists "
                "it first, or in the same command",
            )
        contacts = entry.get("contacts")
        contacts = contacts if isinstance(contacts, list) else []
        roles: set[str] = {
            c["role"] for c in contacts if isinstance(c, dict) and isinstance(c.get("role"), str)
        }
        ladder = entry.get("ladder")
        for j, role in enumerate(ladder if isinstance(ladder, list) else []):
            if isinstance(role, str) and role not in roles:
                f.add(
                    ["agencies", agency_id, "ladder", j],
                    f"no contact of {_short(name)} has the role {_short(role)}"
                    f"{suggest(role[:100], roles)}; roles here: {sorted(roles)}",
                )
        seen: set[tuple[str, str]] = set()
        for j, c in enumerate(contacts):
            if not isinstance(c, dict):
                continue
            email, role = c.get("email"), c.get("role")
            if not isinstance(email, str) or not isinstance(role, str):
                continue
            pair = (email.lower(), role)
            if pair in seen:
                f.add(
                    ["agencies", agency_id, "contacts", j],
                    f"{_short(email, quote=False)} is listed twice with role {_short(role)}",
                )
            seen.add(pair)


class _Writer:
    """Writes checked files: agencies a contacts file creates, then plans, then contacts
    (contacts belong to agencies the plans create, whatever the order given)."""

    def __init__(
        self,
        conn: sa.Connection,
        specs: SpecCache,
        actor: str,
        now: dt.datetime,
        report: ImportReport,
        calendar: Calendar,
    ) -> None:
        self.conn, self.specs, self.actor, self.now = conn, specs, actor, now
        self.report, self.calendar = report, calendar

    def all(self, files: Sequence[_File]) -> None:
        for f in files:
            if isinstance(f.content, ContactsFile):
                _write_agencies(self.conn, f.content, self.report)
        for f in files:
            if isinstance(f.content, ActionPlan):
                _write_plan(
                    self.conn,
                    f.path,
                    f.content,
                    {**f.kept, **({"sheet_layout": f.sheet.layout} if f.sheet else {})},
                    self.specs,
                    self.actor,
                    self.now,
                    self.report,
                    self.calendar,
                    f.sheet.row_source if f.sheet else None,
                )
        for f in files:
            if isinstance(f.content, ContactsFile):
                _write_contacts(self, f, f.content)


def _write_agencies(conn: sa.Connection, content: ContactsFile, report: ImportReport) -> None:
    """Create or rename the agencies a contacts file names."""
    for agency_id, entry in content.agencies.items():
        if entry.name is None:
            continue
        values: dict[str, Any] = {"name": entry.name}
        if entry.senior_contact_role is not None:
            values["senior_contact_role"] = entry.senior_contact_role
        _put_agency(conn, report, agency_id, values)
        report.agencies.append(agency_id)


def _put_agency(
    conn: sa.Connection, report: ImportReport, agency_id: str, values: dict[str, Any]
) -> None:
    """Create an agency, or change what ``values`` changes of it; say what changed."""
    row = conn.execute(
        sa.select(*(_agency.c[k] for k in values)).where(_agency.c.id == agency_id)
    ).one_or_none()
    if row is None:
        conn.execute(_agency.insert().values(id=agency_id, ladder=[], **values))
        report.created_agencies.append(agency_id)
        report.directory_changes.append(("directory.agency.create", agency_id, None, values))
        return
    before = dict(row._mapping)
    if before != values:
        conn.execute(_agency.update().where(_agency.c.id == agency_id).values(**values))
        changed = [k for k in values if before[k] != values[k]]
        report.directory_changes.append(
            (
                "directory.agency.update",
                agency_id,
                {k: before[k] for k in changed},
                {k: values[k] for k in changed},
            )
        )


def _write_plan(
    conn: sa.Connection,
    path: Path,
    plan: ActionPlan,
    kept: dict[str, Any],
    specs: SpecCache,
    actor: str,
    now: dt.datetime,
    report: ImportReport,
    calendar: Calendar,
    rows: list[dict[str, Any]] | None = None,
) -> None:
    """Write one plan. ``rows`` (a spreadsheet's, in recommendation order) are kept in each
    recommendation's source; a row's status becomes an imported event after the item's
    first, placing it in the state its workflow's ``imported_status`` names, marked
    ``"verified": false`` (never counted as verified). A relative due date records its
    anchor; when the anchor already has its date, the item is due from it at once."""
    r = plan.review
    existing = conn.execute(
        sa.select(_review.c.id, _review.c.email_name).where(_review.c.id == r.id)
    ).one_or_none()
    exists = existing is not None
    report.reviews.append(r.id)
    for a in plan.agencies:
        report.agencies.append(a.id)
        values = {"name": a.name, "senior_contact_role": a.senior_contact_role, "note": a.note}
        _put_agency(conn, report, a.id, values)
    if existing is not None and r.email_name not in (None, existing.email_name):
        report.email_fields_set.append(r.id)
        conn.execute(_review.update().where(_review.c.id == r.id).values(email_name=r.email_name))
    if not exists:
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
                source=_review_source(path, kept),
            )
        )
    report.indicators += indicators.write(conn, r.id, plan.performance_indicators)
    present: dict[str, str | None] = {
        row.ref: row.email_summary
        for row in conn.execute(
            sa.select(_rec.c.ref, _rec.c.email_summary).where(_rec.c.review_id == r.id)
        )
    }
    waiting: dict[str, dict[str, Any]] = {}
    for i, rec in enumerate(plan.recommendations):
        row = rows[i] if rows else None
        outcome = "already present, unchanged" if rec.ref in present else "new"
        if row:
            report.rows.append(
                f"{path.name}: sheet {row['sheet']!r} row {row['row']}: {rec.ref}: {outcome}"
            )
            report.outcomes.append(_outcome(path, rec, row, outcome))
        if rec.ref in present:
            report.unchanged.append(f"{r.id}/{rec.ref}")
            if rec.email_summary not in (None, present[rec.ref]):  # the field a re-import sets
                report.email_fields_set.append(f"{r.id}/{rec.ref}")
                conn.execute(
                    _rec.update()
                    .where(_rec.c.review_id == r.id, _rec.c.ref == rec.ref)
                    .values(email_summary=rec.email_summary)
                )
            continue
        report.added.append(f"{r.id}/{rec.ref}")
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
                start_dates=[d.isoformat() for d in rec.starts or []],
                themes=rec.themes,
                note=rec.note,
                source={
                    "file": path.name,
                    "reported_status": rec.reported_status,
                    "status_basis": rec.status_basis,
                    "evidence": rec.evidence,
                    **(
                        {"lead_contact": row["lead_contact"]}
                        if row and "lead_contact" in row
                        else {}
                    ),
                    **({"sheet_row": row} if row else {}),
                },
            )
            .returning(_rec.c.id)
        ).scalar_one()
        # only a due date is a deadline: start dates are never chased
        due = min(rec.due) if rec.due else None
        created: dict[str, Any] = {"imported_from": path.name}
        relative = rec.relative_due
        if relative is not None:
            anchor_id, anchor_name, anchor_date = anchors.record(conn, r.id, relative.anchor)
            conn.execute(
                _relative.insert().values(
                    recommendation_id=rec_id,
                    anchor_id=anchor_id,
                    after=relative.after,
                    wording=relative.wording,
                )
            )
            if due is None and anchor_date is not None:
                due = anchors.due_on(anchor_date, relative.after, calendar)
                created["due_from_anchor"] = {
                    "anchor": anchor_name,
                    "anchor_date": anchor_date.isoformat(),
                    "after": relative.after,
                }
        version_id = require_latest(conn, rec.workflow or plan.workflow)
        spec = specs.get(conn, version_id)
        owners = [rec.agency] if isinstance(rec.agency, str) else rec.agency
        for owner in owners:
            item_id = create_item(
                conn,
                recommendation_id=rec_id,
                agency_id=owner,
                spec=spec,
                version_id=version_id,
                due=due,
                actor=actor,
                now=now,
                data=created,
                calendar=calendar,
            )
            key = f"{r.id}/{rec.ref}" + (f"@{owner}" if len(owners) > 1 else "")
            if row and "imported_status" in row:
                _place_by_status(conn, path, row, item_id, spec, actor, now, calendar)
                if row.get("imported_state", spec.initial) != spec.initial:
                    report.imported_statuses.append(key)
            if relative is not None and due is None:
                entry = {"review": r.id, "name": anchor_name, "waiting": []}
                waiting.setdefault(anchor_name, entry)["waiting"].append(key)
    report.anchors += list(waiting.values())


def _outcome(
    path: Path, rec: RecommendationIn, row: dict[str, Any], outcome: str
) -> dict[str, Any]:
    """A spreadsheet row's outcome, as the import page lists it."""
    relative = rec.relative_due
    return {
        "file": path.name,
        "sheet": row["sheet"],
        "row": row["row"],
        "ref": rec.ref,
        "outcome": outcome,
        "agencies": [rec.agency] if isinstance(rec.agency, str) else list(rec.agency),
        "lead": rec.lead,
        "lead_contact": row.get("lead_contact"),
        "due": [d.isoformat() for d in rec.due or []],
        "starts": [d.isoformat() for d in rec.starts or []],
        "relative_due": relative.model_dump() if relative else None,
        "status": row.get("imported_status"),
        "state": row.get("imported_state"),
    }


def _place_by_status(
    conn: sa.Connection,
    path: Path,
    row: dict[str, Any],
    item_id: int,
    spec: WorkflowSpec,
    actor: str,
    now: dt.datetime,
    calendar: Calendar,
) -> None:
    """The row's status as an imported event: the board's word, not signoff's."""
    source = f"{path.name}, sheet {row['sheet']!r} row {row['row']}"
    word = row["imported_status"]
    amend(
        conn,
        item_id=item_id,
        spec=spec,
        trigger=IMPORTED_STATUS,
        actor=actor,
        now=now,
        calendar=calendar,
        state=row.get("imported_state") or spec.initial,
        reason=f"Status {word!r} imported from {source}; not verified by signoff",
        data={
            "imported_status": word,
            "reported_status": row.get("reported_status"),
            "status_source": source,
            "verified": False,  # never reported as verified (engine.reports.lives)
        },
    )


def _review_source(path: Path, kept: dict[str, Any]) -> dict[str, Any]:
    """The review's source: sections kept but not used, and a spreadsheet's layout."""
    kept = dict(kept)
    layout = kept.pop("sheet_layout", None)
    source: dict[str, Any] = {"file": path.name, "kept_not_used": kept} if kept else {}
    if layout:
        source = {"file": path.name, **source, "sheet_layout": layout}
    return source


def _write_contacts(w: _Writer, f: _File, content: ContactsFile) -> None:
    """The file's agencies, each replacing its contacts, ladder, conflicts and assigned
    auditors, through the directory's one writer (checked whole, logged); its deputies may be
    cover staff the directory does not list."""
    conn = w.conn
    w.report.contacts += sum(len(a.contacts) for a in content.agencies.values())
    before = directory.read(conn)
    names = {k: v.name for k, v in before.items()}
    after = edits.replace_agencies(entries_of(content, names))(before)
    try:
        directory.commit(
            conn, before, after, actor=w.actor, now=w.now,
            today=w.calendar.local(w.now).date(), note=f"imported from {f.path.name}",
            outside_deputies=True,
        )  # fmt: skip
    except directory.DirectoryRefused as exc:
        for problem in exc.problems:
            f.add(located(problem, f.data), problem.message)
        raise ImportErrors(f.findings) from None


def json_schemas() -> dict[str, dict[str, Any]]:
    """JSON Schemas of both import shapes, keyed by file name under config/."""
    out = {}
    for name, model in (
        ("action-plan.schema.json", ActionPlan),
        ("contacts.schema.json", ContactsFile),
        ("sheet-mapping.schema.json", sheets.SheetMappingFile),
    ):
        schema = model.model_json_schema()
        schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
        if model is ActionPlan:  # other sections are kept as source context, not refused
            schema["additionalProperties"] = True
        out[name] = schema
    return out
