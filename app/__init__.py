"""The composition layer: the command line, ``signoff serve`` and each adapter's settings.

Names load on first use (PEP 562), so ``import app`` costs nothing the command does not use.
"""

from __future__ import annotations

import importlib as _importlib
import typing as _typing

if _typing.TYPE_CHECKING:
    from app.cli import main
    from app.settings import Settings, load_settings

__all__ = ["Settings", "load_settings", "main"]

_HOME = {"Settings": "app.settings", "load_settings": "app.settings", "main": "app.cli"}


def __getattr__(name: str) -> _typing.Any:
    if name not in _HOME:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(_importlib.import_module(_HOME[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
