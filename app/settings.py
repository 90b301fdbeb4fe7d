"""Settings from ``SIGNOFF_*`` environment variables, checked once at start-up.

Build one ``Settings`` in ``main()`` and pass down what each part needs: the engine
gets a ``Calendar``, ``UploadLimits`` and a key, each adapter its own small settings
(``mail()``, ``web()``); there is no module-level instance. A bad value stops start-up
with the variable's name.
"""

from __future__ import annotations

import datetime as dt
import functools
import os
import secrets
from email.utils import parseaddr
from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from app.environment import PREFIX, check_database_url
from engine.calendar import Calendar
from engine.errors import SettingsError
from engine.evidence import make_private_dir
from engine.uploads import UploadLimits
from notifications.settings import MailSettings, SmtpTls
from web.settings import WebSettings
from web.urls import Links


def shipped_workflows() -> Path:
    """The folder of the workflows that ship with signoff (package data)."""
    import workflows

    return workflows.DIR


_PLACEHOLDERS = ("changethis", "changeme", "secret", "password", "example", "signoff")
_LOCAL_DOMAINS = ("localhost", "localdomain", "local", "invalid", "example", "test")


def weak_secret(secret: str) -> str | None:
    """Why ``secret`` is trivially weak (one repeated character, a short repeated pattern,
    few distinct characters, a placeholder word), or None."""
    lowered = secret.lower()
    if len(set(secret)) == 1:
        return "is one repeated character"
    for period in range(1, len(secret) // 4 + 1):
        if secret == (secret[:period] * len(secret))[: len(secret)]:
            return f"repeats the same {period} characters"
    if len(set(secret)) < 10:
        return f"uses only {len(set(secret))} different characters"
    for word in _PLACEHOLDERS:
        if word in lowered:
            return f"contains the placeholder word {word!r}"
    return None


def local_domain(domain: str) -> bool:
    """Whether mail for ``domain`` cannot reach anyone outside this machine."""
    domain = domain.strip().strip(".").lower()
    last = domain.rsplit(".", 1)[-1]
    return not domain or "." not in domain or last in _LOCAL_DOMAINS or domain.startswith("[")


class Environment(StrEnum):
    DEVELOPMENT = "development"
    PRODUCTION = "production"


class Settings(BaseSettings):
    """Every setting signoff reads. Documented in README.md, "Settings"."""

    model_config = SettingsConfigDict(env_prefix=PREFIX, extra="ignore", frozen=True)

    database_url: str = Field(
        "sqlite:///signoff.db",
        description="SQLAlchemy URL: sqlite:///FILE (default, in the working directory) "
        "or postgresql://USER@HOST/DB",
    )
    data_dir: Path = Field(Path("signoff-data"), description="where evidence files are kept")
    environment: Environment = Environment.DEVELOPMENT
    workflows_dir: Path | None = Field(
        None, description="the workflow files `signoff init` publishes (default: the shipped ones)"
    )
    timezone: str = Field("Europe/London", description="IANA zone for deadlines and office hours")
    holiday_region: str = Field("GB-ENG", description="bank holidays: GB-ENG, GB-SCT, GB-NIR, IE")
    office_start: dt.time = Field(dt.time(9, 0), description="non-urgent mail is sent from")
    office_end: dt.time = Field(dt.time(17, 30), description="... until this local time")

    smtp_host: str = Field("127.0.0.1", description="outgoing mail server")
    smtp_port: int = Field(1025, ge=1, le=65535, description="1025: the local catcher of make run")
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_tls: SmtpTls = SmtpTls.NONE
    smtp_timeout: float = Field(30.0, gt=0)
    mail_from: str = Field("signoff <signoff@localhost>", description="From: of every email")
    base_url: str = Field("http://localhost:8000", description="links in emails start with this")

    secret_key: SecretStr | None = Field(
        None,
        description="signs reply addresses and forms (at least 32 characters); in development "
        "a random key is kept in DATA_DIR/secret.key when this is unset",
    )
    http_host: str = Field("127.0.0.1", description="the web app listens on this address")
    http_port: int = Field(8000, ge=1, le=65535, description="... and this port")
    inbound_smtp_host: str = Field("127.0.0.1", description="the reply listener's address")
    inbound_smtp_port: int = Field(2525, ge=1, le=65535, description="the reply listener's port")
    reply_domain: str = Field(
        "localhost", description="replies go to reply+<request>.<tag>@REPLY_DOMAIN"
    )
    inbound_max_message_mb: int = Field(
        35, ge=1, le=500, description="larger messages are refused (SMTP SIZE, 552)"
    )
    inbound_messages_per_minute: int = Field(
        30, ge=1, le=100_000, description="messages one client address may send (then 450)"
    )
    inbound_refusals_per_minute: int = Field(
        10, ge=1, le=100_000, description="unknown recipients before a client is cut off (421)"
    )
    inbound_authserv_id: str | None = Field(
        None,
        description="the authserv-id our receiving mail server writes in Authentication-Results: "
        "replies are then believed only when it says dmarc=pass (unset: no such field trusted)",
    )
    request_expiry_days: int = Field(28, ge=1, le=365, description="how long a link works")
    max_upload_mb: int = Field(25, ge=1, le=500, description="largest file accepted")
    max_upload_files: int = Field(10, ge=1, le=100, description="most files in one answer")

    @field_validator("mail_from")
    @classmethod
    def _mail_from(cls, value: str) -> str:
        if "\r" in value or "\n" in value or "@" not in value:
            raise ValueError("must be one address, e.g. 'Board <board@example.org>', on one line")
        return value

    @field_validator("secret_key")
    @classmethod
    def _secret_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < 32:
            raise ValueError("must be at least 32 characters (e.g. from `openssl rand -hex 32`)")
        return value

    @field_validator("inbound_authserv_id")
    @classmethod
    def _authserv_id(cls, value: str | None) -> str | None:
        value = (value or "").strip()
        if not value:
            return None
        if any(c.isspace() or c in ';()"\\' for c in value) or not value.isprintable():
            raise ValueError(
                "must be the one word your mail server writes first in its "
                "Authentication-Results field, e.g. mx.board.example.org"
            )
        return value

    @field_validator("reply_domain")
    @classmethod
    def _reply_domain(cls, value: str) -> str:
        value = value.strip().lower()
        if not value or any(c in value for c in "@ \r\n<>") or value.startswith("."):
            raise ValueError("must be a bare mail domain, e.g. replies.board.example.org")
        return value

    @field_validator("base_url")
    @classmethod
    def _base_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @field_validator("database_url")
    @classmethod
    def _url(cls, value: str) -> str:
        return check_database_url(value)

    @model_validator(mode="after")
    def _enforce_production_safety(self) -> Settings:
        """In production, refuse the development defaults and anything that would leak the
        board's mail or make its links and reply addresses forgeable or unreachable."""
        if self.environment is not Environment.PRODUCTION:
            return self
        problems: list[str] = []
        if self.secret_key is not None:
            why = weak_secret(self.secret_key.get_secret_value())
            if why is not None:
                problems.append(
                    f"{PREFIX}SECRET_KEY {why}; production needs a random key, "
                    "e.g. from `openssl rand -hex 32`"
                )
        if not self.base_url.startswith("https://"):
            problems.append(
                f"{PREFIX}BASE_URL is {self.base_url!r}; production links must use https://, "
                "e.g. https://signoff.board.example.org"
            )
        if local_domain(self.reply_domain):
            problems.append(
                f"{PREFIX}REPLY_DOMAIN is {self.reply_domain!r}, which no outside mail reaches; "
                "set the domain whose MX delivers to signoff, e.g. replies.board.example.org"
            )
        sender = parseaddr(self.mail_from)[1]
        if local_domain(sender.rpartition("@")[2]):
            problems.append(
                f"{PREFIX}MAIL_FROM is {self.mail_from!r}, a local address; set the board's "
                "own address, e.g. 'Board <board@board.example.org>'"
            )
        if problems:
            raise ValueError("production refuses these settings:\n" + "\n".join(problems))
        return self

    def upload_limits(self) -> UploadLimits:
        """What one answer may carry (SIGNOFF_MAX_UPLOAD_MB, SIGNOFF_MAX_UPLOAD_FILES)."""
        return UploadLimits(
            max_file_bytes=self.max_upload_mb * 1024 * 1024, max_files=self.max_upload_files
        )

    def calendar(self) -> Calendar:
        """The business calendar these settings describe (checked at start-up)."""
        return Calendar(
            timezone=self.timezone,
            holiday_region=self.holiday_region,
            office_start=self.office_start,
            office_end=self.office_end,
        )

    def workflows(self) -> Path:
        """The folder ``signoff init`` publishes: SIGNOFF_WORKFLOWS_DIR, or the shipped one."""
        return self.workflows_dir if self.workflows_dir is not None else shipped_workflows()

    def key(self) -> bytes:
        """The board's secret: ``SIGNOFF_SECRET_KEY``, or in development a kept random key.

        Raises:
            SettingsError: in production without ``SIGNOFF_SECRET_KEY``.
        """
        if self.secret_key is not None:
            return self.secret_key.get_secret_value().encode()
        if self.environment is Environment.PRODUCTION:
            raise SettingsError(
                "SIGNOFF_SECRET_KEY is not set; production needs one "
                "(at least 32 characters, e.g. from `openssl rand -hex 32`)"
            )
        path = Path(self.data_dir) / "secret.key"
        if not path.exists():
            make_private_dir(path.parent)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as out:
                out.write(secrets.token_hex(32))
        return path.read_text().strip().encode()

    def mail(self) -> MailSettings:
        """The mail adapter's settings; the key is read once there is mail to sign."""
        password = self.smtp_password.get_secret_value() if self.smtp_password else None
        return MailSettings(
            smtp_host=self.smtp_host,
            smtp_port=self.smtp_port,
            smtp_username=self.smtp_username,
            smtp_password=password,
            smtp_tls=self.smtp_tls,
            smtp_timeout=self.smtp_timeout,
            mail_from=self.mail_from,
            links=Links(self.base_url),
            reply_domain=self.reply_domain,
            reply_key=functools.cache(self.key),
        )

    def web(self) -> WebSettings:
        """The web adapter's settings.

        Raises:
            SettingsError: in production without ``SIGNOFF_SECRET_KEY``.
        """
        return WebSettings(
            secret_key=self.key(),
            base_url=self.base_url,
            http_host=self.http_host,
            http_port=self.http_port,
            max_upload_mb=self.max_upload_mb,
            max_upload_files=self.max_upload_files,
        )


def load_settings(**overrides: Any) -> Settings:
    """Read the environment (plus ``overrides``, for tests).

    Raises:
        SettingsError: naming each bad variable and what it should be.
    """
    try:
        settings = Settings(**overrides)
        settings.calendar()
        return settings
    except ValueError as exc:
        if not isinstance(exc, ValidationError):  # the calendar refused zone, region or hours
            raise SettingsError(
                "bad settings (SIGNOFF_TIMEZONE, SIGNOFF_HOLIDAY_REGION, SIGNOFF_OFFICE_START, "
                f"SIGNOFF_OFFICE_END):\n  {exc}"
            ) from None
        lines = [
            f"{PREFIX}{str(err['loc'][0]).upper()}: {err['msg']}"
            if err["loc"]
            else str(err["ctx"]["error"])
            if "ctx" in err
            else err["msg"]
            for err in exc.errors()
        ]
        raise SettingsError("bad settings:\n  " + "\n  ".join(lines)) from None
