"""Layer 1: safe YAML reading that remembers where each value came from.

The one YAML reader: the workflow loader and ``engine.importer`` (action plans and
contacts files) both use it.

YAML 1.1 booleans are off: only ``true``/``false`` are booleans, so a state
called ``on`` or ``no`` stays a string. Duplicate keys are an error instead of
the last one silently winning. Every value can be traced back to its line.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import yaml

PathPart = str | int


class _Loader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 booleans and no implicit timestamps."""


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


def load(text: str) -> Document:
    """Parse ``text`` safely.

    Raises:
        YamlProblem: malformed YAML, a tag we do not construct, or a duplicate key.
    """
    try:
        loader = _Loader(text)
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
