"""Benchmark: the quoted-printable encoder of email bodies, against the hand-written one.

Not a test: it prints figures. Run it as a script, ``.venv/bin/python bench/quoted_printable.py``
(``--rounds N``, ``--number N``).

Issue 8 said ``binascii.b2a_qp`` measured as fast as the hand-written encoder that
``notifications/compose.py`` had (a ``str.encode`` error handler for non-ASCII runs, regexes
for control characters, trailing blanks and soft breaks). ``hand_written`` below is that
encoder, kept verbatim as the reference; ``notifications.mime.quoted_printable`` is what
ships. Both encode the same bodies: the text and HTML parts of every shipped template
rendered with its sample context (mostly ASCII, as real emails are), the same with
non-ASCII names and dashes put in, and a long digest. Each round times both on every body
(best of five runs of ``--number`` loops each, the two encoders taking turns); the ratio
shipped / hand-written is printed per round, with the median.
On these bodies both give the same bytes (checked first).
"""

from __future__ import annotations

import argparse
import codecs
import re
import statistics
import sys
import timeit
from collections.abc import Callable
from pathlib import Path

sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).parent]
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from notifications.mime import quoted_printable  # noqa: E402
from notifications.templates import KINDS, SAMPLE_CONTEXT, Templates  # noqa: E402

# --- the hand-written encoder, as it was in notifications/compose.py ------------------------

_QP_ESCAPE = {bytes([b]): b"=%02X" % b for b in range(256)}
_QP_HEX = tuple(f"={b:02X}" for b in range(256))
_QP_PLAIN = bytes(range(0x20, 0x7F)) + b"\t\n"
_QP_CONTROL = re.compile(b"[\x00-\x08\x0b-\x1f\x7f]")
_QP_TRAILING = re.compile(b"[\t ](?=\n|\\Z)")
_QP_PIECE = re.compile(b"[^\n]{73}(?:[^=]{2}|[^=](?==)|(?==))|[^\n]+")


def _escape(match: re.Match[bytes]) -> bytes:
    return _QP_ESCAPE[match[0]]


def _escape_non_ascii(exc: UnicodeError) -> tuple[str, int]:
    if not isinstance(exc, UnicodeEncodeError):
        raise exc
    chunk = exc.object[exc.start : exc.end].encode("utf-8")
    return "".join([_QP_HEX[b] for b in chunk]), exc.end


codecs.register_error("bench-quoted-printable", _escape_non_ascii)


def hand_written(text: str) -> bytes:
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    data = text.replace("=", "=3D").encode("ascii", "bench-quoted-printable")
    if data.translate(None, _QP_PLAIN):
        data = _QP_CONTROL.sub(_escape, data)
    if b" \n" in data or b"\t\n" in data or data.endswith((b" ", b"\t")):
        data = _QP_TRAILING.sub(_escape, data)
    lines = data.split(b"\n")
    if any(len(line) > 76 for line in lines):
        data = b"\n".join(
            [b"=\n".join(_QP_PIECE.findall(line)) if len(line) > 76 else line for line in lines]
        )
    return data.replace(b"\n", b"\r\n")


# --- the bodies ------------------------------------------------------------------------------


def bodies() -> dict[str, list[str]]:
    templates = Templates()
    ascii_bodies: list[str] = []
    accented: list[str] = []
    for kind in KINDS:
        context = dict(SAMPLE_CONTEXT[kind])
        rendered = templates.render(kind, context)
        ascii_bodies += [rendered.text, rendered.html]
        context.update(
            {k: f"Zoë Ångström — “{v}”" for k, v in context.items() if isinstance(v, str)}
        )
        rendered = templates.render(kind, context)
        accented += [rendered.text, rendered.html]
    digest = dict(SAMPLE_CONTEXT["digest"])
    items = list(digest["items"])  # type: ignore[call-overload]
    digest["items"] = (items * 40)[:120]
    long = templates.render("digest", digest)
    return {
        "shipped templates, sample contexts": ascii_bodies,
        "the same with non-ASCII names and dashes": accented,
        "a digest of 120 items": [long.text, long.html],
    }


def timed(fn: Callable[[str], bytes], texts: list[str], number: int) -> float:
    def run() -> None:
        for t in texts:
            fn(t)

    return timeit.timeit(run, number=number) / number


def best_of_pairs(texts: list[str], number: int, pairs: int = 5) -> tuple[float, float]:
    """The best time of each encoder over ``pairs`` runs taken in turn (noise hits both)."""
    shipped, hand = [], []
    for i in range(pairs):
        order = [(shipped, quoted_printable), (hand, hand_written)]
        for times, fn in order if i % 2 else reversed(order):
            times.append(timed(fn, texts, number))
    return min(shipped), min(hand)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--number", type=int, default=200)
    args = parser.parse_args()
    for name, texts in bodies().items():
        for t in texts:
            if quoted_printable(t) != hand_written(t):
                raise AssertionError(f"{name}: the encoders differ on {t[:60]!r}")
        size = sum(len(t) for t in texts) / len(texts)
        ratios = []
        for i in range(args.rounds):
            shipped, hand = best_of_pairs(texts, args.number)
            ratios.append(shipped / hand)
            print(
                f"  {name} ({len(texts)} bodies, {size:,.0f} chars on average), round {i + 1}: "
                f"shipped {shipped / len(texts) * 1e6:6.2f} µs, hand-written "
                f"{hand / len(texts) * 1e6:6.2f} µs a body, ratio {shipped / hand:.2f}"
            )
        print(
            f"{name}: shipped / hand-written, median {statistics.median(ratios):.2f} "
            f"(min {min(ratios):.2f}, max {max(ratios):.2f})"
        )


if __name__ == "__main__":
    main()
