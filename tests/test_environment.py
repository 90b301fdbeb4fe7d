"""app.environment: the database URL read without pydantic-settings agrees with Settings,
and leaves every case it cannot decide alone to Settings."""

from __future__ import annotations

import os

import pytest

from app.environment import check_database_url, plain_database_url
from app.settings import Settings, load_settings
from engine.errors import SettingsError

URL = "sqlite:////tmp/signoff.db"


def test_a_plain_environment_gives_the_url_settings_read(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [n for n in os.environ if n.upper().startswith("SIGNOFF_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("SIGNOFF_DATABASE_URL", URL)
    monkeypatch.setenv("SIGNOFF_DATA_DIR", "/tmp/data")
    assert plain_database_url() == URL == load_settings().database_url


def test_no_url_gives_the_settings_default() -> None:
    assert plain_database_url({"PATH": "/bin"}) == Settings.model_fields["database_url"].default


def test_names_are_read_in_any_case_as_settings_read_them() -> None:
    assert plain_database_url({"signoff_database_url": URL}) == URL


@pytest.mark.parametrize(
    "environ",
    [
        {"SIGNOFF_DATABASE_URL": URL, "SIGNOFF_SMTP_PORT": "nope"},
        {"SIGNOFF_DATABASE_URL": URL, "SIGNOFF_HOLIDAY_REGION": "GB-ENG"},
        {"SIGNOFF_DATABASE_URL": URL, "SIGNOFF_SOMETHING": "x"},
        {"SIGNOFF_DATABASE_URL": URL, "signoff_database_url": "sqlite:///other.db"},
        {"SIGNOFF_DATABASE_URL": "mysql://x"},
    ],
    ids=["bad_other_setting", "other_setting", "unknown_setting", "twice", "bad_url"],
)
def test_anything_else_is_left_to_settings(environ: dict[str, str]) -> None:
    assert plain_database_url(environ) is None


def test_settings_refuse_a_bad_url_with_the_same_rule() -> None:
    with pytest.raises(ValueError, match="must start with sqlite:///") as refused:
        check_database_url("mysql://x")
    with pytest.raises(SettingsError) as named:
        load_settings(database_url="mysql://x")
    assert str(refused.value) in str(named.value)
