"""The web app's URLs, built in one place: for its own pages and for the emails it is linked
from (``notifications.links.Links``, handed to the mail adapter by ``app.settings``).

Each path pattern here is the one its route is declared with, so a link can only name a page
that exists; a test checks every pattern against the app's route table.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Mapping

HOME = "/"
ITEMS = "/items"
ITEM = "/items/{review}/{ref}"  # ref: ``R1`` (every agency's item) or ``R1@agency`` (one)
SIGN_IN = "/sign-in"
SIGN_IN_LINK = "/sign-in/{token}"
REPLY_LINK = "/r/{token}"
OUTBOX = "/outbox"  # the business manager's emails, failed ones first (web.outbox)
OUTBOX_RETRY = OUTBOX + "/{row_id}/retry"
FORECAST = OUTBOX + "/forecast"  # the emails the coming days will send (engine.forecast)
PANEL = "/panel"  # decisions waiting for the signed-in person (web.panel)
AUDIT = "/audit"  # confirmations waiting for them
DECIDE = ITEM + "/decide/{trigger}"  # one trigger on one item, on a page of its own (web.panel)
REPORTS = "/reports"  # board reports: a form, the report on the page (web.report_pages)
REPORT_FILE = REPORTS + "/file/{fmt}"  # the same report as a file (xlsx, csv, json, pdf, html)
IMPORT = "/admin/import"  # an action plan uploaded, checked row by row, imported (web.imports)
IMPORT_CHECK = IMPORT + "/{upload_id}"
IMPORT_CONFIRM = IMPORT_CHECK + "/confirm"
ANCHORS = "/admin/anchors"  # the dates relative due dates count from (web.anchors)
ANCHOR_DATE = ANCHORS + "/{anchor_id}"


def _q(part: str) -> str:
    return urllib.parse.quote(part, safe="@")


def item_path(review: str, ref: str, agency: str | None = None) -> str:
    """``/items/REVIEW/REF`` or, for one agency's item, ``/items/REVIEW/REF@AGENCY``."""
    return ITEM.format(review=_q(review), ref=_q(f"{ref}@{agency}" if agency else ref))


def key_path(key: str) -> str:
    """The item page of a report's item key (``REVIEW/REF`` or ``REVIEW/REF@AGENCY``)."""
    review, _, ref = key.partition("/")
    return ITEM.format(review=_q(review), ref=_q(ref))


def decide_path(review: str, ref: str, agency: str | None, trigger: str, back: str = "") -> str:
    """The decision page of ``trigger`` on one item; ``back``: the page to return to (a queue,
    or the item's page), checked by the decision page."""
    path = DECIDE.format(
        review=_q(review), ref=_q(f"{ref}@{agency}" if agency else ref),
        trigger=urllib.parse.quote(trigger, safe=""),
    )  # fmt: skip
    return path + (f"?{urllib.parse.urlencode({'back': back}, safe='/@')}" if back else "")


def items_path(filters: Mapping[str, object] | None = None) -> str:
    """``/items`` with the given filters as query parameters (empty ones left out)."""
    query = {k: str(v) for k, v in (filters or {}).items() if v not in (None, "", False)}
    return ITEMS + (f"?{urllib.parse.urlencode(query)}" if query else "")


class Links:
    """Absolute URLs for emails (``notifications.links.Links``)."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")

    def item(self, review: str, ref: str, agency: str) -> str:
        return self.base_url + item_path(review, ref, agency)

    def outbox(self) -> str:
        return self.base_url + OUTBOX

    def sign_in(self, token: str) -> str:
        return self.base_url + SIGN_IN_LINK.format(token=token)

    def reply(self, token: str) -> str:
        return self.base_url + REPLY_LINK.format(token=token)
