"""The web app: the agency reply page (no account needed), sign-in and the signed-in pages."""

from __future__ import annotations

import typing as _typing

import lazy_loader as _lazy

if _typing.TYPE_CHECKING:
    from web.app import create_app
    from web.server import build_server, start_in_thread, stop
    from web.settings import WebSettings

__all__ = [
    "WebSettings",
    "build_server",
    "create_app",
    "start_in_thread",
    "stop",
]

# each module and the public names it holds, loaded on first use (PEP 562, by lazy_loader),
# so importing one submodule never drags in the rest of the package
_SUBMOD_ATTRS = {
    "app": ["create_app"],
    "server": ["build_server", "start_in_thread", "stop"],
    "settings": ["WebSettings"],
}
__getattr__, __dir__, _ = _lazy.attach(__name__, submod_attrs=_SUBMOD_ATTRS)
