"""Each package's __all__ names exactly the public things it defines or re-exports."""

from __future__ import annotations

import importlib

import pytest


@pytest.mark.parametrize("package", ["engine", "notifications", "web", "inbound"])
def test_all_is_honest(package: str) -> None:
    module = importlib.import_module(package)
    exported = set(module.__all__)
    public = {n for n in vars(module) if not n.startswith("_") and n != "annotations"}
    submodules = {n for n in public if type(getattr(module, n)).__name__ == "module"}
    assert exported == public - submodules
