"""A report as PDF: the HTML page (``reports.page``) laid out by WeasyPrint, tagged for
screen readers. WeasyPrint needs Pango on the system (``make`` installs it as root).

A PDF is printed and read, so it summarises: each table prints at most ``LIMIT`` rows and
each list of the items behind a figure at most ``LIMIT`` items, then says how many more there
are and which sheet of the report's xlsx file holds them all (the JSON holds them too).
Shorter tables and lists print whole (for a board of a hundred items, all but perhaps the
decisions of a long period); a board pack over 10,000 items is about 60 pages, not
thousands (bench/reports.py).

The page refers to nothing outside itself; WeasyPrint is still given a fetcher that refuses
every URL, so no text in a report can make the renderer read a file or the network.
"""

from __future__ import annotations

from typing import Any

from engine.reports import Report
from reports.page import render_html


def _refuse(url: str, *args: Any, **kwargs: Any) -> Any:
    raise ValueError(f"a report fetches nothing ({url[:60]!r})")


LIMIT = 100


def render_pdf(report: Report, *, limit: int = LIMIT) -> bytes:
    """The PDF's bytes (A4 landscape, tagged): the report's HTML with at most ``limit``
    rows a table and ``limit`` items a list.

    Raises:
        OSError: WeasyPrint cannot load Pango (install it: see the README).
    """
    from weasyprint import HTML

    html = render_html(report, limit=limit).decode("utf-8")
    pdf = HTML(string=html, url_fetcher=_refuse).write_pdf(pdf_tags=True)
    if pdf is None:  # pragma: no cover - write_pdf without a target returns the bytes
        raise OSError("WeasyPrint wrote no PDF")
    return bytes(pdf)
