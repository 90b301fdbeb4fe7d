"""One received message read: ``parse_message`` and the ``Parsed`` record it returns.

This module only composes: each field is the work of one sibling module (``mime``,
``addresses``, ``message_ids``, ``body``, ``quotes``, ``attachments``, ``autoreply``,
``bounces``), whose docstring states its rules.
"""

from __future__ import annotations

from dataclasses import dataclass

from inbound.parse.addresses import read_sender
from inbound.parse.attachments import Attachment, attachments
from inbound.parse.authresults import results_fields
from inbound.parse.autoreply import is_auto_reply, is_list_mail
from inbound.parse.body import body
from inbound.parse.bounces import Bounce, bounce
from inbound.parse.message_ids import first_id, reply_ids
from inbound.parse.mime import DEFAULT_MAX_BYTES, DEFAULT_MAX_DEPTH, clean_line, header, parse_mime
from inbound.parse.quotes import new_text


@dataclass(frozen=True, kw_only=True)
class Parsed:
    message_id: str | None  # with angle brackets, no whitespace
    sender: str | None  # lower-cased address from From: (None when ambiguous or absent)
    sender_display: str | None
    subject: str  # decoded, no CR/LF or other control characters
    text: str  # only what the person newly wrote: quotes, history and signature removed
    attachments: tuple[Attachment, ...]
    auto_reply: bool  # out-of-office or other auto-responder (never a bounce)
    bounce: Bounce | None  # a delivery status notification
    in_reply_to: tuple[str, ...]  # In-Reply-To then References message ids
    auth_results: tuple[str, ...] = ()  # Authentication-Results values, topmost first
    list_mail: bool = False  # sent through a mailing list (List-Id and the like)


def parse_message(
    raw: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES, max_depth: int = DEFAULT_MAX_DEPTH
) -> Parsed:
    """Read one received message.

    Raises:
        Unreadable: empty, over ``max_bytes``, no header fields, or nested too deeply.
    """
    msg = parse_mime(raw, max_bytes=max_bytes, max_depth=max_depth)
    subject = clean_line(header(msg, "subject") or "")
    sender, display = read_sender(msg)
    body_parts, body_text = body(msg)
    bounced = bounce(msg, sender, subject, body_text)
    return Parsed(
        message_id=first_id(header(msg, "message-id")),
        sender=sender,
        sender_display=display,
        subject=subject,
        text=new_text(body_text),
        attachments=tuple(attachments(msg, body_parts)),
        auto_reply=bounced is None and is_auto_reply(msg, subject),
        bounce=bounced,
        in_reply_to=reply_ids(msg),
        auth_results=results_fields(msg),
        list_mail=is_list_mail(msg),
    )
