"""Reports rendered for people and for other programs: HTML, xlsx, CSV, JSON and PDF.

The engine computes each report as data (``engine.reports``); this package only lays it
out. It sits between the interfaces and the engine: ``app`` (``signoff report``) and ``web``
(the /reports pages) may import it; it imports only the engine. Every text cell that goes
into a spreadsheet passes through ``reports.cells.neutralise``.
"""

from __future__ import annotations

import json
import typing

from reports.cells import neutralise
from reports.page import render_fragment, render_html
from reports.tabular import render_csv
from reports.workbook import render_xlsx

if typing.TYPE_CHECKING:
    from collections.abc import Callable

    from engine.reports import Report

__all__ = [
    "FORMATS",
    "neutralise",
    "render",
    "render_csv",
    "render_fragment",
    "render_html",
    "render_xlsx",
]


def _json(report: Report) -> bytes:
    return (json.dumps(report.data, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def _pdf(report: Report) -> bytes:
    from reports.document import render_pdf  # WeasyPrint loads only when a PDF is asked for

    return render_pdf(report)


_RENDERERS: dict[str, Callable[[Report], bytes]] = {
    "html": render_html,
    "xlsx": render_xlsx,
    "csv": render_csv,
    "json": _json,
    "pdf": _pdf,
}
FORMATS = tuple(_RENDERERS)


def render(report: Report, fmt: str) -> bytes:
    """``report`` in ``fmt`` (one of ``FORMATS``).

    Raises:
        KeyError: an unknown format.
    """
    return _RENDERERS[fmt](report)
