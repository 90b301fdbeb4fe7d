"""The variables each kind of template may use, and checking a context against them.

No variable carries free text from a plan, a statement or a note: a review is named by
the name an administrator marked safe for email (``review_name``), a recommendation by its
ref and its email summary (``summary``); titles, recommendation text, agreed actions,
statements, notes and reasons have no variable, so no template can put them in an email.

The kinds and their variables are described in ``notifications.templates``'s docstring;
:data:`ALLOWED_VARIABLES` is the list a template and a context are checked against. Values
the dispatcher puts into headers (:data:`HEADER_VARIABLES`) and values used in a subject must
be a single line. Messages suggest the closest allowed name (:func:`suggest`).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping

from jinja2.exceptions import UndefinedError

from engine.errors import TemplateError

KINDS = (
    "request",
    "reminder",
    "chase",
    "escalation",
    "digest",
    "decision",
    "failures",
    "receipt",
    "sign_in",
)

_COMMON = frozenset(
    {
        "recipient_name",
        "agency_name",
        "board_name",
        "review_ref",
        "review_name",
        "ref",
        "summary",
        "due",
        "days_overdue",
        "overdue_since",
        "urgent",
        "state_label",
        "owed",
        "owed_by",
        "expected",
        "link",
        "reply_to",
        "sender_name",
        "sender_role",
    }
)
DIGEST_ITEM_KEYS = frozenset(
    {
        "ref",
        "summary",
        "review_ref",
        "agency_name",
        "due",
        "days_overdue",
        "overdue_since",
        "urgent",
        "link",
    }
)
ALLOWED_VARIABLES: dict[str, frozenset[str]] = {
    "request": _COMMON,
    "reminder": _COMMON,
    "chase": _COMMON,
    "escalation": _COMMON | {"step", "escalated_to_role", "late_agency_name"},
    "digest": frozenset(
        {
            "kind",
            "items",
            "urgent",
            "recipient_name",
            "board_name",
            "reply_to",
            "sender_name",
            "sender_role",
        }
    ),
    "decision": _COMMON | {"decision_label"},
    "receipt": _COMMON | {"received"},
    "failures": frozenset(
        {
            "count",
            "failures",
            "unreachable",
            "recipient_name",
            "board_name",
            "sender_name",
            "reply_to",
            "link",
        }
    ),
    "sign_in": frozenset(
        {"link", "minutes", "recipient_name", "board_name", "sender_name", "reply_to"}
    ),
}
# The dispatcher puts these into headers (To, From, Reply-To): one line each, always.
HEADER_VARIABLES = frozenset({"recipient_name", "sender_name", "reply_to"})

LINE_BREAK = re.compile("[\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")
_UNDEFINED_NAME = re.compile(r"^'([^']+)' is undefined$")
_NO_ATTRIBUTE = re.compile(r"has no attribute '([^']+)'$")


def kind_of(name: str) -> str:
    """The kind a template name belongs to: ``reminder`` for ``reminder`` or ``reminder_panel``."""
    for kind in KINDS:
        if name == kind or name.startswith(kind + "_"):
            return kind
    raise TemplateError(
        name,
        "name",
        f"unknown kind {name!r}{suggest(name, KINDS)}; a template is named after its kind, "
        f"or KIND_VARIANT; kinds: {list(KINDS)}",
    )


def check_context(
    name: str,
    kind: str,
    used: frozenset[str],
    in_subject: frozenset[str],
    context: Mapping[str, object],
) -> dict[str, object]:
    """The values to render template ``name`` (of ``kind``) with: a copy of ``context``.

    ``used`` are the variables the template uses, ``in_subject`` those its subject uses.

    Raises:
        TemplateError: ``context`` gives a variable the kind does not have, leaves out one the
            template uses, puts a line break into the subject or a header, or (a digest) its
            ``items`` are not mappings with the item keys.
    """
    allowed = ALLOWED_VARIABLES[kind]
    for key in sorted(context):
        if key not in allowed:
            raise TemplateError(
                name,
                "context",
                f"{key!r} is not a variable of {kind!r} templates"
                f"{suggest(key, allowed)}; allowed: {sorted(allowed)}",
            )
    missing = sorted(used - set(context))
    if missing:
        raise TemplateError(
            name,
            "context",
            f"undefined variable {missing[0]!r}: the template uses {missing} "
            "and the context does not give them",
        )
    for key in sorted((in_subject | HEADER_VARIABLES) & set(context)):
        if _has_line_break(context[key]):
            raise TemplateError(
                name,
                "context",
                f"{key!r} contains a line break ({context[key]!r}); values used in the "
                "subject or in headers must be a single line",
            )
    if kind == "digest" and "items" in context:
        _check_items(name, context["items"])
    return dict(context)


def undefined_message(name: str, e: UndefinedError) -> str:
    """What to say when rendering template ``name`` met an undefined variable or key."""
    message = str(e)
    if match := _UNDEFINED_NAME.match(message):
        return f"undefined variable {match.group(1)!r}"
    if match := _NO_ATTRIBUTE.search(message):
        key = match.group(1)
        if kind_of(name) != "digest":
            return f"undefined variable: {message}"
        if key in DIGEST_ITEM_KEYS:
            return f"undefined variable: {message}: an item in 'items' has no {key!r}"
        hint = f"{suggest(key, DIGEST_ITEM_KEYS)}; item keys: {sorted(DIGEST_ITEM_KEYS)}"
        return f"undefined variable: {message}{hint}"
    return f"undefined variable: {message}"


def _has_line_break(value: object) -> bool:
    if isinstance(value, str):
        return bool(LINE_BREAK.search(value))
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
                f"items[{i}] has key {key!r}{suggest(str(key), DIGEST_ITEM_KEYS)}; "
                f"item keys: {sorted(DIGEST_ITEM_KEYS)}",
            )


def suggest(value: str, allowed: Iterable[str]) -> str:
    """'; did you mean 'x'?' for a close match (ignoring case), or ''."""
    by_lower = {a.lower(): a for a in allowed}
    close = difflib.get_close_matches(value.lower(), list(by_lower), n=1, cutoff=0.6)
    return f"; did you mean {by_lower[close[0]]!r}?" if close else ""
