"""Uploaded evidence files, checked by their content before anything is stored.

The reply page and inbound email both hand each file's name and bytes here first::

    accepted = check_files([(name, data), ...])   # all or nothing, in order
    one = check_file(name, data, UploadLimits(max_file_bytes=10 * 1024 * 1024))

Either returns :class:`Accepted` (cleaned ``filename``, ``kind``, the ``content_type`` to
serve it as, ``size``) or raises :class:`UploadRefused` (an ``EvidenceError``) whose
message names the file and says what the person can do about it. Nothing is written.

What is accepted, judged by content (magic numbers, containers opened in memory):

- PDF; images: PNG, JPEG, GIF, WebP, TIFF;
- Office: OOXML docx/xlsx/pptx and OpenDocument odt/ods/odp (zip containers), legacy
  OLE doc/xls/ppt and Outlook msg;
- plain text and CSV in UTF-8 (optional BOM; no NUL bytes) or UTF-16 with a BOM, mostly
  printable; email messages (.eml) that start with RFC 5322 header lines. Attachments
  inside an .eml are checked by the same rules.

What is refused: empty or oversized files; archives (zip that is not Office, rar, 7z, gz,
tar…); programs and scripts (PE, ELF, Mach-O, ``#!``, PHP); HTML, SVG, other XML and RTF
whatever their name; Office with macros (vbaProject.bin, .docm/.xlsm, ODF Basic);
password-protected Office (OLE ``EncryptedPackage``, encrypted ODF or zip entries); Office
zips that would unpack beyond ``max_unpacked_bytes``, with a part compressed more than
``max_ratio`` to one, with more than ``max_entries`` parts, overlapping parts, unsafe part
paths, or an archive or program inside (embedded Office documents are checked one level
deep).

Anything that could act on whoever opens the file is refused too:

- PDF (:mod:`~engine.uploads.pdf`): JavaScript, automatic, launch and other-file actions,
  attached files, rich media, XFA, script or ``\\\\host`` links; a PDF that is also a web
  page; a protected PDF;
- images (:mod:`~engine.uploads.images`): not decoding as the kind claimed, too many
  pixels, anything after the image's end, web-page markup inside;
- Office: ActiveX, OLE objects (and OLE packages in legacy files), a part name used twice
  (a second ``[Content_Types].xml``), relationships that fetch from outside the file;
- CSV (:mod:`~engine.uploads.formulas`): cells a spreadsheet would run as formulas;
- email: every part but its text, inline parts included, by these same rules.

The extension must agree with the content (``report.pdf`` holding a PNG is refused and
told to rename it ``.png``); a name without an extension is given the detected one.
Names are checked as Windows shows them (NFKC, format characters such as zero-width space
removed, trailing dots and spaces dropped): folder paths, control or bidirectional-override
characters, a colon (alternate data streams), Windows device names (CON, NUL.txt…), no
name at all or more than 200 characters are refused; accepted names are cleaned with
:func:`engine.uploads.names.clean_filename`.

One module a concept:

- :mod:`~engine.uploads.names`: hostile names refused, the rest cleaned;
- :mod:`~engine.uploads.sniffing`: what kind the bytes are, text detection;
- :mod:`~engine.uploads.office`: OOXML, OpenDocument and legacy OLE (with olefile);
- :mod:`~engine.uploads.archives`: zip structure, zip bombs, streaming inflate;
- :mod:`~engine.uploads.pdf`, :mod:`~engine.uploads.images`, :mod:`~engine.uploads.formulas`:
  active content in PDFs, images and CSV; :mod:`~engine.uploads.payloads`: web pages
  hidden in binary files;
- :mod:`~engine.uploads.policy`: the kinds, limits and advice the others judge by.
"""

from __future__ import annotations

import collections.abc
import dataclasses
import email
import email.policy

from engine import errors
from engine.uploads import names, policy
from engine.uploads.policy import UploadLimits

__all__ = ["Accepted", "UploadLimits", "check_file", "check_files"]

_BODY_TYPES = frozenset(["text/plain", "text/html"])  # an email's own text, shown as text


@dataclasses.dataclass(frozen=True, kw_only=True)
class Accepted:
    filename: str
    kind: str
    content_type: str
    size: int


def check_file(name: str, data: bytes, limits: UploadLimits = UploadLimits()) -> Accepted:
    """Check one uploaded file by name and content.

    Raises:
        UploadRefused: the file, its name or its content is not acceptable.
    """
    return _check(name, data, limits, depth=0)


def check_files(
    files: collections.abc.Sequence[tuple[str, bytes]], limits: UploadLimits = UploadLimits()
) -> list[Accepted]:
    """Check one upload of several files: all are accepted, or the first problem is raised.

    Raises:
        UploadRefused: too many files, too much in total, or one file is not acceptable.
    """
    if len(files) > limits.max_files:
        name = files[limits.max_files][0]
        raise errors.UploadRefused(
            name,
            f"is file {limits.max_files + 1} of {len(files)}, but at most {limits.max_files} "
            "files can be uploaded at once. Upload the rest in another reply.",
        )
    total = 0
    for name, data in files:
        total += len(data)
        if total > limits.max_total_bytes:
            raise errors.UploadRefused(
                name,
                f"takes this upload to {policy.megabytes(total)} in all, over the "
                f"{policy.megabytes(limits.max_total_bytes)} allowed at once. "
                "Upload it in another reply.",
            )
    return [check_file(name, data, limits) for name, data in files]


def _check(name: str, data: bytes, limits: UploadLimits, *, depth: int) -> Accepted:
    # qpdf and Pillow take a quarter of a second to import: only when a file is checked, so
    # commands that merely read the upload settings start fast
    from engine.uploads import formulas, sniffing

    cleaned = names.check_name(name)
    if not data:
        raise errors.UploadRefused(
            name, "is empty. Check you chose the right file and upload it again."
        )
    if len(data) > limits.max_file_bytes:
        raise errors.UploadRefused(
            name,
            f"is {policy.megabytes(len(data))}, over the "
            f"{policy.megabytes(limits.max_file_bytes)} allowed for one file. "
            "Make it smaller (for example save it as a smaller PDF) or split it.",
        )
    try:
        content = sniffing.sniff(data, limits, depth)
    except policy.BadContent as exc:
        raise errors.UploadRefused(name, exc.reason) from None
    ext = names.extension(cleaned)
    kind = _agree(name, ext, content)
    if kind == "email":
        _check_attachments(name, data, limits, depth)
    if kind == "csv":
        text = data.decode("utf-16" if content.charset == "utf-16" else "utf-8-sig")
        try:
            formulas.check_csv(text)
        except policy.BadContent as exc:
            raise errors.UploadRefused(name, exc.reason) from None
    content_type = policy.KINDS[kind].content_type
    if content.charset and kind in ("text", "csv"):
        content_type += f"; charset={content.charset}"
    if ext is None:
        cleaned = f"{cleaned}.{policy.KINDS[kind].extensions[0]}"
    return Accepted(filename=cleaned, kind=kind, content_type=content_type, size=len(data))


def _agree(name: str, ext: str | None, content: policy.Content) -> str:
    """The kind to accept ``content`` as under this extension; UploadRefused if they disagree."""
    expected = policy.BY_EXTENSION.get(ext or "")
    if not content.kinds:
        head = f"is not {policy.KINDS[expected].label}" if expected else "cannot be accepted"
        raise errors.UploadRefused(name, f"{head}: its content is {content.what}. {content.fix}")
    if ext is None:
        return content.kinds[0]
    if expected in content.kinds:
        return expected
    head = (
        f"is not {policy.KINDS[expected].label}"
        if expected
        else f"has an extension (.{ext}) we do not accept"
    )
    rename = policy.KINDS[content.kinds[0]].extensions[0]
    raise errors.UploadRefused(
        name, f"{head}: its content is {content.what}; rename it to .{rename} and upload it again."
    )


def _check_attachments(name: str, data: bytes, limits: UploadLimits, depth: int) -> None:
    """Every part of an email but its text, forwarded emails included, must be acceptable.

    Inline parts too: a mail program shows or opens them as it does attachments.
    """
    message = email.message_from_bytes(data, policy=email.policy.default)
    for number, part in enumerate(message.walk()):
        if part.is_multipart():
            continue
        filename = part.get_filename()
        if (
            not filename
            and part.get_content_disposition() != "attachment"
            and part.get_content_type() in _BODY_TYPES
        ):
            continue
        inner_name = filename or f"inline part {number}"
        payload = part.get_payload(decode=True)
        if not isinstance(payload, bytes):
            continue
        if depth >= policy.MAX_DEPTH:
            raise errors.UploadRefused(
                name, f"has an attachment inside an attachment ({inner_name!r}). {policy.UNPACK}"
            )
        try:
            _check(inner_name, payload, limits, depth=depth + 1)
        except errors.UploadRefused as exc:
            raise errors.UploadRefused(name, f"has an attachment we cannot accept: {exc}") from None
