"""One received email, read: who sent it, what they newly wrote, what they attached.

``parse_message(raw)`` is a pure function from the bytes of one message (as the SMTP
listener received them) to a ``Parsed``. It never touches the network, the database or
the clock, and it never trusts the message: every field is what the message *claims*,
cleaned only so that it cannot break the caller (no CR/LF in the subject, lower-cased
addresses, bounded sizes). ::

    parse_message(raw: bytes, *, max_bytes: int = 50 MiB, max_depth: int = 20) -> Parsed
    Parsed(message_id, sender, sender_display, subject, text, attachments, auto_reply,
           bounce, in_reply_to, auth_results, list_mail)
    dmarc_result(auth_results, authserv_id, from_domain) -> str   "pass", "fail", "absent"...
    Attachment(filename, content_type, data)
    Bounce(failed_recipients, status, permanent, original_message_id)
    Unreadable(SignoffError, ValueError)      not a message at all; ``reason`` says why
    new_text(text: str) -> str                the quote/signature stripping on its own
    html_to_text(html: str) -> str            the HTML conversion on its own

One module a concept, each stating its rules in its docstring:

    mime          the raw bytes parsed under limits (Unreadable), header fields read back
    addresses     the sender: From:, or Sender: when From: is ambiguous
    message_ids   Message-ID, In-Reply-To and References
    body          which parts are the body, their text decoded, format=flowed unwrapped
    html          HTML to text, quoted history dropped or marked
    quotes        the new text: quoted history, attributions and signature stripped
    attachments   the files and messages that are not the body
    autoreply     out-of-office and other machine replies, and mailing-list mail
    authresults   our receiving server's DMARC verdict (Authentication-Results)
    bounces       delivery status notifications, standard or written for people
    message       parse_message and Parsed, composing the above
"""

from __future__ import annotations

from engine.errors import Unreadable
from inbound.parse.attachments import Attachment
from inbound.parse.authresults import dmarc_result
from inbound.parse.bounces import Bounce
from inbound.parse.html import html_to_text
from inbound.parse.message import Parsed, parse_message
from inbound.parse.mime import DEFAULT_MAX_BYTES, DEFAULT_MAX_DEPTH
from inbound.parse.quotes import new_text

__all__ = [
    "DEFAULT_MAX_BYTES",
    "DEFAULT_MAX_DEPTH",
    "Attachment",
    "Bounce",
    "Parsed",
    "Unreadable",
    "dmarc_result",
    "html_to_text",
    "new_text",
    "parse_message",
]
