"""Action plans kept in spreadsheets (xlsx, csv), read into the YAML importer's shape.

A board's plan is a table: a heading row (not always the first: titles and merged group
headings sit above it), one row per recommendation, on one or several sheets. This module
finds the heading row of each sheet, maps headings to signoff's fields (common headings are
recognised; a mapping file, ``config/sheet-mapping.schema.json``, names the rest, per sheet
where they differ), and turns each row into the data of an ``ActionPlan`` as
``engine.importer`` reads it from YAML. The importer then checks and writes it exactly as
it does a YAML plan, so there is one importer; this module only reads the table.

Every problem names the sheet, row, column and value, and all are collected in one pass
(``Sheet.findings``). Dates are read as boards write them (:func:`parse_dates`). A status
column is kept as the row's reported status and written as an imported event marked
``"verified": false``. The layout (sheets, heading rows, headings, the mapping used) and
each row's cells are kept with the review so ``signoff export`` writes the plan back in the
same layout; a re-import of that file reads the same rows.
"""

from __future__ import annotations

import calendar as cal
import csv
import datetime as dt
import io
import re
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from engine import anchors, leads
from engine.findings import Finding, Severity
from engine.spec import suggest
from engine.spec.fields import words

SUFFIXES = (".xlsx", ".xlsm", ".csv")
MAX_BYTES = 20 * 1024 * 1024
MAX_ROWS = 5_000
MAX_COLUMNS = 60
HEADER_SCAN = 30  # rows searched for the heading row
EXPORT_PREFIX = "signoff: "  # headings of columns export adds; never read back
MAPPING_SHEET = "signoff mapping"  # export's hidden sheet: the mapping, read back on import

SheetField = Literal[
    "ref",
    "text",
    "agreed_action",
    "agency",
    "lead",
    "due",
    "priority",
    "status",
    "evidence",
    "note",
    "risk_if_not_actioned",
    "themes",
    "ignore",
]

# Common headings (compared with case, punctuation and spacing ignored).
HEADINGS: dict[str, SheetField] = {
    "ref": "ref",
    "no": "ref",
    "number": "ref",
    "rec no": "ref",
    "rec ref": "ref",
    "recommendation no": "ref",
    "recommendation number": "ref",
    "recommendation ref": "ref",
    "recommendation": "text",
    "recommendations": "text",
    "action": "agreed_action",
    "actions": "agreed_action",
    "agreed action": "agreed_action",
    "action required": "agreed_action",
    "lead agency": "agency",
    "agency": "agency",
    "agencies": "agency",
    "lead officer": "lead",
    "responsible officer": "lead",
    "lead person": "lead",
    "target date": "due",
    "timescale": "due",
    "timescales": "due",
    "target": "due",
    "deadline": "due",
    "completion date": "due",
    "rag": "status",
    "rag status": "status",
    "status": "status",
    "progress": "status",
    "completion": "status",
    "priority": "priority",
    "evidence": "evidence",
    "evidence of completion": "evidence",
    "evidence of impact": "evidence",
    "update": "note",
    "progress update": "note",
    "agency response": "note",
    "comments": "note",
    "risk": "risk_if_not_actioned",
    "risk if not actioned": "risk_if_not_actioned",
    "theme": "themes",
    "themes": "themes",
}

ReviewKind = Literal[
    "serious_case_review",
    "internal_audit",
    "scrutiny",
    "inspection_response",
    "annual_report",
    "safeguarding_practice_review",
    "individual_management_review",
]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ReviewMapping(_In):
    id: str | None = Field(None, description="slug; the file name when not given")
    title: str | None = Field(None, description="the text above the headings, or the file name")
    board: str | None = None
    kind: ReviewKind | None = Field(None, description="serious_case_review when not given")
    date: dt.date | None = None


class SheetMapping(_In):
    header_row: int | None = Field(
        None, ge=1, le=HEADER_SCAN, description="1-based row of the headings; found if not given"
    )
    skip: bool = Field(False, description="a sheet that holds no recommendations")
    columns: dict[str, SheetField] = Field(
        default_factory=dict, description="heading as written -> signoff field, for this sheet"
    )


class SheetMappingFile(_In):
    """How a spreadsheet's headings map to signoff's fields (``signoff import --mapping``).

    ``columns`` applies to every sheet; ``sheets`` overrides it per sheet (by sheet name;
    a CSV file is one sheet named after the file). Headings are compared with case,
    punctuation and spacing ignored; headings not named here fall back to the common ones
    (Recommendation, Action, Lead agency, Lead officer, Target date, Timescale, RAG,
    Priority, Evidence, Update); ``ignore`` leaves a column out."""

    review: ReviewMapping = Field(default_factory=ReviewMapping)
    workflow: str | None = None
    agencies: dict[str, str] = Field(
        default_factory=dict, description="agency as written in the plan -> directory agency id"
    )
    columns: dict[str, SheetField] = Field(default_factory=dict)
    sheets: dict[str, SheetMapping] = Field(default_factory=dict)


def mapping_schema() -> dict[str, Any]:
    schema = SheetMappingFile.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return schema


def norm(text: str) -> str:
    """Text compared with case, punctuation and spacing ignored ('&' reads as 'and')."""
    return words(text)


# ---------------------------------------------------------------- dates

_MONTHS = {m.lower(): i for i, m in enumerate(cal.month_name) if m} | {
    m.lower(): i for i, m in enumerate(cal.month_abbr) if m
}
_MONTHS["sept"] = 9
_MONTH = r"(?P<month>" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\.?"
_SEASONS = {"spring": (5, 0), "summer": (8, 0), "autumn": (11, 0), "winter": (2, 1)}
_DATE_RE = re.compile(
    r"(?P<iso>\b(?P<iy>\d{4})-(?P<im>\d{1,2})-(?P<id>\d{1,2})\b)"
    r"|(?P<dmy>\b(?P<d>\d{1,2})[/.](?P<m>\d{1,2})[/.](?P<y>\d{4}|\d{2})\b)"
    r"|(?P<long>\b(?P<ld>\d{1,2})(?:st|nd|rd|th)?\s+" + _MONTH + r",?\s+(?P<ly>\d{4}|\d{2})\b)"
    r"|(?P<monthyear>\b(?P<mm>"
    + "|".join(sorted(_MONTHS, key=len, reverse=True))
    + r")\.?\s+(?P<my>\d{4}|'?\d{2})\b)"
    r"|(?P<season>\b(?P<s>spring|summer|autumn|winter)\s+(?P<sy>\d{4})\b)"
    r"|(?P<immediate>\bimmediate(?:ly)?\b)",
    re.IGNORECASE,
)
_START_BEFORE = re.compile(r"\b(from|starting|start|commencing|beginning)\s*$", re.IGNORECASE)
_START_AFTER = re.compile(r"^\s*(onwards?|and ongoing)\b", re.IGNORECASE)
_RELATIVE = re.compile(
    r"\b(within|months?|weeks?|days?|ongoing|publication|following|after|before|quarterly|"
    r"annually|annual|yearly|next|end of|by the|review)\b",
    re.IGNORECASE,
)


@dataclass
class Dates:
    """What a date cell said: due dates and start dates in source order, whether any was
    approximate (a season), wording kept as text, or the reason it could not be read."""

    due: list[dt.date] = field(default_factory=list)
    starts: list[dt.date] = field(default_factory=list)
    approximate: list[str] = field(default_factory=list)
    text: str | None = None
    relative: anchors.Relative | None = None  # "within six months of publication of ..."
    immediate: bool = False
    problem: str | None = None


def _year(text: str) -> int:
    text = text.lstrip("'")
    return int(text) + 2000 if len(text) == 2 else int(text)


def _end_of_month(year: int, month: int) -> dt.date:
    return dt.date(year, month, cal.monthrange(year, month)[1])


def excel_serial(value: float) -> dt.date:
    """An Excel (1900 system) day number as a date."""
    return dt.date(1899, 12, 30) + dt.timedelta(days=int(value))


def parse_dates(value: Any, *, immediate: dt.date) -> Dates:
    """Dates as boards write them.

    A date cell or an Excel serial; "31/01/2011" (day first); "1st April 2011"; "June 2011"
    (the end of the month); "Summer 2010" (the end of the season, flagged approximate);
    "From January 2011" or "January 09 onwards" (a start date, never chased); "Immediate"
    (``immediate``, the review's date or the import's); several in one cell, kept in order.
    Wording with no date is kept as text; where it is a time after an event ("within six
    months of publication of this Review") that is read too (``relative``: the anchor)."""
    out = Dates()
    if value is None or value == "":
        return out
    if isinstance(value, dt.datetime):
        out.due.append(value.date())
        return out
    if isinstance(value, dt.date):
        out.due.append(value)
        return out
    if isinstance(value, int | float) and not isinstance(value, bool):
        if 10_000 <= value <= 80_000:
            out.due.append(excel_serial(value))
        else:
            out.problem = "is a number but not a date (an Excel date number is 10000-80000)"
        return out
    text = str(value)
    found = False
    try:
        for m in _DATE_RE.finditer(text):
            found = True
            if m.group("immediate"):
                out.immediate = True
                out.due.append(immediate)
                continue
            if m.group("iso"):
                day = dt.date(int(m["iy"]), int(m["im"]), int(m["id"]))
            elif m.group("dmy"):
                day = dt.date(_year(m["y"]), int(m["m"]), int(m["d"]))
            elif m.group("long"):
                day = dt.date(_year(m["ly"]), _MONTHS[m["month"].lower()], int(m["ld"]))
            elif m.group("monthyear"):
                day = _end_of_month(_year(m["my"]), _MONTHS[m["mm"].lower()])
            else:
                month, later = _SEASONS[m["s"].lower()]
                day = _end_of_month(int(m["sy"]) + later, month)
                out.approximate.append(m.group(0))
            if _START_BEFORE.search(text[: m.start()]) or _START_AFTER.search(text[m.end() :]):
                if m.group("monthyear"):
                    day = day.replace(day=1)  # "from January 2011": the month's first day
                out.starts.append(day)
            else:
                out.due.append(day)
    except ValueError:
        out.problem = "has a date that does not exist"
        return out
    if not found:
        if _RELATIVE.search(text):
            out.text = text.strip()
            out.relative = anchors.parse(out.text)
        else:
            out.problem = (
                "is not a date; write it as 31/01/2011, 1st April 2011, June 2011 or "
                "Summer 2010, or map the column to 'note'"
            )
    return out


# ---------------------------------------------------------------- cells

_PRIORITY = {"h": "H", "high": "H", "m": "M", "medium": "M", "med": "M", "l": "L", "low": "L"}
_STATUS = {
    "completed": "panel_signed_off",
    "complete": "panel_signed_off",
    "implemented": "panel_signed_off",
    "done": "panel_signed_off",
    "achieved": "panel_signed_off",
    "green": "panel_signed_off",
    "g": "panel_signed_off",
    "blue": "panel_signed_off",
    "b": "panel_signed_off",
    "closed": "panel_signed_off",
    "no response": "closed_no_response",
    "on track": "open",
    "in progress": "open",
    "ongoing": "open",
    "not started": "open",
    "open": "open",
    "amber": "open",
    "a": "open",
    "red": "open",
    "r": "open",
    "evidence submitted": "evidence_submitted",
    "not for this board": "not_for_this_board",
}
STATUS_WORDS = sorted(_STATUS)


def cell_text(value: Any) -> str:
    """A cell as text: dates as dd/mm/yyyy (the form boards write and this reads back)."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, dt.date):
        return value.strftime("%d/%m/%Y")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def to_json(value: Any) -> Any:
    """A cell as it is kept with the recommendation (and written back by export)."""
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, dt.date):
        return {"date": value.isoformat()}
    return value


def from_json(value: Any) -> Any:
    if isinstance(value, dict) and "date" in value:
        return dt.date.fromisoformat(value["date"])
    return value


# ---------------------------------------------------------------- reading


@dataclass
class Table:
    """One sheet's cells as values: merged ranges filled from their first cell, hidden rows
    marked, formulas without a stored value named."""

    name: str
    rows: list[list[Any]]
    hidden: set[int] = field(default_factory=set)  # 1-based
    formulas: dict[tuple[int, int], str] = field(default_factory=dict)  # (row, col) 1-based
    merged_header: set[tuple[int, int]] = field(default_factory=set)  # filled, not first


class NotASpreadsheet(Exception):
    pass


_ACTIVE = ("=", "+", "-", "@", "\t", "\r")


def _unquote(value: Any) -> Any:
    """A text cell as written before export put an apostrophe before a formula character
    (``reports.cells.neutralise``), so export then import reads the same text."""
    if isinstance(value, str) and value.startswith("'") and value[1:].startswith(_ACTIVE):
        return value[1:]
    return value


def col_letter(col: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(col)


def read_tables(path: Path) -> list[Table]:
    """Every sheet of an xlsx file, or a csv file as one sheet.

    Raises:
        NotASpreadsheet: the file is not one, in words."""
    size = path.stat().st_size
    if size > MAX_BYTES:
        raise NotASpreadsheet(f"{size:,} bytes, more than the {MAX_BYTES:,} allowed")
    if path.suffix.lower() == ".csv":
        return [_read_csv(path)]
    return _read_xlsx(path)


def _read_csv(path: Path) -> Table:
    raw = path.read_bytes()
    if b"\x00" in raw or raw.startswith(b"PK\x03\x04"):
        raise NotASpreadsheet(
            "not a CSV file: it is binary (save the plan as 'CSV UTF-8' or as .xlsx)"
        )
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("cp1252", errors="replace")
    try:
        delimiter = csv.Sniffer().sniff(text[:4096], delimiters=",;\t").delimiter
    except csv.Error:
        delimiter = ","
    try:  # only the delimiter is guessed: spreadsheets quote with '"' (text may hold "'")
        rows = [list(r) for r in csv.reader(io.StringIO(text), csv.excel, delimiter=delimiter)]
    except csv.Error as exc:
        raise NotASpreadsheet(f"not a CSV file: {exc}") from None
    values = [
        [_unquote(c) if c.strip() else None for c in r[:MAX_COLUMNS]]
        for r in rows[: MAX_ROWS + HEADER_SCAN]
    ]
    return Table(name=path.stem, rows=values)


def _read_xlsx(path: Path) -> list[Table]:
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        with path.open("rb") as fh:
            head = fh.read(4)
        if head != b"PK\x03\x04":
            raise NotASpreadsheet(
                "not an Excel workbook (.xlsx): the file does not start like one; an old "
                ".xls file or a Word document must be saved as .xlsx or .csv first"
            )
        with zipfile.ZipFile(path) as z:
            total = sum(i.file_size for i in z.infolist())
        if total > 10 * MAX_BYTES:
            raise NotASpreadsheet(f"unpacks to {total:,} bytes, too large to be a plan")
        formulas = openpyxl.load_workbook(path, data_only=False)
        values = openpyxl.load_workbook(path, data_only=True)
    except NotASpreadsheet:
        raise
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise NotASpreadsheet(f"not an Excel workbook (.xlsx): {exc}") from None
    except Exception as exc:  # openpyxl raises many kinds on a broken file
        raise NotASpreadsheet(f"not a readable Excel workbook: {type(exc).__name__}") from None
    tables = []
    for ws in values.worksheets:
        wf = formulas[ws.title]
        rows_n = min(ws.max_row, MAX_ROWS + HEADER_SCAN)
        cols_n = min(ws.max_column, MAX_COLUMNS)
        grid = [
            [_unquote(ws.cell(r, c).value) for c in range(1, cols_n + 1)]
            for r in range(1, rows_n + 1)
        ]
        t = Table(name=ws.title, rows=grid)
        for r in range(1, rows_n + 1):
            dim = ws.row_dimensions.get(r)
            if dim is not None and dim.hidden:
                t.hidden.add(r)
            for c in range(1, cols_n + 1):
                f = wf.cell(r, c).value
                if isinstance(f, str) and f.startswith("=") and grid[r - 1][c - 1] is None:
                    t.formulas[(r, c)] = f
        for rng in ws.merged_cells.ranges:
            first = ws.cell(rng.min_row, rng.min_col).value
            for r in range(rng.min_row, min(rng.max_row, rows_n) + 1):
                for c in range(rng.min_col, min(rng.max_col, cols_n) + 1):
                    if (r, c) != (rng.min_row, rng.min_col):
                        grid[r - 1][c - 1] = first
                        if r == rng.min_row or rng.min_col != c:
                            t.merged_header.add((r, c))
        tables.append(t)
    return tables


# ---------------------------------------------------------------- sheet to plan


@dataclass
class Located:
    """Where each part of the plan's data came from, for findings."""

    path: Path
    rows: list[tuple[str, int]] = field(default_factory=list)  # per recommendation
    columns: dict[tuple[str, str], tuple[int, str]] = field(default_factory=dict)
    cells: dict[tuple[int, str], Any] = field(default_factory=dict)  # (rec index, field)

    def where(self, loc: Sequence[Any]) -> tuple[str, str, Any]:
        """(row, field, value) for a path into the plan's data."""
        if len(loc) >= 2 and loc[0] == "recommendations" and isinstance(loc[1], int):
            i = loc[1]
            if i < len(self.rows):
                sheet, row = self.rows[i]
                name = str(loc[2]) if len(loc) > 2 else ""
                col = self.columns.get((sheet, name))
                column = f"column {col_letter(col[0])} ({col[1]})" if col else name
                return f"sheet {sheet!r} row {row}", column, self.cells.get((i, name))
        return ".".join(str(p) for p in loc), "", None


@dataclass
class SheetPlan:
    data: dict[str, Any]
    located: Located
    findings: list[Finding]
    mapping: dict[str, Any]  # the mapping used, in the mapping file's shape
    layout: dict[str, Any]  # kept with the review for export
    row_source: list[dict[str, Any]]  # per recommendation: sheet, row, cells, status
    mapping_from: str = "the common headings"  # which mapping was used, in words
    # sheets whose headings could not be used: a heading row (found, or the first that looks
    # like one), its headings and what they were read as, for a page to offer to map them
    unread: dict[str, dict[str, Any]] = field(default_factory=dict)

    def columns(self) -> dict[str, Any]:
        """Each sheet's heading row and headings with the field each was read as ('ignore'
        for a heading not used), the sheets read and the sheets not read alike."""
        out = {
            name: {"header_row": s["header_row"], "columns": dict(s["columns"]), "read": True}
            for name, s in self.mapping.get("sheets", {}).items()
        }
        for name, s in self.unread.items():
            cols = {h: s["columns"].get(h, "ignore") for h in s["headings"] if h}
            out[name] = {"header_row": s["header_row"], "columns": cols, "read": False}
        return out


@dataclass(frozen=True)
class AgencyMatch:
    """The agencies a cell names (``ids``), those of them this plan creates (``new``), or
    the problem."""

    ids: list[str]
    new: list[str] = field(default_factory=list)
    problem: str | None = None


@dataclass
class Directory:
    """What the directory knows: agencies by id, by name (normalised) and by the names a
    mapping gives; the contacts, for lead officers; and the agencies a plan creates."""

    agencies: dict[str, dict[str, Any]]  # id -> {id, name, senior_contact_role, note}
    people: list[leads.Person] = field(default_factory=list)
    created: dict[str, str] = field(default_factory=dict)  # id -> name, made by this plan
    announced: set[str] = field(default_factory=set)  # new agencies a finding has named
    board: str | None = None  # the board's name: its own agency's (it holds the manager)

    def match(self, written: str, aliases: dict[str, str]) -> AgencyMatch:
        """The agency ids a cell names. A name the directory lacks, with no close match in
        it, is a new agency (created as a YAML plan's ``agencies`` are, its id the name's
        words joined by '-'); so is a name the mapping's ``agencies`` gives an id the
        directory lacks. A name close to one the directory has is refused as a likely slip,
        with the suggestion."""
        by_norm: dict[str, str] = {}
        for name, aid in aliases.items():
            by_norm[norm(name)] = aid
            if aid not in self.agencies:
                self.created.setdefault(aid, name)
        for aid, a in self.agencies.items():
            by_norm.setdefault(norm(aid), aid)
            by_norm.setdefault(norm(a["name"]), aid)
        for aid, name in self.created.items():
            by_norm.setdefault(norm(aid), aid)
            by_norm.setdefault(norm(name), aid)
        whole = by_norm.get(norm(written))
        parts = (
            [written]
            if whole
            else [p for p in re.split(r"\s*(?:/|;|,|\n|&|\band\b|\+)\s*", written) if p.strip()]
        )
        ids: list[str] = []
        new: list[str] = []
        names = [a["name"] for a in self.agencies.values()] + list(self.agencies)
        for part in parts:
            hit = by_norm.get(norm(part))
            if hit is None:
                part = part.strip()
                close = suggest(part[:100], names) or "."
                if close != "." or not norm(part):
                    return AgencyMatch(
                        ids=[],
                        problem=f"unknown agency {part[:60]!r}{close} If it is that agency, "
                        "map it under 'agencies' in a mapping file; if it is a new one, "
                        "map it there to a new id (it is then created)",
                    )
                hit = _slug(part)
                self.created[hit] = part
                by_norm[norm(part)] = hit
            if hit in self.created and hit not in new:
                new.append(hit)
            if hit not in ids:
                ids.append(hit)
        return AgencyMatch(ids=ids, new=new)

    def record(self, aid: str) -> dict[str, Any]:
        """An agency as the plan lists it: the directory's, or one the plan creates."""
        if aid in self.agencies:
            return {k: v for k, v in self.agencies[aid].items() if v is not None}
        return {"id": aid, "name": self.created[aid]}


def _slug(text: str) -> str:
    return "-".join(norm(text).split())[:100] or "imported-plan"


def _field_for(heading: str, columns: dict[str, SheetField]) -> SheetField | None:
    key = norm(heading)
    if heading.startswith(EXPORT_PREFIX):
        return "ignore"
    mapped = {norm(k): v for k, v in columns.items()}
    return mapped.get(key) or HEADINGS.get(key)


def _first_heading_row(t: Table) -> int | None:
    """The first row that looks like headings: two or more cells of text."""
    for r, row in enumerate(t.rows[:HEADER_SCAN], start=1):
        if sum(1 for v in row if isinstance(v, str) and v.strip()) >= 2:
            return r
    return None


def _find_header(t: Table, columns: dict[str, SheetField]) -> int | None:
    best, best_row = 1, None
    for r, row in enumerate(t.rows[:HEADER_SCAN], start=1):
        fields = {_field_for(str(v), columns) for v in row if isinstance(v, str) and v.strip()} - {
            None,
            "ignore",
        }
        if len(fields) > best and ("text" in fields or "ref" in fields):
            best, best_row = len(fields), r
    return best_row


def read_plan(
    path: Path,
    mapping: SheetMappingFile | None,
    directory: Directory,
    *,
    today: dt.date,
    saved: Callable[[list[Table]], tuple[SheetMappingFile, str] | None] | None = None,
    given_as: str = "the mapping given",
) -> SheetPlan:
    """The plan in ``path`` as the importer's data, with every problem found.

    With no ``mapping``, a workbook ``signoff export`` wrote carries its own (a hidden sheet,
    :data:`MAPPING_SHEET`); else ``saved`` is asked for a mapping saved for these headings
    (``engine.saved_mappings``: it answers the mapping and what to call it); otherwise the
    common headings are recognised. ``SheetPlan.mapping_from`` says which was used."""
    findings: list[Finding] = []
    located = Located(path)

    def add(
        row: str, column: str, value: Any, message: str, sev: Severity = Severity.ERROR
    ) -> None:
        shown = f" {str(value)[:60]!r}" if value not in (None, "") else ""
        findings.append(
            Finding(
                file=str(path),
                row=row,
                field=column,
                message=f"value{shown}: {message}" if shown else message,
                severity=sev,
                value=str(value)[:200] if shown else None,
            )
        )

    tables = read_tables(path)  # NotASpreadsheet goes to the caller
    carried = [t for t in tables if t.name == MAPPING_SHEET]
    tables = [t for t in tables if t.name != MAPPING_SHEET]
    mapping_from = given_as
    if mapping is None and carried:
        mapping = _carried_mapping(carried[0], add)
        mapping_from = "the mapping signoff export kept in the workbook"
    if mapping is None and saved is not None:
        found = saved(tables)
        if found is not None:
            mapping, mapping_from = found
    if mapping is None:
        mapping_from = "the common headings"
    mapping = mapping or SheetMappingFile()
    review = mapping.review
    immediate = review.date or today
    recs: list[dict[str, Any]] = []
    unread: dict[str, dict[str, Any]] = {}  # sheets whose headings could not be used
    row_source: list[dict[str, Any]] = []
    used_agencies: list[str] = []
    used_sheets: dict[str, Any] = {}
    title: str | None = None
    one_csv = path.suffix.lower() == ".csv" and len(mapping.sheets) == 1
    for t in tables:
        # a CSV file is one sheet, whatever the mapping calls it (the file may be renamed)
        sm = next(iter(mapping.sheets.values())) if one_csv else mapping.sheets.get(t.name)
        sm = sm or SheetMapping()
        if sm.skip:
            continue
        columns = {**mapping.columns, **sm.columns}
        header = sm.header_row or _find_header(t, columns)
        if header is None or header > len(t.rows):
            guess = _first_heading_row(t)
            if guess is not None:
                unread[t.name] = {
                    "header_row": guess,
                    "headings": [cell_text(v).strip() for v in t.rows[guess - 1]],
                    "columns": {},
                }
            if any(v is not None for row in t.rows for v in row):
                add(
                    f"sheet {t.name!r}",
                    "",
                    None,
                    "no heading row found (none of Ref, Recommendation, Action, Lead agency, "
                    "Target date ... in the first 30 rows); the sheet is not imported. Name "
                    "its headings in a mapping file, or skip it there",
                    Severity.NOTE,
                )
            continue
        heads = t.rows[header - 1]
        fields: dict[int, SheetField] = {}
        headings: list[str] = []
        used_columns: dict[str, SheetField] = {}
        for c, v in enumerate(heads, start=1):
            heading = cell_text(v).strip()
            headings.append(heading)
            if not heading:
                continue
            if (header, c) in t.merged_header and c > 1 and heading == headings[c - 2]:
                continue  # a heading merged across columns: its first column is read
            f = _field_for(heading, columns)
            if f is None:
                add(
                    f"sheet {t.name!r} row {header}",
                    f"column {col_letter(c)}",
                    heading,
                    "heading not recognised; the column is not imported (map it in a "
                    "mapping file, or to 'ignore')",
                    Severity.NOTE,
                )
                used_columns[heading] = "ignore"
                continue
            used_columns[heading] = f
            if f == "ignore":
                continue
            if f in fields.values() and f not in ("evidence", "note"):
                add(
                    f"sheet {t.name!r} row {header}",
                    f"column {col_letter(c)}",
                    heading,
                    f"a second column for {f!r}; map one of them to 'ignore'",
                )
                continue
            fields[c] = f
        if "text" not in fields.values():
            unread[t.name] = {"header_row": header, "headings": headings, "columns": used_columns}
            add(
                f"sheet {t.name!r} row {header}",
                "",
                None,
                "no Recommendation column among the headings; name it in a mapping file",
            )
            continue
        if title is None:
            above = [cell_text(v).strip() for row in t.rows[: header - 1] for v in row if v]
            title = above[0] if above else None
        used_sheets[t.name] = {
            "header_row": header,
            "headings": headings,
            "above": [[to_json(v) for v in row] for row in t.rows[: header - 1]],
        }
        mapping_sheet: dict[str, Any] = {"header_row": header, "columns": used_columns}
        used_sheets[t.name]["mapping"] = mapping_sheet
        for c, f in fields.items():
            located.columns[(t.name, _model_field(f))] = (c, headings[c - 1])
        last_ref_row = None
        data_rows = t.rows[header:]
        if len(data_rows) > MAX_ROWS:
            add(f"sheet {t.name!r}", "", None, f"more than {MAX_ROWS:,} rows; split the plan")
            continue
        for r, row in enumerate(data_rows, start=header + 1):
            values = {f: row[c - 1] if c - 1 < len(row) else None for c, f in fields.items()}
            if all(v is None or str(v).strip() == "" for v in values.values()):
                continue  # a blank row
            where = f"sheet {t.name!r} row {r}"
            if r in t.hidden:
                add(where, "", None, "hidden row; not imported", Severity.NOTE)
                continue
            for (fr, fc), formula in t.formulas.items():
                if fr == r and fc in fields:
                    add(
                        where,
                        f"column {col_letter(fc)} ({headings[fc - 1]})",
                        formula,
                        "a formula with no saved value; open the file in Excel and save it "
                        "(or paste the values) so the value is stored",
                    )
            i = len(recs)
            rec, status = _row(values, fields, headings, where, add, directory, mapping, immediate)
            for f in fields.values():
                located.cells[(i, _model_field(f))] = values.get(f)
            if rec.get("ref") is None and rec.get("text") is None:
                continue
            if rec.get("ref") is None:
                add(where, _col(fields, headings, "ref"), None, "no ref; give each row a ref")
            last_ref_row = r
            for aid in rec.get("_agencies", []):
                if aid not in used_agencies:
                    used_agencies.append(aid)
            rec.pop("_agencies", None)
            recs.append(rec)
            located.rows.append((t.name, r))
            row_source.append(
                {
                    "sheet": t.name,
                    "row": r,
                    "cells": [to_json(v) for v in row[: len(headings)]],
                    **status,
                }
            )
        del last_ref_row
    if not recs and not any(f.severity is Severity.ERROR for f in findings):
        add("", "", None, "no recommendation rows found in any sheet")
    stem = path.stem
    kind = review.kind or "serious_case_review"
    if review.kind is None:
        add(
            "review",
            "kind",
            None,
            "not given; taken as serious_case_review (set review.kind in a mapping file)",
            Severity.NOTE,
        )
    review_data: dict[str, Any] = {
        "id": review.id or _slug(stem),
        "title": review.title or title or stem,
        "board": review.board or directory.board or "not given",
        "kind": kind,
        "source_document": path.name,
    }
    if review.date:
        review_data["date"] = review.date
    data: dict[str, Any] = {
        "review": review_data,
        "agencies": [directory.record(a) for a in used_agencies],
        "recommendations": recs,
    }
    if mapping.workflow:
        data["workflow"] = mapping.workflow
    used_review = {k: v for k, v in review_data.items() if k != "source_document"}
    if isinstance(used_review.get("date"), dt.date):
        used_review["date"] = used_review["date"].isoformat()
    used_mapping: dict[str, Any] = {
        "review": used_review,
        **({"workflow": mapping.workflow} if mapping.workflow else {}),
        **({"agencies": dict(mapping.agencies)} if mapping.agencies else {}),
        "sheets": {name: s["mapping"] for name, s in used_sheets.items()},
    }
    layout = {
        "format": path.suffix.lower().lstrip("."),
        "file": path.name,
        "sheets": {name: dict(s.items()) for name, s in used_sheets.items()},
        "mapping": used_mapping,
    }
    return SheetPlan(
        data, located, findings, used_mapping, layout, row_source, mapping_from, unread
    )


def _carried_mapping(t: Table, add: Any) -> SheetMappingFile | None:
    import yaml

    text = t.rows[1][0] if len(t.rows) > 1 and t.rows[1] else None
    try:
        return SheetMappingFile.model_validate(yaml.safe_load(str(text or "")) or {})
    except (yaml.YAMLError, ValidationError) as exc:
        add(
            f"sheet {MAPPING_SHEET!r} row 2",
            "column A",
            None,
            f"not a mapping signoff export wrote ({type(exc).__name__}); delete the sheet or "
            "give --mapping",
        )
        return None


def _model_field(f: SheetField) -> str:
    return {"status": "reported_status", "agency": "agency"}.get(f, f)


def _col(fields: dict[int, SheetField], headings: list[str], f: str) -> str:
    for c, name in fields.items():
        if name == f:
            return f"column {col_letter(c)} ({headings[c - 1]})"
    return f


def _row(
    values: dict[SheetField, Any],
    fields: dict[int, SheetField],
    headings: list[str],
    where: str,
    add: Any,
    directory: Directory,
    mapping: SheetMappingFile,
    immediate: dt.date,
) -> tuple[dict[str, Any], dict[str, Any]]:
    rec: dict[str, Any] = {}
    status: dict[str, Any] = {}
    notes: list[str] = []
    evidence: list[str] = []
    for f, value in values.items():
        col = _col(fields, headings, f)
        if value is None or (isinstance(value, str) and not value.strip()):
            continue
        text = cell_text(value).strip()
        if f == "ref":
            rec["ref"] = text
        elif f in ("text", "agreed_action", "risk_if_not_actioned", "lead"):
            rec[f] = text
        elif f == "agency":
            found = directory.match(text, mapping.agencies)
            if found.problem:
                add(where, col, text, found.problem)
                rec["agency"] = "unknown"
            else:
                ids = found.ids
                rec["agency"] = ids[0] if len(ids) == 1 else ids
                rec["_agencies"] = ids
                for aid in found.new:
                    if aid not in directory.announced:
                        directory.announced.add(aid)
                        add(
                            where,
                            col,
                            text,
                            f"new agency {directory.created[aid]!r}: added to the directory as "
                            f"{aid!r} (if the directory has it under another name, map it under "
                            "'agencies' in a mapping file)",
                            Severity.WARNING,
                        )
        elif f == "due":
            d = parse_dates(value, immediate=immediate)
            if d.problem:
                add(where, col, text, d.problem)
                continue
            if d.due:
                rec["due"] = d.due
            if d.starts:
                rec["starts"] = d.starts
            if d.approximate:
                add(
                    where,
                    col,
                    text,
                    f"approximate date ({', '.join(d.approximate)}): taken as "
                    f"{', '.join(x.isoformat() for x in d.due + d.starts)}",
                    Severity.WARNING,
                )
            if d.immediate:
                add(where, col, text, f"taken as due {immediate}", Severity.NOTE)
            if d.text:
                notes.append(f"Timescale: {d.text}")
            if d.relative:
                rec["relative_due"] = {
                    "wording": d.text,
                    "after": d.relative.after,
                    "anchor": d.relative.anchor,
                }
                add(
                    where,
                    col,
                    text,
                    f"due {d.relative.after} after {d.relative.anchor!r}: no deadline until "
                    "that date is given (signoff anchor set, or the anchors page); the due "
                    "date is then worked out from it",
                    Severity.NOTE,
                )
            elif d.text:
                add(
                    where,
                    col,
                    text,
                    "no date in it: kept as text with no deadline until a date is given",
                    Severity.NOTE,
                )
        elif f == "priority":
            p = _PRIORITY.get(norm(text))
            if p is None:
                add(where, col, text, "not a priority; write High, Medium or Low (or H, M, L)")
            else:
                rec["priority"] = p
        elif f == "status":
            # the state it places the item in is the workflow's (``imported_status``), decided
            # by the importer; this is the plan's word as source context
            s = _STATUS.get(norm(text), "unknown")
            rec["reported_status"] = s
            rec["status_basis"] = text
            status = {"imported_status": text, "reported_status": s}
        elif f == "evidence":
            evidence.append(text)
        elif f == "note":
            notes.append(text)
        elif f == "themes":
            rec["themes"] = [x.strip() for x in re.split(r"[;,\n]", text) if x.strip()]
    if evidence:
        rec["evidence"] = evidence
    if notes:
        rec["note"] = "\n".join(notes)
    if rec.get("lead") and directory.people:
        lead = leads.match(rec["lead"], directory.people, rec.get("_agencies", []))
        who = lead.person
        if who is not None:
            status["lead_contact"] = {"name": who.name, "email": who.email, "agency": who.agency}
        else:
            col = _col(fields, headings, "lead")
            add(where, col, rec["lead"], lead.problem or "", Severity.WARNING)
    return rec, status


def load_mapping(path: Path) -> tuple[SheetMappingFile | None, list[Finding]]:
    """A mapping file, or the problems with it (each naming the field)."""
    from engine.spec import reader as yamlio

    try:
        doc = yamlio.load(yamlio.read_file(path))
    except (OSError, UnicodeDecodeError) as exc:
        return None, [Finding(file=str(path), message=f"cannot read the mapping file: {exc}")]
    except yamlio.YamlProblem as exc:
        return None, [Finding(file=str(path), line=exc.line, message=exc.problem)]
    try:
        return SheetMappingFile.model_validate(doc.data or {}), []
    except ValidationError as exc:
        return None, [
            Finding(
                file=str(path),
                line=doc.line_of(list(e["loc"])),
                field=".".join(str(p) for p in e["loc"]),
                message=f"{e['msg']} (got {str(e.get('input'))[:60]!r})",
            )
            for e in exc.errors()
        ]


def is_sheet(path: Path) -> bool:
    return path.suffix.lower() in SUFFIXES


# ---------------------------------------------------------------- export


SIGNOFF_COLUMNS = (
    "state",
    "RAG",
    "original due",
    "agreed due",
    "evidence",
    "last decision",
)
_DEFAULT_HEADINGS = [
    ("Ref", "ref"),
    ("Recommendation", "text"),
    ("Action", "agreed_action"),
    ("Lead agency", "agency"),
    ("Lead officer", "lead"),
    ("Priority", "priority"),
    ("Target date", "due"),
    ("Evidence", "evidence"),
    ("Update", "note"),
]


@dataclass
class ExportSheet:
    name: str
    header_row: int
    headings: list[str]  # the plan's, then the signoff columns (EXPORT_PREFIX)
    above: list[list[Any]]
    rows: list[list[Any]] = field(default_factory=list)


@dataclass
class ExportPlan:
    review_id: str
    format: str  # the format it came in (xlsx, csv, yaml)
    sheets: list[ExportSheet]
    mapping: dict[str, Any]  # the mapping file that reads the export back (--mapping)


def export_plan(conn: Any, review_id: str | None, agency_id: str | None) -> ExportPlan:
    """A review's plan in the layout it was imported in, each row with its current state,
    RAG, original and agreed due dates, evidence and last decision (from the history).

    Raises:
        ReportRefused: no such review or agency, or several reviews and none chosen."""
    import sqlalchemy as sa

    from engine.errors import ReportRefused
    from engine.store.tables import Agency, Event, Evidence, Item, Recommendation, Review

    review_t = Review.__table__  # type: ignore[attr-defined]
    rec_t = Recommendation.__table__  # type: ignore[attr-defined]
    item_t = Item.__table__  # type: ignore[attr-defined]
    ev_t = Event.__table__  # type: ignore[attr-defined]
    evid_t = Evidence.__table__  # type: ignore[attr-defined]
    agency_t = Agency.__table__  # type: ignore[attr-defined]
    reviews = list(conn.execute(sa.select(review_t.c.id).order_by(review_t.c.id)).scalars())
    if review_id is None:
        if len(reviews) != 1:
            raise ReportRefused(
                "review", "", "give the review to export" if reviews else "no review yet", reviews
            )
        review_id = reviews[0]
    if review_id not in reviews:
        raise ReportRefused("review", review_id, "no such review", reviews)
    names = {r.id: r.name for r in conn.execute(sa.select(agency_t.c.id, agency_t.c.name))}
    if agency_id is not None and agency_id not in names:
        raise ReportRefused("agency", agency_id, "no such agency", sorted(names))
    review = conn.execute(sa.select(review_t).where(review_t.c.id == review_id)).one()
    layout = (review.source or {}).get("sheet_layout")
    items_q = (
        sa.select(
            rec_t.c.id.label("rec_id"),
            item_t.c.id,
            item_t.c.agency_id,
            item_t.c.state,
            item_t.c.rag,
            item_t.c.due,
            item_t.c.due_history,
        )
        .join(rec_t, rec_t.c.id == item_t.c.recommendation_id)
        .where(rec_t.c.review_id == review_id)
        .order_by(item_t.c.id)
    )
    by_rec: dict[int, list[Any]] = {}
    for it in conn.execute(items_q):
        by_rec.setdefault(it.rec_id, []).append(it)
    item_ids = [it.id for its in by_rec.values() for it in its]
    evidence: dict[int, tuple[int, dt.datetime]] = {}
    last: dict[int, Any] = {}
    if item_ids:
        for row in conn.execute(
            sa.select(evid_t.c.item_id, sa.func.count(), sa.func.max(evid_t.c.submitted_at))
            .where(evid_t.c.item_id.in_(item_ids))
            .group_by(evid_t.c.item_id)
        ):
            evidence[row[0]] = (row[1], row[2])
        for row in conn.execute(
            sa.select(ev_t.c.item_id, ev_t.c.at, ev_t.c.trigger, ev_t.c.actor, ev_t.c.reason)
            .where(ev_t.c.item_id.in_(item_ids), ev_t.c.trigger != "create")
            .order_by(ev_t.c.item_id, ev_t.c.seq)
        ):
            last[row.item_id] = row
    recs = list(
        conn.execute(sa.select(rec_t).where(rec_t.c.review_id == review_id).order_by(rec_t.c.id))
    )
    sheets: dict[str, ExportSheet] = {}
    if layout:
        for name, s in layout["sheets"].items():
            sheets[name] = ExportSheet(
                name=name,
                header_row=s["header_row"],
                headings=list(s["headings"]) + [EXPORT_PREFIX + c for c in SIGNOFF_COLUMNS],
                above=[[from_json(v) for v in row] for row in s["above"]],
            )
    default = ExportSheet(
        name="Action plan",
        header_row=1,
        headings=[h for h, _ in _DEFAULT_HEADINGS] + [EXPORT_PREFIX + c for c in SIGNOFF_COLUMNS],
        above=[],
    )
    if not layout:
        sheets[default.name] = default
    for rec in recs:
        its = [i for i in by_rec.get(rec.id, []) if agency_id in (None, i.agency_id)]
        if not its:
            continue
        row_src = (rec.source or {}).get("sheet_row")
        if layout and row_src and row_src["sheet"] in sheets:
            sheet = sheets[row_src["sheet"]]
            width = len(sheet.headings) - len(SIGNOFF_COLUMNS)
            cells = [from_json(v) for v in row_src["cells"]][:width]
            cells += [None] * (width - len(cells))
        else:
            sheet = sheets.setdefault(default.name, default)
            cells = _default_cells(rec, [names.get(i.agency_id, i.agency_id) for i in its])
        several = len(its) > 1

        def each(fn: Any, its: list[Any] = its, several: bool = several) -> str:
            parts = [(names.get(i.agency_id, i.agency_id), fn(i)) for i in its]
            if not several:
                return str(parts[0][1])
            return "\n".join(f"{n}: {v}" for n, v in parts)

        def original(i: Any) -> str:
            return str((i.due_history or [""])[0])

        def agreed(i: Any) -> str:
            return i.due.isoformat() if i.due else ""

        def ev(i: Any) -> str:
            if i.id not in evidence:
                return "none"
            n, at = evidence[i.id]
            return f"{n} submission(s), latest {at:%Y-%m-%d}"

        def decision(i: Any) -> str:
            e = last.get(i.id)
            if e is None:
                return ""
            text = f"{e.trigger} on {e.at:%Y-%m-%d} by {e.actor}"
            return f"{text}: {e.reason}" if e.reason else text

        sheet.rows.append(
            cells
            + [
                each(lambda i: i.state),
                each(lambda i: i.rag or ""),
                each(original),
                each(agreed),
                each(ev),
                each(decision),
            ]
        )
    if layout:
        mapping = layout["mapping"]
    else:
        mapping = {
            "review": {
                "id": review.id,
                "title": review.title,
                "board": review.board,
                "kind": review.kind,
                **({"date": review.date.isoformat()} if review.date else {}),
            },
            "sheets": {
                default.name: {"header_row": 1, "columns": dict(_DEFAULT_HEADINGS)},
            },
        }
    return ExportPlan(
        review_id=review_id,
        format=layout["format"] if layout else "yaml",
        sheets=list(sheets.values()),
        mapping=mapping,
    )


def _default_cells(rec: Any, agencies: list[str]) -> list[Any]:
    due = [dt.date.fromisoformat(d).strftime("%d/%m/%Y") for d in rec.due_dates or []]
    due += [f"from {dt.date.fromisoformat(d):%d/%m/%Y}" for d in rec.start_dates or []]
    evidence = (rec.source or {}).get("evidence") or []
    values = {
        "ref": rec.ref,
        "text": rec.text,
        "agreed_action": rec.agreed_action,
        "agency": "; ".join(agencies),
        "lead": rec.lead,
        "priority": rec.priority,
        "due": "; ".join(due) or None,
        "evidence": "\n".join(evidence) or None,
        "note": rec.note,
    }
    return [values[f] for _, f in _DEFAULT_HEADINGS]
