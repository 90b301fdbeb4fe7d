"""Email: templates, the outbox dispatcher and inbound replies."""

from __future__ import annotations

import importlib as _importlib
import typing as _typing

if _typing.TYPE_CHECKING:
    from notifications.settings import MailSettings, SmtpTls
    from notifications.templates import Rendered, Templates, available

__all__ = [
    "MailSettings",
    "Rendered",
    "SmtpTls",
    "Templates",
    "available",
]

# each public name and the module it lives in; loaded on first use (PEP 562), so importing
# one submodule never drags in the rest of the package
_HOME = {
    "MailSettings": "notifications.settings",
    "Rendered": "notifications.templates",
    "SmtpTls": "notifications.settings",
    "Templates": "notifications.templates",
    "available": "notifications.templates",
}


def __getattr__(name: str) -> _typing.Any:
    if name not in _HOME:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(_importlib.import_module(_HOME[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
