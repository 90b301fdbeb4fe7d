"""Hostile files attached to email replies, through the real inbound listener (aiosmtpd).

A representative file of each kind in the hostile corpus is attached to a reply sent to
a valid reply address by a contact who may answer: each reply is quarantined with a
reason naming the file and what is wrong, and nothing is stored (no evidence row, no file
on disk but the raw message, kept by its hash for staff to see in the quarantine). An
ordinary reply with ordinary files of the same kinds is taken as evidence.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
from collections.abc import Iterator
from email.message import EmailMessage
from email.utils import make_msgid

import aiosmtplib
import pytest
import sqlalchemy as sa

from engine import requests as er
from engine.errors import shown_name
from engine.replykeys import reply_address
from engine.services import Services
from engine.store.tables import Evidence, InboundMessage, Item
from engine.uploads import UploadLimits
from inbound import listener
from inbound.receive import Mailbox
from tests.conftest import BM, NOW, make_item
from tests.hostile_files import BENIGN, CORPUS, Hostile
from tests.smtpd import free_port

KEY = b"k" * 32
DOMAIN = "replies.board.example.org"
NURSE = "named.nurse@sept.example.org"
SENT_BY_EMAIL = (
    "polyglot_header", "openaction_js", "hex_escaped_js", "js_in_object_stream",
    "embedded_exe", "png_then_html", "gif_then_exe", "jpeg_then_html",
    "second_content_types", "ole_object_part", "remote_template", "unc_image",
    "dde_cmd", "hyperlink", "inline_program", "zero_width_con", "alternate_stream",
)  # fmt: skip


@pytest.fixture
def port(demo: Services) -> Iterator[int]:
    number = free_port()
    mailbox = Mailbox(
        key=KEY,
        domain=DOMAIN,
        limits=UploadLimits(max_files=len(BENIGN)),
        max_message_bytes=10_000_000,
    )
    controller = listener.start(demo, mailbox, "127.0.0.1", number, clock=lambda: NOW)
    yield number
    controller.stop()


@pytest.fixture
def address(demo: Services) -> tuple[int, str]:
    item = make_item(demo, ref="T1", due=dt.date(2011, 3, 1), agency="sept")
    public_id = er.issue(demo, "southend-iawg-scr-audit-2010/T1", actor=BM, now=NOW).public_id
    return item, reply_address(KEY, public_id, DOMAIN)


def reply(to: str, files: list[tuple[str, bytes]]) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = f"Named Nurse <{NURSE}>"
    msg["To"] = to
    msg["Subject"] = "RE: Evidence needed by 1 March 2011: T1"
    msg["Message-ID"] = make_msgid(domain="sept.example.org")
    msg.set_content("Evidence attached.")
    for name, data in files:
        msg.add_attachment(data, maintype="application", subtype="octet-stream", filename=name)
    return msg


def deliver(port: int, msg: EmailMessage) -> None:
    asyncio.run(
        aiosmtplib.send(
            msg,
            hostname="127.0.0.1",
            port=port,
            recipients=[str(msg["To"])],
            sender="mailer@sept.example.org",
        )
    )


def latest(services: Services) -> InboundMessage:
    with services.db.engine.connect() as conn:
        rows = list(conn.execute(sa.select(InboundMessage).order_by(InboundMessage.id)).all())
    return rows[-1]


def evidence_and_state(services: Services, item: int) -> tuple[int, str]:
    with services.db.engine.connect() as conn:
        count = conn.execute(sa.select(sa.func.count()).select_from(Evidence)).scalar_one()
        state = conn.execute(sa.select(Item.state).where(Item.id == item)).scalar_one()
    return count, state


def stored_files(services: Services) -> set[str]:
    """The SHA-256 of every file kept but the raw messages (kept by hash for the quarantine)."""
    with services.db.engine.connect() as conn:
        raw = set(conn.execute(sa.select(InboundMessage.raw_sha256)).scalars())
    kept = {p.name for p in (services.data_dir / "evidence").glob("*/*") if p.is_file()}
    return kept - raw


def test_hostile_attachments_are_quarantined_and_nothing_stored(
    demo: Services, port: int, address: tuple[int, str]
) -> None:
    item, to = address
    chosen: list[Hostile] = [h for h in CORPUS if h.id in SENT_BY_EMAIL]
    assert len(chosen) == len(SENT_BY_EMAIL)
    wrong: list[str] = []
    for hostile in chosen:
        deliver(port, reply(to, [(hostile.name, hostile.data)]))
        row = latest(demo)
        reason = row.reason or ""
        if row.status != "quarantined" or f"{shown_name(hostile.name)} " not in reason:
            wrong.append(f"{hostile.id}: {row.status}: {reason}")
        elif hostile.says not in reason:
            wrong.append(f"{hostile.id}: the reason does not say {hostile.says!r}: {reason}")
    assert wrong == []
    assert evidence_and_state(demo, item) == (0, "open")
    assert stored_files(demo) == set()


def test_ordinary_attachments_are_taken_as_evidence(
    demo: Services, port: int, address: tuple[int, str]
) -> None:
    item, to = address
    deliver(port, reply(to, list(BENIGN)))
    row = latest(demo)
    assert row.status == "accepted", row.reason
    assert evidence_and_state(demo, item) == (len(BENIGN) + 1, "evidence_submitted")
    assert stored_files(demo) == {hashlib.sha256(data).hexdigest() for _, data in BENIGN}
