"""Example action plans and contacts, and the JSON Schemas of both shapes, as package data.

``EXAMPLES`` holds the files ``make run`` imports; the schemas are ``DIR / "*.schema.json"``.
"""

from __future__ import annotations

from pathlib import Path as _Path

__all__ = ["DIR", "EXAMPLES"]

DIR = _Path(__file__).resolve().parent
EXAMPLES = DIR / "examples"
