"""The ``/items`` filters: query parameters read, checked and worded for the error summary.

Every parameter is optional; a bad one is named with what it may be (GOV.UK wording) and
the list is shown unfiltered by it, never a 500. Values the person's items do not have
(another agency, a state no workflow has) are refused the same as nonsense.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from engine.listing import Filters, Sort
from engine.store.tables import Rag

NAMES = ("review", "agency", "state", "rag", "priority", "theme", "overdue", "due_within",
         "q", "sort", "page")  # fmt: skip
_MAX_Q = 200
_MAX_DAYS = 3660
_PRIORITIES = ("H", "M", "L")
SORT_LABELS = {
    Sort.DUE: "Due soonest",
    Sort.OLDEST: "Waiting longest",
    Sort.REF: "Review and reference",
    Sort.RECENT: "Recently changed",
}


@dataclass(frozen=True, kw_only=True)
class Checked:
    filters: Filters
    typed: dict[str, str]  # what was in the address, for the form (kept, even when wrong)
    errors: dict[str, str] = field(default_factory=dict)  # field -> message


def check(query: Mapping[str, str], choices: Mapping[str, list[str]]) -> Checked:
    """``query`` (the request's parameters) against ``choices`` (``listing.Found.choices``)."""
    typed = {n: query.get(n, "").strip() for n in NAMES if query.get(n, "").strip()}
    errors: dict[str, str] = {}
    values: dict[str, object] = {}
    for name in ("review", "agency", "state", "theme"):
        value = typed.get(name)
        if value is None:
            continue
        if value in choices.get(name, ()):
            values[name] = value
        else:
            errors[name] = f"Select {'an' if name[0] in 'aeiou' else 'a'} {name} from the list"
    if "rag" in typed:
        if typed["rag"] in {r.value for r in Rag}:
            values["rag"] = typed["rag"]
        else:
            errors["rag"] = "Select red, amber or green"
    if "priority" in typed:
        if typed["priority"].upper() in _PRIORITIES:
            values["priority"] = typed["priority"].upper()
        else:
            errors["priority"] = "Select high (H), medium (M) or low (L) priority"
    if "overdue" in typed:
        if typed["overdue"] in ("1", "yes", "true"):
            values["overdue"] = True
        elif typed["overdue"] not in ("0", "no", "false"):
            errors["overdue"] = "Overdue must be yes or no"
    if "due_within" in typed:
        days = _whole(typed["due_within"])
        if days is None or not 0 <= days <= _MAX_DAYS:
            errors["due_within"] = (
                f"Due within must be a whole number of days from 0 to {_MAX_DAYS}"
            )
        else:
            values["due_within"] = days
    if "q" in typed:
        if len(typed["q"]) > _MAX_Q:
            errors["q"] = f"Search text must be {_MAX_Q} characters or fewer"
        elif has_control(typed["q"]):
            errors["q"] = "Search text must only include letters, numbers, spaces and punctuation"
        else:
            values["q"] = typed["q"]
    if "sort" in typed:
        if typed["sort"] in {s.value for s in Sort}:
            values["sort"] = Sort(typed["sort"])
        else:
            errors["sort"] = "Select how to sort from the list"
    if "page" in typed:
        page = _whole(typed["page"])
        if page is None or page < 1:
            errors["page"] = "Page must be a whole number, 1 or more"
        else:
            values["page"] = page
    return Checked(filters=Filters(**values), typed=typed, errors=errors)  # type: ignore[arg-type]


def has_control(text: str) -> bool:
    """Whether ``text`` holds control characters other than line breaks and tabs (a NUL
    cannot even be stored in PostgreSQL)."""
    return any(not c.isprintable() and c not in "\r\n\t" for c in text)


def _whole(text: str) -> int | None:
    if not text.isascii() or not text.isdigit() or len(text) > 6:
        return None
    return int(text)
