"""A report's charts as inline SVG, drawn on the server by matplotlib's SVG backend.

matplotlib (not a browser script) so the same picture goes into the HTML page and the PDF,
and text stays text (``svg.fonttype = none``): WeasyPrint lays it out and a PDF reader can
extract it. Each SVG carries ``role="img"`` with a ``<title>`` and ``<desc>`` for screen
readers; the table the chart draws is printed beside it as the text alternative.
"""

from __future__ import annotations

import io
import re

from engine.reports import Chart, Figure, Report, Table

_OPENING = re.compile(r"<svg\b[^>]*>")


def _matrix(table: Table) -> tuple[list[str], list[str], list[list[int]]]:
    """Row labels, column labels and counts of a table whose first cell heads the row and
    whose last column is a total (left out of the picture)."""
    columns = list(table.columns[1:-1])
    rows = [str(row[0]) for row in table.rows]
    counts = [
        [c.count if isinstance(c, Figure) else 0 for c in row[1 : 1 + len(columns)]]
        for row in table.rows
    ]
    return rows, columns, counts


def _luminance(rgb: tuple[float, ...]) -> float:
    """WCAG relative luminance of an sRGB colour given as 0..1 channels."""

    def lin(c: float) -> float:
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (lin(c) for c in rgb[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def _ink(share: float) -> str:
    """Near-black or white, whichever contrasts more with the cell's colour (WCAG 1.4.3)."""
    import matplotlib

    cell = _luminance(matplotlib.colormaps["Blues"](share))
    on_dark = 1.05 / (cell + 0.05)  # white's contrast against the cell
    on_light = (cell + 0.05) / (_luminance((0.043, 0.047, 0.047)) + 0.05)
    return "#ffffff" if on_dark > on_light else "#0b0c0c"


def render_svg(chart: Chart, table: Table, *, ident: str) -> str:
    """The heat map of ``table`` as an SVG element (no XML prolog), ready to put in a page."""
    import matplotlib

    matplotlib.use("svg")  # no display, no GUI toolkit
    from markupsafe import escape
    from matplotlib.figure import Figure as Canvas

    rows, columns, counts = _matrix(table)
    height = 1.2 + 0.45 * max(len(rows), 1)
    width = 3.0 + 1.1 * max(len(columns), 1)
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "signoff"}):
        canvas = Canvas(figsize=(width, height))
        axes = canvas.add_subplot()
        if rows and columns:
            # vector cells (pcolormesh), not a raster (imshow): the PDF renderer fetches no
            # embedded image, and the picture stays sharp at any zoom
            axes.pcolormesh(counts, cmap="Blues", vmin=0, edgecolors="#ffffff", linewidth=1)
            axes.invert_yaxis()
            top = max(max(r) for r in counts) or 1
            for y, line in enumerate(counts):
                for x, n in enumerate(line):
                    colour = _ink(n / top)
                    axes.text(x + 0.5, y + 0.5, str(n), ha="center", va="center", color=colour)
        axes.set_xticks(
            [x + 0.5 for x in range(len(columns))], labels=columns, rotation=30, ha="right"
        )
        axes.set_yticks([y + 0.5 for y in range(len(rows))], labels=rows)
        axes.set_title(chart.title, loc="left")
        canvas.tight_layout()
        out = io.StringIO()
        canvas.savefig(out, format="svg", metadata={"Date": None})
    svg = out.getvalue()
    svg = svg[svg.index("<svg") :]
    opening = _OPENING.search(svg)
    if opening is None:  # pragma: no cover - matplotlib always writes an <svg> element
        raise ValueError("matplotlib wrote no <svg> element")
    labels = (
        f'<title id="{ident}-title">{escape(chart.title)}</title>'
        f'<desc id="{ident}-desc">{escape(chart.description)}</desc>'
    )
    head = opening.group(0)[:-1] + (
        f' role="img" aria-labelledby="{ident}-title" aria-describedby="{ident}-desc">'
    )
    return head + labels + svg[opening.end() :]


def charts_of(report: Report) -> dict[str, str]:
    """Each chart's SVG, by the name of the table it draws."""
    return {
        c.table: render_svg(c, report.table(c.table), ident=f"chart-{c.table}")
        for c in report.charts
    }
