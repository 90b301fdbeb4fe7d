"""Email: templates, the outbox dispatcher and inbound replies."""

from __future__ import annotations

from notifications.templates import available

__all__ = ["available"]
