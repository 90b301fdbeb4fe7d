"""The hand-built MIME messages parse as the stdlib's ``email.mime`` ones did."""

from __future__ import annotations

import dataclasses
import datetime as dt
import email
import re
from email.charset import QP, Charset
from email.headerregistry import Address
from email.message import EmailMessage
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.policy import default
from types import SimpleNamespace
from typing import Any, cast

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.services import Services
from notifications.compose import Composer, message_id
from notifications.mime import header, quoted_printable
from notifications.templates import KINDS, SAMPLE_CONTEXT, Rendered, Templates
from tests.notifications.test_dispatcher import settings_for

NOW = dt.datetime(2011, 4, 1, 9, 30, tzinfo=dt.UTC)
HEADERS = (
    "From",
    "To",
    "Subject",
    "Date",
    "Message-ID",
    "Reply-To",
    "Auto-Submitted",
    "X-Signoff-Kind",
    "MIME-Version",
)
TEMPLATES = Templates()
_UTF8_QP = Charset("utf-8")
_UTF8_QP.body_encoding = QP
_LINE_ENDINGS = re.compile(rb"(?:\r\n|\n|\r(?!\n))")  # as aiosmtplib sends DATA


def composer(mail_from: str = "Southend LSCB <lscb@southend-lscb.example.org>") -> Composer:
    settings = dataclasses.replace(settings_for(25), mail_from=mail_from)
    return Composer(cast(Services, None), settings, TEMPLATES)  # _message reads no database


def stdlib_message(c: Composer, rows: list[Any], recipient: str, rendered: Rendered) -> bytes:
    """The message as the dispatcher built it before, with MIMEMultipart."""
    msg = MIMEMultipart("alternative")
    msg["From"] = str(Address(c.sender_name, addr_spec=c.sender))
    msg["To"] = recipient
    msg["Subject"] = rendered.subject
    msg["Date"] = email.utils.format_datetime(NOW)
    msg["Message-ID"] = message_id(c.settings.reply_key(), [r.dedupe_key for r in rows], c.domain)
    msg["Reply-To"] = c.sender
    msg["Auto-Submitted"] = "auto-generated"
    msg["X-Signoff-Kind"] = rows[0].kind
    msg.attach(MIMEText(rendered.text, "plain", _UTF8_QP))  # type: ignore[arg-type]
    msg.attach(MIMEText(rendered.html, "html", _UTF8_QP))  # type: ignore[arg-type]
    return msg.as_bytes()


def parse(raw: bytes) -> EmailMessage:
    message = email.message_from_bytes(_LINE_ENDINGS.sub(b"\r\n", raw), policy=default)
    assert isinstance(message, EmailMessage)
    return message


def summary(raw: bytes) -> dict[str, object]:
    message = parse(raw)
    parts = list(message.iter_parts())
    return {
        # the stdlib folded a long Message-ID onto its own line: it parses with a leading space
        "headers": {name: [v.strip() for v in message.get_all(name, [])] for name in HEADERS},
        "type": message.get_content_type(),
        "parts": [
            (p.get_content_type(), p.get_content_charset(), p["Content-Transfer-Encoding"])
            for p in parts
        ],
        "text": message.get_body(("plain",)).get_content(),  # type: ignore[union-attr]
        "html": message.get_body(("html",)).get_content(),  # type: ignore[union-attr]
        "defects": [d for p in (message, *parts) for d in p.defects],
    }


def rows(kind: str = "decision", n: int = 1) -> list[Any]:
    return [
        SimpleNamespace(id=i, kind=kind, dedupe_key=f"event:{i}:2:{kind}:bm@example.org")
        for i in range(1, n + 1)
    ]


LONG = "word " * 40 + "a-very-long-unbreakable-" + "x" * 120
STRANGE: list[tuple[str, str, str]] = [
    # subject, text, html
    ("Plain ASCII subject", "Hello\n", "<p>Hello</p>\n"),
    (
        "R1 Define the LSCB process for monitoring the implementation of recommendations "
        "emanating fr…: Submit evidence",
        "Dear Zoë Ångström,\n\nThe deadline is 1 April 2011 — see below.\n",
        "<p>Zoë — “quoted” ✓ 😀</p>\n",
    ),
    (
        "A long ASCII subject that has to be folded because it is much longer than seventy "
        "eight characters in all",
        LONG + "\n" + "=" * 100 + "\ntrailing spaces   \ntrailing tab\t\n.dot\nFrom here\n",
        "<p>" + "é" * 200 + "</p>",  # no newline at the end
    ),
    ("Subject with  two spaces and =?utf-8?q?not_a_word?= inside", "a=b\r\nc\rd\n", "x\n"),
    ("é" * 120, "\n\nleading blank lines\n\n\n", "<p>=3D</p>\n"),
    ("Tab\there and a very long " + "y" * 200, "tabs\tinside\n", "<p>\t</p>\n"),
]


@pytest.mark.parametrize("kind", KINDS)
def test_shipped_templates_parse_as_the_stdlib_message(kind: str) -> None:
    c = composer()
    rendered = TEMPLATES.render(kind, SAMPLE_CONTEXT[kind])
    rs = rows(kind, 3 if kind == "digest" else 1)
    ours = c._message(rs, "Chair@southend-lscb.example.org", rendered, NOW)
    theirs = stdlib_message(c, rs, "Chair@southend-lscb.example.org", rendered)
    assert summary(ours.message) == summary(theirs)
    assert summary(ours.message)["defects"] == []


@pytest.mark.parametrize(("subject", "text", "html"), STRANGE)
def test_non_ascii_long_lines_and_odd_text_parse_as_the_stdlib_message(
    subject: str, text: str, html: str
) -> None:
    c = composer()
    rendered = Rendered(subject=subject, text=text, html=html, template_version="abc")
    ours = c._message(rows(), "bm@example.org", rendered, NOW)
    theirs = stdlib_message(c, rows(), "bm@example.org", rendered)
    mine, stdlib = summary(ours.message), summary(theirs)
    assert mine["defects"] == []
    assert mine["headers"]["Subject"] == [subject]  # type: ignore[index]
    if "=?" in subject:  # the stdlib let this through raw, so it was decoded on the way in
        stdlib["headers"]["Subject"] = [subject]  # type: ignore[index]
    # the stdlib turns a lone CR into a line break when it encodes; so do we
    assert mine == stdlib


@pytest.mark.parametrize(("subject", "text", "html"), STRANGE)
def test_messages_are_ascii_crlf_short_lines_and_readable(
    subject: str, text: str, html: str
) -> None:
    rendered = Rendered(subject=subject, text=text, html=html, template_version="abc")
    raw = composer()._message(rows(), "bm@example.org", rendered, NOW).message
    assert raw.isascii()
    assert b"\n" not in raw.replace(b"\r\n", b"")  # CRLF only
    lines = raw.split(b"\r\n")
    head = lines[: lines.index(b"")]
    long = [line for line in head if len(line) > 78 and not line.startswith(b"Message-ID: ")]
    assert long == [], head
    assert all(len(line) <= 998 for line in lines)
    body = lines[lines.index(b"") :]
    assert all(len(line) <= 76 for line in body if not line.startswith(b"--=_"))
    assert b"Content-Transfer-Encoding: quoted-printable" in raw
    if "Dear Zo" in text:
        assert b"The deadline is 1 April 2011 =E2=80=94 see below." in raw  # readable


def test_the_boundary_and_message_id_are_stable() -> None:
    rendered = TEMPLATES.render("decision", SAMPLE_CONTEXT["decision"])
    first = composer()._message(rows(), "bm@example.org", rendered, NOW)
    again = composer()._message(rows(), "bm@example.org", rendered, NOW)
    assert first.message == again.message
    assert parse(first.message)["Message-ID"] == first.message_id


def test_a_non_ascii_sender_name_is_encoded() -> None:
    c = composer('"Bürgermeister Böhm, LSCB" <lscb@southend-lscb.example.org>')
    rendered = TEMPLATES.render("decision", SAMPLE_CONTEXT["decision"])
    message = parse(c._message(rows(), "bm@example.org", rendered, NOW).message)
    sender = message["From"]
    assert sender.addresses[0].display_name == "Bürgermeister Böhm, LSCB"
    assert sender.addresses[0].addr_spec == "lscb@southend-lscb.example.org"


def test_a_quoted_ascii_sender_name_stays_as_the_stdlib_wrote_it() -> None:
    c = composer('"Southend LSCB, Business Unit" <lscb@southend-lscb.example.org>')
    rendered = TEMPLATES.render("decision", SAMPLE_CONTEXT["decision"])
    ours = c._message(rows(), "bm@example.org", rendered, NOW).message
    assert summary(ours) == summary(stdlib_message(c, rows(), "bm@example.org", rendered))


@pytest.mark.parametrize("bad", ["a\nb", "a\r\nBcc: x@y.org", "a\rb", "a\x00b", "a\u2028b"])
def test_header_values_with_line_breaks_are_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="line break"):
        header("Subject", bad)
    rendered = Rendered(subject=bad, text="x\n", html="x\n", template_version="abc")
    with pytest.raises(ValueError, match="line break"):
        composer()._message(rows(), "bm@example.org", rendered, NOW)
    with pytest.raises(ValueError, match="line break"):
        composer()._message(rows(), f"bm@example.org{bad}", rendered, NOW)


def test_quoted_printable_round_trips() -> None:
    import quopri

    for text in ("", "x", "é\n", LONG, "a \nb\t\n", "=\n" * 3, "ünïcödé " * 50 + "\n"):
        assert quopri.decodestring(quoted_printable(text)).decode() == text.replace("\n", "\r\n")


@given(st.text(st.characters(blacklist_categories=("Cs",)), max_size=400))
@settings(max_examples=300, deadline=None)
def test_quoted_printable_of_any_text_decodes_back_in_short_lines(text: str) -> None:
    import quopri

    encoded = quoted_printable(text)
    assert encoded.isascii()
    assert all(len(line) <= 76 for line in encoded.split(b"\r\n"))
    assert not re.search(rb"[ \t]\r\n|[ \t]$", encoded)  # no trailing whitespace left bare
    normalised = text.replace("\r\n", "\n").replace("\r", "\n").replace("\n", "\r\n")
    assert quopri.decodestring(encoded).decode() == normalised


@given(st.text(st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp")), max_size=300))
@settings(max_examples=300, deadline=None)
def test_any_subject_survives_the_round_trip(subject: str) -> None:
    subject = subject.strip()
    raw = header("Subject", subject).encode("ascii")
    assert all(len(line) <= 998 for line in raw.split(b"\r\n"))
    parsed = email.message_from_bytes(raw + b"\r\n", policy=default)
    assert parsed["Subject"] == subject
