"""A workflow's YAML text changed as a tree, keeping its comments, order and layout.

ruamel.yaml's round trip reads the text into a tree that remembers comments and key order;
an edit changes the tree; :func:`render` writes it back. ruamel re-wraps long flow lists and
re-indents by its own settings, so rendering the whole tree would also rewrite lines nobody
edited. Instead the untouched tree and the edited one are both dumped with the same settings,
and only the lines that differ between those two dumps are put into the original text, where
the lines around them are exactly the original's. When they are not (a hand-wrapped list in
the edited region), the whole dump is used. Either way the result reads as the same data as
the edited tree; :func:`render` checks that before returning it.

Comment lines that end a removed region (a comment about the key that follows it) are kept.
"""

from __future__ import annotations

import difflib
import io
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap
from ruamel.yaml.error import YAMLError
from ruamel.yaml.representer import RoundTripRepresenter

from engine.spec import reader


class Unreadable(ValueError):
    """The text is not YAML a tree can be built from; the message says why."""


class Tree:
    """The text of a workflow file and the tree read from it, to change and render."""

    def __init__(self, text: str) -> None:
        """Raises:
        Unreadable: the text is not a YAML mapping ruamel can read.
        """
        self.text = text if text.endswith("\n") else text + "\n"
        self._yaml = _yaml(_mapping_indent(text), *_sequence_indent(text))
        try:
            data = self._yaml.load(self.text)
        except YAMLError as exc:
            raise Unreadable(f"the YAML cannot be read: {_first_line(exc)}") from None
        if not isinstance(data, CommentedMap):
            raise Unreadable("the workflow must be a mapping with keys name, label, states, ...")
        self.data: CommentedMap = data
        self._before = self._dump()

    def _dump(self) -> str:
        out = io.StringIO()
        self._yaml.dump(self.data, out)
        return out.getvalue()

    def render(self) -> str:
        """The original text with the tree's changes in it (see the module docstring)."""
        after = self._dump()
        spliced = _splice(self.text, self._before, after)
        if spliced is not None and _same_data(spliced, after):
            return spliced
        return after


def _content(text: str) -> list[str]:
    return [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _mapping_indent(text: str) -> int:
    """How far the text indents a mapping inside a top-level key: the first such key's
    first line of content."""
    lines = _content(text)
    for line, following in zip(lines, lines[1:], strict=False):
        top_key = not line.startswith((" ", "-")) and line.rstrip().endswith(":")
        if top_key and _indent(following) > 0 and not following.lstrip().startswith("-"):
            return _indent(following)
    return 2


def _sequence_indent(text: str) -> tuple[int, int]:
    """How the text indents a block sequence under its key, as ruamel's (sequence, offset):
    where an item's content starts and where its dash is, both from the key's column."""
    lines = _content(text)
    for line, following in zip(lines, lines[1:], strict=False):
        item = following.lstrip(" ")
        if line.rstrip().endswith(":") and item.startswith("- "):
            dash = _indent(following) - _indent(line)
            gap = len(item) - len(item[1:].lstrip(" "))
            if dash >= 0:
                return dash + gap, dash
    return 2, 0


def _yaml(mapping: int, sequence: int, offset: int) -> YAML:
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096  # never re-wrap: a line the file wrapped by hand is left to the splice
    yaml.indent(mapping=mapping, sequence=sequence, offset=offset)
    yaml.Representer = _Representer
    return yaml


class _Representer(RoundTripRepresenter):
    """ruamel's round-trip representer, writing None as ``null`` as the shipped files do
    (ruamel writes ``to:``)."""


def _null(representer: Any, _data: None) -> Any:
    return representer.represent_scalar("tag:yaml.org,2002:null", "null")


_Representer.add_representer(type(None), _null)


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def _is_comment(line: str) -> bool:
    stripped = line.strip()
    return not stripped or stripped.startswith("#")


def _splice(text: str, before: str, after: str) -> str | None:
    """``text`` with the lines that differ between ``before`` and ``after`` replaced, or None
    when a changed region's surroundings in ``text`` are not exactly ``before``'s."""
    original = text.splitlines(keepends=True)
    old = before.splitlines(keepends=True)
    new = after.splitlines(keepends=True)
    # where each line of the untouched dump sits in the original text
    at: dict[int, int] = {}
    aligned = difflib.SequenceMatcher(None, old, original, autojunk=False)
    for block in aligned.get_matching_blocks():
        for k in range(block.size):
            at[block.a + k] = block.b + k
    changes = difflib.SequenceMatcher(None, old, new, autojunk=False).get_opcodes()
    out = list(original)
    for tag, i1, i2, j1, j2 in reversed(changes):
        if tag == "equal":
            continue
        start = at[i1 - 1] + 1 if i1 > 0 and i1 - 1 in at else (0 if i1 == 0 else None)
        end = at[i2] if i2 < len(old) and i2 in at else (len(original) if i2 == len(old) else None)
        if start is None or end is None or original[start:end] != old[i1:i2]:
            return None
        replacement = new[j1:j2]
        trailing = _trailing_comments(old[i1:i2])
        if not set(trailing) <= set(replacement):
            replacement = replacement + trailing
        out[start:end] = replacement
    return "".join(out)


def _trailing_comments(lines: list[str]) -> list[str]:
    """The comment and blank lines that end ``lines`` (after its last line of data)."""
    k = len(lines)
    while k > 0 and _is_comment(lines[k - 1]):
        k -= 1
    return lines[k:]


def _same_data(one: str, other: str) -> bool:
    try:
        return bool(reader.load(one).data == reader.load(other).data)
    except reader.YamlProblem:
        return False
