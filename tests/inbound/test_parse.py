"""Received messages read: new text, attachments, auto replies, bounces and hostile input."""

from __future__ import annotations

import ast
import email
import random
import time
from email import policy
from email.message import EmailMessage
from pathlib import Path
from types import ModuleType

import pytest

from engine.errors import Unreadable
from inbound.parse import Parsed, html_to_text, new_text, parse_message

MAIL = Path(__file__).resolve().parent / "mail"
PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
DOCX = b"PK\x03\x04\x14\x00\x06\x00\x08\x00" + bytes(range(256)) * 4
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 40


def _fixture(name: str) -> Parsed:
    return parse_message((MAIL / name).read_bytes())


def _message(body: str = "Evidence attached.", **headers: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = headers.pop("From", "Jane Smith <jane.smith@essex-police.example>")
    msg["To"] = "reply+R1-17.f3a9c2@signoff.example.org"
    msg["Subject"] = headers.pop("Subject", "Re: Evidence requested: R1")
    msg["Message-ID"] = "<m1@essex-police.example>"
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg.set_content(body)
    return msg


def _raw(*header_lines: str, body: str = "Hello.\n") -> bytes:
    return ("\r\n".join(header_lines) + "\r\n\r\n" + body).encode()


# -- fixtures written like real clients ---------------------------------------------------


def test_gmail_reply_keeps_only_the_new_text() -> None:
    parsed = _fixture("gmail_reply.eml")
    assert parsed.text == (
        "Hi,\n\nThe audit was completed on 28 October. Attendance figures are in the\n"
        "spreadsheet I sent to the panel last week \u2013 92% of frontline staff.\n\n"
        "We will re-audit in March.\n\nThanks,\nJane"
    )
    assert parsed.sender == "jane.smith@essex-police.example"
    assert parsed.sender_display == "Jane Smith"
    assert parsed.subject == "Re: Evidence requested: R1 multi-agency training audit"
    assert parsed.message_id == "<CAF7nA2q8=Yp0v+K3xk_VfLq7ZcW@mail.gmail.com>"
    assert parsed.in_reply_to == ("<request-17.1730631120@signoff.example.org>",)
    assert (parsed.auto_reply, parsed.bounce, parsed.attachments) == (False, None, ())


def test_gmail_html_alternative_alone_gives_the_same_text() -> None:
    msg = email.message_from_bytes((MAIL / "gmail_reply.eml").read_bytes(), policy=policy.default)
    assert isinstance(msg, EmailMessage)
    html = msg.get_body(preferencelist=("html",))
    assert html is not None
    only_html = _message()
    only_html.set_content(html.get_content(), subtype="html")
    assert parse_message(only_html.as_bytes()).text == _fixture("gmail_reply.eml").text.replace(
        "the\nspreadsheet", "the spreadsheet"
    )


def test_outlook_desktop_plain_cuts_at_underscores_and_header_block() -> None:
    parsed = _fixture("outlook_desktop_plain.eml")
    assert parsed.text == (
        "Good morning,\n\nThe protocol was signed off by the CCG board on 2 November.\n\n"
        "Kind regards\n\nRavi Patel\nNamed GP for Safeguarding"
    )
    assert parsed.sender_display == "Patel, Ravi"
    # a folded Message-ID loses its whitespace
    assert parsed.message_id == (
        "<DB9PR03MB7356A1B2C3D4E5F6A7B8C9D0E1F2@DB9PR03MB7356.eurprd03.prod.outlook.com>"
    )


def test_outlook_x_auto_response_suppress_alone_is_not_an_auto_reply() -> None:
    assert not _fixture("outlook_desktop_plain.eml").auto_reply


def test_outlook_original_message_divider_and_windows_1252() -> None:
    parsed = _fixture("outlook_original_message.eml")
    assert parsed.text == (
        "Hello,\n\nAttached is the early help audit \u2013 see page 4 for the summary.\n\nGrace"
    )
    assert parsed.in_reply_to == ()


def test_outlook_web_html_only_is_converted_and_cut_at_the_reply_divider() -> None:
    parsed = _fixture("outlook_web_html.eml")
    assert parsed.text == (
        "Hi,\n\nThe revised escalation policy went live on 1 November & staff briefings "
        "finish this week.\n\nTom"
    )


def test_outlook_desktop_html_border_top_divider_followed_by_from() -> None:
    parsed = _fixture("outlook_desktop_html.eml")
    assert parsed.text == (
        "Morning,\n\nThe pathway was agreed at the MAPPA SMB on 30 October.\n"
        "Minutes to follow once approved.\n\nSarah"
    )


def test_apple_mail_drops_quote_attribution_and_sent_from_iphone() -> None:
    parsed = _fixture("apple_mail.eml")
    assert parsed.text == (
        "All 14 designated teachers completed the course. Certificates attached to my "
        "earlier email."
    )
    assert parsed.message_id == "<7F3E2A1C-9B4D-4E8F-A1B2-C3D4E5F60718@school.example>"


def test_apple_mail_inline_answers_between_quotes_survive() -> None:
    assert _fixture("apple_mail_inline.eml").text == (
        "Answers below.\n\nFourteen.\n\n  Spring term 2027.\n\nMike"
    )


def test_thunderbird_format_flowed_is_unwrapped() -> None:
    assert _fixture("thunderbird_flowed.eml").text == (
        "Caseloads were reviewed in October and all health visitors are now below the "
        "250-family threshold.\n\nLucy"
    )


def test_exchange_out_of_office_is_an_auto_reply() -> None:
    parsed = _fixture("exchange_ooo.eml")
    assert parsed.auto_reply
    assert parsed.bounce is None
    assert parsed.sender == "amir.khan@essex-fire.example"
    assert parsed.in_reply_to == ("<request-8.1730631120@signoff.example.org>",)


# -- bounces ------------------------------------------------------------------------------


def test_postfix_dsn_is_a_permanent_bounce_not_an_auto_reply() -> None:
    parsed = _fixture("postfix_dsn.eml")
    assert parsed.bounce is not None
    assert parsed.bounce.failed_recipients == ("j.doe@agency.example",)
    assert parsed.bounce.status == "5.1.1"
    assert parsed.bounce.permanent
    assert parsed.bounce.original_message_id == "<request-9.1730631120@signoff.example.org>"
    assert not parsed.auto_reply  # despite Auto-Submitted: auto-replied
    assert parsed.attachments == ()  # the returned message is the bounce's, not evidence


def test_exchange_ndr_is_a_permanent_bounce() -> None:
    parsed = _fixture("exchange_ndr.eml")
    assert parsed.bounce is not None
    assert parsed.bounce.failed_recipients == ("old.officer@essex-police.example",)
    assert (parsed.bounce.status, parsed.bounce.permanent) == ("5.1.10", True)
    assert parsed.bounce.original_message_id == "<request-44.1730631120@signoff.example.org>"
    assert not parsed.auto_reply


def test_gmail_non_standard_bounce_read_from_the_text() -> None:
    bounce = _fixture("gmail_nonstandard_bounce.eml").bounce
    assert bounce is not None
    assert bounce.failed_recipients == ("sam.lee@gone.example",)
    assert (bounce.status, bounce.permanent) == ("5.1.1", True)
    assert bounce.original_message_id == "<request-31.1730631120@signoff.example.org>"


def test_legacy_exchange_undeliverable_read_from_the_text() -> None:
    bounce = _fixture("exchange_legacy_undeliverable.eml").bounce
    assert bounce is not None
    assert bounce.failed_recipients == ("former.worker@southend.gov.example",)
    assert (bounce.status, bounce.permanent, bounce.original_message_id) == ("5.1.1", True, None)


def _dsn(action: str, status: str, *, returned: str) -> bytes:
    return f"""From: MAILER-DAEMON@mx.example
To: bounces@signoff.example.org
Subject: Delayed Mail (still being retried)
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="XX"

--XX
Content-Type: text/plain

Report.

--XX
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example

Final-Recipient: rfc822; <Slow@Agency.example>
Action: {action}
Status: {status} (mailbox busy)

--XX
{returned}
--XX--
""".encode()


def test_delayed_dsn_is_a_temporary_bounce_with_headers_part() -> None:
    headers = "Content-Type: text/rfc822-headers\n\nMessage-ID: <r-1@signoff.example.org>\n"
    bounce = parse_message(_dsn("delayed", "4.2.1", returned=headers)).bounce
    assert bounce is not None
    assert bounce.failed_recipients == ("slow@agency.example",)
    assert (bounce.status, bounce.permanent) == ("4.2.1", False)
    assert bounce.original_message_id == "<r-1@signoff.example.org>"


def test_successful_delivery_report_is_not_a_bounce_but_automatic() -> None:
    parsed = parse_message(_dsn("delivered", "2.0.0", returned="Content-Type: text/plain\n\nx\n"))
    assert parsed.bounce is None
    assert parsed.auto_reply


def test_daemon_sender_without_bounce_subject_is_not_a_bounce() -> None:
    raw = _message(From="postmaster@agency.example", Subject="Mailbox quota notice").as_bytes()
    assert parse_message(raw).bounce is None


def test_bounce_subject_from_a_person_is_not_a_bounce() -> None:
    raw = _message(Subject="Undeliverable: Evidence requested: R1").as_bytes()
    assert parse_message(raw).bounce is None


# -- auto replies -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "header",
    [
        {"Auto_Submitted": "auto-replied"},
        {"Auto_Submitted": "auto-generated; owner-email=x@y.example"},
        {"X_Autoreply": "yes"},
        {"X_Autorespond": "Out of office"},
        {"Precedence": "bulk"},
        {"Precedence": "junk"},
        {"Precedence": "list"},
        {"Precedence": "auto_reply"},
        {"Subject": "Automatic reply: Evidence requested: R1"},
        {"Subject": "Auto: Evidence requested: R1"},
        {"Subject": "Out of Office: Evidence requested"},
        {"Subject": "AutoReply: Evidence requested"},
    ],
)
def test_auto_replies(header: dict[str, str]) -> None:
    assert parse_message(_message(**header).as_bytes()).auto_reply


@pytest.mark.parametrize(
    "header",
    [
        {"Auto_Submitted": "no"},
        {"X_Auto_Response_Suppress": "All"},
        {"Subject": "RE: Automatic reply: Evidence requested"},
        {"Precedence": "normal"},
    ],
)
def test_not_auto_replies(header: dict[str, str]) -> None:
    assert not parse_message(_message(**header).as_bytes()).auto_reply


# -- attachments --------------------------------------------------------------------------


def test_pdf_and_docx_attachments_keep_their_bytes_and_claims() -> None:
    msg = _message("Both documents attached.\n")
    msg.add_alternative("<p>Both documents <b>attached</b>.</p>", subtype="html")
    msg.add_attachment(PDF, maintype="application", subtype="pdf", filename="audit.pdf")
    msg.add_attachment(
        DOCX,
        maintype="application",
        subtype="vnd.openxmlformats-officedocument.wordprocessingml.document",
        filename="../../etc/Action plan.docx",
    )
    parsed = parse_message(msg.as_bytes())
    assert parsed.text == "Both documents attached."
    assert [(a.filename, a.content_type, a.data) for a in parsed.attachments] == [
        ("audit.pdf", "application/pdf", PDF),
        (
            "../../etc/Action plan.docx",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            DOCX,
        ),
    ]


def test_inline_image_with_filename_is_an_attachment_html_body_is_not() -> None:
    msg = _message("See the chart.\n")
    msg.add_alternative('<p>See the chart.</p><img src="cid:chart1">', subtype="html")
    parts = msg.get_payload()
    assert isinstance(parts, list)
    html = parts[1]
    assert isinstance(html, EmailMessage)
    html.add_related(PNG, maintype="image", subtype="png", cid="<chart1>", filename="chart.png")
    html.add_related(PNG, maintype="image", subtype="png", cid="<logo>", disposition="inline")
    parsed = parse_message(msg.as_bytes())
    assert parsed.text == "See the chart."
    assert [(a.filename, a.content_type, a.data) for a in parsed.attachments] == [
        ("chart.png", "image/png", PNG)
    ]


def test_forwarded_message_is_an_eml_attachment() -> None:
    inner = _message(
        "Original evidence from our IT lead.\n", Subject="Training log export", From="it@x.example"
    )
    inner.replace_header("Message-ID", "<inner-1@x.example>")
    msg = _message("Forwarding the export.\n")
    msg.add_attachment(inner)
    parsed = parse_message(msg.as_bytes())
    assert parsed.text == "Forwarding the export."
    (attachment,) = parsed.attachments
    assert attachment.content_type == "message/rfc822"
    again = parse_message(attachment.data)
    assert again.subject == "Training log export"
    assert again.message_id == "<inner-1@x.example>"
    assert again.text == "Original evidence from our IT lead."


def test_non_ascii_filename_and_attachment_without_name() -> None:
    msg = _message()
    msg.add_attachment(PDF, maintype="application", subtype="pdf", filename="évaluation.pdf")
    msg.add_attachment(b"\x00\x01", maintype="application", subtype="octet-stream")
    names = [a.filename for a in parse_message(msg.as_bytes()).attachments]
    assert names == ["évaluation.pdf", None]


def test_text_attachment_is_not_part_of_the_body() -> None:
    msg = _message("Notes attached.\n")
    msg.add_attachment("private notes\n", filename="notes.txt")
    parsed = parse_message(msg.as_bytes())
    assert parsed.text == "Notes attached."
    assert [(a.filename, a.data) for a in parsed.attachments] == [("notes.txt", b"private notes\n")]


def test_base64_with_bad_padding_does_not_crash() -> None:
    raw = _raw(
        "From: a@agency.example",
        "MIME-Version: 1.0",
        'Content-Type: multipart/mixed; boundary="b"',
        body=(
            "--b\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64"
            "\r\n\r\nSGVsbG8gdGhlcmU\r\n--b\r\nContent-Type: application/pdf\r\n"
            'Content-Disposition: attachment; filename="a.pdf"\r\n'
            "Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK=\r\n!!abc\r\n--b--\r\n"
        ),
    )
    parsed = parse_message(raw)
    assert parsed.text.startswith("Hello ther")
    assert parsed.attachments[0].data.startswith(b"%PDF-1.4\n")


# -- hostile input ------------------------------------------------------------------------


def test_oversize_message_names_the_limit() -> None:
    with pytest.raises(Unreadable, match="over the limit of 1000 bytes") as caught:
        parse_message(_raw("From: a@b.example", body="x" * 2000), max_bytes=1000)
    assert isinstance(caught.value, ValueError)


@pytest.mark.parametrize("raw", [b"", b"   \r\n\r\n"])
def test_empty_input_is_unreadable(raw: bytes) -> None:
    with pytest.raises(Unreadable, match="empty"):
        parse_message(raw)


def test_garbage_bytes_are_unreadable() -> None:
    garbage = random.Random(7).randbytes(4096)
    with pytest.raises(Unreadable, match="no email header"):
        parse_message(garbage)


def test_header_injection_never_reaches_the_subject() -> None:
    raw = _raw(
        "From: a@agency.example",
        "Subject: =?utf-8?q?Evidence=0D=0ABcc=3A_victim=40x=2Eexample?=\r\n\t=?utf-8?q?=0Aend?=",
        "Message-ID: <m@x>",
    )
    parsed = parse_message(raw)
    assert "\r" not in parsed.subject
    assert "\n" not in parsed.subject
    assert parsed.subject == "Evidence Bcc: victim@x.example end"


def test_bare_cr_in_a_header_does_not_smuggle_text_into_the_subject() -> None:
    raw = b"From: a@agency.example\r\nSubject: hello\rBcc: evil@x.example\r\n\r\nbody\r\n"
    parsed = parse_message(raw)
    assert parsed.subject == "hello"


@pytest.mark.parametrize(
    "from_",
    [
        '"ceo@police.example" <evil@x.example>',
        "ceo@police.example <evil@x.example>",
        "=?utf-8?q?ceo=40police=2Eexample?= <EVIL@x.example>",
    ],
)
def test_display_name_with_an_address_never_becomes_the_sender(from_: str) -> None:
    parsed = parse_message(_raw(f"From: {from_}", "Subject: hi"))
    assert parsed.sender == "evil@x.example"
    assert parsed.sender_display is not None
    assert "ceo@police.example" in parsed.sender_display


def test_two_from_addresses_are_ambiguous_unless_sender_says() -> None:
    two = "From: partner@agency.example, evil@x.example"
    assert parse_message(_raw(two, "Subject: hi")).sender is None
    with_sender = parse_message(_raw(two, "Sender: partner@agency.example", "Subject: hi"))
    assert with_sender.sender == "partner@agency.example"


def test_two_disagreeing_from_fields_are_ambiguous() -> None:
    raw = _raw("From: partner@agency.example", "From: evil@x.example", "Subject: hi")
    assert parse_message(raw).sender is None


def test_raw_utf8_headers_are_decoded() -> None:
    raw = "From: Jérôme Dupré <j@agency.example>\r\nSubject: Évaluation reçue\r\n\r\nOui.\r\n"
    parsed = parse_message(raw.encode())
    assert (parsed.sender_display, parsed.subject) == ("Jérôme Dupré", "Évaluation reçue")


def _nested(depth: int) -> bytes:
    head = b"From: a@agency.example\r\nMIME-Version: 1.0\r\n"
    for i in range(depth):
        head += b'Content-Type: multipart/mixed; boundary="b%d"\r\n\r\n--b%d\r\n' % (i, i)
    head += b"Content-Type: text/plain\r\n\r\ndeep\r\n"
    for i in reversed(range(depth)):
        head += b"--b%d--\r\n" % i
    return head


def test_moderate_nesting_is_fine() -> None:
    assert parse_message(_nested(15)).text == "deep"


@pytest.mark.parametrize("depth", [25, 400, 5000])
def test_deep_nesting_is_unreadable(depth: int) -> None:
    with pytest.raises(Unreadable, match="nesting deeper than 20|more than 1000 MIME parts"):
        parse_message(_nested(depth))


def test_unknown_charset_falls_back_to_utf8_with_replacement() -> None:
    raw = _raw(
        "From: a@agency.example",
        "Content-Type: text/plain; charset=x-no-such-charset",
        "Content-Transfer-Encoding: 8bit",
        body="",
    ) + "café \xff".encode("latin-1")
    assert parse_message(raw).text == "caf\ufffd \ufffd"


def test_missing_from_gives_no_sender() -> None:
    parsed = parse_message(_raw("Subject: hi", "Message-ID:  abc@x.example "))
    assert (parsed.sender, parsed.sender_display) == (None, None)
    assert parsed.message_id == "<abc@x.example>"


def test_reply_ids_keep_order_and_drop_duplicates() -> None:
    raw = _raw(
        "From: a@agency.example",
        "In-Reply-To: <r-2@signoff.example.org>",
        "References: <r-1@signoff.example.org>\r\n <r-2@signoff.example.org> <bad id@x>",
    )
    assert parse_message(raw).in_reply_to == (
        "<r-2@signoff.example.org>",
        "<r-1@signoff.example.org>",
        "<badid@x>",
    )


# -- text rules ---------------------------------------------------------------------------


def test_signature_cut_middle_blank_lines_kept_trailing_space_trimmed() -> None:
    text = "First paragraph.   \n\nSecond paragraph.\t\n\n\n-- \nJane Smith\nPhone 0123\n"
    assert new_text(text) == "First paragraph.\n\nSecond paragraph."


def test_wrote_line_without_a_date_is_the_persons_own_text() -> None:
    text = "On Tuesday the panel wrote:\nall actions are complete.\n"
    assert new_text(text) == "On Tuesday the panel wrote:\nall actions are complete."


def test_attribution_wrapped_before_wrote_cuts_unquoted_history() -> None:
    text = (
        "Done.\n\nOn Tue, Nov 3, 2026 at 10:12 AM Southend LSCB <reply@signoff.example.org>\n"
        "wrote:\nDear Jane, unquoted history.\n"
    )
    assert new_text(text) == "Done."


def test_html_conversion_drops_script_style_head_and_keeps_structure() -> None:
    html = (
        "<html><head><title>t</title><style>p{color:red}</style></head><body>"
        "<script>alert('x')</script><p>Line&nbsp;one &lt;ok&gt;</p><p>Two<br>Three</p>"
        "<ul><li>alpha</li><li>beta</li></ul></body></html>"
    )
    assert html_to_text(html) == "Line one <ok>\n\nTwo\nThree\n\n- alpha\n- beta"


def test_apple_html_blockquote_cite_is_dropped() -> None:
    msg = _message()
    msg.set_content(
        '<div>Yes, all done.</div><div><br><blockquote type="cite">On 3 Nov 2026, at 10:12, '
        'LSCB &lt;r@s.example&gt; wrote:<br><br></blockquote></div><blockquote type="cite">'
        "<div>Dear Mike, please send evidence.</div></blockquote>",
        subtype="html",
    )
    assert parse_message(msg.as_bytes()).text == "Yes, all done."


def test_exactly_max_depth_is_fine_one_more_is_not() -> None:
    assert parse_message(_nested(20)).text == "deep"
    with pytest.raises(Unreadable, match="nesting deeper than 20"):
        parse_message(_nested(21))


def test_too_many_parts_is_unreadable() -> None:
    part = "--B\r\nContent-Type: application/octet-stream\r\n\r\nx\r\n"
    raw = _raw(
        "From: a@agency.example",
        'Content-Type: multipart/mixed; boundary="B"',
        body=part * 1001 + "--B--\r\n",
    )
    with pytest.raises(Unreadable, match="more than 1000 MIME parts"):
        parse_message(raw)


def test_overlong_header_field_is_unreadable() -> None:
    with pytest.raises(Unreadable, match="longer than 65536"):
        parse_message(_raw("From: a@agency.example", "Subject: " + "x" * 70000))
    with pytest.raises(Unreadable, match="Content-Type is longer than 4096"):
        parse_message(_raw("From: a@agency.example", "Content-Type: text/plain; " + "a=b; " * 900))


def test_hostile_html_is_read_in_linear_time() -> None:
    msg = _message()
    msg.set_content("<p>Real text</p><!--" + "a<" * 200_000, subtype="html")
    started = time.monotonic()
    assert parse_message(msg.as_bytes()).text == "Real text"
    assert time.monotonic() - started < 5


def test_long_reference_chain_keeps_in_reply_to_and_latest_references() -> None:
    references = " ".join(f"<r-{i}@x.example>" for i in range(300))
    raw = _raw(
        "From: a@agency.example", "In-Reply-To: <r-299@x.example>", f"References: {references}"
    )
    ids = parse_message(raw).in_reply_to
    assert ids[0] == "<r-299@x.example>"
    assert ids[-1] == "<r-298@x.example>"
    assert len(ids) == 90


# -- the package's shape -------------------------------------------------------------------


def test_parse_package_all_is_honest() -> None:
    """``inbound.parse.__all__`` names exactly the public things it defines or re-exports."""
    import inbound.parse as package

    public = {n for n in vars(package) if not n.startswith("_") and n != "annotations"}
    submodules = {n for n in public if isinstance(getattr(package, n), ModuleType)}
    assert set(package.__all__) == public - submodules
    assert {"Attachment", "Bounce", "Parsed", "html_to_text", "new_text", "parse_message"} <= (
        set(package.__all__)
    )


def test_parse_modules_import_no_private_names_and_no_siblings_in_a_cycle() -> None:
    """Each module of inbound.parse imports only public names, and its imports form no cycle."""
    package = Path(__file__).resolve().parents[2] / "inbound" / "parse"
    imports: dict[str, set[str]] = {}
    for path in sorted(package.glob("*.py")):
        siblings: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                private = [a.name for a in node.names if a.name.startswith("_")]
                assert private == [], f"{path.name}: {node.module} {private}"
                if node.module.startswith("inbound.parse."):
                    siblings.add(node.module.rsplit(".", 1)[1])
        imports[path.stem] = siblings

    def reaches(start: str, goal: str, seen: set[str]) -> bool:
        return any(
            n == goal or (n not in seen and reaches(n, goal, seen | {n}))
            for n in imports.get(start, ())
        )

    assert [m for m in imports if reaches(m, m, set())] == []


def test_from_with_a_colon_in_the_name_and_a_semicolon_in_the_address_has_no_sender() -> None:
    """The stdlib's address parser raised AttributeError here; now the field is unreadable."""
    parsed = parse_message(
        _raw("From: Ja:ne Smith <jane.smi;th@essex-police.example>", "Subject: Evidence")
    )
    assert (parsed.sender, parsed.sender_display) == (None, None)
    assert parsed.subject == "Evidence"
    assert parsed.text == "Hello."
