"""signoff's core: workflow specs, the store, firing transitions and the history."""

from __future__ import annotations

from engine.errors import SignoffError
from engine.evidence import EvidenceInput
from engine.fire import Fired, FireRequest, fire
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
    "fire",
    "load_spec",
    "load_spec_file",
    "verify",
]
