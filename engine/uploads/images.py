"""Images: they must decode as the image they claim to be, and end where that image ends.

A file that starts with an image's magic number proves nothing: the rest can be a web
page, a script or a program, shown or run by whatever opens the file as that. So:

- the bytes must decode with Pillow as the kind their magic number names, and only that
  kind's decoder is tried; images over ``MAX_PIXELS`` are refused before decoding, so a
  small file cannot make a huge picture (a "decompression bomb");
- nothing but padding may follow the image's end: PNG's ``IEND`` chunk, JPEG's end-of-image
  marker, GIF's trailer, the length a WebP's RIFF header gives (TIFF has no end to find);
- no web-page or script tag inside (:mod:`engine.uploads.payloads`), such as in a text chunk.
"""

from __future__ import annotations

import io
import struct
from collections.abc import Callable

from PIL import Image

from engine.uploads.payloads import hidden_markup
from engine.uploads.policy import KINDS, BadContent, is_windows_program

MAX_PIXELS = 50_000_000  # a 600 dpi A4 scan is 35 million; Pillow warns past 89 million
_PILLOW_FORMATS = {"png": "PNG", "jpeg": "JPEG", "gif": "GIF", "webp": "WEBP", "tiff": "TIFF"}
_PADDING = b"\x00\t\n\r "


def check_image(kind: str, data: bytes) -> None:
    """Refuse an image that does not decode as ``kind``, or hides something inside or after.

    Raises:
        BadContent: the reason, worded for the person who uploaded it.
    """
    label = KINDS[kind].label
    again = f"Open it and save it again as {label} (or take a screenshot), and upload that."
    end = _ENDS[kind](data) if kind in _ENDS else None
    if end is not None and data[end:].strip(_PADDING):
        extra = data[end:].lstrip(_PADDING)
        what = "a program" if is_windows_program(extra) or extra.startswith(b"\x7fELF") else ""
        what = what or ("a web page or script" if hidden_markup(extra) else "other data")
        raise BadContent(
            f"has {what} hidden after the end of the image ({len(extra)} bytes). {again}"
        )
    markup = hidden_markup(data)
    if markup is not None:
        raise BadContent(f"has a web page or script hidden inside it ({markup}). {again}")
    _decode(kind, data, label, again)


def _decode(kind: str, data: bytes, label: str, again: str) -> None:
    # MAX_PIXELS is under Pillow's own limit, so its warning (an error where warnings are
    # errors) only comes for images refused here anyway; warnings.catch_warnings() would
    # change the filters of every thread
    try:
        with Image.open(io.BytesIO(data), formats=[_PILLOW_FORMATS[kind]]) as image:
            width, height = image.size
            if width * height > MAX_PIXELS:
                raise _too_many_pixels(f"{width} × {height} pixels")
            image.verify()
        with Image.open(io.BytesIO(data), formats=[_PILLOW_FORMATS[kind]]) as image:
            image.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _too_many_pixels("larger") from None
    except (
        OSError,  # UnidentifiedImageError, truncated or broken data
        SyntaxError,  # Pillow's word for a broken PNG or GIF
        ValueError,
        EOFError,
        IndexError,
        struct.error,
    ):
        raise BadContent(
            f"is not a genuine {label.split(' ', 1)[1]}: it cannot be read as one, perhaps "
            f"because it is damaged or is another kind of file. {again}"
        ) from None


def _too_many_pixels(size: str) -> BadContent:
    return BadContent(
        f"is {size}, more than the {MAX_PIXELS // 1_000_000} million pixels we accept (huge "
        "images are a way to make computers run out of memory). Make it smaller and upload "
        "it again."
    )


def _png_end(data: bytes) -> int | None:
    at = 8
    while at + 12 <= len(data):
        length: int = struct.unpack_from(">I", data, at)[0]
        kind = data[at + 4 : at + 8]
        at += 12 + length
        if kind == b"IEND":
            return at
    return None  # no IEND: damaged, as decoding will say


def _gif_end(data: bytes) -> int | None:
    def skip_blocks(at: int) -> int:
        while at < len(data) and data[at]:
            at += 1 + data[at]
        return at + 1

    if len(data) < 13:
        return None
    at = 13 + (3 << ((data[10] & 7) + 1) if data[10] & 0x80 else 0)
    while at < len(data):
        block = data[at]
        if block == 0x3B:  # trailer
            return at + 1
        if block == 0x21:  # extension: label, then sub-blocks
            at = skip_blocks(at + 2)
        elif block == 0x2C and at + 10 <= len(data):  # image: descriptor, table, LZW size
            flags = data[at + 9]
            at += 10 + (3 << ((flags & 7) + 1) if flags & 0x80 else 0)
            at = skip_blocks(at + 1)
        else:
            return None
    return None


def _jpeg_end(data: bytes) -> int | None:
    at = 2
    while at + 1 < len(data):
        if data[at] != 0xFF:
            return None
        while at + 1 < len(data) and data[at + 1] == 0xFF:  # fill bytes
            at += 1
        marker = data[at + 1] if at + 1 < len(data) else None
        if marker is None:
            return None
        if marker == 0xD9:  # end of image
            return at + 2
        if marker == 0x01 or 0xD0 <= marker <= 0xD7:
            at += 2
            continue
        if at + 4 > len(data):
            return None
        length = struct.unpack_from(">H", data, at + 2)[0]
        at += 2 + length
        if marker == 0xDA:  # start of scan: entropy-coded data runs to the next real marker
            while True:
                at = data.find(b"\xff", at)
                if at < 0 or at + 1 >= len(data):
                    return None
                following = data[at + 1]
                if following == 0 or 0xD0 <= following <= 0xD7 or following == 0xFF:
                    at += 1 if following == 0xFF else 2
                    continue
                break
    return None


def _webp_end(data: bytes) -> int | None:
    size: int = struct.unpack_from("<I", data, 4)[0]
    return 8 + size + (size & 1)


_ENDS: dict[str, Callable[[bytes], int | None]] = {
    "png": _png_end,
    "gif": _gif_end,
    "jpeg": _jpeg_end,
    "webp": _webp_end,
}
