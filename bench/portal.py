"""Benchmark: the agency reply page against a bare endpoint on the same server.

Not a test: it prints figures with the target beside them. Run it as a script,
``.venv/bin/python bench/portal.py`` (``--requests N``, ``--rounds N``, ``--clients N``).

A SQLite file database gets the shipped workflows and the Southend plan and contacts
(``import_files``), and R1 is taken through evidence, a challenge and a new request, so
the page shows a challenge and an earlier submission. One uvicorn server, in a child
process (so the clients do not share its GIL), serves ``web.create_app`` plus a bare
``/bench/bare`` endpoint added to this instance only. 50 concurrent clients
(asyncio + one keep-alive ``httpx.AsyncClient``) fetch ``GET /reply/{public_id}`` with the
reply cookie set (the full page: cookie, token lookup, challenges, submissions, CSRF
token, GOV.UK template) and the bare endpoint, the same number of requests each, in
alternating order, for several rounds. Target: p99(page) <= 3 x p99(bare).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import common
import httpx
from common import ROOT

from engine import requests as evidence_requests
from engine.evidence import EvidenceInput
from engine.fire import FireRequest, fire
from engine.services import Services
from engine.store.db import Database

NOW = dt.datetime(2011, 1, 10, 9, 0, tzinfo=dt.UTC)
BM = "business.manager@southend-lscb.example.org"
PANEL = "panel.member@southend-lscb.example.org"
R1 = "southend-iawg-scr-audit-2010/R1"
SECRET = "bench-secret-key-0123456789abcdef0123456789"
TARGET = 3.0


def build(dirpath: Path) -> tuple[str, str]:
    """The demo database with one live request on R1; (public_id, token)."""
    db = Database(f"sqlite:///{dirpath / 'signoff.db'}")
    services = Services(db=db, data_dir=dirpath / "data")
    common.migrate_and_publish(db, NOW, sorted(common.WORKFLOWS.glob("*.yaml")))
    with db.write() as conn:
        common.import_examples(conn, NOW, specs=services.specs)
    step = dt.timedelta(hours=1)
    why = "No minutes attached.\nPlease send the minutes of the meeting that agreed it."
    # the agency answers, the panel challenges: the page then shows a challenge to answer
    for n, (trigger, actor, given) in enumerate(
        [
            ("submit_evidence", BM, {"evidence": [EvidenceInput(statement="ToR revised")]}),
            ("challenge", PANEL, {"reason": why, "meeting_date": NOW.date()}),
        ]
    ):
        fire(
            services,
            FireRequest(item=R1, trigger=trigger, actor=actor, now=NOW + n * step, **given),
        )
    issued = evidence_requests.issue(services, R1, actor=BM, now=NOW + 2 * step)
    token = evidence_requests.mint_token(services, issued.public_id, None, NOW + 2 * step)
    db.dispose()
    if token is None:
        raise SystemExit("could not mint a link token")
    return issued.public_id, token


def serve(dirpath: Path, port: int) -> None:
    """The child process: the app plus the bare endpoint, on loopback, until killed."""
    from fastapi.responses import HTMLResponse

    from app.settings import load_settings
    from web import build_server, create_app

    db = Database(f"sqlite:///{dirpath / 'signoff.db'}")
    services = Services(db=db, data_dir=dirpath / "data")
    settings = load_settings(
        data_dir=dirpath / "data", secret_key=SECRET, base_url=f"http://127.0.0.1:{port}"
    ).web()
    clock_now = NOW + dt.timedelta(hours=3)
    app = create_app(
        services,
        settings,
        clock=lambda: clock_now,
        failure_limit="1000000/minute",
        post_limit="1000000/minute",
    )

    async def bare() -> HTMLResponse:
        return HTMLResponse("<!doctype html><title>bare</title><p>ok</p>")

    app.add_api_route("/bench/bare", bare, methods=["GET"])
    build_server(app, "127.0.0.1", port).run()


async def load(
    client: httpx.AsyncClient, url: str, cookies: dict[str, str], total: int, clients: int
) -> tuple[list[float], float]:
    """``total`` GETs of ``url`` from ``clients`` concurrent workers; (latencies, seconds)."""
    latencies: list[float] = []
    remaining = total
    headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())} if cookies else {}

    async def worker() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            started = time.perf_counter()
            response = await client.get(url, headers=headers)
            latencies.append(time.perf_counter() - started)
            if response.status_code != 200:
                raise SystemExit(f"{url}: {response.status_code}")

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(clients)))
    return latencies, time.perf_counter() - started


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def measure(base: str, public_id: str, token: str, args: argparse.Namespace) -> None:
    page_url, bare_url = f"{base}/reply/{public_id}", f"{base}/bench/bare"
    cookie = {"signoff_reply": token}
    limits = httpx.Limits(max_connections=args.clients, max_keepalive_connections=args.clients)
    ratios: list[float] = []
    async with httpx.AsyncClient(limits=limits, timeout=60) as client:
        # warm up: templates compiled, connections open, SQLite pages cached
        await load(client, page_url, cookie, 200, args.clients)
        await load(client, bare_url, {}, 200, args.clients)
        print(f"{'round':>5} {'what':>5} {'p50 ms':>8} {'p99 ms':>8} {'req/s':>8}")
        for n in range(1, args.rounds + 1):
            order = [("page", page_url, cookie), ("bare", bare_url, {})]
            if n % 2 == 0:
                order.reverse()
            p99: dict[str, float] = {}
            for what, url, cookies in order:
                lat, secs = await load(client, url, cookies, args.requests, args.clients)
                p99[what] = pct(lat, 0.99)
                print(
                    f"{n:>5} {what:>5} {pct(lat, 0.5) * 1000:>8.2f} "
                    f"{p99[what] * 1000:>8.2f} {len(lat) / secs:>8.0f}"
                )
            ratios.append(p99["page"] / p99["bare"])
            print(f"{n:>5} ratio p99(page)/p99(bare) = {ratios[-1]:.2f}")
    median = statistics.median(ratios)
    verdict = "meets" if median <= TARGET else "MISSES"
    print(
        f"\np99(page)/p99(bare): median {median:.2f}, spread {min(ratios):.2f}-{max(ratios):.2f} "
        f"over {len(ratios)} rounds; target <= {TARGET:.0f}: {verdict}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=3000, help="per target per round")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--serve", nargs=2, metavar=("DIR", "PORT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(Path(args.serve[0]), int(args.serve[1]))
        return
    print(f"portal benchmark: {platform.python_version()}, {os.cpu_count()} CPUs, SQLite file")
    with tempfile.TemporaryDirectory() as tmp:
        public_id, token = build(Path(tmp))
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        child = subprocess.Popen([sys.executable, __file__, "--serve", tmp, str(port)], cwd=ROOT)
        try:
            base = f"http://127.0.0.1:{port}"
            _wait(base, child)
            asyncio.run(measure(base, public_id, token, args))
        finally:
            child.terminate()
            child.wait(timeout=10)


def _wait(base: str, child: subprocess.Popen[bytes]) -> None:
    for _ in range(300):
        if child.poll() is not None:
            raise SystemExit("the server exited before it was ready")
        try:
            httpx.get(f"{base}/bench/bare", timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.05)
    raise SystemExit("the server did not start")


if __name__ == "__main__":
    main()
