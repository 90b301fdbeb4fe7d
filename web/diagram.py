"""A workflow as an accessible SVG diagram, drawn on the server, with its text alternative.

Layout is Graphviz's ``dot`` (Debian's ``graphviz`` package; ``make`` installs it), driven
through the ``graphviz`` Python package: a well-kept layered layout rather than one of our
own. Each state is a box with its label and name; a state where the clock pauses has a dashed
border and says "clock paused"; a final state has a double border and says "final"; the
initial state is pointed at from a "start" dot. Each transition that moves an item is an arrow
labelled with what it does and who may fire it. Transitions that keep the item where it is
(setting the RAG, asking for more time) would be loops on every state, so they are listed only
in the table — ``transitions`` — which is the diagram's text alternative and lists every one.

The SVG is served inline from our own origin, so what ``dot`` writes is parsed and rebuilt
from an allowlist of elements and attributes: no script, no event handler, no link, no
reference to anything outside it. It carries ``role="img"`` with a ``<title>`` and ``<desc>``.
"""

from __future__ import annotations

import re
import textwrap
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import defusedxml.ElementTree as SafeET

from engine.spec import WorkflowSpec

_SVG = "http://www.w3.org/2000/svg"
_ELEMENTS = {"svg", "g", "polygon", "polyline", "path", "ellipse", "text", "title", "desc"}
_ATTRIBUTES = {
    "width", "height", "viewBox", "transform", "points", "d", "cx", "cy", "rx", "ry", "x",
    "y", "fill", "stroke", "stroke-width", "stroke-dasharray", "font-family", "font-size",
    "font-weight", "text-anchor", "class", "id",
}  # fmt: skip
# plain numbers, names, colours and transforms: no quotes, no angle brackets, no url(...)
_SAFE_VALUE = re.compile(r"^(?!.*url)[\w\s.,#%:;()+-]*$", re.I)
_FONT = "Arial"
_INK = "#0b0c0c"  # GOV.UK text colour
_PAUSED_FILL = "#f3f2f1"  # GOV.UK light grey; paused is also said in words and by dashes


@dataclass(frozen=True, kw_only=True)
class TransitionRow:
    """One transition as the table beside the diagram shows it."""

    trigger: str
    label: str
    sources: tuple[str, ...]
    dest: str | None  # None: the item stays where it is
    roles: tuple[str, ...]  # role labels
    requires: tuple[str, ...]


class DiagramUnavailable(Exception):
    """Graphviz's ``dot`` is not installed; the page shows the table alone."""


def transitions(spec: WorkflowSpec) -> list[TransitionRow]:
    """Every transition of ``spec``, in the file's order, as the diagram's text alternative."""
    roles = spec.model.roles
    return [
        TransitionRow(
            trigger=t.trigger,
            label=t.label or t.trigger.replace("_", " "),
            sources=spec.sources(t),
            dest=t.dest,
            roles=tuple(_role_words(r, roles) for r in t.roles),
            requires=tuple(r.value.replace("_", " ") for r in t.requires),
        )
        for t in spec.model.transitions
    ]


def svg(spec: WorkflowSpec, *, ident: str = "diagram", fit: bool = False) -> str:
    """The diagram of ``spec`` as an ``<svg>`` element, safe to put inline in a page; with
    ``fit``, as wide as the page and no wider (its viewBox keeps the proportions).

    Raises:
        DiagramUnavailable: Graphviz's ``dot`` is not installed.
    """
    import graphviz

    graph = graphviz.Digraph(
        graph_attr={"rankdir": "TB", "nodesep": "0.4", "ranksep": "0.55", "bgcolor": "white"},
        node_attr={"shape": "box", "fontname": _FONT, "fontsize": "12", "color": _INK,
                   "fontcolor": _INK, "margin": "0.15,0.08"},
        edge_attr={"fontname": _FONT, "fontsize": "10", "color": _INK, "fontcolor": _INK},
    )  # fmt: skip
    graph.node("__start", label="", shape="circle", width="0.2", style="filled", fillcolor=_INK)
    for name, state in spec.states.items():
        lines = [state.label, f"({name})"]
        attrs: dict[str, str] = {}
        if state.clock.value == "paused":
            lines.append("clock paused")
            attrs |= {"style": "dashed,filled", "fillcolor": _PAUSED_FILL}
        if state.terminal:
            lines.append("final")
            attrs["peripheries"] = "2"
        graph.node(name, label="\n".join(lines), **attrs)
    graph.edge("__start", spec.initial, label=" start")
    for row in transitions(spec):
        if row.dest is None:
            continue
        for source in row.sources:
            graph.edge(source, row.dest, label=_wrapped(row.label, "by " + ", ".join(row.roles)))
    try:
        drawn = graph.pipe(format="svg", encoding="utf-8")
    except graphviz.ExecutableNotFound as exc:
        raise DiagramUnavailable(str(exc)) from None
    return _clean(drawn, spec, ident, fit)


def _wrapped(*parts: str) -> str:
    """An arrow's label in short lines, so the diagram stays narrow enough to read."""
    return "\n".join(line for part in parts for line in textwrap.wrap(part, 24))


def _clean(drawn: str, spec: WorkflowSpec, ident: str, fit: bool) -> str:
    """``dot``'s SVG rebuilt from the allowlist, with the accessible name and description."""
    root = SafeET.fromstring(drawn[drawn.index("<svg") :])
    out = _copy(root)
    if out is None:  # pragma: no cover - dot always writes an <svg> root
        raise ValueError("dot wrote no <svg> element")
    if fit:
        out.attrib.pop("height", None)
        out.set("width", "100%")
    out.set("role", "img")
    out.set("aria-labelledby", f"{ident}-title")
    out.set("aria-describedby", f"{ident}-desc")
    out.set("focusable", "false")
    title = ET.Element(f"{{{_SVG}}}title", {"id": f"{ident}-title"})
    title.text = f"Diagram of the {spec.model.label} workflow"
    desc = ET.Element(f"{{{_SVG}}}desc", {"id": f"{ident}-desc"})
    desc.text = _description(spec)
    out.insert(0, desc)
    out.insert(0, title)
    ET.register_namespace("", _SVG)
    return ET.tostring(out, encoding="unicode")


def _copy(node: ET.Element) -> ET.Element | None:
    """``node`` and what it holds, keeping only allowed elements and attributes; dot's own
    ``<title>`` tooltips are dropped (the diagram has one title, ours)."""
    tag = node.tag.removeprefix(f"{{{_SVG}}}")
    if tag not in _ELEMENTS or tag == "title":
        return None
    copy = ET.Element(f"{{{_SVG}}}{tag}")
    for key, value in node.attrib.items():
        if key in _ATTRIBUTES and _SAFE_VALUE.match(value):
            copy.set(key, value)
    copy.text = node.text if tag == "text" else None
    for child in node:
        kept = _copy(child)
        if kept is not None:
            copy.append(kept)
    return copy


def _description(spec: WorkflowSpec) -> str:
    paused = [s.label for s in spec.states.values() if s.clock.value == "paused"]
    final = [s.label for s in spec.states.values() if s.terminal]
    parts = [
        f"{len(spec.states)} states; items start in “{spec.states[spec.initial].label}”.",
        f"Final states: {', '.join(final)}." if final else "",
        f"The clock pauses in: {', '.join(paused)}." if paused else "",
        "Arrows are the transitions that move an item, each labelled with who may fire it; "
        "the table of transitions below lists every transition.",
    ]
    return " ".join(p for p in parts if p)


def _role_words(role: str, roles: Mapping[str, Any]) -> str:
    """A role as people say it: the workflow's label for it, else its name in words."""
    label = getattr(roles.get(role), "label", None)
    return label or role.replace("_", " ").capitalize()
