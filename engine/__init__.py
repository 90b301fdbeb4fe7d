"""signoff's core: workflow specs, the store, firing transitions and the history."""

from __future__ import annotations

import typing as _typing

import lazy_loader as _lazy

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
# each module and the public names it holds, loaded on first use (PEP 562, by lazy_loader),
# so importing one submodule never drags in the rest of the package
_SUBMOD_ATTRS = {
    "errors": ["SignoffError"],
    "evidence": ["EvidenceInput"],
    "fire": ["FireRequest", "Fired"],
    "hashchain": ["verify"],
    "services": ["Services"],
    "spec": ["WorkflowSpec", "load_spec", "load_spec_file"],
}
__getattr__, __dir__, _ = _lazy.attach(__name__, submod_attrs=_SUBMOD_ATTRS)
