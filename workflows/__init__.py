"""The workflow definitions that ship with signoff, as package data.

``signoff init`` publishes every ``*.yaml`` file in :data:`DIR` unless
``SIGNOFF_WORKFLOWS_DIR`` names another folder; ``workflow.schema.json`` is their
JSON Schema, for editors.
"""

from __future__ import annotations

from pathlib import Path as _Path

__all__ = ["DIR"]

DIR = _Path(__file__).resolve().parent
