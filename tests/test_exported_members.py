"""Each package's __all__ names exactly the public things it defines or re-exports.

The packages load their names lazily (PEP 562 ``__getattr__`` from lazy_loader over a
``_SUBMOD_ATTRS`` map), so
the check resolves every name in ``__all__`` first, then compares the namespace.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import inspect
import subprocess
import sys
from types import ModuleType

import pytest

PACKAGES = ["app", "engine", "notifications", "web", "inbound", "reports", "workflows", "config"]
LAZY = ["app", "engine", "notifications", "web", "inbound"]


def assert_all_is_honest(module: ModuleType) -> None:
    """Every name in ``__all__`` resolves, and nothing public is left out of it."""
    exported = set(module.__all__)
    assert len(exported) == len(module.__all__), "a name is listed twice"
    for name in module.__all__:
        assert getattr(module, name) is not None, name
    public = {n for n in vars(module) if not n.startswith("_") and n != "annotations"}
    submodules = {n for n in public if type(getattr(module, n)).__name__ == "module"}
    assert exported == public - submodules
    assert exported <= set(dir(module))


@pytest.mark.parametrize("package", PACKAGES)
def test_all_is_honest(package: str) -> None:
    assert_all_is_honest(importlib.import_module(package))


@pytest.mark.parametrize("package", LAZY)
def test_lazy_names_match_all_and_the_type_checking_imports(package: str) -> None:
    """The lazy map, ``__all__`` and the imports type checkers read name the same things,
    and each name lives in the module the map says."""
    module = importlib.import_module(package)
    home = {
        name: f"{package}.{submodule}"
        for submodule, names in module._SUBMOD_ATTRS.items()
        for name in names
    }
    assert set(home) == set(module.__all__)
    tree = ast.parse(inspect.getsource(module))
    typed = {
        alias.asname or alias.name: node.module
        for block in tree.body
        if isinstance(block, ast.If)
        for node in block.body
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
    }
    assert typed == home
    for name, where in home.items():
        assert getattr(module, name) is getattr(importlib.import_module(where), name)


@pytest.mark.parametrize("package", LAZY)
def test_no_exported_name_is_also_a_submodule(package: str) -> None:
    """Importing the submodule would replace the lazy name with the module."""
    module = importlib.import_module(package)
    for name in module.__all__:
        assert importlib.util.find_spec(f"{package}.{name}") is None, name


def test_unknown_name_is_an_attribute_error() -> None:
    engine = importlib.import_module("engine")
    with pytest.raises(AttributeError, match="no_such_name"):
        engine.no_such_name  # noqa: B018 - the attribute access is the test


@pytest.mark.parametrize("package", LAZY)
def test_importing_a_package_loads_none_of_its_modules(package: str) -> None:
    code = (
        f"import sys, {package}\n"
        f"print(sorted(m for m in sys.modules if m.startswith('{package}.')))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
