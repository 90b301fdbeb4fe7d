"""Email: templates, the outbox dispatcher and inbound replies."""

from __future__ import annotations

import typing as _typing

import lazy_loader as _lazy

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

# each module and the public names it holds, loaded on first use (PEP 562, by lazy_loader),
# so importing one submodule never drags in the rest of the package
_SUBMOD_ATTRS = {
    "settings": ["MailSettings", "SmtpTls"],
    "templates": ["Rendered", "Templates", "available"],
}
__getattr__, __dir__, _ = _lazy.attach(__name__, submod_attrs=_SUBMOD_ATTRS)
