"""What checking a large ordinary PDF costs: ``engine.uploads.check_file`` on a 3,000-page,
20 MB PDF with an image a page, written with object streams as modern writers do.

Prints the median of several rounds for the whole check and for each of its passes (the
token scan with object streams inflated, and the qpdf walk), with the time to read the
same bytes once with SHA-256 as the machine's yardstick. Target: the whole check at most
2 s, and at most 60 times the SHA-256 pass.

    .venv/bin/python bench/uploads.py [--rounds N] [--pages N]
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import statistics
import time
from collections.abc import Callable

import pikepdf

from engine.uploads import check_file
from engine.uploads import pdf as pdf_check


def large_pdf(pages: int) -> bytes:
    doc = pikepdf.new()
    font = doc.make_indirect(
        pikepdf.Dictionary(
            Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type1, BaseFont=pikepdf.Name.Helvetica
        )
    )
    for number in range(pages):
        lines = b" ".join(
            b"(Line %d of page %d: the agency trained all staff.) Tj 0 -12 Td" % (line, number)
            for line in range(50)
        )
        image = doc.make_stream(os.urandom(6000))
        image.Type, image.Subtype = pikepdf.Name.XObject, pikepdf.Name.Image
        image.Width, image.Height, image.BitsPerComponent = 60, 100, 8
        image.ColorSpace = pikepdf.Name.DeviceGray
        content = b"BT /F1 10 Tf 50 700 Td " + lines + b" ET q 60 0 0 100 0 0 cm /Im0 Do Q"
        page = pikepdf.Page(
            pikepdf.Dictionary(
                Type=pikepdf.Name.Page,
                MediaBox=[0, 0, 612, 792],
                Resources=pikepdf.Dictionary(
                    Font=pikepdf.Dictionary(F1=font), XObject=pikepdf.Dictionary(Im0=image)
                ),
                Contents=doc.make_stream(content),
            )
        )
        doc.pages.append(page)
    out = io.BytesIO()
    doc.save(out, object_stream_mode=pikepdf.ObjectStreamMode.generate, compress_streams=True)
    return out.getvalue()


def median(rounds: int, work: Callable[[], object]) -> float:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--pages", type=int, default=3000)
    args = parser.parse_args()
    data = large_pdf(args.pages)
    whole = median(args.rounds, lambda: check_file("large.pdf", data))
    scan = median(args.rounds, lambda: pdf_check._scan(data))  # one pass alone
    walk = median(args.rounds, lambda: pdf_check._walk(data))
    sha = median(args.rounds, lambda: hashlib.sha256(data).digest())
    print(f"PDF: {args.pages} pages, {len(data) / 2**20:.1f} MB")
    print(f"check_file: {whole:.3f} s ({len(data) / 2**20 / whole:.0f} MB/s)")
    print(f"  token scan and object streams: {scan:.3f} s; qpdf walk: {walk:.3f} s")
    print(f"SHA-256 of the same bytes: {sha:.4f} s; ratio {whole / sha:.0f}x")
    ok = whole <= 2 and whole / sha <= 60
    print("within target" if ok else "OVER TARGET (2 s, 60x SHA-256)")


if __name__ == "__main__":
    main()
