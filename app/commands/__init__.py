"""The command line's commands, one module per concern: items, mail, setup."""

from __future__ import annotations

__all__: list[str] = []
