"""The Jinja sandbox templates render in, and the static checks of a template's tree.

Rendering runs in Jinja's immutable sandbox (:class:`Sandbox`) with ``StrictUndefined``, no
globals and only :data:`FILTERS`; ``*``, ``+``, ``~``, ``join`` and ``replace`` refuse to build
values longer than :data:`MAX_SIZE`, ``*`` refuses numbers of more than :data:`MAX_INT_BITS`
bits, and ``**`` and ``%`` formatting are refused. :func:`render` stops a template whose output
passes :data:`MAX_OUTPUT` characters or that runs longer than :data:`MAX_SECONDS` (checked
at every piece of output and every loop step), naming the line it had reached.

Before a template is parsed, :func:`check_source` refuses sources longer than
:data:`MAX_SOURCE`, brackets or tags nested deeper than :data:`MAX_NESTING` and tags of more
than :data:`MAX_TAG_TOKENS` tokens: each would otherwise make Jinja's recursive parser and
compiler run out of stack (5,000 nested parentheses) or time. Then :func:`check_nodes`
refuses what the sandbox alone would let through: the tags that reach other templates,
``self``, calls, private attributes and items, computed subscripts, other filters and loops
nested more than :data:`MAX_LOOP_DEPTH` deep; :func:`instrument` adds the loop-step checks.
"""

from __future__ import annotations

import contextvars
import time
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Literal

import jinja2
from jinja2 import StrictUndefined, nodes, pass_eval_context
from jinja2.compiler import CodeGenerator, Frame
from jinja2.exceptions import SecurityError, TemplateSyntaxError
from jinja2.filters import do_replace, sync_do_join
from jinja2.nodes import EvalContext
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
MAX_SIZE = 100_000  # longest string or list that '*', '+', '~', join or replace may build
MAX_INT_BITS = 256  # largest number '*' may build (a loop of n * n otherwise never ends)
MAX_OUTPUT = 1_000_000  # characters one part of one email may render to
MAX_SECONDS = 2.0  # rendering time of one part
MAX_SOURCE = 100_000  # characters in one part's source
MAX_NESTING = 20  # brackets inside brackets, or tags inside tags
MAX_TAG_TOKENS = 200  # tokens in one {{ ... }} or {% ... %}
MAX_LOOP_DEPTH = 2
_LOOP_STEP = "signoff_loop_step"  # the filter instrument() wraps loops in; no template may name it

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


class RenderLimit(SecurityError):
    """Rendering passed :data:`MAX_OUTPUT` or :data:`MAX_SECONDS`; ``line`` is where it was."""

    def __init__(self, problem: str, line: int | None) -> None:
        super().__init__(problem)
        self.line = line


class _Budget:
    """The time one render may take, checked from the template's own steps."""

    def __init__(self) -> None:
        self.deadline = time.monotonic() + MAX_SECONDS

    def check(self) -> None:
        if time.monotonic() > self.deadline:
            raise RenderLimit(f"rendering took longer than {MAX_SECONDS:g} seconds", None)


_BUDGET: contextvars.ContextVar[_Budget | None] = contextvars.ContextVar("budget", default=None)


def _check_time() -> None:
    budget = _BUDGET.get()
    if budget is not None:
        budget.check()


def _bounded(value: Any, what: str) -> Any:
    if isinstance(value, str | list | tuple) and len(value) > MAX_SIZE:
        raise SecurityError(f"{what} would build a value longer than {MAX_SIZE:,}")
    _check_time()
    return value


@pass_eval_context
def _join(eval_ctx: EvalContext, value: Iterable[Any], d: str = "", attribute: Any = None) -> str:
    items = list(value)
    parts = len(items) if attribute is not None else sum(len(str(i)) for i in items)
    if parts + len(str(d)) * max(len(items) - 1, 0) > MAX_SIZE:
        raise SecurityError(f"'join' would build a value longer than {MAX_SIZE:,}")
    joined: str = _bounded(sync_do_join(eval_ctx, items, d, attribute), "'join'")
    return joined  # a Markup stays Markup: autoescaping must not escape it twice


@pass_eval_context
def _replace(eval_ctx: EvalContext, s: str, old: str, new: str, count: int | None = None) -> str:
    text, old_text, new_text = str(s), str(old), str(new)
    hits = len(text) + 1 if old_text == "" else text.count(old_text)
    if count is not None and count >= 0:
        hits = min(hits, count)
    if len(text) + hits * (len(new_text) - len(old_text)) > MAX_SIZE:
        raise SecurityError(f"'replace' would build a value longer than {MAX_SIZE:,}")
    replaced: str = do_replace(eval_ctx, s, old, new, count)
    return replaced  # a Markup stays Markup


class _LoopSteps:
    """A loop's iterable, checking the time budget at every step (keeps ``len``)."""

    def __init__(self, iterable: Any) -> None:
        self.iterable = iterable

    def __iter__(self) -> Iterator[Any]:
        for value in self.iterable:
            _check_time()
            yield value

    def __len__(self) -> int:
        return len(self.iterable)


class _CodeGenerator(CodeGenerator):
    """Jinja's code generator, with every ``~`` bounded like ``+``."""

    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:
        self.write("environment.bounded_concat(")
        super().visit_Concat(node, frame)
        self.write(")")


class Sandbox(ImmutableSandboxedEnvironment):
    """The immutable sandbox, with no globals, only :data:`FILTERS` and bounded operators."""

    intercepted_binops = frozenset({"*", "**", "+", "%"})
    code_generator_class = _CodeGenerator

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
        self.filters.update({"join": _join, "replace": _replace, _LOOP_STEP: _LoopSteps})

    def bounded_concat(self, value: str) -> str:
        joined: str = _bounded(value, "'~'")
        return joined  # a Markup stays Markup

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        _check_time()
        if operator == "**":
            raise SecurityError("'**' is not allowed in templates")
        if operator == "%" and isinstance(left, str):
            raise SecurityError("'%' formatting is not allowed in templates; use {{ value }}")
        if operator == "*" and isinstance(left, int) and isinstance(right, int):
            if abs(left).bit_length() + abs(right).bit_length() > MAX_INT_BITS:
                raise SecurityError(f"'*' would build a number of more than {MAX_INT_BITS} bits")
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


def render(template: jinja2.Template, values: Mapping[str, object]) -> str:
    """Render ``template`` within :data:`MAX_OUTPUT` and :data:`MAX_SECONDS`.

    Raises:
        RenderLimit: the output grew too long or the time ran out (with the line reached).
        jinja2.TemplateError, and what the template's own code raises: as ``render`` would.
    """
    out: list[str] = []
    size = 0
    token = _BUDGET.set(_Budget())
    try:
        steps = template.generate(values)
        for chunk in steps:
            size += len(chunk)
            if size > MAX_OUTPUT:
                raise RenderLimit(
                    f"the output would be longer than {MAX_OUTPUT:,} characters",
                    _line_reached(template, steps),
                )
            out.append(chunk)
    finally:
        _BUDGET.reset(token)
    return "".join(out)


def _line_reached(template: jinja2.Template, steps: Iterator[str]) -> int | None:
    """The template line a suspended render is at."""
    inner = getattr(steps, "gi_yieldfrom", None)
    frame = getattr(inner, "gi_frame", None)
    return template.get_corresponding_lineno(frame.f_lineno) if frame else None


def check_source(name: str, part: Literal["text", "html"], env: Sandbox, source: str) -> None:
    """Refuse sources too long, nested too deeply or with too long a tag, before parsing.

    Raises:
        TemplateError: with the line of the first problem.
    """
    if len(source) > MAX_SOURCE:
        raise TemplateError(name, part, f"longer than {MAX_SOURCE:,} characters", None)
    brackets: list[int] = []
    tags = 0
    tag_tokens = 0
    tag_words: list[str] = []
    try:
        for line, kind, value in env.lexer.tokeniter(source, name):
            if kind in ("block_begin", "variable_begin"):
                tag_tokens, tag_words = 0, []
                continue
            if kind in ("block_end", "variable_end"):
                tags += _tag_nesting(tag_words)
                if tags > MAX_NESTING:
                    raise TemplateError(name, part, f"tags nest more than {MAX_NESTING} deep", line)
                continue
            if kind in ("data", "whitespace", "raw_begin", "raw_end", "comment"):
                continue
            tag_tokens += 1
            tag_words.append(value)
            if tag_tokens > MAX_TAG_TOKENS:
                raise TemplateError(
                    name, part, f"a tag of more than {MAX_TAG_TOKENS} tokens; split it", line
                )
            if kind == "operator" and value in "([{":
                brackets.append(line)
                if len(brackets) > MAX_NESTING:
                    raise TemplateError(
                        name, part, f"brackets nest more than {MAX_NESTING} deep", line
                    )
            elif kind == "operator" and value in ")]}" and brackets:
                brackets.pop()
    except TemplateSyntaxError as e:
        raise TemplateError(name, part, f"syntax error: {e.message}", e.lineno) from None


_OPENS = frozenset({"if", "for", "with", "filter", "block", "macro", "call", "autoescape"})


def _tag_nesting(words: list[str]) -> int:
    """+1 for a tag that opens a body, -1 for one that closes it, else 0."""
    if not words:
        return 0
    first = words[0]
    if first in _OPENS or (first == "set" and "=" not in words):
        return 1
    return -1 if first.startswith("end") else 0


def instrument(ast: nodes.Template) -> nodes.Template:
    """Wrap every loop's iterable so each step checks the render's time (after
    :func:`check_nodes`, which refuses the filter's name in a template's own source)."""
    for loop in ast.find_all(nodes.For):
        loop.iter = nodes.Filter(loop.iter, _LOOP_STEP, [], [], None, None, lineno=loop.lineno)
    return ast


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
