"""A report as one accessible HTML page: each table with a caption and header scopes, each
count a link to the list of the items behind it (the drill-down)."""

from __future__ import annotations

import datetime as dt

from engine.reports import Cell, Figure, Report

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
{% macro tables(list) %}{% for table in list %}
{% if table.section and (loop.first or loop.previtem.section != table.section) %}
<h2 id="part-{{ table.name }}">{{ table.section }}</h2>
{% endif %}
{% if table.name in charts %}<figure class="chart">{{ charts[table.name] }}</figure>{% endif %}
<table id="{{ table.name }}">
<caption>{{ table.caption }}</caption>
<thead><tr>{% for c in table.columns %}<th scope="col">{{ c }}</th>{% endfor %}</tr></thead>
<tbody>
{% for row in table.rows %}<tr>{% for cell in row %}{% set html = show(cell) %}
{% if loop.first %}<th scope="row">{{ html }}</th>{% else %}<td>{{ html }}</td>{% endif %}
{% endfor %}</tr>
{% else %}<tr><td colspan="{{ table.columns|length }}">None</td></tr>
{% endfor %}
</tbody>
</table>
{% endfor %}{% endmacro %}
<main>
<h1>{{ report.title }}</h1>
<p>{% for k, v in facts %}{{ k }}: {{ v }}{% if not loop.last %}; {% endif %}{% endfor %}</p>
{% for note in report.notes %}<p>{{ note }}</p>{% endfor %}
{{ tables(report.tables) }}
{% if figures %}
<h2 id="items">Items behind each figure</h2>
{% for name, f in figures %}
<section aria-labelledby="{{ name }}">
<h3 id="{{ name }}">{{ f.label }}: {{ f.count }}</h3>
<ul>{% for key in f.keys %}<li>{{ key }}</li>{% endfor %}</ul>
</section>
{% endfor %}
{% endif %}
{{ tables(report.closing) }}
</main>
</body>
</html>
"""


def render_html(report: Report) -> bytes:
    from jinja2 import Environment
    from markupsafe import Markup, escape

    figures = report.figures()
    anchor = {id(f): f"f{n}" for n, f in enumerate(figures, start=1)}

    def show(cell: Cell) -> Markup:
        if isinstance(cell, Figure):
            name = anchor.get(id(cell))
            if name is None:
                return Markup("0")
            return Markup('<a href="#{}" aria-label="{} {}: list the items">{}</a>').format(
                name, cell.count, cell.label, cell.count
            )
        if cell is None:
            return Markup("")
        if isinstance(cell, dt.date):
            return escape(cell.isoformat())
        return escape(str(cell))

    from reports.chart import charts_of

    charts = {name: Markup(svg) for name, svg in charts_of(report).items()}
    env = Environment(autoescape=True)
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
    text = env.from_string(_PAGE).render(
        report=report,
        figures=[(anchor[id(f)], f) for f in figures],
        show=show,
        facts=facts,
        charts=charts,
    )
    return text.encode("utf-8")
