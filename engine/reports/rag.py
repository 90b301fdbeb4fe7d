"""``rag``: Red/Amber/Green and state by review and by agency, at the report date.

Every item that existed at the end of the day counts once in each grouping, with the RAG
the panel last set by then (``none`` when it never set one) and the state its events had
put it in.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from engine.calendar import Calendar
from engine.reports.figures import FORMAT, Cell, Figure, Report, Table
from engine.reports.lives import Life, Position, Scope, Specs, end_of

RAGS = ("red", "amber", "green", "none")
_RAG_WORDS = {"red": "red", "amber": "amber", "green": "green", "none": "no RAG"}


def _group(
    placed: list[tuple[Life, Position]], by: Callable[[Life], str]
) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for life, position in placed:
        group = out.setdefault(by(life), {"rag": {r: [] for r in RAGS}, "state": {}})
        group["rag"][position.rag or "none"].append(life.key)
        state = group["state"].setdefault(
            position.state, {"label": position.label, "terminal": position.terminal, "items": []}
        )
        state["items"].append(life.key)
    return out


def _json(groups: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return {
        name: {
            "count": sum(len(v) for v in g["rag"].values()),
            "rag": {r: {"count": len(k), "items": k} for r, k in g["rag"].items()},
            "state": {
                s: {
                    "label": v["label"],
                    "terminal": v["terminal"],
                    "count": len(v["items"]),
                    "items": v["items"],
                }
                for s, v in g["state"].items()
            },
        }
        for name, g in sorted(groups.items())
    }


def _rag_table(name: str, heading: str, groups: dict[str, dict[str, Any]]) -> Table:
    rows: list[tuple[Cell, ...]] = []
    for group, g in sorted(groups.items()):
        cells = [Figure.of(f"{group}: {_RAG_WORDS[r]}", g["rag"][r]) for r in RAGS]
        every = [k for r in RAGS for k in g["rag"][r]]
        rows.append((group, *cells, Figure.of(f"{group}: all items", every)))
    return Table(
        name=f"rag-{name}",
        caption=f"RAG by {heading}",
        columns=(heading.capitalize(), "Red", "Amber", "Green", "No RAG", "All"),
        rows=tuple(rows),
    )


def _state_table(name: str, heading: str, groups: dict[str, dict[str, Any]]) -> Table:
    rows: list[tuple[Cell, ...]] = []
    for group, g in sorted(groups.items()):
        for state, v in g["state"].items():
            label = f"{group}: {v['label']}"
            rows.append((group, v["label"], state, Figure.of(label, v["items"])))
    return Table(
        name=f"state-{name}",
        caption=f"State by {heading}",
        columns=(heading.capitalize(), "State", "State id", "Items"),
        rows=tuple(rows),
    )


def build(
    lives: list[Life], specs: Specs, calendar: Calendar, *, scope: Scope, day: dt.date
) -> Report:
    moment = end_of(day, calendar)
    placed = [(life, life.at(moment, specs)) for life in lives]
    placed = [(life, p) for life, p in placed if p.state is not None]
    by_review = _group(placed, lambda life: life.review)
    by_agency = _group(placed, lambda life: life.agency)
    data = {
        "format": FORMAT,
        "report": "rag",
        "as_of": day.isoformat(),
        "scope": {"review": scope.review, "agency": scope.agency},
        "count": len(placed),
        "by_review": _json(by_review),
        "by_agency": _json(by_agency),
    }
    tables = (
        _rag_table("review", "review", by_review),
        _rag_table("agency", "agency", by_agency),
        _state_table("review", "review", by_review),
        _state_table("agency", "agency", by_agency),
    )
    return Report(name="rag", title="RAG and state", data=data, tables=tables)
