"""The front door's work: text -> every layer in turn -> a ``WorkflowSpec``.

1. ``reader``: safe YAML (YAML 1.2 booleans, no duplicate keys), with lines;
2. ``model``: the pydantic models (``extra="forbid"``: unknown keys are rejected);
   pydantic's errors are translated here into located messages listing what is allowed;
3. ``graph``: names, one initial state, targets, terminals, reachability;
4. ``references``: roles, triggers, rules, templates, ladders and deadlines;

then ``compiled`` indexes the result. Each layer reports ``SpecError`` with the file, the
path inside it, the line, the bad value, what is allowed and a close match. Validation
happens on load and publish, never when a transition fires.
"""

from __future__ import annotations

import re
import types
import typing
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from engine.errors import SpecError
from engine.spec import reader
from engine.spec.compiled import WorkflowSpec, compile_spec
from engine.spec.fields import OutOfBounds
from engine.spec.graph import check_graph, check_names
from engine.spec.model import WorkflowFile
from engine.spec.references import check_references
from engine.spec.report import Reporter, format_path, suggest

# A workflow file is a few KB; these bounds are far above any real one.
LIMITS = reader.Limits(max_bytes=reader.MIB, max_values=20_000, max_scalar=20_000)


def load_spec(
    text: str, file: str = "<workflow>", known_templates: Collection[str] | None = None
) -> WorkflowSpec:
    """Parse and check a workflow. ``known_templates`` None skips the template check.

    Raises:
        SpecError: the first problem, or SpecErrors carrying every problem found.
    """
    try:
        doc = reader.load(text, LIMITS)
    except reader.YamlProblem as exc:
        raise SpecError(file, format_path(exc.path), exc.problem, exc.line) from None
    report = Reporter(file, doc)
    if not isinstance(doc.data, dict):
        report.add(
            (), "a workflow file must be a mapping with keys name, label, roles, states, ..."
        )
        report.raise_if_any()
    try:
        model = WorkflowFile.model_validate(doc.data)
    except ValidationError as exc:
        for err in exc.errors():
            report.add(_clean_loc(err["loc"]), _explain(err))
        report.raise_if_any()
        raise  # unreachable: a ValidationError always carries at least one error
    check_names(model, report)
    check_graph(model, report)
    check_references(model, report, known_templates)
    report.raise_if_any()
    return compile_spec(model, text)


def load_spec_file(path: Path, known_templates: Collection[str] | None = None) -> WorkflowSpec:
    """Read and check the workflow at ``path``.

    Raises:
        SpecError: unreadable file or any problem ``load_spec`` finds.
    """
    try:
        text = reader.read_file(path, LIMITS)
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(str(path), "", f"cannot read the file: {exc}") from None
    except reader.YamlProblem as exc:
        raise SpecError(str(path), "", exc.problem) from None
    return load_spec(text, str(path), known_templates)


def json_schema() -> dict[str, Any]:
    """The JSON Schema of the workflow format, for editors (kept in sync by a test)."""
    schema = WorkflowFile.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "signoff workflow"
    return schema


def _model_at(loc: Sequence[reader.PathPart]) -> type[BaseModel] | None:
    """The model class that holds the key at ``loc`` (for listing allowed keys)."""
    current: Any = WorkflowFile
    for part in loc:
        current = _model_of_union(current)
        if isinstance(current, type) and issubclass(current, BaseModel):
            fields = {f.alias or n: f for n, f in current.model_fields.items()}
            if part not in fields:
                return None
            current = fields[str(part)].annotation
            continue
        origin = typing.get_origin(current)
        args = typing.get_args(current)
        if origin is dict:
            current = args[1]
        elif origin is list:
            current = args[0]
        else:
            return None
    current = _model_of_union(current)
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _model_of_union(annotation: Any) -> Any:
    """``Deadline | None`` -> ``Deadline``; anything that is not a union is returned as is."""
    if typing.get_origin(annotation) not in (typing.Union, types.UnionType):
        return annotation
    args = typing.get_args(annotation)
    models = [a for a in args if isinstance(a, type) and issubclass(a, BaseModel)]
    return models[0] if models else None


def _allowed_keys(model: type[BaseModel]) -> list[str]:
    return [f.alias or n for n, f in model.model_fields.items()]


def _explain(err: Any) -> str:
    kind, value = err["type"], err.get("input")
    loc = err["loc"]
    if kind == "extra_forbidden":
        model = _model_at(loc[:-1])
        allowed = _allowed_keys(model) if model else []
        return f"unknown key {loc[-1]!r}{suggest(str(loc[-1]), allowed)}; allowed keys: {allowed}"
    if kind == "missing":
        return f"required key {loc[-1]!r} is missing"
    if kind in ("enum", "literal_error"):
        expected = err.get("ctx", {}).get("expected", "")
        choices = re.findall(r"'([^']+)'", expected)
        return f"{_shown(value)} is not allowed; allowed: {expected}{suggest(str(value), choices)}"
    if kind == "value_error":
        error = err["ctx"]["error"]
        return f"{_shown(value)} {error}" if isinstance(error, OutOfBounds) else str(error)
    if kind == "too_short":
        least = err.get("ctx", {}).get("min_length", 1)
        return "must not be empty" if least == 1 else f"needs at least {least} entries"
    if kind == "too_long":
        most = err.get("ctx", {}).get("max_length")
        return f"{len(value):,} entries, more than the {most:,} allowed"
    if kind == "string_too_long":
        most = err.get("ctx", {}).get("max_length")
        return f"{len(value):,} characters, more than the {most:,} allowed"
    return f"{err['msg'].lower()} (got {_shown(value)})"


def _shown(value: Any) -> str:
    """A bad value in a message, cut short: a hostile one can be long."""
    text = repr(value)
    return text if len(text) <= 80 else text[:79] + "…"


def _clean_loc(loc: Sequence[Any]) -> tuple[reader.PathPart, ...]:
    # pydantic adds union branch names ('str', 'list[str]') and '[key]' markers to locations
    return tuple(
        p for p in loc if isinstance(p, int) or not re.match(r"^(str|list\[|function-|\[key\]$)", p)
    )
