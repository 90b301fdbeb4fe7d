"""The addresses mail comes back to: reply addresses and bounce (VERP) addresses.

Link tokens and public ids are made in ``engine.requests.tokens``. A reply address is
``reply+<public_id>.<tag>@<reply domain>``, where the tag is an HMAC of the request's
public id under the board's secret key: a forged or altered address does not verify.

Every outgoing email has an envelope sender of its own (VERP):
``bounces+<outbox id>.<tag>@<reply domain>``, the tag an HMAC of the outbox row's id.
Bounces go to the envelope sender, so a bounce that comes back to a verifying address
answers that one message (and its recipient); nobody without the key can make one up,
though outbox ids are sequential. Each kind of address has its own HMAC label, so a
reply tag is never a bounce tag. Tags are lower-case base32 because mail systems may
change the case of local parts, and are compared in constant time.

Whether an address is one signoff takes mail at *now* (the request or the message
still exists) is ``engine.inbox.local_address``, the one place that decides it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

_TAG_BYTES = 16  # 128 bits of HMAC in the address
_LOCAL_PREFIX = "reply+"
_BOUNCE_PREFIX = "bounces+"
_MAX_OUTBOX_ID = 10**18  # a local part is at most 64 characters; ids never come near


def reply_tag(key: bytes, public_id: str) -> str:
    mac = hmac.new(key, b"reply:" + public_id.encode(), hashlib.sha256).digest()
    return _b32(mac[:_TAG_BYTES])


def reply_address(key: bytes, public_id: str, domain: str) -> str:
    return f"{_LOCAL_PREFIX}{public_id}.{reply_tag(key, public_id)}@{domain}"


def parse_reply_address(key: bytes, address: str, domain: str) -> str | None:
    """The public id an address is for, or None when it is not a valid reply address."""
    found = _tagged(address, domain, _LOCAL_PREFIX)
    if found is None:
        return None
    public_id, tag = found
    if not hmac.compare_digest(tag, reply_tag(key, public_id)):
        return None
    return public_id


def bounce_tag(key: bytes, outbox_id: int) -> str:
    mac = hmac.new(key, b"bounce:" + str(outbox_id).encode(), hashlib.sha256).digest()
    return _b32(mac[:_TAG_BYTES])


def bounce_address(key: bytes, outbox_id: int, domain: str) -> str:
    """The envelope sender of the email for outbox row ``outbox_id``."""
    return f"{_BOUNCE_PREFIX}{outbox_id}.{bounce_tag(key, outbox_id)}@{domain}"


def parse_bounce_address(key: bytes, address: str, domain: str) -> int | None:
    """The outbox row a bounce address is for, or None when it is not a valid one."""
    found = _tagged(address, domain, _BOUNCE_PREFIX)
    if found is None:
        return None
    number, tag = found
    if not number.isascii() or not number.isdigit() or number != str(int(number)):
        return None  # one spelling per id: "007" or "٧" is not 7
    outbox_id = int(number)
    if not 0 < outbox_id < _MAX_OUTBOX_ID:
        return None
    if not hmac.compare_digest(tag, bounce_tag(key, outbox_id)):
        return None
    return outbox_id


def _tagged(address: str, domain: str, prefix: str) -> tuple[str, str] | None:
    """``(value, tag)`` of ``<prefix><value>.<tag>@<domain>`` (lower-cased), else None."""
    local, at, host = address.strip().strip("<>").rpartition("@")
    if not at or host.lower() != domain.lower():
        return None
    local = local.lower()
    if not local.startswith(prefix) or not local.isascii():
        return None
    value, dot, tag = local[len(prefix) :].partition(".")
    if not dot or not value or not tag:
        return None
    return value, tag


def _b32(raw: bytes) -> str:
    return base64.b32encode(raw).decode().rstrip("=").lower()
