"""Collecting the problems of one workflow file, each located by path and line.

Every layer after the YAML reader adds to one ``Reporter``; the loader raises what it
gathered, so a file with three mistakes gets three messages in one go.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence

from engine.errors import SpecError, SpecErrors
from engine.spec.reader import Document, PathPart


def suggest(value: str, allowed: Iterable[str]) -> str:
    """'; did you mean 'x'?' for a close match (ignoring case), or ''."""
    by_lower = {a.lower(): a for a in allowed}
    close = difflib.get_close_matches(value.lower(), list(by_lower), n=1, cutoff=0.6)
    return f"; did you mean {by_lower[close[0]]!r}?" if close else ""


def format_path(path: Sequence[PathPart]) -> str:
    """``('states', 'open', 'templates', 0)`` -> ``'states.open.templates[0]'``; a part that
    is not printable is quoted: ``('states', 'open\\n')`` -> ``"states['open\\n']"``."""
    out = ""
    for part in path:
        if isinstance(part, int) or not part.isprintable():
            out += f"[{part!r}]"  # a name with a newline or a control character, quoted
        else:
            out += f".{part}" if out else part
    return out


class Reporter:
    """The problems found so far in one file, each with its path and line."""

    def __init__(self, file: str, doc: Document) -> None:
        self.file, self.doc, self.errors = file, doc, list[SpecError]()

    def add(self, path: Sequence[PathPart], problem: str) -> None:
        self.errors.append(SpecError(self.file, format_path(path), problem, self.doc.line_of(path)))

    def raise_if_any(self) -> None:
        """Raises:
        SpecError: exactly one problem was found.
        SpecErrors: more than one, carrying them all in the order found.
        """
        if len(self.errors) == 1:
            raise self.errors[0]
        if self.errors:
            raise SpecErrors(self.errors)
