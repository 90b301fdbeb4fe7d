"""Replies by email: the inbound SMTP listener and what becomes of each message."""

from __future__ import annotations

import typing as _typing

import lazy_loader as _lazy

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
# each module and the public names it holds, loaded on first use (PEP 562, by lazy_loader),
# so importing one submodule never drags in the rest of the package
_SUBMOD_ATTRS = {
    "listener": ["start"],
    "parse": ["Parsed", "parse_message"],
    "receive": ["Mailbox", "Received"],
}
__getattr__, __dir__, _ = _lazy.attach(__name__, submod_attrs=_SUBMOD_ATTRS)
