"""The Jinja sandbox templates render in, and the static checks of a template's tree.

Rendering runs in Jinja's immutable sandbox (:class:`Sandbox`) with ``StrictUndefined``, no
globals and only :data:`FILTERS`; ``*`` and ``+`` refuse to build values longer than
:data:`MAX_SIZE` and ``**`` is refused. Before a template is compiled, :func:`check_nodes`
refuses what the sandbox alone would let through: the tags that reach other templates,
``self``, calls, private attributes and items, computed subscripts, other filters and loops
nested more than :data:`MAX_LOOP_DEPTH` deep.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Literal

from jinja2 import StrictUndefined, nodes
from jinja2.exceptions import SecurityError
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment

from engine.errors import TemplateError
from notifications.variables import suggest

FILTERS = frozenset(
    {
        "abs",
        "capitalize",
        "count",
        "d",
        "default",
        "e",
        "escape",
        "first",
        "int",
        "join",
        "last",
        "length",
        "lower",
        "replace",
        "round",
        "sort",
        "string",
        "striptags",
        "title",
        "trim",
        "truncate",
        "upper",
        "urlencode",
        "wordcount",
    }
)
MAX_SIZE = 100_000  # longest string or list that '*' or '+' may build while rendering
MAX_LOOP_DEPTH = 2

_FORBIDDEN_TAGS: dict[type[nodes.Node], str] = {
    nodes.Include: "include",
    nodes.Import: "import",
    nodes.FromImport: "from ... import",
    nodes.Extends: "extends",
    nodes.Block: "block",
    nodes.Macro: "macro",
    nodes.CallBlock: "call",
    nodes.ScopedEvalContextModifier: "autoescape",
    nodes.EvalContextModifier: "autoescape",
}


class Sandbox(ImmutableSandboxedEnvironment):
    """The immutable sandbox, with no globals, only :data:`FILTERS` and bounded ``*``/``+``."""

    intercepted_binops = frozenset({"*", "**", "+"})

    def __init__(self, *, autoescape: bool) -> None:
        super().__init__(
            undefined=StrictUndefined,
            autoescape=autoescape,
            keep_trailing_newline=True,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.globals.clear()
        self.filters = {k: f for k, f in self.filters.items() if k in FILTERS}

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        if operator == "**":
            raise SecurityError("'**' is not allowed in templates")
        if operator == "*":
            for seq, times in ((left, right), (right, left)):
                if isinstance(seq, str | list | tuple) and isinstance(times, int):
                    if len(seq) * times > MAX_SIZE:
                        raise SecurityError(f"'*' would build a value longer than {MAX_SIZE}")
        if operator == "+" and isinstance(left, str | list | tuple):
            if isinstance(right, str | list | tuple) and len(left) + len(right) > MAX_SIZE:
                raise SecurityError(f"'+' would build a value longer than {MAX_SIZE}")
        return super().call_binop(context, operator, left, right)


TEXT = Sandbox(autoescape=False)
HTML = Sandbox(autoescape=True)


def check_nodes(name: str, part: Literal["text", "html"], ast: nodes.Template) -> None:
    """Raise for the most serious problem in the tree, the earliest of its kind."""
    problems: list[tuple[int, int, str]] = []  # (severity, line, problem)
    for node, depth in _walk(ast, 0):
        line = node.lineno
        if type(node) in _FORBIDDEN_TAGS:
            tag = _FORBIDDEN_TAGS[type(node)]
            problems.append((0, line, f"the {tag!r} tag is not allowed: templates stand alone"))
        elif isinstance(node, nodes.Getattr) and _private(node.attr):
            problems.append((1, line, f"access to {node.attr!r} is not allowed{_PRIVATE}"))
        elif isinstance(node, nodes.Getitem):
            key = node.arg
            if isinstance(key, nodes.Const) and isinstance(key.value, str) and _private(key.value):
                problems.append((1, line, f"access to {key.value!r} is not allowed{_PRIVATE}"))
            elif not _literal_subscript(key):
                problems.append(
                    (
                        2,
                        line,
                        "only literal subscripts are allowed, such as items[0] or item['ref']",
                    )
                )
        elif isinstance(node, nodes.Name) and node.name == "self":
            problems.append((2, line, "'self' is not allowed"))
        elif isinstance(node, nodes.Filter) and node.name == "attr":
            problems.append((1, line, "the 'attr' filter is not allowed"))
        elif isinstance(node, nodes.Filter) and node.name not in FILTERS:
            problems.append(
                (
                    2,
                    line,
                    f"the {node.name!r} filter is not allowed"
                    f"{suggest(node.name, FILTERS)}; filters: {sorted(FILTERS)}",
                )
            )
        elif isinstance(node, nodes.Keyword) and node.key == "attribute":
            value = node.value
            if not (isinstance(value, nodes.Const) and isinstance(value.value, str | int)):
                problems.append((2, line, "'attribute=' must be a literal"))
            elif isinstance(value.value, str) and _private(value.value):
                problems.append((1, line, f"access to {value.value!r} is not allowed{_PRIVATE}"))
        elif isinstance(node, nodes.Call):
            problems.append((2, line, "calling functions or methods is not allowed"))
        elif isinstance(node, nodes.Pow):
            problems.append((2, line, "'**' is not allowed"))
        elif isinstance(node, nodes.For) and depth > MAX_LOOP_DEPTH:
            problems.append((2, line, f"loops may be nested at most {MAX_LOOP_DEPTH} deep"))
    if problems:
        _, line, problem = min(problems, key=lambda p: (p[0], p[1]))
        raise TemplateError(name, part, problem, line)


_PRIVATE = " (names starting with '_' or containing '__' are private)"


def _walk(node: nodes.Node, depth: int) -> Iterator[tuple[nodes.Node, int]]:
    """Every node below ``node``, children before parents (so chains come in source order),
    with how many ``for`` loops enclose it (itself included)."""
    inner = depth + 1 if isinstance(node, nodes.For) else depth
    for child in node.iter_child_nodes():
        yield from _walk(child, inner)
    yield node, inner


def _private(attr: str) -> bool:
    return attr.startswith("_") or "__" in attr


def _literal_subscript(key: nodes.Node) -> bool:
    if isinstance(key, nodes.Const):
        return isinstance(key.value, str | int) and not isinstance(key.value, bool)
    if isinstance(key, nodes.Slice):
        parts = (key.start, key.stop, key.step)
        return all(p is None or _literal_subscript(p) for p in parts)
    if isinstance(key, nodes.Neg):
        return _literal_subscript(key.node)
    return False
