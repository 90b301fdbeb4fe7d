"""The reply addresses that let an agency answer by email.

Link tokens and public ids are made in ``engine.requests.tokens``. A reply address is
``reply+<public_id>.<tag>@<reply domain>``, where the tag is an HMAC of the request's
public id under the board's secret key: a forged or altered address does not verify.
Tags are lower-case base32 because mail systems may change the case of local parts.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

_TAG_BYTES = 16  # 128 bits of HMAC in the address
_LOCAL_PREFIX = "reply+"


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
