"""Notification templates shipped in ``notifications/templates/`` (HTML and text per kind)."""

from __future__ import annotations

from pathlib import Path

TEMPLATE_DIR = Path(__file__).parent / "templates"


def available(directory: Path = TEMPLATE_DIR) -> frozenset[str]:
    """Names of templates that have both a text and an HTML part."""
    text = {p.name.removesuffix(".txt.j2") for p in directory.glob("*.txt.j2")}
    html = {p.name.removesuffix(".html.j2") for p in directory.glob("*.html.j2")}
    return frozenset(text & html)
