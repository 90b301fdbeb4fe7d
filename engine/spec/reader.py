"""Layer 1: safe YAML reading that remembers where each value came from.

The one YAML reader: the workflow loader and ``engine.importer`` (action plans and
contacts files) both use it, and :func:`read_file` is the one way they read a file.

YAML 1.1 booleans are off: only ``true``/``false`` are booleans, so a state
called ``on`` or ``no`` stays a string. Duplicate keys are an error instead of
the last one silently winning. Every value can be traced back to its line.

These files come from administrators, and a file can reach an administrator by email
from anyone, so reading is bounded before anything is built (:class:`Limits`): the
file's size, how deeply values nest, how many values there are and how long one may
be. Anchors, aliases (``&a``, ``*a``) and merge keys (``<<``) are refused outright:
plain data files never need them, and they are how a small file expands into a huge
one (billion laughs) or hides a duplicate key. Each refusal is a :class:`YamlProblem`
with the line, raised while the text is read, never a ``RecursionError``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

PathPart = str | int


@dataclass(frozen=True)
class Limits:
    """How much one file may hold. The defaults fit the largest real action plans many
    times over (a 45-action review is about 100 KB and 4,000 values)."""

    max_bytes: int = 4 * 1024 * 1024
    max_depth: int = 32  # values inside values; real files nest 6 deep
    max_values: int = 100_000  # scalars, lists and mappings
    max_scalar: int = 100_000  # characters in one value


MIB = 1024 * 1024
_MERGE_TAG = "tag:yaml.org,2002:merge"


def _check_node_event(event: yaml.Event, depth: int, count: int, limits: Limits) -> None:
    """Refuse the event that starts a value, given how many values came before it and how
    many collections hold it.

    Raises:
        YamlProblem: an alias or anchor, too many values, too deep, too long.
    """
    line = event.start_mark.line + 1 if event.start_mark else None
    if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
        raise YamlProblem(
            "anchors and aliases (&name, *name) are not allowed in this file; "
            "write each value out in full",
            line,
        )
    if count > limits.max_values:
        raise YamlProblem(f"more than {limits.max_values:,} values; split the file", line)
    if depth >= limits.max_depth:
        raise YamlProblem(
            f"values nest more than {limits.max_depth} deep; this format never needs that", line
        )
    if isinstance(event, yaml.ScalarEvent) and len(event.value) > limits.max_scalar:
        raise YamlProblem(
            f"a value of {len(event.value):,} characters; at most {limits.max_scalar:,} "
            "are allowed",
            line,
        )


_NODE_EVENTS = (yaml.AliasEvent, yaml.ScalarEvent, yaml.SequenceStartEvent, yaml.MappingStartEvent)


def _prescan(text: str, limits: Limits) -> None:
    """The bounds, checked on libyaml's events (about 20 times faster than building Python
    nodes), so a hostile file is refused quickly; the Python loader checks them again, and
    words any syntax error. Skipped when PyYAML was built without libyaml.

    Raises:
        YamlProblem: as ``_check_node_event``.
    """
    loader = getattr(yaml, "CSafeLoader", None)
    if loader is None:
        return
    depth = count = 0
    try:
        for event in yaml.parse(text, Loader=loader):
            if isinstance(event, _NODE_EVENTS):
                count += 1
                _check_node_event(event, depth, count, limits)
                if isinstance(event, yaml.CollectionStartEvent):
                    depth += 1
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
    except yaml.YAMLError:
        return


class _Loader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 booleans, no implicit timestamps, no anchors, aliases or
    merge keys, and :class:`Limits` on depth, count and length checked as nodes are built."""

    limits = Limits()
    _depth = 0
    _count = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        self._count += 1
        event = self.peek_event()  # type: ignore[no-untyped-call]
        _check_node_event(event, self._depth, self._count, self.limits)
        self._depth += 1
        try:
            node = super().compose_node(parent, index)
        finally:
            self._depth -= 1
        if isinstance(node, yaml.MappingNode):
            for key, _value in node.value:
                if key.tag == _MERGE_TAG:
                    raise YamlProblem(
                        "merge keys (<<) are not allowed in this file; write the keys out",
                        key.start_mark.line + 1,
                    )
        return node


# Dates stay strings here: the models parse them, so a bad date becomes a clear,
# located error instead of an exception from deep inside the YAML constructor.
_Loader.yaml_implicit_resolvers = {
    first: [
        (tag, rx)
        for tag, rx in resolvers
        if tag not in ("tag:yaml.org,2002:bool", "tag:yaml.org,2002:timestamp")
    ]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


class YamlProblem(Exception):
    """The text is not YAML we accept; ``line`` is 1-based or None."""

    def __init__(self, problem: str, line: int | None, path: Sequence[PathPart] = ()) -> None:
        super().__init__(problem)
        self.problem, self.line, self.path = problem, line, tuple(path)


@dataclass(frozen=True)
class Document:
    """Parsed YAML data plus the node tree it came from, for line lookups."""

    data: Any
    _root: yaml.Node | None

    def line_of(self, path: Sequence[PathPart]) -> int | None:
        """1-based line of the value at ``path``, or of its nearest existing parent."""
        node = self._root
        line = node.start_mark.line + 1 if node is not None else None
        for part in path:
            if isinstance(node, yaml.MappingNode):
                for key, value in node.value:
                    if key.value == part:
                        node = value
                        line = key.start_mark.line + 1
                        break
                else:
                    return line
            elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
                if part >= len(node.value):
                    return line
                node = node.value[part]
                line = node.start_mark.line + 1
            else:
                return line
        return line


def _check_duplicates(node: yaml.Node, path: tuple[PathPart, ...]) -> None:
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for key, value in node.value:
            name = str(key.value)
            if name in seen:
                raise YamlProblem(
                    f"key {name!r} appears twice (first on line {seen[name]}); keep one",
                    key.start_mark.line + 1,
                    path + (name,),
                )
            seen[name] = key.start_mark.line + 1
            _check_duplicates(value, path + (name,))
    elif isinstance(node, yaml.SequenceNode):
        for i, child in enumerate(node.value):
            _check_duplicates(child, path + (i,))


def read_file(path: Path, limits: Limits = Limits()) -> str:
    """The text of ``path``, reading no more than ``limits.max_bytes`` (plus one) of it.

    Raises:
        YamlProblem: the file is too large (line None).
        OSError, UnicodeDecodeError: unreadable, or not UTF-8.
    """
    with path.open("rb") as f:
        data = f.read(limits.max_bytes + 1)
    if len(data) > limits.max_bytes:
        raise YamlProblem(_too_large(limits), None)
    return data.decode("utf-8")


def _too_large(limits: Limits) -> str:
    return (
        f"the file is larger than {limits.max_bytes / MIB:g} MiB, the most this format "
        "allows; split it"
    )


def load(text: str, limits: Limits = Limits()) -> Document:
    """Parse ``text`` safely, within ``limits``.

    Raises:
        YamlProblem: too large, too deep, too many values or too long a value; an anchor,
            alias or merge key; malformed YAML, a tag we do not construct, or a duplicate key.
    """
    if len(text) > limits.max_bytes:  # characters: each is at least one byte
        raise YamlProblem(_too_large(limits), None)
    _prescan(text, limits)
    try:
        loader = _Loader(text)
        loader.limits = limits
        try:
            root = loader.get_single_node()
            if root is None:
                return Document(None, None)
            _check_duplicates(root, ())
            data = loader.construct_document(root)
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        what = exc.problem or "malformed YAML"
        if exc.context:  # e.g. "while parsing a flow sequence" (and where it began)
            began = exc.context_mark
            where = f" that began on line {began.line + 1}" if began and began != mark else ""
            what = f"{what} ({exc.context}{where})"
        raise YamlProblem(f"not valid YAML: {what}", line) from exc
    except yaml.YAMLError as exc:
        raise YamlProblem(f"not valid YAML: {exc}", None) from exc
    return Document(data, root)
