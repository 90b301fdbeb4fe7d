"""A local mail catcher for development: `signoff serve --mail-catcher`.

Accepts every message on a loopback port, writes it to ``FOLDER/NNNN.eml`` and logs who
it was for and its subject, so a newcomer sees exactly what signoff sends.
"""

from __future__ import annotations

import logging
from email import message_from_bytes
from email.policy import default
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

log = logging.getLogger("signoff.mail")


class _Keep:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.count = len(list(folder.glob("*.eml")))

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.count += 1
        path = self.folder / f"{self.count:05d}.eml"
        path.write_bytes(envelope.original_content)
        message = message_from_bytes(envelope.original_content, policy=default)
        log.info("mail to %s: %s (%s)", ", ".join(envelope.rcpt_tos), message["Subject"], path)
        return "250 OK"


def start(folder: Path, port: int, host: str = "127.0.0.1") -> Controller:
    """Start the catcher in a background thread; call ``.stop()`` on the result."""
    folder.mkdir(parents=True, exist_ok=True)
    controller = Controller(_Keep(folder), hostname=host, port=port)
    controller.start()
    return controller
