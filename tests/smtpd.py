"""A real SMTP server (aiosmtpd) on a free loopback port that records what arrives.

``script`` scripts faults for successive DATA commands: ``None`` accepts, an SMTP reply
such as ``"421 try later"`` or ``"550 no such user"`` refuses, ``"DROP"`` closes the
connection without a reply.
"""

from __future__ import annotations

import asyncio
import email
import socket
from email.message import EmailMessage
from email.policy import default
from typing import Any

from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Recorder:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.envelope_senders: list[str] = []
        self.script: list[str | None] = []
        self.delay = 0.0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.script:
            reply = self.script.pop(0)
            if reply == "DROP":
                server.transport.close()
                return "421 closing"
            if reply:
                return reply
        message = email.message_from_bytes(envelope.original_content, policy=default)
        assert isinstance(message, EmailMessage)
        self.messages.append(message)
        self.envelope_senders.append(envelope.mail_from)
        return "250 OK"


class SmtpServer:
    def __init__(self) -> None:
        self.recorder = Recorder()
        self.port = free_port()
        self.controller = Controller(self.recorder, hostname="127.0.0.1", port=self.port)

    def __enter__(self) -> SmtpServer:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()

    @property
    def messages(self) -> list[EmailMessage]:
        return self.recorder.messages
