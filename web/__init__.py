"""The web app: the agency reply page (no account needed) and staff evidence downloads."""

from __future__ import annotations

import importlib as _importlib
import typing as _typing

if _typing.TYPE_CHECKING:
    from web.app import create_app
    from web.server import build_server, start_in_thread, stop
    from web.settings import WebSettings
    from web.staff import issue_staff_link

__all__ = [
    "WebSettings",
    "build_server",
    "create_app",
    "issue_staff_link",
    "start_in_thread",
    "stop",
]

# each public name and the module it lives in; loaded on first use (PEP 562), so importing
# one submodule never drags in the rest of the package
_HOME = {
    "WebSettings": "web.settings",
    "build_server": "web.server",
    "create_app": "web.app",
    "issue_staff_link": "web.staff",
    "start_in_thread": "web.server",
    "stop": "web.server",
}


def __getattr__(name: str) -> _typing.Any:
    if name not in _HOME:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(_importlib.import_module(_HOME[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
