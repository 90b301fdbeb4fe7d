"""A report as PDF: the HTML page (``reports.page``) laid out by WeasyPrint, tagged for
screen readers. WeasyPrint needs Pango on the system (``make`` installs it as root).

The page refers to nothing outside itself; WeasyPrint is still given a fetcher that refuses
every URL, so no text in a report can make the renderer read a file or the network.
"""

from __future__ import annotations

from typing import Any

from engine.reports import Report
from reports.page import render_html


def _refuse(url: str, *args: Any, **kwargs: Any) -> Any:
    raise ValueError(f"a report fetches nothing ({url[:60]!r})")


def render_pdf(report: Report) -> bytes:
    """The PDF's bytes (A4, tagged).

    Raises:
        OSError: WeasyPrint cannot load Pango (install it: see the README).
    """
    from weasyprint import HTML

    html = render_html(report).decode("utf-8")
    pdf = HTML(string=html, url_fetcher=_refuse).write_pdf(pdf_tags=True)
    if pdf is None:  # pragma: no cover - write_pdf without a target returns the bytes
        raise OSError("WeasyPrint wrote no PDF")
    return bytes(pdf)
