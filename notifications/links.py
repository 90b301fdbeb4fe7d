"""Where an email's links go: built by the web layer, handed in by the composition layer.

The composer never writes a path itself: ``MailSettings.links`` (``web.urls.Links`` in the
running app) builds every URL from the routes the web app serves, so an email cannot link to
a page that does not exist, and a test follows every link of every email kind.
"""

from __future__ import annotations

from typing import Protocol


class Links(Protocol):
    """Absolute URLs of the pages emails link to."""

    def item(self, review: str, ref: str, agency: str) -> str:
        """One agency's item of a recommendation (its page, for a signed-in reader)."""
        ...

    def outbox(self) -> str:
        """Where the business manager sees undelivered email."""
        ...

    def sign_in(self, token: str) -> str:
        """A sign-in link."""
        ...

    def reply(self, token: str) -> str:
        """An evidence request's reply page link."""
        ...
