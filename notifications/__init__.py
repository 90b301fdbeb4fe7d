"""Email: templates, the outbox dispatcher and inbound replies."""

from __future__ import annotations

from notifications.templates import Rendered, TemplateError, Templates, available

__all__ = ["Rendered", "TemplateError", "Templates", "available"]
