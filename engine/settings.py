"""Settings from ``SIGNOFF_*`` environment variables, checked once at start-up.

Build one ``Settings`` in ``main()`` (or ``create_app()``) and pass it down; there is
no module-level instance. A bad value stops start-up with the variable's name.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from engine.errors import SettingsError

_PREFIX = "SIGNOFF_"


class Environment(StrEnum):
    DEVELOPMENT = "development"
    PRODUCTION = "production"


class Settings(BaseSettings):
    """Every setting signoff reads. Documented in README.md, "Settings"."""

    model_config = SettingsConfigDict(env_prefix=_PREFIX, extra="ignore", frozen=True)

    database_url: str = Field(
        "sqlite:///signoff.db",
        description="SQLAlchemy URL: sqlite:///FILE (default, in the working directory) "
        "or postgresql://USER@HOST/DB",
    )
    data_dir: Path = Field(Path("signoff-data"), description="where evidence files are kept")
    environment: Environment = Environment.DEVELOPMENT
    workflows_dir: Path = Field(Path("workflows"), description="shipped workflow definitions")

    @field_validator("database_url")
    @classmethod
    def _url(cls, value: str) -> str:
        if not value.startswith(("sqlite://", "postgresql://", "postgresql+psycopg://")):
            raise ValueError(
                "must start with sqlite:/// (a file) or postgresql:// "
                f"(e.g. postgresql://signoff@127.0.0.1:5432/signoff); got {value.split(':')[0]!r}"
            )
        return value


def load_settings(**overrides: Any) -> Settings:
    """Read the environment (plus ``overrides``, for tests).

    Raises:
        SettingsError: naming each bad variable and what it should be.
    """
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        lines = [f"{_PREFIX}{str(err['loc'][0]).upper()}: {err['msg']}" for err in exc.errors()]
        raise SettingsError("bad settings:\n  " + "\n  ".join(lines)) from None
