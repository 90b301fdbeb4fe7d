"""A report as one accessible HTML page: each table with a caption and header scopes, each
count a link to the list of the items behind it (the drill-down).

The same page is the PDF's source. A PDF is printed, so it summarises: given ``limit``, a
table prints its first ``limit`` rows and a list of items its first ``limit`` keys, each then
saying how many more there are and where every one of them is (the sheet of the report's
xlsx file that holds it, and its JSON); the items behind a figure are printed as one
paragraph of keys, not a list (WeasyPrint lays out a long list ten times slower, and it
fills pages with one key a line). The HTML page and the files hold everything.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import typing
from collections.abc import Callable

from engine.reports import Cell, Figure, Report

if typing.TYPE_CHECKING:
    from jinja2 import Environment

_BODY = """\
{% macro tables(list, opening) %}{% for table in list %}
{% if table.section and (loop.first or loop.previtem.section != table.section) %}
<h{{ level + 1 }} id="part-{{ table.name }}"{{ h(1, "part first" if opening and loop.first
 else "part") }}>{{ table.section }}</h{{ level + 1 }}>
{% endif %}
{% if table.name in charts %}<figure class="chart">{{ charts[table.name] }}</figure>{% endif %}
{% set shown = table.rows if limit is none else table.rows[:limit] %}
<table id="{{ table.name }}"{{ k("table") if not page or shown|length > 20 else k_short }}>
<caption{{ k("caption") }}>{{ table.caption }}</caption>
<thead><tr{{ k("row") }}>
{% for c in table.columns %}<th scope="col"{{ k("th") }}>{{ c }}</th>{% endfor %}
</tr></thead>
<tbody>
{% if shown %}{{ rows_of(shown) }}{% else %}
<tr{{ k("row") }}><td colspan="{{ table.columns|length }}"{{ k("td") }}>None</td></tr>
{% endif %}
{% if table.rows|length > shown|length %}
<tr class="more"><td colspan="{{ table.columns|length }}">
{{ table.rows|length - shown|length }} more rows are not printed here (rows 1 to
{{ shown|length }} of {{ table.rows|length }} are). Every row is on the sheet
&ldquo;{{ sheet(table.name) }}&rdquo; of this report's spreadsheet (xlsx), and in its JSON.
</td></tr>
{% endif %}
</tbody>
</table>
{% endfor %}{% endmacro %}
<h{{ level }}{{ h(0) }}>{{ report.title }}</h{{ level }}>
<p{{ k("body") }}>{{ facts }}</p>
{% if cut %}<p class="summary">This PDF is a summary: tables longer than {{ limit }} rows and
lists of more than {{ limit }} items show their first {{ limit }}, and say where the rest are.
The spreadsheet (xlsx) and JSON files of this report hold every row and every item.</p>{% endif %}
{% for note in report.notes %}<p{{ k("body") }}>{{ note }}</p>{% endfor %}
{{ tables(report.tables, true) }}
{% if figures %}
<h{{ level + 1 }} id="items"{{ h(1, "part") }}>Items behind each figure</h{{ level + 1 }}>
{% for name, f in figures %}
{% set keys = f.keys if limit is none else f.keys[:limit] %}
<section aria-labelledby="{{ name }}">
<h{{ level + 2 }} id="{{ name }}"{{ h(2) }}>{{ f.label }}: {{ f.count }}</h{{ level + 2 }}>
{% if limit is none %}
<ul{{ k("list") }}>{{ items_of(keys) }}</ul>
{% else %}
<p class="keys">{{ keys | join(", ") }}</p>
{% endif %}
{% if f.count > keys|length %}<p class="more">{{ f.count - keys|length }} more items are not
printed here. Every item is on the sheet &ldquo;{{ figure_sheet(f) }}&rdquo; of this report's
spreadsheet (xlsx), and in its JSON.</p>{% endif %}
</section>
{% endfor %}
{% endif %}
{{ tables(report.closing, false) }}
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

_HEADINGS = ("govuk-heading-l", "govuk-heading-m", "govuk-heading-s")

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
td { overflow-wrap: break-word; }
.date { white-space: nowrap; }
.long { overflow-wrap: anywhere; }  /* only where needed: it doubles WeasyPrint's work */
tr.more td, p.more { font-style: italic; }
figure.chart { margin: 1em 0; }
figure.chart svg { max-width: 100%; height: auto; }
@page { size: A4 landscape; margin: 1.5cm;
  @bottom-right { content: "Page " counter(page) " of " counter(pages);
    font: 8pt Arial, sans-serif; } }
@media print {
  body { margin: 0; font-size: 9pt; }
  a { color: #0b0c0c; }
  .part { break-before: page; }
  .part.first { break-before: auto; }
  caption { white-space: nowrap; }  /* as wide as the table, or the table as wide as it */
  h1, h2, h3, h4, caption { break-after: avoid; }
  tr, figure.chart, section, table.short { break-inside: avoid; }
}
</style>
</head>
<body>
<main>
{% include 'body' %}</main>
</body>
</html>
"""

_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_LONG_WORD = re.compile(r"[0-9a-f]{32}")  # a hash (SHA-256 is 64 of them)


def render_html(report: Report, *, limit: int | None = None) -> bytes:
    """The report as a document of its own (a download, and the PDF's source). ``limit``:
    print at most that many rows of a table and items of a list, saying where the rest are
    (the PDF)."""
    return _render(report, page=True, level=1, link=None, limit=limit).encode("utf-8")


def render_fragment(report: Report, *, link: Callable[[str], str], level: int = 2) -> str:
    """The report's content for a page of the web app: GOV.UK classes, headings from
    ``level``, each item key a link (``link(key)``), and each chart an image with its title
    and description as the alternative text (the app's Content-Security-Policy allows no
    inline styles, which matplotlib's SVG uses; an image's own styles are its own)."""
    return _render(report, page=False, level=level, link=link, limit=None)


def _long_day(iso: str) -> str:
    day = dt.date.fromisoformat(iso)
    return f"{day.day} {day:%B %Y}"


def _facts(data: dict[str, object]) -> str:
    """What the report covers, in words: "From 1 January 2011 to 31 March 2011. All reviews
    and agencies." """
    period = data.get("period")
    scope = data.get("scope")
    words: list[str] = []
    if isinstance(period, dict) and period.get("to"):
        if period.get("from"):
            words.append(f"From {_long_day(period['from'])} to {_long_day(period['to'])}.")
        else:
            words.append(f"Up to {_long_day(period['to'])}.")
    elif isinstance(data.get("as_of"), str):
        words.append(f"As at the end of {_long_day(str(data['as_of']))}.")
    if isinstance(data.get("meeting"), str):
        words.append(f"Panel meeting of {_long_day(str(data['meeting']))}.")
    review = scope.get("review") if isinstance(scope, dict) else None
    agency = scope.get("agency") if isinstance(scope, dict) else None
    if review and agency:
        words.append(f"Review {review}, agency {agency}.")
    elif review:
        words.append(f"Review {review}, every agency.")
    elif agency:
        words.append(f"Agency {agency}, every review.")
    else:
        words.append("Every review and agency.")
    return " ".join(words)


@functools.cache
def _templates() -> Environment:
    """The two templates, compiled once (on first use: ``signoff --help`` loads no Jinja)."""
    from jinja2 import DictLoader, Environment

    return Environment(autoescape=True, loader=DictLoader({"body": _BODY, "page": _PAGE}))


def _render(
    report: Report,
    *,
    page: bool,
    level: int,
    link: Callable[[str], str] | None,
    limit: int | None,
) -> str:
    import base64

    from markupsafe import Markup, escape

    from reports.chart import charts_of
    from reports.workbook import figure_sheets, table_sheet

    figures = report.figures()
    anchor = {f: f"f{n}" for n, f in enumerate(figures, start=1)}
    sheets = figure_sheets(report)

    def show(cell: Cell) -> Markup:
        if isinstance(cell, Figure):
            name = anchor.get(cell)
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
            cell = cell.isoformat()
        text = str(cell)
        if page and _ISO_DAY.fullmatch(text):  # a date is never broken at its hyphens
            return Markup('<span class="date">{}</span>').format(text)
        if page and _LONG_WORD.search(text):  # a hash: broken anywhere, or it overflows
            return Markup('<span class="long">{}</span>').format(text)
        return escape(text)

    def h(depth: int, classes: str = "") -> Markup:
        """A heading's classes: GOV.UK's size for its depth (the report's title, a part, a
        figure's list) inside the web app, and ``classes`` (the print layout's)."""
        names = " ".join(filter(None, ("" if page else _HEADINGS[depth], classes)))
        return Markup(' class="{}"').format(names) if names else Markup("")

    def k(part: str) -> Markup:
        """The GOV.UK class of ``part`` inside the web app; none in a document of its own."""
        return Markup(' class="{}"').format(_GOVUK[part]) if not page else Markup("")

    def rows_of(rows: tuple[tuple[Cell, ...], ...]) -> Markup:
        """A table's body rows (built here, not in the template: a board pack's heads table
        has a row an item, and a template's loop costs several times more a cell)."""
        tr, th, td = f"<tr{k('row')}>", f'<th scope="row"{k("th")}>', f"<td{k('td')}>"
        out: list[str] = []  # joined, never added: str + Markup would escape the str
        for row in rows:
            out += (tr, th, show(row[0]), "</th>")
            for cell in row[1:]:
                out += (td, show(cell), "</td>")
            out.append("</tr>\n")
        return Markup("".join(out))

    def items_of(keys: tuple[str, ...]) -> Markup:
        """The list items of a figure's keys, each a link to its item where there is one."""
        if link is None:
            return Markup("".join(f"<li>{escape(key)}</li>" for key in keys))
        return Markup(
            "".join(
                f'<li><a class="govuk-link" href="{escape(link(key))}">{escape(key)}</a></li>'
                for key in keys
            )
        )

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
    cut = limit is not None and (
        any(len(t.rows) > limit for t in (*report.tables, *report.closing))
        or any(f.count > limit for f in figures)
    )
    return (
        _templates()
        .get_template("page" if page else "body")
        .render(
            report=report,
            figures=[(anchor[f], f) for f in figures],
            h=h,
            rows_of=rows_of,
            items_of=items_of,
            k=k,
            facts=_facts(report.data),
            charts=charts,
            level=level,
            page=page,
            k_short=Markup(' class="short"'),
            limit=limit,
            cut=cut,
            sheet=table_sheet,
            figure_sheet=sheets.get,
        )
    )
