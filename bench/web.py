"""Benchmark: the item list (1,000 items, filtered) and the panel queue under 20 signed-in
sessions, against a bare endpoint on the same server in the same run.

Not a test: it prints figures with the target beside them. Run it as a script,
``.venv/bin/python bench/web.py`` (``--requests N``, ``--rounds N``, ``--clients N``).

A SQLite file database gets the shipped workflows, the Southend plan and contacts, and
1,000 more items spread over the agencies with due dates around "now" (the importer's and
the engine's own item creation). 20 sessions are started the one way in
(``engine.sessions.start_session``) for panel members and the business manager; each client
sends its own session cookie. One uvicorn server in a child process serves
``web.create_app`` plus a bare ``/bench/bare``. Targets measured, each against the bare
endpoint, alternating order, several rounds:

- ``/items?overdue=true&sort=due`` (the filtered list page); if this build has no ``/items``
  page yet, ``/api/v1/items`` with the same filter (the same filter model,
  ``engine.listing``) with a bearer token, and it says so;
- ``/panel`` (the panel queue); if this build has no ``/panel`` page yet, it says so.

Target: p99(page) <= 3 x p99(bare).
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

from engine import api_tokens, sessions
from engine.items import create_item
from engine.services import Services
from engine.store.db import Database
from engine.store.tables import Recommendation
from engine.versions import require_latest

NOW = dt.datetime(2011, 1, 10, 9, 0, tzinfo=dt.UTC)
BM = "business.manager@southend-lscb.example.org"
PANEL = ("panel.member@southend-lscb.example.org", "panel.chair@southend-lscb.example.org")
REVIEW = "southend-iawg-scr-audit-2010"
AGENCIES = ("southend-lscb", "sept", "nhs-south-east-essex", "southend-university-hospital-ft")
SECRET = "bench-secret-key-0123456789abcdef0123456789"
TARGET = 3.0
ITEMS = 1000
FILTER = "overdue=true&sort=due"
# Run as a script, bench/ comes first on sys.path and this file would shadow the web package
# (imported when serving); ``common`` is imported already.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]


def build(dirpath: Path, sessions_wanted: int) -> tuple[list[str], str]:
    """The database with 1,000 extra items; (session ids, a business manager API token)."""
    db = Database(f"sqlite:///{dirpath / 'signoff.db'}")
    services = Services(db=db, data_dir=dirpath / "data")
    common.migrate_and_publish(db, NOW, sorted(common.WORKFLOWS.glob("*.yaml")))
    with db.write() as conn:
        common.import_examples(conn, NOW, specs=services.specs)
        version_id = require_latest(conn, "recommendation")
        spec = services.specs.get(conn, version_id)
        rec = Recommendation.__table__  # type: ignore[attr-defined]
        for n in range(ITEMS):
            due = NOW.date() + dt.timedelta(days=(n % 120) - 60)
            rec_id = conn.execute(
                rec.insert()
                .values(
                    review_id=REVIEW,
                    ref=f"B{n}",
                    text=f"Bench recommendation {n}: review the safeguarding training records",
                    due_dates=[due.isoformat()],
                    themes=["training"] if n % 3 else ["governance"],
                    priority="HML"[n % 3],
                    source={},
                )
                .returning(rec.c.id)
            ).scalar_one()
            create_item(
                conn,
                recommendation_id=rec_id,
                agency_id=AGENCIES[n % len(AGENCIES)],
                spec=spec,
                version_id=version_id,
                due=due,
                actor="system:bench",
                now=NOW,
                calendar=services.calendar,
            )
    people = [*PANEL, BM]
    ids = [
        sessions.start_session(services, people[n % len(people)], NOW, sessions.How.LINK)
        for n in range(sessions_wanted)
    ]
    secret, _ = api_tokens.create(
        services,
        name="bench",
        role="business_manager",
        agency=None,
        acts_for=None,
        created_by=BM,
        now=NOW,
    )
    db.dispose()
    return ids, secret


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
    clock_now = NOW + dt.timedelta(minutes=5)
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
    client: httpx.AsyncClient, url: str, headers: list[dict[str, str]], total: int
) -> tuple[list[float], float]:
    """``total`` GETs of ``url``, one concurrent worker per entry of ``headers`` (each its
    own session); (latencies, seconds)."""
    latencies: list[float] = []
    remaining = total

    async def worker(sent: dict[str, str]) -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            started = time.perf_counter()
            response = await client.get(url, headers=sent)
            latencies.append(time.perf_counter() - started)
            if response.status_code != 200:
                raise SystemExit(f"{url}: {response.status_code}")

    started = time.perf_counter()
    await asyncio.gather(*(worker(h) for h in headers))
    return latencies, time.perf_counter() - started


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def exists(client: httpx.AsyncClient, url: str, headers: dict[str, str]) -> bool:
    return (await client.get(url, headers=headers)).status_code == 200


async def measure(base: str, ids: list[str], secret: str, args: argparse.Namespace) -> None:
    cookies = [{"Cookie": f"signoff_session={i}"} for i in ids]
    bearer = [{"Authorization": f"Bearer {secret}"}] * len(ids)
    bare = [{}] * len(ids)
    limits = httpx.Limits(max_connections=args.clients, max_keepalive_connections=args.clients)
    async with httpx.AsyncClient(limits=limits, timeout=60) as client:
        targets: list[tuple[str, str, list[dict[str, str]]]] = []
        if await exists(client, f"{base}/items?{FILTER}", cookies[0]):
            targets.append(("item list page", f"{base}/items?{FILTER}", cookies))
        else:
            print("no /items page in this build: measuring /api/v1/items with the same filter")
            targets.append(("item list (API)", f"{base}/api/v1/items?{FILTER}", bearer))
        if await exists(client, f"{base}/panel", cookies[0]):
            targets.append(("panel queue", f"{base}/panel", cookies))
        else:
            print("no /panel page in this build: the panel queue is not measured")
        verdicts = []
        for name, url, headers in targets:
            await load(client, url, headers, 100)  # warm up
            await load(client, f"{base}/bench/bare", bare, 100)
            print(f"\n{name}: GET {url.removeprefix(base)} under {len(ids)} sessions")
            print(f"{'round':>5} {'what':>5} {'p50 ms':>8} {'p99 ms':>8} {'req/s':>8}")
            ratios: list[float] = []
            for n in range(1, args.rounds + 1):
                order = [("page", url, headers), ("bare", f"{base}/bench/bare", bare)]
                if n % 2 == 0:
                    order.reverse()
                p99: dict[str, float] = {}
                for what, target, sent in order:
                    lat, secs = await load(client, target, sent, args.requests)
                    p99[what] = pct(lat, 0.99)
                    print(
                        f"{n:>5} {what:>5} {pct(lat, 0.5) * 1000:>8.2f} "
                        f"{p99[what] * 1000:>8.2f} {len(lat) / secs:>8.0f}"
                    )
                ratios.append(p99["page"] / p99["bare"])
                print(f"{n:>5} ratio p99(page)/p99(bare) = {ratios[-1]:.2f}")
            median = statistics.median(ratios)
            verdict = "meets" if median <= TARGET else "MISSES"
            verdicts.append(f"{name}: median {median:.2f}; target <= {TARGET:.0f}: {verdict}")
        print("\np99(page)/p99(bare): " + " | ".join(verdicts))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=1000, help="per target per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--clients", type=int, default=20, help="signed-in sessions")
    parser.add_argument("--serve", nargs=2, metavar=("DIR", "PORT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(Path(args.serve[0]), int(args.serve[1]))
        return
    print(f"web benchmark: {platform.python_version()}, {os.cpu_count()} CPUs, SQLite file")
    with tempfile.TemporaryDirectory() as tmp:
        ids, secret = build(Path(tmp), args.clients)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        child = subprocess.Popen([sys.executable, __file__, "--serve", tmp, str(port)], cwd=ROOT)
        try:
            base = f"http://127.0.0.1:{port}"
            _wait(base, child)
            asyncio.run(measure(base, ids, secret, args))
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
