"""The pieces of an email's bytes: headers, quoted-printable, the multipart/alternative."""

from __future__ import annotations

import email
import quopri
from email.message import EmailMessage
from email.policy import default

import pytest

from notifications.mime import (
    address_header,
    alternative,
    boundary_of,
    header,
    quoted_printable,
)


def test_a_line_that_is_a_lone_dot_is_escaped_and_decodes_back() -> None:
    encoded = quoted_printable("a\n.\nb.\n.")
    assert encoded == b"a\r\n=2E\r\nb.\r\n=2E"
    assert quopri.decodestring(encoded) == b"a\r\n.\r\nb.\r\n."


def test_soft_breaks_end_in_crlf_and_never_split_an_escape() -> None:
    encoded = quoted_printable("é" * 100)
    lines = encoded.split(b"\r\n")
    assert all(line.endswith(b"=") for line in lines[:-1])
    assert all(len(line) <= 76 for line in lines)
    assert all(len(line.rstrip(b"=")) % 3 == 0 for line in lines)
    assert quopri.decodestring(encoded).decode() == "é" * 100


def test_an_ascii_display_name_is_quoted_as_the_stdlib_quotes_it() -> None:
    assert address_header("From", "Board, Unit", "lscb@example.org") == (
        'From: "Board, Unit" <lscb@example.org>\r\n'
    )


def test_a_non_ascii_display_name_with_a_line_break_is_refused() -> None:
    with pytest.raises(ValueError, match="line break"):
        address_header("From", "Zoë\nBcc: x@example.org", "lscb@example.org")


def test_a_non_ascii_display_name_becomes_encoded_words() -> None:
    line = address_header("From", "Zoë Ångström", "lscb@example.org")
    parsed = email.message_from_bytes(line.encode("ascii") + b"\r\n", policy=default)
    assert parsed["From"].addresses[0].display_name == "Zoë Ångström"
    assert parsed["From"].addresses[0].addr_spec == "lscb@example.org"


def test_the_boundary_comes_from_the_message_id_and_is_not_quoted_printable() -> None:
    boundary = boundary_of("<0123456789abcdef0123456789abcdef01234567@example.org>")
    assert boundary == "=_0123456789abcdef0123456789abcdef"
    assert boundary.encode() not in quoted_printable("=_" + boundary * 3)


def test_alternative_parses_to_its_headers_and_two_parts() -> None:
    raw = alternative(
        [header("Subject", "Héllo"), header("To", "bm@example.org")],
        quoted_printable("text é\n"),
        quoted_printable("<p>html</p>\n"),
        boundary_of("<abc@example.org>"),
    )
    message = email.message_from_bytes(raw, policy=default)
    assert isinstance(message, EmailMessage)
    assert (message["Subject"], message["To"]) == ("Héllo", "bm@example.org")
    assert message.get_content_type() == "multipart/alternative"
    assert message.get_body(("plain",)).get_content() == "text é\r\n"  # type: ignore[union-attr]
    assert message.get_body(("html",)).get_content() == "<p>html</p>\r\n"  # type: ignore[union-attr]
    assert message.defects == []
