"""Notification templates: one text part and one HTML part per kind, rendered in a sandbox.

The shipped templates live in ``notifications/templates/`` as ``NAME.txt.j2`` and
``NAME.html.j2``. The business manager may change a template's wording on ``/admin/emails``;
the versions are kept by ``engine.wording``, every edit goes through :func:`validate` before
it is saved, and :meth:`Templates.overridden` validates the current versions again when the
dispatcher puts them in place (an email then records the version's name, ``db<id>-<hash>``).

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
Emails carry only what an administrator marked safe for email: the review's email name, the
recommendation's ref and its email summary. No variable carries free text from a plan (the
review's title, the recommendation's text or agreed action), a statement, a note or a
decision's reasons: they stay behind ``link``, where the reader signs in.

Common to ``request``, ``reminder``, ``chase``, ``escalation``, ``decision`` and ``receipt``:

==================  ============================================================================
``recipient_name``  who the email is addressed to ("Designated Nurse Safeguarding Children")
``agency_name``     the agency the item belongs to
``board_name``      the board that owns the review ("Southend LSCB")
``review_ref``      the review's id ("southend-iawg-scr-audit-2010")
``review_name``     the review's name for emails (its ``email_name``, else its id; never its title)
``ref``             the recommendation's reference within the review ("R1")
``summary``         the recommendation's ``email_summary``, or "" when it has none
``due``             the due date, written out ("1 April 2011")
``days_overdue``    int: calendar days (the board's zone) from the due date to the day the email
                    is sent; 0 on the day, negative before it
``overdue_since``   the day after the due date, written out ("2 April 2011"): the first day
                    the item is overdue
``urgent``          bool: the workflow marks this step urgent (an escalation with ``urgent``)
``state_label``     the item's current state ("Open, awaiting evidence")
``owed``            whose move it is: what the role the state's deadline is addressed to owes,
                    ``evidence``, ``decision`` or ``confirmation`` ("" when the state has no
                    deadline); see ``engine.spec.moves``
``owed_by``         who owes it: the item's agency (the board's name for its own items) when
                    the role is the agency's, else the role's label ("Case review panel")
``expected``        what the state expects (its ``expects``, else a sentence for ``owed``)
``link``            URL of the item (a request: its reply page link)
``reply_to``        the address replies (with attachments) go to (a request: its own)
``sender_name``     who signs: the board's business manager as the directory lists them
``sender_role``     their role ("Business manager"), or "" when nobody is listed
==================  ============================================================================

``escalation`` adds ``step`` (int, 1 for the first escalation), ``escalated_to_role`` (the
recipient's role, "Chief Executive") and ``late_agency_name`` (the agency that is late).

``decision`` adds ``decision_label`` ("Evidence challenged by the panel"); ``state_label`` is the
state the item moved to.

``receipt`` (to the person who answered a request) adds ``received``, a list of what arrived
("2 files", "a written statement"): counts, never file names; ``state_label`` is the new state.

``failures`` (the business manager's daily summary of undelivered email) has ``count``,
``failures`` (mappings with ``ref``, ``review_ref``, ``kind``, ``recipient`` and ``error``),
``unreachable`` (mappings with ``role`` and ``items``, a list of "review_ref ref": the roles
nobody was reachable for, the business manager's fallback included), ``recipient_name``,
``board_name``, ``sender_name``, ``reply_to`` and ``link``.

``auto_answer`` (the one short answer to a reply that could not be used; it names no item)
has ``written_to`` (the reply address written to), ``why`` (in fixed words: never the
case's text), ``advice`` (what to do), ``board_name``, ``sender_name`` and ``reply_to``.
``sign_in`` (a sign-in link someone asked for on ``/sign-in``) has ``link`` (used once, within
``minutes``), ``minutes``, ``recipient_name``, ``board_name``, ``sender_name`` and ``reply_to``.

``digest`` (one email listing a recipient's items of one kind) has ``kind`` (``reminder``,
``chase`` or ``escalation``), ``urgent`` (any item is), ``items``, ``recipient_name``,
``board_name``, ``reply_to``, ``sender_name`` and ``sender_role``: ``items`` is a list of
mappings with exactly the keys ``ref``, ``summary``, ``review_ref``, ``agency_name``, ``due``,
``days_overdue``, ``overdue_since``, ``urgent`` and ``link``.

Subjects are cut to at most :data:`MAX_SUBJECT` characters at a word, ending with an ellipsis.

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

This module is the front door: the registry, rendering and :func:`validate`. The variables
and the context checks live in ``notifications.variables``, the sandbox and the checks of a
template's tree in ``notifications.sandbox``, the sample contexts in ``notifications.samples``.
"""

from __future__ import annotations

import hashlib
import logging
import traceback
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import jinja2
from jinja2 import meta, nodes
from jinja2.exceptions import SecurityError, TemplateSyntaxError, UndefinedError

from engine.errors import TemplateError, TemplatePart
from engine.wording import Preview
from notifications.samples import SAMPLE_CONTEXT
from notifications.sandbox import (
    FILTERS,
    HTML,
    MAX_LOOP_DEPTH,
    MAX_SIZE,
    MAX_SOURCE,
    TEXT,
    RenderLimit,
    Sandbox,
    check_nodes,
    check_source,
    instrument,
    render,
)
from notifications.variables import (
    ALLOWED_VARIABLES,
    DIGEST_ITEM_KEYS,
    HEADER_VARIABLES,
    KINDS,
    LINE_BREAK,
    check_context,
    kind_of,
    suggest,
    undefined_message,
)

__all__ = [
    "ALLOWED_VARIABLES",
    "DIGEST_ITEM_KEYS",
    "FILTERS",
    "HEADER_VARIABLES",
    "KINDS",
    "MAX_LOOP_DEPTH",
    "MAX_SIZE",
    "SAMPLE_CONTEXT",
    "SUBJECT_PREFIX",
    "TEMPLATE_DIR",
    "Part",
    "Rendered",
    "TemplateError",
    "Templates",
    "WordingBook",
    "available",
    "kind_of",
    "template_version",
    "validate",
]

log = logging.getLogger("signoff.templates")
TEMPLATE_DIR = Path(__file__).parent / "templates"
SUBJECT_PREFIX = "Subject:"
MAX_SUBJECT = 78  # longest subject sent, ellipsis included

Part = TemplatePart


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
                _read_source(directory / f"{name}.txt.j2", name, "text"),
                _read_source(directory / f"{name}.html.j2", name, "html"),
            )
            for name in sorted(available(directory))
        }
        sources.update(overrides or {})
        self._compiled = {name: _compile(name, *parts) for name, parts in sources.items()}
        self._sources = sources

    def source(self, name: str) -> tuple[str, str]:
        """The (text, HTML) sources ``name`` was built from (the shipped wording, if shipped)."""
        self._get(name)
        return self._sources[name]

    def overridden(self, overrides: Mapping[str, tuple[str, str, str]]) -> Templates:
        """These templates with ``overrides`` (name: text, HTML, version name) in place.

        Used for the board's saved wording (``engine.wording``): each override is validated
        again, and one that no longer passes is skipped (the template here is kept) and
        logged, so a rule tightened after a save stops the override, never the email.
        """
        copy = object.__new__(Templates)
        copy._compiled = dict(self._compiled)
        copy._sources = dict(self._sources)
        for name, (text, html, version) in sorted(overrides.items()):
            if name not in self._compiled:
                log.warning("email wording %s: no such template; skipped", name)
                continue
            try:
                copy._compiled[name] = _compile(name, text, html, version)
            except TemplateError as e:
                log.warning("email wording %s (%s) skipped: %s", name, version, e)
                continue
            copy._sources[name] = (text, html)
        return copy

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
                f"no template {name!r}{suggest(name, self._compiled)}; "
                f"templates: {sorted(self._compiled)}",
            ) from None


class WordingBook:
    """The shipped templates for the email editor (``engine.wording.Book``)."""

    def __init__(self, templates: Templates | None = None) -> None:
        self._templates = templates or Templates()

    @property
    def names(self) -> frozenset[str]:
        return self._templates.names

    def shipped(self, name: str) -> tuple[str, str]:
        return self._templates.source(name)

    def check(self, name: str, text_source: str, html_source: str) -> None:
        validate(name, text_source, html_source)

    def preview(self, name: str, text_source: str, html_source: str) -> Preview:
        """Raise :class:`TemplateError` as :func:`validate` does, else the sample email."""
        rendered = _compile(name, text_source, html_source).render(SAMPLE_CONTEXT[kind_of(name)])
        return Preview(rendered.subject, rendered.text, rendered.html)


def _read_source(path: Path, name: str, part: Literal["text", "html"]) -> str:
    """A template file's text, reading no more than the longest source allowed (in UTF-8)."""
    with path.open("rb") as f:
        data = f.read(MAX_SOURCE * 4 + 1)
    if len(data) > MAX_SOURCE * 4:
        raise TemplateError(name, part, f"longer than {MAX_SOURCE:,} characters")
    return data.decode("utf-8")


# -- compiling and checking ------------------------------------------------------------------


@dataclass(frozen=True)
class _Source:
    """One piece of one part: the subject line, the text body or the HTML."""

    part: Literal["text", "html"]
    env: Sandbox
    source: str


@dataclass(frozen=True)
class _Piece:
    part: Literal["text", "html"]
    template: jinja2.Template
    variables: frozenset[str]


def shorten_subject(subject: str, limit: int = MAX_SUBJECT) -> str:
    """``subject`` cut to at most ``limit`` characters at a word boundary.

    A cut subject ends with an ellipsis after the last whole word that fits (and any
    punctuation left dangling before the cut dropped); a single word longer than the limit
    is the one case cut inside a word.
    """
    if len(subject) <= limit:
        return subject
    head = subject[:limit]  # room for the ellipsis: the cut drops at least the space
    cut = head.rfind(" ")
    if cut <= 0:
        return subject[: limit - 1] + "…"
    return head[:cut].rstrip(" ,;:-–—") + "…"


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
        if LINE_BREAK.search(subject_line):
            raise TemplateError(
                self.name, "text", f"the subject contains a line break: {subject_line!r}", 1
            )
        subject = shorten_subject(subject_line.removeprefix(SUBJECT_PREFIX).strip())
        if not subject:
            raise TemplateError(self.name, "text", "the subject is empty", 1)
        text = _run(self.name, self.body, values).lstrip("\r\n")
        html = _run(self.name, self.html, values)
        return Rendered(subject=subject, text=text, html=html, template_version=self.version)

    def _checked(self, context: Mapping[str, object]) -> dict[str, object]:
        used = self.subject.variables | self.body.variables | self.html.variables
        return check_context(self.name, self.kind, used, self.subject.variables, context)


def _compile(
    name: str, text_source: str, html_source: str, version: str | None = None
) -> _Compiled:
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
        _Source("text", TEXT, first),
        _Source("text", TEXT, newline + rest),
        _Source("html", HTML, html_source),
    )
    subject, body, html = (_piece(name, kind, s) for s in sources)
    compiled = _Compiled(
        name, kind, subject, body, html, version or template_version(text_source, html_source)
    )
    try:
        compiled.render(SAMPLE_CONTEXT[kind])
    except TemplateError as e:
        raise TemplateError(name, e.part, f"{e.problem} (with the sample context)", e.line) from e
    return compiled


def _piece(name: str, kind: str, s: _Source) -> _Piece:
    check_source(name, s.part, s.env, s.source)
    try:
        ast = s.env.parse(s.source)
    except TemplateSyntaxError as e:
        raise TemplateError(name, s.part, f"syntax error: {e.message}", e.lineno) from None
    check_nodes(name, s.part, ast)
    variables = frozenset(meta.find_undeclared_variables(ast))
    allowed = ALLOWED_VARIABLES[kind]
    unknown = sorted(variables - allowed, key=lambda v: (_first_line(ast, v), v))
    if unknown:
        var = unknown[0]
        raise TemplateError(
            name,
            s.part,
            f"unknown variable {var!r}{suggest(var, allowed)}; allowed: {sorted(allowed)}",
            _first_line(ast, var),
        )
    try:
        template = s.env.from_string(instrument(ast))
    except TemplateSyntaxError as e:
        raise TemplateError(name, s.part, f"syntax error: {e.message}", e.lineno) from None
    return _Piece(s.part, template, variables)


def _first_line(ast: nodes.Template, var: str) -> int:
    lines = [n.lineno for n in ast.find_all(nodes.Name) if n.name == var and n.ctx == "load"]
    return min(lines, default=1)


def _run(name: str, piece: _Piece, values: Mapping[str, object]) -> str:
    try:
        return render(piece.template, values)
    except RenderLimit as e:
        raise TemplateError(name, piece.part, f"stopped: {e}", e.line or _template_line(e)) from e
    except UndefinedError as e:
        raise TemplateError(name, piece.part, undefined_message(name, e), _template_line(e)) from e
    except SecurityError as e:
        raise TemplateError(
            name, piece.part, f"not allowed in the sandbox: {e}", _template_line(e)
        ) from e
    except (jinja2.TemplateError, TypeError, ValueError, ArithmeticError, LookupError) as e:
        raise TemplateError(
            name, piece.part, f"cannot render: {type(e).__name__}: {e}", _template_line(e)
        ) from e


def _template_line(e: BaseException) -> int | None:
    frames = [f for f in traceback.extract_tb(e.__traceback__) if f.filename == "<template>"]
    return frames[-1].lineno if frames else None
