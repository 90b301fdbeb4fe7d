"""``themes``: which themes the items carry, by agency (a heat map), and which themes recur
across reviews, at the report date.

Every item that existed at the end of the day counts once under each of its
recommendation's themes (an item with three themes counts in three rows); items without a
theme are counted apart. A theme recurs when items of two or more reviews carry it: the
pattern a board looks for ("record keeping" again, in a third review).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from engine.calendar import Calendar
from engine.reports.figures import FORMAT, Cell, Chart, Figure, Report, Table
from engine.reports.lives import Life, Scope, Specs, end_of


def _label(theme: str) -> str:
    return theme.replace("_", " ").capitalize()


def build(
    lives: list[Life], specs: Specs, calendar: Calendar, *, scope: Scope, day: dt.date
) -> Report:
    moment = end_of(day, calendar)
    present = [life for life in lives if life.at(moment, specs).state is not None]
    agencies = sorted({life.agency for life in present})
    grid: dict[str, dict[str, list[str]]] = {}
    reviews: dict[str, dict[str, list[str]]] = {}
    unthemed: list[str] = []
    for life in present:
        if not life.themes:
            unthemed.append(life.key)
        for theme in dict.fromkeys(life.themes):
            grid.setdefault(theme, {}).setdefault(life.agency, []).append(life.key)
            reviews.setdefault(theme, {}).setdefault(life.review, []).append(life.key)
    themes = sorted(grid)
    every = {t: [k for a in agencies for k in grid[t].get(a, [])] for t in themes}
    recurring = [t for t in themes if len(reviews[t]) >= 2]
    data: dict[str, Any] = {
        "format": FORMAT,
        "report": "themes",
        "as_of": day.isoformat(),
        "scope": {"review": scope.review, "agency": scope.agency},
        "count": len(present),
        "agencies": agencies,
        "themes": {
            t: {
                "label": _label(t),
                "count": len(every[t]),
                "items": every[t],
                "by_agency": {a: {"count": len(k), "items": k} for a, k in sorted(grid[t].items())},
                "reviews": sorted(reviews[t]),
            }
            for t in themes
        },
        "recurring": [
            {
                "theme": t,
                "reviews": sorted(reviews[t]),
                "count": len(every[t]),
                "items": every[t],
            }
            for t in recurring
        ],
        "unthemed": {"count": len(unthemed), "items": unthemed},
    }
    heat_rows: list[tuple[Cell, ...]] = []
    for t in themes:
        cells = [Figure.of(f"{_label(t)}: {a}", grid[t].get(a, [])) for a in agencies]
        heat_rows.append((_label(t), *cells, Figure.of(f"{_label(t)}: all", every[t])))
    recurring_rows: list[tuple[Cell, ...]] = [
        (
            _label(t),
            len(reviews[t]),
            ", ".join(sorted(reviews[t])),
            Figure.of(f"{_label(t)}: across reviews", every[t]),
        )
        for t in recurring
    ]
    tables = (
        Table(
            name="themes-agencies",
            caption="Items by theme and agency",
            columns=("Theme", *agencies, "All"),
            rows=tuple(heat_rows),
        ),
        Table(
            name="themes-recurring",
            caption="Themes recurring across reviews",
            columns=("Theme", "Reviews", "Review ids", "Items"),
            rows=tuple(recurring_rows),
        ),
    )
    busiest = max(themes, key=lambda t: len(every[t]), default=None)
    description = (
        f"A heat map of {len(themes)} themes against {len(agencies)} agencies: the darker a "
        "cell, the more items of that agency carry that theme. "
        + (
            f"The most frequent theme is {_label(busiest)} ({len(every[busiest])} items). "
            if busiest
            else "No item carries a theme. "
        )
        + "The table 'Items by theme and agency' gives every number."
    )
    notes = (
        (f"{len(unthemed)} items carry no theme and are not in the tables.",) if unthemed else ()
    )
    return Report(
        name="themes",
        title="Themes by agency, and themes recurring across reviews",
        data=data,
        tables=tables,
        notes=notes,
        charts=(
            Chart(
                table="themes-agencies", title="Items by theme and agency", description=description
            ),
        ),
    )
