"""The board's secret key, and the reply addresses that let an agency answer by email.

Link tokens and public ids are made in ``engine.requests.tokens``. A reply address is
``reply+<public_id>.<tag>@<reply domain>``, where the tag is an HMAC of the request's
public id under the board's secret key: a forged or altered address does not verify.
Tags are lower-case base32 because mail systems may change the case of local parts.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from pathlib import Path

from engine.errors import SettingsError
from engine.settings import Environment, Settings

_TAG_BYTES = 16  # 128 bits of HMAC in the address
_LOCAL_PREFIX = "reply+"


def secret_key(settings: Settings) -> bytes:
    """The board's secret: ``SIGNOFF_SECRET_KEY``, or in development a kept random key.

    Raises:
        SettingsError: in production without ``SIGNOFF_SECRET_KEY``.
    """
    if settings.secret_key is not None:
        return settings.secret_key.get_secret_value().encode()
    if settings.environment is Environment.PRODUCTION:
        raise SettingsError(
            "SIGNOFF_SECRET_KEY is not set; production needs one "
            "(at least 32 characters, e.g. from `openssl rand -hex 32`)"
        )
    path = Path(settings.data_dir) / "secret.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_hex(32))
    return path.read_text().strip().encode()


def reply_tag(key: bytes, public_id: str) -> str:
    mac = hmac.new(key, b"reply:" + public_id.encode(), hashlib.sha256).digest()
    return _b32(mac[:_TAG_BYTES])


def reply_address(key: bytes, public_id: str, domain: str) -> str:
    return f"{_LOCAL_PREFIX}{public_id}.{reply_tag(key, public_id)}@{domain}"


def parse_reply_address(key: bytes, address: str, domain: str) -> str | None:
    """The public id an address is for, or None when it is not a valid reply address."""
    local, at, host = address.strip().strip("<>").rpartition("@")
    if not at or host.lower() != domain.lower():
        return None
    local = local.lower()
    if not local.startswith(_LOCAL_PREFIX):
        return None
    public_id, dot, tag = local[len(_LOCAL_PREFIX) :].partition(".")
    if not dot or not public_id or not tag:
        return None
    if not hmac.compare_digest(tag, reply_tag(key, public_id)):
        return None
    return public_id


def _b32(raw: bytes) -> str:
    return base64.b32encode(raw).decode().rstrip("=").lower()
