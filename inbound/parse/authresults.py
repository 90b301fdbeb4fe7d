"""Whether the receiving mail server found a message's ``From:`` authentic (DMARC).

Rules (RFC 8601, RFC 7489): only an ``Authentication-Results`` field whose authserv-id is
the one configured for our own receiving server counts (anyone can write such a field into
the message they send; a server adds its own on top, so the topmost one with our id is
ours). Its ``dmarc`` result is the verdict; when it names ``header.from``, that must be the
domain of the sender we read. No field of ours, or one that cannot be read, is no verdict
of a pass. Fields are parsed with ``authres`` (the reference parser, as dkimpy uses).
"""

from __future__ import annotations

from collections.abc import Sequence
from email.message import Message

import authres
import authres.dmarc  # noqa: F401  # registers the dmarc method's properties

from inbound.parse.mime import raw_headers, unsurrogate

_MAX_FIELDS = 50  # more Authentication-Results fields than any real path adds
_MAX_FIELD = 4096


def results_fields(msg: Message) -> tuple[str, ...]:
    """The raw ``Authentication-Results`` values, topmost first (bounded in number and size)."""
    found = raw_headers(msg, "authentication-results")[:_MAX_FIELDS]
    return tuple(" ".join(unsurrogate(v).split())[:_MAX_FIELD] for v in found)


def dmarc_result(fields: Sequence[str], authserv_id: str, from_domain: str | None) -> str:
    """The DMARC result our server (``authserv_id``) gave, as a word for a record.

    ``pass`` only when the topmost field with our authserv-id has ``dmarc=pass`` for the
    ``From:`` domain; otherwise what it said (``fail``, ``none``, ...), ``absent`` (no field
    of ours, or no dmarc result in it), ``unreadable`` or ``misaligned``.
    """
    for value in fields:
        first = value.split(";", 1)[0].split()
        if not first or first[0].lower() != authserv_id.lower():
            continue
        try:
            parsed = authres.AuthenticationResultsHeader.parse_value(value)
        except Exception:  # noqa: BLE001  # authres raises its own SyntaxError and others
            return "unreadable"
        for result in parsed.results:
            if str(result.method).lower() != "dmarc":
                continue
            verdict = str(result.result).lower()
            named = [
                str(p.value).lower()
                for p in result.properties
                if str(p.type).lower() == "header" and str(p.name).lower() == "from"
            ]
            if verdict == "pass" and named and (from_domain or "").lower() not in named:
                return "misaligned"
            return verdict
        return "absent"
    return "absent"
