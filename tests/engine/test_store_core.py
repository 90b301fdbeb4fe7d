"""engine.store.core, the Core twin of the SQLModel tables, never drifts from them."""

from __future__ import annotations

from pathlib import Path

from sqlmodel import SQLModel

from engine.store import core
from engine.store.tables import core_source


def test_core_tables_are_generated_from_the_models() -> None:
    """Regenerate with the command in ``engine.store.tables.core_source``'s docstring."""
    assert Path(core.__file__).read_text() == core_source()


def test_core_tables_have_the_models_columns() -> None:
    models = SQLModel.metadata.tables
    assert list(core.metadata.tables) == list(models)
    for name, table in core.metadata.tables.items():
        assert [(c.name, c.primary_key, c.nullable) for c in table.columns] == [
            (c.name, c.primary_key, c.nullable) for c in models[name].columns
        ]
