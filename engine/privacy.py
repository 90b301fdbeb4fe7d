"""Spotting likely personal data in text an administrator marks safe for email.

Emails carry only a review's ``email_name`` and a recommendation's ``email_summary`` (and
its ref); this lint warns when those look as if they name or locate a child or family:
a date of birth, a full date, a UK postcode, a street address, a phone number, an email
address, or "Baby"/"Child" followed by a name (an initial, as in "Baby R", is the usual
anonymised form and passes). It runs on import and wherever those fields are set. Titles
and other text that stay behind the link are checked too, as information only.

The lint only warns: it cannot prove text is safe, and a warning never stops an import.
Findings never repeat the text they matched, so they can be printed and logged.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

_MONTHS = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
)
_DAY_DATE = (
    r"(?:\b\d{1,2}[/.-]\d{1,2}[/.-](?:\d{4}|\d{2})\b"
    rf"|\b\d{{1,2}}(?:st|nd|rd|th)?\s+{_MONTHS}\.?,?\s+\d{{2,4}}\b"
    rf"|\b{_MONTHS}\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}}\b"
    r"|\b\d{4}-\d{2}-\d{2}\b)"
)
_STREET = (
    r"(?i:street|st|road|rd|avenue|ave|lane|ln|close|drive|dr|crescent|cres|court|ct"
    r"|gardens|gdns|way|place|pl|terrace|grove|walk|mews|square|sq|row|parade|rise)"
)
_NAME = r"[A-Z][a-z'’-]+"

# (what it looks like, pattern): the first of each kind found is reported
_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "a date of birth",
        re.compile(
            r"\b(?:d\.?\s?o\.?\s?b\.?|date\s+of\s+birth|born(?:\s+on|\s+in)?)\b", re.IGNORECASE
        ),
    ),
    ("a full date (it could be a date of birth)", re.compile(_DAY_DATE, re.IGNORECASE)),
    (
        "a UK postcode",
        re.compile(
            r"\b(?:GIR\s?0AA|[A-PR-UWYZ][A-HK-Y]?\d[A-Z\d]?\s?\d[ABD-HJLNP-UW-Z]{2})\b",
            re.IGNORECASE,
        ),
    ),
    (
        "a street address",
        re.compile(
            rf"(?:\b(?i:flat|apartment)\s+\d+\w?\b|\b\d{{1,4}}[a-z]?,?\s+(?:{_NAME}\s+){{1,3}}"
            rf"{_STREET}\b)",
        ),
    ),
    (
        "a phone number",
        re.compile(r"(?<![\w/.-])(?:\+44\s?\(?0?\)?\s?|\(?0)\d{2,4}\)?(?:[\s-]?\d){6,8}\b"),
    ),
    ("an email address", re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")),
    (
        "a child's name (write 'Child A' or 'Baby R', not a name)",
        re.compile(
            rf"\b(?:[Bb]aby|[Cc]hild|[Ii]nfant|[Ss]ibling)\s+(?:(?!(?:[A-Z]{{1,2}})\b){_NAME}"
            rf"|[A-Z]{{1,2}}\s*\(\s*{_NAME}(?:\s+{_NAME})*\s*\))"
        ),
    ),
)


class Severity(StrEnum):
    """How much a finding matters: a field that reaches email warns; other text informs."""

    WARNING = "warning"
    INFO = "info"


@dataclass(frozen=True, kw_only=True, slots=True)
class Finding:
    """Likely personal data in one field of one row: what it looks like, never the text."""

    row: str  # "review", "recommendations[3] (R4)"
    field: str  # "email_summary"
    message: str
    severity: Severity
    line: int | None = None

    def as_dict(self) -> dict[str, object]:
        return {
            "severity": self.severity.value,
            "line": self.line,
            "row": self.row,
            "field": self.field,
            "message": self.message,
        }


@dataclass(frozen=True, kw_only=True, slots=True)
class Field:
    """One field to check: where it is, its text, and whether it reaches email."""

    row: str
    field: str
    text: str | None
    in_email: bool
    line: int | None = None


def looks_like(text: str) -> list[str]:
    """What personal data ``text`` seems to hold ("a UK postcode", ...), in a fixed order."""
    return [what for what, pattern in _PATTERNS if pattern.search(text)]


def check(fields: Iterable[Field]) -> list[Finding]:
    """A finding per field that looks as if it holds personal data.

    A field that reaches email is a warning (its message says to rewrite it); any other is
    information (the text stays behind the link, but may be worth anonymising).
    """
    out: list[Finding] = []
    for f in fields:
        if not f.text:
            continue
        found = looks_like(f.text)
        if not found:
            continue
        if f.in_email:
            message = (
                f"looks like it holds personal data ({'; '.join(found)}); this field goes "
                "into emails: rewrite it without names, dates of birth, addresses or numbers"
            )
        else:
            message = (
                f"may hold personal data ({'; '.join(found)}); it stays behind the link and "
                "never goes into emails"
            )
        out.append(
            Finding(
                row=f.row,
                field=f.field,
                message=message,
                severity=Severity.WARNING if f.in_email else Severity.INFO,
                line=f.line,
            )
        )
    return out
