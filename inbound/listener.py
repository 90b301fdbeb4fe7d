"""The inbound SMTP listener: agencies' replies arrive here (``signoff serve``).

It refuses, as a mail server does, every recipient signoff does not take mail at:
``RCPT TO`` an address at another domain (never an open relay), or at the reply domain
that ``engine.inbox.local_address`` does not know (a made-up local part, a forged or
altered tag, a request or email that does not exist), gets ``550``, so nothing of such
a message is received or kept. Messages over the size limit are refused by the SMTP
server itself (``SIZE`` in EHLO, ``552``). Each client address may start
``messages_per_minute`` messages (then ``450`` at ``MAIL FROM``) and have
``refusals_per_minute`` recipients refused (then ``421`` and the connection is closed),
counted in memory over a moving window, per process.

Each message is handed to ``inbound.receive`` in a worker thread; the listener reads
the clock here, at the edge, and passes it in. A fault of signoff's own (the database
unreachable) is logged and answered ``451``, so the sending server tries again later
rather than bouncing the reply, and the sender learns nothing of the fault.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable
from typing import Any

from aiosmtpd.controller import Controller
from limits import RateLimitItemPerMinute
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from engine.inbox import local_address
from engine.services import Services
from inbound.receive import Mailbox, receive

log = logging.getLogger("signoff.inbound")


class _Throttle:
    """Per-client counts of messages started and recipients refused (moving window)."""

    def __init__(self, mailbox: Mailbox) -> None:
        self._limiter = MovingWindowRateLimiter(MemoryStorage())
        self._messages = RateLimitItemPerMinute(mailbox.messages_per_minute)
        self._refusals = RateLimitItemPerMinute(mailbox.refusals_per_minute)

    def message(self, client: str) -> bool:
        """Count one message started by ``client``; False when over its limit."""
        return self._limiter.hit(self._messages, "message", client)

    def refusals_left(self, client: str) -> bool:
        return self._limiter.test(self._refusals, "refused", client)

    def refused(self, client: str) -> None:
        self._limiter.hit(self._refusals, "refused", client)


def _client(session: Any) -> str:
    peer = getattr(session, "peer", None)
    return str(peer[0]) if isinstance(peer, tuple) and peer else str(peer)


class ReplyHandler:
    def __init__(
        self, services: Services, mailbox: Mailbox, clock: Callable[[], dt.datetime]
    ) -> None:
        self.services, self.mailbox, self.clock = services, mailbox, clock
        self.throttle = _Throttle(mailbox)

    async def handle_MAIL(  # noqa: N802 (aiosmtpd's hook name)
        self, server: Any, session: Any, envelope: Any, address: str, mail_options: list[str]
    ) -> str:
        client = _client(session)
        if not self.throttle.message(client):
            return (
                f"450 4.7.1 too many messages from {client}: at most "
                f"{self.mailbox.messages_per_minute} a minute; try again later"
            )
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(  # noqa: N802 (aiosmtpd's hook name)
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        client = _client(session)
        if not self.throttle.refusals_left(client):
            # close once the reply below is written (the hook returns it; push writes it)
            asyncio.get_running_loop().call_soon(server.transport.close)
            return (
                f"421 4.7.0 too many refused recipients from {client}: at most "
                f"{self.mailbox.refusals_per_minute} a minute; closing the connection"
            )
        if len(envelope.rcpt_tos) >= self.mailbox.max_recipients:
            return f"452 4.5.3 at most {self.mailbox.max_recipients} recipients a message"
        refusal = await self._refusal(address)
        if refusal is not None:
            self.throttle.refused(client)
            return refusal
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 OK"

    async def _refusal(self, address: str) -> str | None:
        """Why ``address`` is refused at RCPT TO, as an SMTP reply; None to take it."""
        if address.rpartition("@")[2].lower() != self.mailbox.domain:
            return "550 5.7.1 this server only takes replies to signoff requests"
        found = await asyncio.to_thread(
            local_address,
            self.services,
            address,
            key=self.mailbox.key,
            domain=self.mailbox.domain,
            inbound=self.mailbox.addresses,
        )
        if found is None:
            return (
                "550 5.1.1 no such address here: replies go to the reply address "
                "of the email signoff sent (its Reply-To)"
            )
        return None

    async def handle_exception(self, error: Exception) -> str:
        log.error("inbound SMTP: %s", type(error).__name__, exc_info=error)
        return "451 4.3.0 a local problem; try again later"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        raw = envelope.original_content or b""
        result = await asyncio.to_thread(
            receive,
            self.services,
            self.mailbox,
            raw,
            rcpt_tos=list(envelope.rcpt_tos),
            envelope_from=envelope.mail_from,
            now=self.clock(),
        )
        # the sender learns only that it arrived; what became of it is for the admin
        return "250 2.0.0 received" + (" (already received)" if result.duplicate else "")


def start(
    services: Services,
    mailbox: Mailbox,
    host: str,
    port: int,
    clock: Callable[[], dt.datetime],
) -> Controller:
    """Start the listener in a background thread; call ``.stop()`` on the result."""
    controller = Controller(
        ReplyHandler(services, mailbox, clock),
        hostname=host,
        port=port,
        data_size_limit=mailbox.max_message_bytes,
    )
    controller.start()
    return controller
