"""Notification templates: one text part and one HTML part per kind, rendered in a sandbox.

The shipped templates live in ``notifications/templates/`` as ``NAME.txt.j2`` and
``NAME.html.j2``. Admins may override them (or add variants) from the database; every admin edit
goes through :func:`validate` before it is saved, and :class:`Templates` validates everything
again when it is built.

A template's *name* is its kind (``request``, ``reminder``, ``chase``, ``escalation``,
``digest``, ``decision``) or a variant of one, ``KIND_VARIANT`` (``reminder_panel``): a variant
gets the variables of its kind.

Parts
-----
* **text**: plain text, not escaped. Its first line is ``Subject: ...``, itself a template on a
  single line; the body follows (leading blank lines are dropped).
* **html**: HTML, autoescaped. Self-contained: inline styles, no remote assets.

Both use ``trim_blocks`` and ``lstrip_blocks``: a ``{% ... %}`` tag on a line of its own leaves
no blank line behind. A tag that ends a line of text eats that line's newline too; write
``+%}`` to keep it (``{% endif +%}``), or use an inline ``{{ 'a' if x else 'b' }}``.

A rendered email is a :class:`Rendered`; its ``template_version`` is the first 12 hex digits of
the SHA-256 of the text source, a NUL byte and the HTML source, so the outbox can record exactly
which wording was sent.

Variables each kind may use
---------------------------
Emails carry no child-identifying or case detail and no free-text reasons from decisions: they
point to ``link`` instead, where the reader signs in.

Common to ``request``, ``reminder``, ``chase``, ``escalation``, ``decision`` and ``receipt``:

==================  ============================================================================
``recipient_name``  who the email is addressed to ("Designated Nurse Safeguarding Children")
``agency_name``     the agency the item belongs to
``board_name``      the board that owns the review ("Southend LSCB")
``review_ref``      the review's id ("southend-iawg-scr-audit-2010")
``review_title``    the review's title
``ref``             the recommendation's reference within the review ("R1")
``title``           the recommendation's short title
``due``             the due date, written out ("1 April 2011")
``days_overdue``    int: days past the due date; 0 on the day, negative before it
``state_label``     the item's current state ("Open, awaiting evidence")
``expected``        what evidence is expected (a request: what that request asks for)
``link``            URL of the item (a request: its reply page link)
``reply_to``        the address replies (with attachments) go to (a request: its own)
``sender_name``     who signs the email
==================  ============================================================================

``escalation`` adds ``step`` (int, 1 for the first escalation), ``escalated_to_role`` (the
recipient's role, "Chief Executive") and ``late_agency_name`` (the agency that is late).

``decision`` adds ``decision_label`` ("Evidence challenged by the panel"); ``state_label`` is the
state the item moved to.

``receipt`` (to the person who answered a request) adds ``received``, a list of what arrived
("2 files", "a written statement"): counts, never file names; ``state_label`` is the new state.

``failures`` (the business manager's daily summary of undelivered email) has ``count``,
``failures`` (mappings with ``ref``, ``review_ref``, ``kind``, ``recipient`` and ``error``),
``recipient_name``, ``board_name``, ``sender_name``, ``reply_to`` and ``link``.

``digest`` has ``items``, ``recipient_name``, ``board_name``, ``reply_to`` and ``sender_name``:
``items`` is a list of mappings with exactly the keys ``ref``, ``title``, ``review_ref``,
``due``, ``days_overdue`` and ``link``.

Values used in the subject, and ``recipient_name``, ``sender_name`` and ``reply_to`` (which the
dispatcher puts into headers), must not contain line breaks: :meth:`Templates.render` refuses them.

What a template may not do
--------------------------
``include``, ``import``, ``from``, ``extends``, ``block``, ``macro``, ``call`` and
``autoescape`` tags; ``self``; calling anything; ``**``; attribute or item access to names
starting with ``_`` (or containing ``__``); subscripts other than literals (``items[0]``,
``item['ref']``); filters outside :data:`FILTERS` (``attr``, ``safe``, ``format`` and ``map``
among them); loops nested more than two deep; variables outside its kind's list. Rendering
runs in Jinja's immutable sandbox with ``StrictUndefined`` and no globals, and ``*`` / ``+``
refuse to build values longer than :data:`MAX_SIZE`.
"""

from __future__ import annotations

import difflib
import hashlib
import re
import traceback
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import jinja2
from jinja2 import StrictUndefined, meta, nodes
from jinja2.exceptions import SecurityError, TemplateSyntaxError, UndefinedError
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment

from engine.errors import TemplateError, TemplatePart

TEMPLATE_DIR = Path(__file__).parent / "templates"

KINDS = (
    "request",
    "reminder",
    "chase",
    "escalation",
    "digest",
    "decision",
    "failures",
    "receipt",
)

_COMMON = frozenset(
    {
        "recipient_name",
        "agency_name",
        "board_name",
        "review_ref",
        "review_title",
        "ref",
        "title",
        "due",
        "days_overdue",
        "state_label",
        "expected",
        "link",
        "reply_to",
        "sender_name",
    }
)
DIGEST_ITEM_KEYS = frozenset({"ref", "title", "review_ref", "due", "days_overdue", "link"})
ALLOWED_VARIABLES: dict[str, frozenset[str]] = {
    "request": _COMMON,
    "reminder": _COMMON,
    "chase": _COMMON,
    "escalation": _COMMON | {"step", "escalated_to_role", "late_agency_name"},
    "digest": frozenset({"items", "recipient_name", "board_name", "reply_to", "sender_name"}),
    "decision": _COMMON | {"decision_label"},
    "receipt": _COMMON | {"received"},
    "failures": frozenset(
        {"count", "failures", "recipient_name", "board_name", "sender_name", "reply_to", "link"}
    ),
}
# The dispatcher puts these into headers (To, From, Reply-To): one line each, always.
HEADER_VARIABLES = frozenset({"recipient_name", "sender_name", "reply_to"})

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
SUBJECT_PREFIX = "Subject:"

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
_LINE_BREAK = re.compile("[\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")
_UNDEFINED_NAME = re.compile(r"^'([^']+)' is undefined$")
_NO_ATTRIBUTE = re.compile(r"has no attribute '([^']+)'$")

Part = TemplatePart

SAMPLE_CONTEXT: dict[str, dict[str, object]] = {}  # filled in below, one per kind


@dataclass(frozen=True)
class Rendered:
    """One email, ready for the outbox. ``template_version`` identifies the sources used."""

    subject: str
    text: str
    html: str
    template_version: str


def available(directory: Path = TEMPLATE_DIR) -> frozenset[str]:
    """Names of templates that have both a text and an HTML part."""
    text = {p.name.removesuffix(".txt.j2") for p in directory.glob("*.txt.j2")}
    html = {p.name.removesuffix(".html.j2") for p in directory.glob("*.html.j2")}
    return frozenset(text & html)


def kind_of(name: str) -> str:
    """The kind a template name belongs to: ``reminder`` for ``reminder`` or ``reminder_panel``."""
    for kind in KINDS:
        if name == kind or name.startswith(kind + "_"):
            return kind
    raise TemplateError(
        name,
        "name",
        f"unknown kind {name!r}{_suggest(name, KINDS)}; a template is named after its kind, "
        f"or KIND_VARIANT; kinds: {list(KINDS)}",
    )


def template_version(text_source: str, html_source: str) -> str:
    """The first 12 hex digits of the SHA-256 of both sources."""
    digest = hashlib.sha256(text_source.encode() + b"\x00" + html_source.encode())
    return digest.hexdigest()[:12]


def validate(name: str, text_source: str, html_source: str) -> None:
    """Check an admin's edit before it is saved; raise :class:`TemplateError` at the first problem.

    Both parts are parsed, checked against the rules in this module's docstring and rendered
    once, in the sandbox, with the kind's :data:`SAMPLE_CONTEXT`.
    """
    _compile(name, text_source, html_source)


class Templates:
    """Every template, compiled once: the shipped ones from ``directory``, then ``overrides``.

    ``overrides`` maps a name to its (text source, HTML source); it replaces a shipped template
    of that name or adds a variant. Everything is validated here, so a bad override stops the
    build rather than an email.
    """

    def __init__(
        self,
        directory: Path = TEMPLATE_DIR,
        overrides: Mapping[str, tuple[str, str]] | None = None,
    ) -> None:
        sources: dict[str, tuple[str, str]] = {
            name: (
                (directory / f"{name}.txt.j2").read_text(encoding="utf-8"),
                (directory / f"{name}.html.j2").read_text(encoding="utf-8"),
            )
            for name in sorted(available(directory))
        }
        sources.update(overrides or {})
        self._compiled = {name: _compile(name, *parts) for name, parts in sources.items()}

    @property
    def names(self) -> frozenset[str]:
        return frozenset(self._compiled)

    def version(self, name: str) -> str:
        return self._get(name).version

    def render(self, name: str, context: Mapping[str, object]) -> Rendered:
        """Render template ``name``; raise :class:`TemplateError` if the context does not fit it."""
        return self._get(name).render(context)

    def _get(self, name: str) -> _Compiled:
        try:
            return self._compiled[name]
        except KeyError:
            raise TemplateError(
                name,
                "name",
                f"no template {name!r}{_suggest(name, self._compiled)}; "
                f"templates: {sorted(self._compiled)}",
            ) from None


# -- the sandbox -----------------------------------------------------------------------------


class _Sandbox(ImmutableSandboxedEnvironment):
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


_TEXT = _Sandbox(autoescape=False)
_HTML = _Sandbox(autoescape=True)


# -- compiling and checking ------------------------------------------------------------------


@dataclass(frozen=True)
class _Source:
    """One piece of one part: the subject line, the text body or the HTML."""

    part: Literal["text", "html"]
    env: _Sandbox
    source: str


@dataclass(frozen=True)
class _Piece:
    part: Literal["text", "html"]
    template: jinja2.Template
    variables: frozenset[str]


@dataclass(frozen=True)
class _Compiled:
    name: str
    kind: str
    subject: _Piece
    body: _Piece
    html: _Piece
    version: str

    def render(self, context: Mapping[str, object]) -> Rendered:
        values = self._checked(context)
        subject_line = _run(self.name, self.subject, values)
        if _LINE_BREAK.search(subject_line):
            raise TemplateError(
                self.name, "text", f"the subject contains a line break: {subject_line!r}", 1
            )
        subject = subject_line.removeprefix(SUBJECT_PREFIX).strip()
        if not subject:
            raise TemplateError(self.name, "text", "the subject is empty", 1)
        text = _run(self.name, self.body, values).lstrip("\r\n")
        html = _run(self.name, self.html, values)
        return Rendered(subject=subject, text=text, html=html, template_version=self.version)

    def _checked(self, context: Mapping[str, object]) -> dict[str, object]:
        allowed = ALLOWED_VARIABLES[self.kind]
        for key in sorted(context):
            if key not in allowed:
                raise TemplateError(
                    self.name,
                    "context",
                    f"{key!r} is not a variable of {self.kind!r} templates"
                    f"{_suggest(key, allowed)}; allowed: {sorted(allowed)}",
                )
        used = self.subject.variables | self.body.variables | self.html.variables
        missing = sorted(used - set(context))
        if missing:
            raise TemplateError(
                self.name,
                "context",
                f"undefined variable {missing[0]!r}: the template uses {missing} "
                "and the context does not give them",
            )
        for key in sorted((self.subject.variables | HEADER_VARIABLES) & set(context)):
            if _has_line_break(context[key]):
                raise TemplateError(
                    self.name,
                    "context",
                    f"{key!r} contains a line break ({context[key]!r}); values used in the "
                    "subject or in headers must be a single line",
                )
        if self.kind == "digest" and "items" in context:
            _check_items(self.name, context["items"])
        return dict(context)


def _compile(name: str, text_source: str, html_source: str) -> _Compiled:
    kind = kind_of(name)
    first, newline, rest = text_source.partition("\n")
    if not first.startswith(SUBJECT_PREFIX):
        raise TemplateError(
            name,
            "text",
            f"the first line must be the subject, 'Subject: ...'; found {first[:60]!r}",
            1,
        )
    if "\r" in first:
        first = first.rstrip("\r")
    # The body keeps its line numbers: line 1 becomes empty.
    sources = (
        _Source("text", _TEXT, first),
        _Source("text", _TEXT, newline + rest),
        _Source("html", _HTML, html_source),
    )
    subject, body, html = (_piece(name, kind, s) for s in sources)
    compiled = _Compiled(
        name, kind, subject, body, html, template_version(text_source, html_source)
    )
    try:
        compiled.render(SAMPLE_CONTEXT[kind])
    except TemplateError as e:
        raise TemplateError(name, e.part, f"{e.problem} (with the sample context)", e.line) from e
    return compiled


def _piece(name: str, kind: str, s: _Source) -> _Piece:
    try:
        ast = s.env.parse(s.source)
    except TemplateSyntaxError as e:
        raise TemplateError(name, s.part, f"syntax error: {e.message}", e.lineno) from None
    _check_nodes(name, s.part, ast)
    variables = frozenset(meta.find_undeclared_variables(ast))
    allowed = ALLOWED_VARIABLES[kind]
    unknown = sorted(variables - allowed, key=lambda v: (_first_line(ast, v), v))
    if unknown:
        var = unknown[0]
        raise TemplateError(
            name,
            s.part,
            f"unknown variable {var!r}{_suggest(var, allowed)}; allowed: {sorted(allowed)}",
            _first_line(ast, var),
        )
    try:
        template = s.env.from_string(ast)
    except TemplateSyntaxError as e:
        raise TemplateError(name, s.part, f"syntax error: {e.message}", e.lineno) from None
    return _Piece(s.part, template, variables)


def _check_nodes(name: str, part: Literal["text", "html"], ast: nodes.Template) -> None:
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
                    f"{_suggest(node.name, FILTERS)}; filters: {sorted(FILTERS)}",
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


def _first_line(ast: nodes.Template, var: str) -> int:
    lines = [n.lineno for n in ast.find_all(nodes.Name) if n.name == var and n.ctx == "load"]
    return min(lines, default=1)


def _run(name: str, piece: _Piece, values: Mapping[str, object]) -> str:
    try:
        return piece.template.render(values)
    except UndefinedError as e:
        raise TemplateError(name, piece.part, _undefined(name, e), _template_line(e)) from e
    except SecurityError as e:
        raise TemplateError(
            name, piece.part, f"not allowed in the sandbox: {e}", _template_line(e)
        ) from e
    except (jinja2.TemplateError, TypeError, ValueError, ArithmeticError, LookupError) as e:
        raise TemplateError(
            name, piece.part, f"cannot render: {type(e).__name__}: {e}", _template_line(e)
        ) from e


def _undefined(name: str, e: UndefinedError) -> str:
    message = str(e)
    if match := _UNDEFINED_NAME.match(message):
        return f"undefined variable {match.group(1)!r}"
    if match := _NO_ATTRIBUTE.search(message):
        key = match.group(1)
        if kind_of(name) != "digest":
            return f"undefined variable: {message}"
        if key in DIGEST_ITEM_KEYS:
            return f"undefined variable: {message}: an item in 'items' has no {key!r}"
        hint = f"{_suggest(key, DIGEST_ITEM_KEYS)}; item keys: {sorted(DIGEST_ITEM_KEYS)}"
        return f"undefined variable: {message}{hint}"
    return f"undefined variable: {message}"


def _template_line(e: BaseException) -> int | None:
    frames = [f for f in traceback.extract_tb(e.__traceback__) if f.filename == "<template>"]
    return frames[-1].lineno if frames else None


def _has_line_break(value: object) -> bool:
    if isinstance(value, str):
        return bool(_LINE_BREAK.search(value))
    if isinstance(value, Mapping):
        return any(_has_line_break(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(_has_line_break(v) for v in value)
    return False


def _check_items(name: str, items: object) -> None:
    if not isinstance(items, list | tuple):
        raise TemplateError(
            name, "context", f"'items' must be a list of mappings, not {type(items).__name__}"
        )
    for i, item in enumerate(items):
        if not isinstance(item, Mapping):
            raise TemplateError(
                name, "context", f"items[{i}] must be a mapping, not {type(item).__name__}"
            )
        for key in sorted(set(item) - DIGEST_ITEM_KEYS):
            raise TemplateError(
                name,
                "context",
                f"items[{i}] has key {key!r}{_suggest(str(key), DIGEST_ITEM_KEYS)}; "
                f"item keys: {sorted(DIGEST_ITEM_KEYS)}",
            )


def _suggest(value: str, allowed: Iterable[str]) -> str:
    """'; did you mean 'x'?' for a close match (ignoring case), or ''."""
    by_lower = {a.lower(): a for a in allowed}
    close = difflib.get_close_matches(value.lower(), list(by_lower), n=1, cutoff=0.6)
    return f"; did you mean {by_lower[close[0]]!r}?" if close else ""


# -- sample contexts, for validation and previews --------------------------------------------

_SAMPLE_ITEM: dict[str, object] = {
    "recipient_name": "Designated Nurse Safeguarding Children",
    "agency_name": "NHS South East Essex",
    "board_name": "Southend LSCB",
    "review_ref": "southend-iawg-scr-audit-2010",
    "review_title": "Internal audit of serious case review follow-up",
    "ref": "R1",
    "title": "Revise the serious case review panel's terms of reference",
    "due": "1 April 2011",
    "days_overdue": -14,
    "state_label": "Open, awaiting evidence",
    "expected": "The revised terms of reference and the minutes of the meeting that agreed them",
    "link": "https://signoff.example.org/items/southend-iawg-scr-audit-2010/R1",
    "reply_to": "signoff+southend-iawg-scr-audit-2010.r1@southend-lscb.example.org",
    "sender_name": "LSCB Business Manager",
}
SAMPLE_CONTEXT.update(
    {
        "failures": {
            "recipient_name": "LSCB Business Manager",
            "board_name": "Southend LSCB",
            "sender_name": "signoff",
            "reply_to": "business.manager@southend-lscb.example.org",
            "link": "https://signoff.example.org/admin/outbox",
            "count": 1,
            "failures": [
                {
                    "ref": "R1",
                    "review_ref": "southend-iawg-scr-audit-2010",
                    "kind": "chase",
                    "recipient": "named.nurse@sept.example.org",
                    "error": "550 mailbox unavailable",
                }
            ],
        },
        "request": {**_SAMPLE_ITEM, "days_overdue": -28},
        "receipt": {
            **_SAMPLE_ITEM,
            "state_label": "Evidence submitted, awaiting panel",
            "received": ["minutes-2011-03.pdf", "a written statement"],
        },
        "reminder": {**_SAMPLE_ITEM, "days_overdue": -3},
        "chase": {**_SAMPLE_ITEM, "days_overdue": 9},
        "escalation": {
            **_SAMPLE_ITEM,
            "recipient_name": "Chief Executive",
            "days_overdue": 21,
            "step": 2,
            "escalated_to_role": "Chief Executive",
            "late_agency_name": "NHS South East Essex",
        },
        "digest": {
            "recipient_name": "Case Review Panel Chair",
            "board_name": "Southend LSCB",
            "reply_to": "business.manager@southend-lscb.example.org",
            "sender_name": "LSCB Business Manager",
            "items": [
                {
                    "ref": "R1",
                    "title": "Revise the serious case review panel's terms of reference",
                    "review_ref": "southend-iawg-scr-audit-2010",
                    "due": "1 April 2011",
                    "days_overdue": 9,
                    "link": "https://signoff.example.org/items/southend-iawg-scr-audit-2010/R1",
                },
                {
                    "ref": "R4",
                    "title": "Audit the use of the multi-agency referral form",
                    "review_ref": "southend-iawg-scr-audit-2010",
                    "due": "30 April 2011",
                    "days_overdue": -20,
                    "link": "https://signoff.example.org/items/southend-iawg-scr-audit-2010/R4",
                },
            ],
        },
        "decision": {
            **_SAMPLE_ITEM,
            "days_overdue": 0,
            "decision_label": "Evidence challenged by the panel",
            "state_label": "Challenged by the panel",
        },
    }
)
