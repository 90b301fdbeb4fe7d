"""Email: templates, the outbox dispatcher and inbound replies."""

from __future__ import annotations

from notifications.templates import Rendered, Templates, available

__all__ = ["Rendered", "Templates", "available"]
