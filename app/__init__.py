"""The composition layer: the command line, ``signoff serve`` and each adapter's settings.

Names load on first use (PEP 562), so ``import app`` costs nothing the command does not use.
"""

from __future__ import annotations

import typing as _typing

import lazy_loader as _lazy

if _typing.TYPE_CHECKING:
    from app.cli import main
    from app.settings import Settings, load_settings

__all__ = ["Settings", "load_settings", "main"]

_SUBMOD_ATTRS = {
    "cli": ["main"],
    "settings": ["Settings", "load_settings"],
}
__getattr__, __dir__, _ = _lazy.attach(__name__, submod_attrs=_SUBMOD_ATTRS)
