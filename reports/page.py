"""A report as one accessible HTML page: each table with a caption and header scopes, each
count a link to the list of the items behind it (the drill-down)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from engine.reports import Cell, Figure, Report

_BODY = """\
{% macro tables(list) %}{% for table in list %}
{% if table.section and (loop.first or loop.previtem.section != table.section) %}
<h{{ level + 1 }} id="part-{{ table.name }}">{{ table.section }}</h{{ level + 1 }}>
{% endif %}
{% if table.name in charts %}<figure class="chart">{{ charts[table.name] }}</figure>{% endif %}
<table id="{{ table.name }}"{{ k("table") }}>
<caption{{ k("caption") }}>{{ table.caption }}</caption>
<thead><tr{{ k("row") }}>
{% for c in table.columns %}<th scope="col"{{ k("th") }}>{{ c }}</th>{% endfor %}
</tr></thead>
<tbody>
{% for row in table.rows %}<tr{{ k("row") }}>
{% for cell in row %}{% set html = show(cell) %}
{% if loop.first %}<th scope="row"{{ k("th") }}>{{ html }}</th>
{% else %}<td{{ k("td") }}>{{ html }}</td>{% endif %}
{% endfor %}</tr>
{% else %}
<tr{{ k("row") }}><td colspan="{{ table.columns|length }}"{{ k("td") }}>None</td></tr>
{% endfor %}
</tbody>
</table>
{% endfor %}{% endmacro %}
<h{{ level }}>{{ report.title }}</h{{ level }}>
<p{{ k("body") }}>
{% for k_, v in facts %}{{ k_ }}: {{ v }}{% if not loop.last %}; {% endif %}{% endfor %}
</p>
{% for note in report.notes %}<p{{ k("body") }}>{{ note }}</p>{% endfor %}
{{ tables(report.tables) }}
{% if figures %}
<h{{ level + 1 }} id="items">Items behind each figure</h{{ level + 1 }}>
{% for name, f in figures %}
<section aria-labelledby="{{ name }}">
<h{{ level + 2 }} id="{{ name }}">{{ f.label }}: {{ f.count }}</h{{ level + 2 }}>
<ul{{ k("list") }}>{% for key in f.keys %}<li>{{ item(key) }}</li>{% endfor %}</ul>
</section>
{% endfor %}
{% endif %}
{{ tables(report.closing) }}
"""

_GOVUK = {
    "table": "govuk-table",
    "caption": "govuk-table__caption govuk-table__caption--s",
    "row": "govuk-table__row",
    "th": "govuk-table__header",
    "td": "govuk-table__cell",
    "body": "govuk-body",
    "list": "govuk-list govuk-list--bullet",
}

_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{{ report.title }}</title>
<style>
body { font-family: Arial, sans-serif; margin: 2em; color: #0b0c0c; }
table { border-collapse: collapse; margin: 1em 0 2em; }
caption { text-align: left; font-weight: bold; font-size: 1.2em; padding: .5em 0; }
th, td { border: 1px solid #b1b4b6; padding: .3em .6em; text-align: left; vertical-align: top; }
a { color: #1d70b8; }
a:focus { outline: 3px solid #fd0; background: #fd0; color: #0b0c0c; }
td { overflow-wrap: anywhere; }
figure.chart { margin: 1em 0; }
figure.chart svg { max-width: 100%; height: auto; }
@page { size: A4 landscape; margin: 1.5cm; }
@media print { body { margin: 0; font-size: 9pt; } a { color: #0b0c0c; } }
</style>
</head>
<body>
<main>
{% include 'body' %}</main>
</body>
</html>
"""


def render_html(report: Report) -> bytes:
    """The report as a document of its own (a download, and the PDF's source)."""
    return _render(report, page=True, level=1, link=None).encode("utf-8")


def render_fragment(report: Report, *, link: Callable[[str], str], level: int = 2) -> str:
    """The report's content for a page of the web app: GOV.UK classes, headings from
    ``level``, each item key a link (``link(key)``), and each chart an image with its title
    and description as the alternative text (the app's Content-Security-Policy allows no
    inline styles, which matplotlib's SVG uses; an image's own styles are its own)."""
    return _render(report, page=False, level=level, link=link)


def _render(report: Report, *, page: bool, level: int, link: Callable[[str], str] | None) -> str:
    import base64

    from jinja2 import DictLoader, Environment
    from markupsafe import Markup, escape

    from reports.chart import charts_of

    figures = report.figures()
    anchor = {id(f): f"f{n}" for n, f in enumerate(figures, start=1)}

    def show(cell: Cell) -> Markup:
        if isinstance(cell, Figure):
            name = anchor.get(id(cell))
            if name is None:
                return Markup("0")
            return Markup('<a href="#{}"{} aria-label="{} {}: list the items">{}</a>').format(
                name,
                Markup(' class="govuk-link"') if not page else "",
                cell.count,
                cell.label,
                cell.count,
            )
        if cell is None:
            return Markup("")
        if isinstance(cell, dt.date):
            return escape(cell.isoformat())
        return escape(str(cell))

    def k(part: str) -> Markup:
        """The GOV.UK class of ``part`` inside the web app; none in a document of its own."""
        return Markup(' class="{}"').format(_GOVUK[part]) if not page else Markup("")

    def item(key: str) -> Markup:
        if link is None:
            return escape(key)
        return Markup('<a class="govuk-link" href="{}">{}</a>').format(link(key), key)

    charts: dict[str, Markup] = {}
    drawn = charts_of(report)
    for c in report.charts:
        svg = drawn[c.table]
        if page:
            charts[c.table] = Markup(svg)
        else:
            encoded = base64.b64encode(svg.encode("utf-8")).decode("ascii")
            charts[c.table] = Markup('<img src="data:image/svg+xml;base64,{}" alt="{}">').format(
                encoded, f"{c.title}. {c.description}"
            )
    data = report.data
    facts = [
        (k, v)
        for k, v in (
            ("as at", data.get("as_of")),
            ("from", (data.get("period") or {}).get("from")),
            ("to", (data.get("period") or {}).get("to")),
            ("meeting", data.get("meeting")),
            ("review", (data.get("scope") or {}).get("review")),
            ("agency", (data.get("scope") or {}).get("agency")),
        )
        if v
    ]
    env = Environment(autoescape=True, loader=DictLoader({"body": _BODY, "page": _PAGE}))
    return env.get_template("page" if page else "body").render(
        report=report,
        figures=[(anchor[id(f)], f) for f in figures],
        show=show,
        k=k,
        item=item,
        facts=facts,
        charts=charts,
        level=level,
        govuk=not page,
    )
