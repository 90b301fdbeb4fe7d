"""Evidence requests: asking one agency contact for evidence, and taking the answer.

One module a concept: ``issue`` (issuing and reissuing; ``engine.fire`` calls
``issue_in`` when a state has ``request_on_entry``), ``tokens`` (public ids, link tokens,
finding a request by its link), ``view`` (what the reply page shows), ``answer``
(answering: fires the state's answering transition, or adds a follow-up to evidence
just sent), ``records`` (the request table, which also holds the reply address of every
other email that invites a reply), ``replies`` (those addresses, and who may answer through
one) and ``mail`` (the request and receipt emails).

``answer`` builds on ``engine.fire``, which builds on ``issue``; re-exporting it here
would close that loop (``engine.fire`` -> ``engine.requests`` -> ``answer`` ->
``engine.fire``), so it is imported as ``engine.requests.answer``.
"""

from __future__ import annotations

from engine.requests.issue import DEFAULT_EXPIRY, Issued, issue, issue_in, reissue
from engine.requests.records import is_live
from engine.requests.tokens import mint_token, new_public_id, new_token, token_hash
from engine.requests.view import (
    Challenge,
    RequestView,
    Submission,
    asked,
    received,
    view_by_public_id,
    view_by_token,
)

__all__ = [
    "DEFAULT_EXPIRY",
    "Challenge",
    "Issued",
    "RequestView",
    "Submission",
    "asked",
    "is_live",
    "issue",
    "issue_in",
    "mint_token",
    "new_public_id",
    "new_token",
    "received",
    "reissue",
    "token_hash",
    "view_by_public_id",
    "view_by_token",
]
