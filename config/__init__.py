"""Example action plans and contacts, and the JSON Schemas of both shapes, as package data.

``EXAMPLES`` holds the files ``make run`` imports; the schemas are ``DIR / "*.schema.json"``.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["DIR", "EXAMPLES"]

DIR = Path(__file__).resolve().parent
EXAMPLES = DIR / "examples"
