"""PDF: refused when it can act on the person who opens it, or is also something else.

Decided by what a reader does with the file, never by running it:

- active content: JavaScript (``/JS``, ``/JavaScript``), actions that run by themselves
  (``/AA``; an ``/OpenAction`` other than going to a page), starting a program
  (``/Launch``), opening another file (``/GoToR``, ``/GoToE``), attached or embedded files
  (``/EmbeddedFile``, ``/FileAttachment``), Flash and other rich media (``/RichMedia``),
  XFA forms (``/XFA``), and links to ``javascript:``, ``file:`` or ``\\\\host`` addresses;
- a polyglot: a PDF that is also a web page (:mod:`engine.uploads.payloads`);
- a PDF protected by a password or restrictions (we cannot check inside it).

Two passes, both bounded by the file's size:

1. a token scan of the raw bytes, names decoded (``/J#61vaScript`` is ``/JavaScript``),
   which also inflates every object stream and cross-reference stream (where objects can
   hide compressed) within ``MAX_STRUCTURE`` bytes in all, and scans them too. It sees
   objects no cross-reference table lists, which some readers still find;
2. a walk of every object as qpdf (through pikepdf) reads it: object streams, every
   filter, repaired cross-references, each dictionary and the direct ones inside it.

qpdf alone is not bounded: a 2 MB object stream of zeros made it take 4 GB and 14 s, so
pass 1 proves the structure small before pass 2 opens it, and qpdf's own decoder limits
(set once, process-wide) stand behind that.
"""

from __future__ import annotations

import collections.abc
import functools
import io
import re
import zlib

import pikepdf
import pikepdf.settings

from engine.uploads.payloads import hidden_markup
from engine.uploads.policy import MB, RESAVE, BadContent

MAX_STRUCTURE = 64 * MB  # object and cross-reference streams, inflated, in all
# Random bytes (compressed images) count one "token" in 23: 1.1 million in 25 MB; a
# 3,000-page PDF has 0.1 million objects and values to walk
MAX_TOKENS = 3_000_000
MAX_VALUES = 300_000
_MAX_CONTAINER = 250_000  # items in one array or dictionary, for qpdf
_SEPARATORS = b" \n\r\t\x0c\x00/(<[{"
_CHUNK = 1 << 16
_MAX_FILTERS = 4

PRINT = (
    "Print it to a new PDF (choose 'Microsoft Print to PDF' or 'Save as PDF' as the "
    "printer), which leaves these out, and upload that."
)
_JS = "carries JavaScript ({name}), which could run when it is opened"
_EMBEDDED = "has files attached or embedded inside it ({name})"
_ACTIVE: dict[bytes, str] = {
    b"/JS": _JS,
    b"/JavaScript": _JS,
    b"/AA": "has actions that run by themselves when pages or fields are opened ({name})",
    b"/Launch": "can start a program on the computer that opens it ({name})",
    b"/GoToR": "can open another file when it is used ({name})",
    b"/GoToE": _EMBEDDED,
    b"/EmbeddedFile": _EMBEDDED,
    b"/EmbeddedFiles": _EMBEDDED,
    b"/FileAttachment": _EMBEDDED,
    b"/RichMedia": "carries Flash or other rich media ({name})",
    b"/XFA": "is an XFA form, which can run scripts ({name})",
}
_ACTIVE_NAMES = {name.decode(): reason for name, reason in _ACTIVE.items()}
_CONTAINERS = (pikepdf.Array, pikepdf.Dictionary, pikepdf.Stream)
_SCRIPT_SCHEMES = ("javascript:", "vbscript:", "data:")
_REMOTE_FILES = ("\\\\", "//", "file:", "smb:")
_DELIMS = rb"\x00\t\n\x0c\r /\[\]()<>{}%"
_NAME = re.compile(rb"/[^" + _DELIMS + rb"]*")
_HEX = re.compile(rb"#([0-9A-Fa-f]{2})")
_FILTER = re.compile(rb"/Filter\s*(\[[^\]]*\]|/[^" + _DELIMS + rb"]*|\d+\s+\d+\s+R)?")


def check_pdf(data: bytes) -> None:
    """Refuse a PDF that could act on the person who opens it.

    Raises:
        BadContent: active content, a polyglot, protected, damaged, or an internal
            structure that would unpack beyond ``MAX_STRUCTURE``.
    """
    markup = hidden_markup(data)
    if markup is not None:
        raise BadContent(
            f"is also a web page (it contains {markup}), a trick to run scripts in a browser. "
            f"{PRINT}"
        )
    names, structure = _scan(data)
    if b"/Encrypt" in names:
        raise _protected()
    _refuse_active(names)
    _refuse_active(_names(structure))
    _walk(data)


def _decode(name: bytes) -> bytes:
    return _HEX.sub(lambda m: bytes([int(m.group(1), 16)]), name) if b"#" in name else name


def _names(data: bytes) -> set[bytes]:
    """Every name token in ``data``, ``#xx`` escapes decoded."""
    return {_decode(n) for n in set(_NAME.findall(data))}


def _refuse_active(names: set[bytes]) -> None:
    for name in _ACTIVE:
        if name in names:
            _refuse(name.decode())


def _refuse(name: str) -> None:
    reason = _ACTIVE_NAMES.get(name)
    if reason is not None:
        raise BadContent(f"{reason.format(name=name)}. {PRINT}")


def _scan(data: bytes) -> tuple[set[bytes], bytes]:
    """Pass 1: the raw bytes' names, and every object and xref stream inflated, in a budget.

    Raises:
        BadContent: a structure stream packed in a way we do not inflate, damaged, or
            larger than ``MAX_STRUCTURE`` in all.
    """
    names = _names(data)
    tokens = _tokens(data)
    if b"/ObjStm" not in names and b"/XRef" not in names:
        return names, b""
    inflated: list[bytes] = []
    budget, previous = MAX_STRUCTURE, 0
    for keyword, body in _streams(data):
        # the stream's dictionary: back to its "obj", never past the previous stream
        begins = data.rfind(b"obj", previous, keyword)
        header = _decode(data[previous if begins < 0 else begins + 3 : keyword])
        previous = body
        kinds = set(_NAME.findall(header))
        if b"/ObjStm" not in kinds and b"/XRef" not in kinds:
            continue
        found = _FILTER.search(header)
        filters = _NAME.findall(found.group(1) or b"") if found else []
        if found and (not filters or filters != [b"/FlateDecode"] * len(filters)):
            raise BadContent(
                "has its internal structure packed in a way we do not accept "
                f"({(found.group(1) or b'?').decode('latin-1')}). {RESAVE}"
            )
        if len(filters) > 1:
            raise BadContent(f"has its internal structure packed twice over. {RESAVE}")
        if not filters:
            continue  # stored as it is: no bigger than the file
        text = _inflate(data, body, budget)
        budget -= len(text)
        inflated.append(text)
    structure = b"\n".join(inflated)
    _tokens(structure, tokens)
    return names, structure


def _tokens(data: bytes, before: int = 0) -> int:
    """Separators in ``data`` and ``before``: more than qpdf could make values of.

    Raises:
        BadContent: more than MAX_TOKENS.
    """
    tokens = before + len(data) - len(data.translate(None, _SEPARATORS))
    if tokens > MAX_TOKENS:
        raise _too_complex()
    return tokens


def _too_complex() -> BadContent:
    return BadContent(
        "is built of far more parts than a document needs, too many for us to check. "
        f"{PRINT.replace(', which leaves these out,', ',')}"
    )


def _streams(data: bytes) -> collections.abc.Iterator[tuple[int, int]]:
    """Where each ``stream`` keyword starts, and where the data after its end of line starts."""
    at = data.find(b"stream")
    while at >= 0:
        after = at + 6
        eol = data[after : after + 2]
        if not data[at - 1 : at].isalpha() and eol[:1] in (b"\r", b"\n"):
            yield at, after + (2 if eol == b"\r\n" else 1)
        at = data.find(b"stream", after)


def _inflate(data: bytes, start: int, budget: int) -> bytes:
    inflater, out, size = zlib.decompressobj(), [], 0
    try:
        for at in range(start, len(data), _CHUNK):
            pending = data[at : at + _CHUNK]
            while pending and not inflater.eof:
                piece = inflater.decompress(pending, _CHUNK)
                pending = inflater.unconsumed_tail
                size += len(piece)
                if size > budget:
                    raise BadContent(
                        f"has an internal structure that unpacks to more than "
                        f"{MAX_STRUCTURE // MB} MB, which is how 'PDF bombs' work. {PRINT}"
                    )
                out.append(piece)
            if inflater.eof:
                return b"".join(out)
    except zlib.error:
        pass
    raise BadContent(f"seems damaged: part of its structure cannot be read. {RESAVE}")


@functools.cache
def _qpdf_limits() -> None:
    """qpdf's decoder limits, process-wide: a backstop behind pass 1's budget."""
    pikepdf.settings.set_qpdf_limits(
        flate_max_memory=MAX_STRUCTURE,
        run_length_max_memory=MAX_STRUCTURE,
        png_max_memory=MAX_STRUCTURE,
        tiff_max_memory=MAX_STRUCTURE,
        max_stream_filters=_MAX_FILTERS,
        parser_max_container_size=_MAX_CONTAINER,
    )


def _walk(data: bytes) -> None:
    """Pass 2: every object as qpdf reads it, and the direct objects inside each."""
    _qpdf_limits()
    limits_hit = pikepdf.settings.qpdf_limit_errors()
    try:
        with pikepdf.open(io.BytesIO(data), suppress_warnings=True) as pdf:
            if pdf.is_encrypted:
                raise _protected()
            budget = MAX_VALUES
            for obj in pdf.objects:
                budget = _check_object(obj, budget)
    except pikepdf.PasswordError:
        raise _protected() from None
    except (pikepdf.PdfError, RuntimeError, ValueError, TypeError, OverflowError):
        raise BadContent(f"seems damaged: it cannot be opened as a PDF. {RESAVE}") from None
    if pikepdf.settings.qpdf_limit_errors() != limits_hit:
        # qpdf left out what was over a limit (a huge array): unchecked, so refused
        raise _too_complex()


def _check_object(top: pikepdf.Object, budget: int) -> int:
    """Check one object and the direct ones inside it; what is left of ``budget`` (values)."""
    pending = [top]
    while pending:
        obj = pending.pop()
        budget -= 1 + (len(obj) if isinstance(obj, pikepdf.Array) else 0)
        if budget < 0:
            raise _too_complex()
        if isinstance(obj, pikepdf.Array):
            pending.extend(v for v in obj if _is_direct_container(v))
            continue
        if isinstance(obj, pikepdf.Stream):
            obj = obj.stream_dict
        elif not isinstance(obj, pikepdf.Dictionary):
            continue
        for key, value in obj.items():
            _refuse(key)
            if isinstance(value, pikepdf.Name):
                _refuse(str(value))
            elif key == "/OpenAction" and isinstance(value, pikepdf.Dictionary):
                if value.get("/S") != pikepdf.Name.GoTo:
                    raise BadContent(
                        f"does something by itself when it is opened (/OpenAction "
                        f"{value.get('/S')}). {PRINT}"
                    )
            elif key in ("/URI", "/F") and isinstance(value, pikepdf.String):
                _check_address(str(value))
            if _is_direct_container(value):
                pending.append(value)
        budget -= len(obj)
    return budget


def _is_direct_container(value: object) -> bool:
    """A direct array or dictionary (indirect ones are walked as objects of their own)."""
    return isinstance(value, _CONTAINERS) and not value.is_indirect


def _check_address(address: str) -> None:
    shown = "".join(address.split())  # readers drop the blanks in "java script:"
    lower = shown.lower()
    if lower.startswith(_SCRIPT_SCHEMES):
        raise BadContent(f"has a link that runs a script ({shown[:60]!r}). {PRINT}")
    if lower.startswith(_REMOTE_FILES):
        raise BadContent(
            f"refers to a file on another computer ({shown[:60]!r}), which can leak the "
            f"password of whoever opens it. {PRINT}"
        )


def _protected() -> BadContent:
    return BadContent(
        "is protected (by a password, or against copying or printing), so we cannot check "
        "inside it. Save a copy without the protection, or print it to a new PDF, and "
        "upload that."
    )
