"""The inbound SMTP listener: agencies' replies arrive here (``signoff serve``).

It accepts mail for any address at the reply domain (a wrong tag is quarantined, not
refused, so the admin can see it) and refuses every other domain, so it is never an
open relay. Messages over the size limit are refused by the SMTP server itself.
Each message is handed to ``inbound.receive`` in a worker thread; the listener reads
the clock here, at the edge, and passes it in.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable
from typing import Any

from aiosmtpd.controller import Controller

from engine.services import Services
from inbound.receive import Mailbox, receive


class ReplyHandler:
    def __init__(
        self, services: Services, mailbox: Mailbox, clock: Callable[[], dt.datetime]
    ) -> None:
        self.services, self.mailbox, self.clock = services, mailbox, clock

    async def handle_RCPT(  # noqa: N802 (aiosmtpd's hook name)
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        if address.rpartition("@")[2].lower() != self.mailbox.domain:
            return "550 5.7.1 this server only takes replies to signoff requests"
        envelope.rcpt_tos.append(address)
        return "250 OK"

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
