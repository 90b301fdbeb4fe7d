"""``timescale``: % of recommendations implemented within timescale, from the history.

Two bases, from what each workflow declares (``counts_as`` on its states): **implemented**
(in a state that counts as implemented or assured, e.g. signed off by the panel) and
**assured** (in a state that counts as assured, e.g. confirmed by internal audit). An item
counts for a basis when, at the end of the report date, it had been in such states without
a break since a moment whose local date is on or before its due date.

Two due dates: the **original** (the one the item was created with) and the **agreed** (the
original as extended by the decisions recorded up to the report date). ``of`` for each is the
items whose date falls in the period (``--from`` to ``--to``; no ``--from``: every earlier
date). Items closed without assurance, transferred, withdrawn or still open are in ``of`` and
listed as what they are, never as implemented. Items standing on an imported status that
signoff has not verified are left out of every figure and listed apart, as are items
without a due date. Items given more time twice or more are flagged as serial extensions.

Beside the figures, the performance indicators the board's own reports state (an annual
report's, ``engine.indicators``) are listed as stated, never mixed into the figures: an
indicator may ask something else ("implemented appropriately") than the figure does.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from engine.calendar import Calendar
from engine.reports.figures import FORMAT, Figure, Report, Table, percent
from engine.reports.lives import Life, Position, Scope, Specs, end_of, local_day

BASES = ("implemented", "assured")
DUES = ("original", "agreed")
BASIS_WORDS = {
    "implemented": "Implemented (signed off, or assured)",
    "assured": "Assured (independently confirmed)",
}
STATUSES = ("assured", "implemented", "open", "no_assurance", "transferred", "withdrawn")


def status_of(position: Position) -> str:
    """What an item is now, in one word: assured, implemented, open, or its outcome."""
    if position.assured_since is not None:
        return "assured"
    if position.implemented_since is not None:
        return "implemented"
    if position.terminal:
        return position.outcome or "closed"
    return "open"


def _since(position: Position, basis: str) -> dt.datetime | None:
    return position.assured_since if basis == "assured" else position.implemented_since


def build(
    lives: list[Life],
    specs: Specs,
    calendar: Calendar,
    *,
    scope: Scope,
    day_from: dt.date | None,
    day: dt.date,
    indicators: Sequence[dict[str, Any]] = (),
) -> Report:
    """``indicators``: as ``engine.indicators.stated`` gives them, shown as stated."""
    moment = end_of(day, calendar)
    counted: dict[tuple[str, str], list[str]] = {(b, d): [] for b in BASES for d in DUES}
    population: dict[str, list[str]] = {d: [] for d in DUES}
    status: dict[str, list[str]] = {s: [] for s in STATUSES}
    unverified: list[dict[str, Any]] = []
    no_due: list[str] = []
    serial: list[dict[str, Any]] = []
    items: list[dict[str, Any]] = []
    late_from: dict[dt.date, dt.datetime] = {}  # due date -> the moment it is overdue
    for life in lives:
        p = life.at(moment, specs)
        if p.state is None:
            continue
        if p.unverified:
            unverified.append({"key": life.key, "state": p.state, "state_label": p.label})
            continue
        dues = {"original": life.original_due, "agreed": p.due}
        if dues["original"] is None and dues["agreed"] is None:
            no_due.append(life.key)
            continue
        if len(p.extensions) >= 2:
            serial.append(
                {
                    "key": life.key,
                    "original_due": _iso(life.original_due),
                    "agreed_due": _iso(p.due),
                    "extensions": [
                        {
                            "at": x.at.isoformat(),
                            "by": x.actor,
                            "from": _iso(x.due_from),
                            "to": x.due_to.isoformat(),
                        }
                        for x in p.extensions
                    ],
                }
            )
        within: dict[str, dict[str, bool | None]] = {b: {} for b in BASES}
        in_period = False
        for d, due in dues.items():
            if due is None or due > day or (day_from is not None and due < day_from):
                for b in BASES:
                    within[b][d] = None  # not due in the period on this basis
                continue
            in_period = True
            population[d].append(life.key)
            for b in BASES:
                since = _since(p, b)
                if since is None:
                    ok = False
                else:  # on or before the due date, local time: before it is overdue
                    overdue = late_from.get(due)
                    if overdue is None:
                        overdue = late_from[due] = calendar.due_moment(due)
                    ok = since < overdue
                within[b][d] = ok
                if ok:
                    counted[(b, d)].append(life.key)
        if not in_period:
            continue
        word = status_of(p)
        status.setdefault(word, []).append(life.key)
        items.append(
            {
                "key": life.key,
                "review": life.review,
                "agency": life.agency,
                "state": p.state,
                "status": word,
                "original_due": _iso(life.original_due),
                "agreed_due": _iso(p.due),
                "extensions": len(p.extensions),
                "implemented_on": _day(p.implemented_since, calendar),
                "assured_on": _day(p.assured_since, calendar),
                "within": within,
            }
        )
    bases = {
        b: {
            f"within_{d}": {
                "count": len(counted[(b, d)]),
                "of": len(population[d]),
                "percent": percent(len(counted[(b, d)]), len(population[d])),
                "items": counted[(b, d)],
                "of_items": population[d],
            }
            for d in DUES
        }
        for b in BASES
    }
    data = {
        "format": FORMAT,
        "report": "timescale",
        "period": {"from": _iso(day_from), "to": day.isoformat()},
        "scope": {"review": scope.review, "agency": scope.agency},
        "bases": bases,
        "status": {s: {"count": len(k), "items": k} for s, k in status.items()},
        "serial_extensions": serial,
        "unverified": unverified,
        "no_due_date": no_due,
        "items": items,
        "indicators": list(indicators),
    }
    tables = _tables(bases, status, serial, unverified, no_due, day_from, day)
    if indicators:  # beside the headline figures
        tables = (tables[0], _stated(indicators), *tables[1:])
    return Report(name="timescale", title="Implemented within timescale", data=data, tables=tables)


def _stated(indicators: Sequence[dict[str, Any]]) -> Table:
    def value(i: dict[str, Any]) -> str | None:
        if i["value"] is None:
            return None
        shown = f"{i['value']}{' ' + i['unit'] if i['unit'] else ''}"
        return shown + (f" (target {i['target']})" if i["target"] is not None else "")

    return Table(
        name="indicators",
        caption="Performance indicators as the board's reports state them (not computed by "
        "signoff)",
        columns=("Indicator", "Report", "Measure", "Finding", "Action", "Comment", "Value"),
        rows=tuple(
            (
                i["name"],
                i["review"],
                i["measure"],
                i["finding"],
                i["action"],
                i["comment"],
                value(i),
            )
            for i in indicators
        ),
    )


def _tables(
    bases: dict[str, Any],
    status: dict[str, list[str]],
    serial: list[dict[str, Any]],
    unverified: list[dict[str, Any]],
    no_due: list[str],
    day_from: dt.date | None,
    day: dt.date,
) -> tuple[Table, ...]:
    period = f"due {'from ' + day_from.isoformat() + ' ' if day_from else ''}to {day.isoformat()}"
    rows = []
    for b in BASES:
        cells: list[Any] = [BASIS_WORDS[b]]
        for d in DUES:
            f = bases[b][f"within_{d}"]
            cells += [
                Figure.of(f"{b} within {d} due date", f["items"]),
                Figure.of(f"due by {d} date in the period", f["of_items"]),
                "-" if f["percent"] is None else f"{f['percent']}%",
            ]
        rows.append(tuple(cells))
    headline = Table(
        name="timescale",
        caption=f"Recommendations implemented within timescale ({period})",
        columns=(
            "Basis",
            "Within original date",
            "Due (original)",
            "% (original)",
            "Within agreed date",
            "Due (agreed)",
            "% (agreed)",
        ),
        rows=tuple(rows),
    )
    what = Table(
        name="status",
        caption="What the items due in the period are at the report date",
        columns=("Status", "Items"),
        rows=tuple(
            (s.replace("_", " "), Figure.of(s.replace("_", " "), k)) for s, k in status.items()
        ),
    )
    extended = Table(
        name="serial",
        caption="Serial extensions: items given more time twice or more",
        columns=("Item", "Original due", "Agreed due", "Extensions"),
        rows=tuple(
            (s["key"], s["original_due"], s["agreed_due"], len(s["extensions"])) for s in serial
        ),
    )
    apart = Table(
        name="apart",
        caption="Left out of the figures",
        columns=("Why", "Items"),
        rows=(
            (
                "imported status not verified by signoff",
                Figure.of("unverified imported status", [u["key"] for u in unverified]),
            ),
            ("no due date", Figure.of("no due date", no_due)),
        ),
    )
    return headline, what, extended, apart


def _iso(day: dt.date | None) -> str | None:
    return day.isoformat() if day else None


def _day(moment: dt.datetime | None, calendar: Calendar) -> str | None:
    return local_day(moment, calendar).isoformat() if moment else None
