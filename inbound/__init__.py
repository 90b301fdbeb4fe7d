"""Replies by email: the inbound SMTP listener and what becomes of each message."""

from __future__ import annotations

import importlib as _importlib
import typing as _typing

if _typing.TYPE_CHECKING:
    from inbound.listener import start
    from inbound.parse import Parsed, parse_message
    from inbound.receive import Mailbox, Received

__all__ = [
    "Mailbox",
    "Parsed",
    "Received",
    "parse_message",
    "start",
]

# `receive` is not here: a package attribute cannot be both the submodule inbound.receive and
# its function, so use `from inbound.receive import receive`.
# each public name and the module it lives in; loaded on first use (PEP 562), so importing
# one submodule never drags in the rest of the package
_HOME = {
    "Mailbox": "inbound.receive",
    "Parsed": "inbound.parse",
    "Received": "inbound.receive",
    "parse_message": "inbound.parse",
    "start": "inbound.listener",
}


def __getattr__(name: str) -> _typing.Any:
    if name not in _HOME:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(_importlib.import_module(_HOME[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
