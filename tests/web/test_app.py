"""Start-up checks and the package's exports."""

from __future__ import annotations

from pathlib import Path

import pytest

import web
from engine.errors import AssetsMissing
from engine.services import Services
from engine.settings import Settings
from tests.web.conftest import Clock
from web import create_app


def test_app_refuses_to_start_without_assets(
    demo: Services, settings: Settings, clock: Clock, tmp_path: Path
) -> None:
    with pytest.raises(AssetsMissing, match=r"reinstall signoff, or run `npm ci --prefix web`"):
        create_app(demo, settings, clock=clock, assets_dir=tmp_path / "missing")


def test_all_is_honest() -> None:
    exported = set(web.__all__)
    public = {n for n in vars(web) if not n.startswith("_") and n != "annotations"}
    submodules = {n for n in public if type(getattr(web, n)).__name__ == "module"}
    assert exported == public - submodules
