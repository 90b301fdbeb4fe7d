"""Start-up checks and the package's exports."""

from __future__ import annotations

from pathlib import Path

import pytest

import web
from engine.errors import AssetsMissing
from engine.services import Services
from tests.test_exported_members import assert_all_is_honest
from tests.web.conftest import Clock
from web import create_app
from web.settings import WebSettings


def test_app_refuses_to_start_without_assets(
    demo: Services, settings: WebSettings, clock: Clock, tmp_path: Path
) -> None:
    with pytest.raises(AssetsMissing, match=r"reinstall signoff, or run `npm ci --prefix web`"):
        create_app(demo, settings, clock=clock, assets_dir=tmp_path / "missing")


def test_all_is_honest() -> None:
    assert_all_is_honest(web)
