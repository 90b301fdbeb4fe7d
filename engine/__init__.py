"""signoff's core: workflow specs, the store, firing transitions and the history."""

from __future__ import annotations

import importlib as _importlib
import typing as _typing

if _typing.TYPE_CHECKING:
    from engine.errors import SignoffError
    from engine.evidence import EvidenceInput
    from engine.fire import Fired, FireRequest
    from engine.hashchain import verify
    from engine.services import Services
    from engine.spec import WorkflowSpec, load_spec, load_spec_file

__all__ = [
    "EvidenceInput",
    "FireRequest",
    "Fired",
    "Services",
    "SignoffError",
    "WorkflowSpec",
    "load_spec",
    "load_spec_file",
    "verify",
]

# `fire` is not here: a package attribute cannot be both the submodule engine.fire and
# its function, so use `from engine.fire import fire`.
# each public name and the module it lives in; loaded on first use (PEP 562), so importing
# one submodule never drags in the rest of the package
_HOME = {
    "EvidenceInput": "engine.evidence",
    "FireRequest": "engine.fire",
    "Fired": "engine.fire",
    "Services": "engine.services",
    "SignoffError": "engine.errors",
    "WorkflowSpec": "engine.spec",
    "load_spec": "engine.spec",
    "load_spec_file": "engine.spec",
    "verify": "engine.hashchain",
}


def __getattr__(name: str) -> _typing.Any:
    if name not in _HOME:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(_importlib.import_module(_HOME[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
