"""What a message attached: the files and messages that are not its body.

Rules: every leaf part that is not the chosen body and has a filename or
``Content-Disposition: attachment`` (inline images with filenames included) or is a
non-text part not marked inline (an unnamed inline image is skipped), plus attached
``message/rfc822`` parts as ``.eml`` bytes (content type ``message/rfc822``). The unchosen
alternative of the body is not an attachment, nor are a report's machine-readable parts
(or the message it returns) or a multipart/signed signature. Filenames and content types
are as claimed: the caller cleans names and checks content.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from email import policy
from email.message import Message

from inbound.parse.mime import HEADER_ERRORS, children, unsurrogate

_EML_POLICY = policy.default.clone(refold_source="none", linesep="\r\n")
_NOT_ATTACHMENTS = frozenset(
    {
        "message/delivery-status",
        "message/global-delivery-status",
        "text/rfc822-headers",
        "message/disposition-notification",
        "application/pkcs7-signature",
        "application/x-pkcs7-signature",
        "application/pgp-signature",
    }
)


@dataclass(frozen=True, kw_only=True)
class Attachment:
    filename: str | None  # as given by the sender: raw, the caller cleans it
    content_type: str  # as claimed, lower case
    data: bytes


# wider than EmailMessage.is_attachment(), which looks only at Content-Disposition
def is_attachment_like(part: Message) -> bool:
    """The part says it is a file: ``Content-Disposition: attachment`` or a filename."""
    return part.get_content_disposition() == "attachment" or _filename(part) is not None


def _filename(part: Message) -> str | None:
    """The part's filename as claimed (raw 8-bit read as UTF-8); None if none or unreadable."""
    try:
        name = part.get_filename()
    except HEADER_ERRORS:
        return None
    return None if name is None else unsurrogate(name)


def attachments(msg: Message, body: list[Message]) -> Iterator[Attachment]:
    """The attachments of ``msg``, in order, given the parts chosen as its ``body``."""
    body_ids = {id(p) for p in body}
    stack: list[Message] = [msg]
    while stack:
        part = stack.pop()
        ctype = part.get_content_type()
        if ctype == "multipart/report":
            # the human-readable first part may hold attachments; the rest is machine data
            stack.extend(children(part)[:1])
            continue
        if ctype == "message/rfc822":
            yield Attachment(filename=_filename(part), content_type=ctype, data=_eml(part))
            continue
        if part.is_multipart():
            stack.extend(reversed(children(part)))
            continue
        if id(part) in body_ids or ctype in _NOT_ATTACHMENTS:
            continue
        if not is_attachment_like(part) and (
            part.get_content_maintype() in ("text", "multipart")
            or part.get_content_disposition() == "inline"
        ):
            continue  # the unchosen alternative of the body, or an unnamed inline image
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        yield Attachment(filename=_filename(part), content_type=ctype, data=data)


def _eml(part: Message) -> bytes:
    inner = children(part)
    if not inner:  # e.g. a base64-encoded message/rfc822, which the parser leaves alone
        payload = part.get_payload(decode=True)
        return payload if isinstance(payload, bytes) else b""
    try:
        return inner[0].as_bytes(policy=_EML_POLICY)
    except (*HEADER_ERRORS, UnicodeError):
        return inner[0].as_string(policy=_EML_POLICY).encode("utf-8", "surrogateescape")
