"""A local mail catcher for development: `signoff serve --mail-catcher`.

Accepts every message on a loopback port, writes it to ``FOLDER/NNNN.eml`` and logs who
it was for, its kind and its file, so a newcomer sees what signoff sends. The subject is
never logged: it names the review and recommendation, and logs travel further than mail.
The folder is owner-only (0700) and each message owner-only (0600): caught mail is the
board's mail.
"""

from __future__ import annotations

import logging
import os
from email import message_from_bytes
from email.policy import default
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

from engine.evidence import PRIVATE_FILE, make_private_dir

log = logging.getLogger("signoff.mail")


class _Keep:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.count = len(list(folder.glob("*.eml")))

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        while True:
            self.count += 1
            path = self.folder / f"{self.count:05d}.eml"
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
            except FileExistsError:  # never overwrite a message already caught
                continue
            break
        with os.fdopen(fd, "wb") as out:
            out.write(envelope.original_content)
        message = message_from_bytes(envelope.original_content, policy=default)
        kind = message.get("X-Signoff-Kind", "unknown")
        log.info("caught %s email to %s (%s)", kind, ", ".join(envelope.rcpt_tos), path)
        return "250 OK"


def start(folder: Path, port: int, host: str = "127.0.0.1") -> Controller:
    """Start the catcher in a background thread; call ``.stop()`` on the result."""
    make_private_dir(folder)
    controller = Controller(_Keep(folder), hostname=host, port=port)
    controller.start()
    return controller
