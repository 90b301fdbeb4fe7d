"""What the mail adapter needs to know: the SMTP server, the sender and the links' base.

Built by the composition layer (``app.settings.Settings.mail()``) from ``SIGNOFF_*``
variables, already checked; nothing here reads the environment.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum

from notifications.links import Links


class SmtpTls(StrEnum):
    NONE = "none"
    STARTTLS = "starttls"
    SSL = "ssl"


@dataclass(frozen=True, kw_only=True)
class MailSettings:
    """Outgoing mail: where it goes, who it is from, and what its links and reply addresses are.

    ``reply_key`` returns the board's secret, read once a dispatch has something to send:
    it signs every message's Message-ID and bounce address, and the reply address of every
    email that invites a reply.
    """

    smtp_host: str = "127.0.0.1"
    smtp_port: int = 1025
    smtp_username: str | None = None
    smtp_password: str | None = field(default=None, repr=False)
    smtp_tls: SmtpTls = SmtpTls.NONE
    smtp_timeout: float = 30.0
    mail_from: str = "signoff <signoff@localhost>"
    links: Links  # the web layer's URL builder (web.urls.Links), every email link from it
    reply_domain: str = "localhost"
    reply_key: Callable[[], bytes] = field(repr=False, compare=False)
