"""Benchmark: the dispatcher's messages per second against raw aiosmtplib, same connections.

Not a test: it prints figures with their targets beside them. Run it as a script,
``.venv/bin/python bench/dispatch.py`` (``--quick`` for a short run, ``--rounds N``,
``--messages N``, ``--connections 1 8``).

The mail server is a local aiosmtpd sink: a ``Controller`` on a free loopback port whose
DATA handler only counts the message and answers "250 OK". It runs in a child process, so
the server's own work does not compete for this process's GIL; the count lets every run
check that each message arrived.

The dispatcher side fills the outbox of a SQLite database (a WAL file in a temporary
directory, prepared as the engine prepares one: migrations, the published workflow, the
Southend plan and contacts) with N pending ``decision`` rows for the imported items, with
the context ``engine.fire._enqueue`` writes, then times
``dispatch_async(services, settings, Templates(), now, owner="bench", batch=N,
connections=C)``: claim, compose, send over C connections, settle (outbox rows and one
history event per message).

The raw side sends the same bytes (the same senders, recipients and messages, built once
with the dispatcher's own ``Composer`` from the same rows, outside the timing) with
``aiosmtplib.SMTP`` over the same number of connections: connect, ``sendmail`` each message
of its share in turn, ``quit``.

A third run per round times the dispatcher's phases one by one (``claim``, ``Composer``
``.prepare``, ``send``, then the outcomes and ``settle``), and one more run at the end
times what is inside compose and settle (SQL, templates, MIME, event hashes).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import gc
import multiprocessing
import os
import platform
import random
import socket
import statistics
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import aiosmtpd
import aiosmtplib
import common
import sqlalchemy as sa

from app.settings import load_settings
from engine import hashchain, history
from engine import outbox as outbox_module
from engine.hashchain import verify
from engine.outbox import Outcome, Result, claim, settle
from engine.services import Services
from engine.store.db import Database
from engine.store.tables import Contact, Item, Outbox, Recommendation
from notifications.compose import Composer
from notifications.dispatcher import LEASE, dispatch_async, send
from notifications.settings import MailSettings
from notifications.templates import Templates

IMPORTED_AT = dt.datetime(2011, 1, 10, 9, 0, tzinfo=dt.UTC)
NOW = dt.datetime(2011, 1, 10, 10, 0, tzinfo=dt.UTC)
AGENCY = "southend-lscb"
OWNER = "bench"
TARGET = 0.80  # the dispatcher's msgs/s at least 80% of raw aiosmtplib's

_outbox = Outbox.__table__  # type: ignore[attr-defined]
_item = Item.__table__  # type: ignore[attr-defined]
_rec = Recommendation.__table__  # type: ignore[attr-defined]
_contact = Contact.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Sizes:
    rounds: int
    messages: int
    connections: tuple[int, ...]


FULL = Sizes(rounds=5, messages=2_000, connections=(1, 8))
QUICK = Sizes(rounds=3, messages=500, connections=(1, 8))


# --- the sink ----------------------------------------------------------------------------


class CountingSink:
    """An aiosmtpd handler that accepts every message and only counts it."""

    def __init__(self, count: Any) -> None:
        self.count = count

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        with self.count.get_lock():
            self.count.value += 1
        return "250 OK"


def _serve(port: int, count: Any, ready: Any, stop: Any) -> None:
    from aiosmtpd.controller import Controller

    controller = Controller(CountingSink(count), hostname="127.0.0.1", port=port)
    controller.start()
    ready.set()
    stop.wait()
    controller.stop()


class Sink:
    """The sink in a child process (forked before this process starts any thread)."""

    def __init__(self) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = int(s.getsockname()[1])
        context = multiprocessing.get_context("fork")
        self.count = context.Value("q", 0)
        self.ready, self.stop = context.Event(), context.Event()
        self.process = context.Process(
            target=_serve, args=(self.port, self.count, self.ready, self.stop), daemon=True
        )

    def __enter__(self) -> Sink:
        self.process.start()
        if not self.ready.wait(30):
            raise RuntimeError("the SMTP sink did not start")
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.process.join(10)

    @property
    def received(self) -> int:
        with self.count.get_lock():
            return int(self.count.value)


# --- the database ------------------------------------------------------------------------


@dataclass
class Bench:
    services: Services
    settings: MailSettings
    templates: Templates
    sink: Sink
    rows: list[dict[str, Any]]  # the outbox rows every run starts from
    messages: list[tuple[str, str, bytes]] = field(default_factory=list)  # the raw side's

    def fill(self) -> None:
        """Outside the timing: an outbox holding only the N pending rows."""
        with self.services.db.write() as conn:
            conn.execute(_outbox.delete())
            conn.execute(_outbox.insert(), self.rows)

    def all_sent(self) -> bool:
        with self.services.db.engine.connect() as conn:
            statuses = conn.execute(
                sa.select(_outbox.c.status, sa.func.count()).group_by(_outbox.c.status)
            ).all()
        return dict(statuses) == {"sent": len(self.rows)}


def prepare(tmp: Path, sink: Sink, n: int) -> Bench:
    """Migrate, publish, import the examples; build N decision rows for the imported items."""
    db = Database(f"sqlite:///{tmp / 'dispatch.db'}")
    common.migrate_and_publish(db, IMPORTED_AT)
    with db.write() as conn:
        common.import_examples(conn, IMPORTED_AT)
    with db.engine.connect() as conn:
        items = conn.execute(
            sa.select(_item.c.id, _rec.c.review_id, _rec.c.ref)
            .join(_rec, _rec.c.id == _item.c.recommendation_id)
            .order_by(_item.c.id)
        ).all()
        people = list(
            conn.execute(
                sa.select(_contact.c.email).where(_contact.c.agency_id == AGENCY).order_by("id")
            ).scalars()
        )
    rows = []
    for j in range(n):
        item = items[j % len(items)]
        email = people[j % len(people)]
        seq = 2 + j  # as if each decision were its item's event; only the keys need be unique
        rows.append(
            {
                "dedupe_key": f"event:{item.id}:{seq}:decision:{email}",
                "item_id": item.id,
                "kind": "decision",
                "template": "decision",
                "recipient": email,
                "context": {
                    "key": f"{item.review_id}/{item.ref}",
                    "trigger": "submit_evidence",
                    "from_state": "open",
                    "to_state": "evidence_submitted",
                    "seq": seq,
                },
                "status": "pending",
                "attempts": 0,
                "next_attempt_at": NOW,
                "created_at": NOW,
            }
        )
    settings = load_settings(
        secret_key="bench-dispatch-secret-key-0123456789",  # signs Message-IDs and bounce addresses
        smtp_host="127.0.0.1",
        smtp_port=sink.port,
        smtp_timeout=30,
        mail_from="Southend LSCB <lscb@southend-lscb.example.org>",
        base_url="https://signoff.example.org",
    ).mail()
    bench = Bench(Services(db=db, data_dir=tmp / "data"), settings, Templates(), sink, rows)
    # the raw side's messages: the bytes the dispatcher would send, built once, untimed
    bench.fill()
    claimed = claim(bench.services.db, NOW, OWNER, n, LEASE)
    prepared, failed = Composer(bench.services, settings, bench.templates).prepare(claimed, NOW)
    if failed or len(prepared) != n:
        raise AssertionError(f"composing the example rows failed: {failed[:3]}")
    bench.messages = [(p.sender, p.recipient, p.message) for p in prepared]
    return bench


# --- the sides ---------------------------------------------------------------------------


async def raw_send(
    settings: MailSettings, messages: Sequence[tuple[str, str, bytes]], c: int
) -> None:
    """The same bytes over ``c`` aiosmtplib connections, each sending its share in turn."""

    async def share(part: Sequence[tuple[str, str, bytes]]) -> None:
        client = aiosmtplib.SMTP(
            hostname=settings.smtp_host,
            port=settings.smtp_port,
            timeout=settings.smtp_timeout,
            use_tls=False,
            start_tls=False,  # as the dispatcher's client, with SIGNOFF_SMTP_TLS=none
        )
        await client.connect()
        for sender, recipient, message in part:
            await client.sendmail(sender, [recipient], message)
        await client.quit()

    await asyncio.gather(*(share(messages[i::c]) for i in range(c)))


def timed(run: Callable[[], Any]) -> float:
    """Seconds ``asyncio.run(run())`` spends inside the coroutine, from a collected heap."""

    async def inner() -> float:
        start = time.perf_counter()
        await run()
        return time.perf_counter() - start

    gc.collect()
    return asyncio.run(inner())


def run_dispatcher(bench: Bench, c: int) -> float:
    bench.fill()
    before = bench.sink.received
    report: list[Any] = []

    async def go() -> None:
        report.append(
            await dispatch_async(
                bench.services,
                bench.settings,
                bench.templates,
                NOW,
                owner=OWNER,
                batch=len(bench.rows),
                connections=c,
                rng=random.Random(1),
            )
        )

    took = timed(go)
    n = len(bench.rows)
    if report[0].sent != n or bench.sink.received - before != n or not bench.all_sent():
        raise AssertionError(f"the dispatcher did not send everything: {report[0]}")
    return took


def run_raw(bench: Bench, c: int) -> float:
    before = bench.sink.received
    took = timed(lambda: raw_send(bench.settings, bench.messages, c))
    if bench.sink.received - before != len(bench.messages):
        raise AssertionError("the raw side did not send everything")
    return took


PHASES = ("claim", "compose", "send", "settle")


def run_phases(bench: Bench, c: int) -> dict[str, float]:
    """The dispatcher's steps, as ``dispatch_async`` takes them, timed one by one."""
    bench.fill()
    before = bench.sink.received
    took: dict[str, float] = {}
    n = len(bench.rows)

    async def go() -> None:
        clock = time.perf_counter
        start = clock()
        rows = claim(bench.services.db, NOW, OWNER, n, LEASE)
        took["claim"] = clock() - start
        start = clock()
        composer = Composer(bench.services, bench.settings, bench.templates)
        prepared, outcomes = composer.prepare(rows, NOW)
        took["compose"] = clock() - start
        start = clock()
        errors = await send(bench.settings, prepared, c)
        took["send"] = clock() - start
        start = clock()
        if errors:
            raise AssertionError(f"{len(errors)} messages failed")
        for p in prepared:  # all sent: dispatch_async's outcome for a message that went
            outcomes.extend(
                Outcome(
                    row_id=row_id,
                    result=Result.SENT,
                    message_id=p.message_id,
                    template_version=p.template_version,
                )
                for row_id in p.row_ids
            )
        settle(bench.services.db, rows, outcomes, OWNER, NOW)
        took["settle"] = clock() - start

    gc.collect()
    asyncio.run(go())
    if bench.sink.received - before != n or not bench.all_sent():
        raise AssertionError("the phased dispatch did not send everything")
    return took


# --- inside compose and settle -----------------------------------------------------------


class Exclusive:
    """Self time of patched callables: a nested patched call is taken out of its caller's."""

    def __init__(self) -> None:
        self.took: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)
        self.stack: list[float] = []  # time spent in nested patched calls, per open frame

    def wrap(self, label: str, fn: Any) -> Any:
        def timed_call(*args: Any, **kwargs: Any) -> Any:
            self.stack.append(0.0)
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                elapsed = time.perf_counter() - start
                nested = self.stack.pop()
                self.took[label] += elapsed - nested
                self.calls[label] += 1
                if self.stack:
                    self.stack[-1] += elapsed

        return timed_call

    @contextmanager
    def patched(self, targets: Sequence[tuple[Any, str, str]]) -> Iterator[None]:
        saved = []
        for owner, name, label in targets:
            original = vars(owner)[name]
            saved.append((owner, name, original))
            setattr(owner, name, self.wrap(label, original))
        try:
            yield
        finally:
            for owner, name, original in reversed(saved):
                setattr(owner, name, original)


def inside(bench: Bench, c: int) -> None:
    """One more phased run with the calls inside compose and settle timed."""
    sql = "claim, compose, settle: SQL statements (Connection.execute: SQLAlchemy + sqlite3)"
    targets = [
        (sa.engine.Connection, "execute", sql),
        (Composer, "_facts", "compose: Composer._facts (its Python; SQL counted above)"),
        (Templates, "render", "compose: Templates.render (Jinja text + HTML)"),
        (Composer, "_message", "compose: Composer._message (MIME headers, parts, as_bytes)"),
        (history, "append_many", "settle: history.append_many (its Python; SQL above)"),
        (hashchain, "event_hash", "settle: event hash (engine.hashchain.event_hash)"),
        (outbox_module, "_record_retrying", "settle: _record_retrying (savepoint handling)"),
    ]
    probe = Exclusive()
    with probe.patched([t for t in targets if t[1] in vars(t[0])]):
        took = run_phases(bench, c)
    n = len(bench.rows)
    total = sum(took.values())
    print(
        f"\n  inside compose and settle, {c} connection(s), instrumented once: "
        + ", ".join(f"{p} {took[p] * 1e3:,.0f} ms" for p in PHASES)
        + f" ({total * 1e3:,.0f} ms in all); self time of each call, per message:"
    )
    rest = total - took["send"] - sum(probe.took.values())
    rows = sorted(probe.took.items(), key=lambda kv: -kv[1])
    rows.append(("the rest of claim, compose and settle (contexts, outcomes, loops)", rest))
    for name, secs in rows:
        calls = f"{probe.calls[name] / n:5.1f}×" if name in probe.calls else " " * 6
        print(f"    {secs / n * 1e6:7.1f} µs {secs / total:6.1%} {calls}  {name}")
    print(f"    {took['send'] / n * 1e6:7.1f} µs {took['send'] / total:6.1%}         send")


# --- reporting ---------------------------------------------------------------------------


def spread(values: list[float], digits: int = 0, pct: bool = False) -> str:
    scale, unit = (100, "%") if pct else (1, "")
    med, lo, hi = (v * scale for v in (statistics.median(values), min(values), max(values)))
    return f"{med:,.{digits}f}{unit} ({lo:,.{digits}f}–{hi:,.{digits}f}{unit})"


def measure(bench: Bench, sizes: Sizes, c: int) -> list[str]:
    n = len(bench.rows)
    run_dispatcher(bench, c)  # warm-up: statements compiled, templates and pages cached
    run_raw(bench, c)
    dispatcher, raw, ratios = [], [], []
    phases: dict[str, list[float]] = defaultdict(list)
    print(f"\n{c} connection(s), {n:,} messages per run")
    for r in range(sizes.rounds):
        sides = [("dispatcher", run_dispatcher), ("raw", run_raw)]
        took = {name: run(bench, c) for name, run in sides[:: 1 if r % 2 == 0 else -1]}
        dispatcher.append(n / took["dispatcher"])
        raw.append(n / took["raw"])
        ratios.append(dispatcher[-1] / raw[-1])
        step = run_phases(bench, c)
        for p in PHASES:
            phases[p].append(step[p])
        print(
            f"  round {r + 1}: dispatcher {dispatcher[-1]:7,.0f} msg/s ({took['dispatcher']:.2f} s)"
            f"   raw {raw[-1]:7,.0f} msg/s ({took['raw']:.2f} s)   {ratios[-1]:5.1%} of raw"
            "   phases: " + ", ".join(f"{p} {step[p] * 1e3:,.0f} ms" for p in PHASES)
        )
    ratio = statistics.median(ratios)
    verdict = "meets" if ratio >= TARGET else "MISSES"
    print(
        f"  median: dispatcher {spread(dispatcher)} msg/s, raw {spread(raw)} msg/s; dispatcher "
        f"{spread(ratios, 1, pct=True)} of raw; target ≥ {TARGET:.0%}: {verdict}"
    )
    total = sum(statistics.median(phases[p]) for p in PHASES)
    print(f"  phases, median of {sizes.rounds} (the time per run, per message, share):")
    for p in PHASES:
        med = statistics.median(phases[p])
        print(
            f"    {p:<8} {spread([v * 1e3 for v in phases[p]])} ms  {med / n * 1e6:7.1f} µs/msg "
            f"{med / total:6.1%}"
        )
    send_med = statistics.median(phases["send"])
    send_rate = n / send_med
    print(
        f"    send alone runs at {send_rate:,.0f} msg/s, {send_rate / statistics.median(raw):.0%} "
        f"of raw; claim + compose + settle add {(total - send_med) / n * 1e6:,.0f} µs per message"
    )
    inside(bench, c)
    return [
        f"{c} connection(s): dispatcher {statistics.median(dispatcher):,.0f} msg/s, raw "
        f"{statistics.median(raw):,.0f} msg/s: {ratio:.1%} of raw (target ≥ {TARGET:.0%}: "
        f"{verdict})"
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="500 messages, 3 rounds")
    parser.add_argument("--rounds", type=int, help="rounds per measurement (default 5; 3 quick)")
    parser.add_argument("--messages", type=int, help="messages per run (default 2000; 500 quick)")
    parser.add_argument("--connections", type=int, nargs="+", help="default: 1 8")
    args = parser.parse_args()
    sizes = QUICK if args.quick else FULL
    if args.rounds:
        sizes = replace(sizes, rounds=args.rounds)
    if args.messages:
        sizes = replace(sizes, messages=args.messages)
    if args.connections:
        sizes = replace(sizes, connections=tuple(args.connections))
    with Sink() as sink, tempfile.TemporaryDirectory(prefix="signoff-bench-dispatch-") as tmp:
        print(
            f"signoff dispatch benchmark: Python {platform.python_version()}, aiosmtplib "
            f"{aiosmtplib.__version__}, aiosmtpd {aiosmtpd.__version__}, SQLAlchemy "
            f"{sa.__version__}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}; "
            f"{'quick' if args.quick else 'full'} run, {sizes.rounds} rounds (a shared "
            "machine: read the median and the spread)\n"
            f"sink: aiosmtpd Controller on 127.0.0.1:{sink.port} in child process "
            f"{sink.process.pid}, answering 250 OK to every DATA"
        )
        bench = prepare(Path(tmp), sink, sizes.messages)
        sizes_of = sorted({len(m) for _, _, m in bench.messages})
        print(
            f"outbox: {sizes.messages:,} pending 'decision' rows for the "
            f"{len({r['item_id'] for r in bench.rows})} imported items, to "
            f"{len({r['recipient'] for r in bench.rows})} southend-lscb contacts; messages "
            f"{sizes_of[0]:,}–{sizes_of[-1]:,} bytes (multipart text + HTML, quoted-printable)\n"
            "raw side: the same senders, recipients and bytes, built once with the "
            "dispatcher's Composer outside the timing, sent with aiosmtplib.SMTP"
        )
        summary = [line for c in sizes.connections for line in measure(bench, sizes, c)]
        with bench.services.db.engine.connect() as conn:
            chains = verify(conn)
        bench.services.db.dispose()
        print(
            f"\ncheck: the sink received {sink.received:,} messages; "
            f"{chains.events:,} history events on {chains.items} items, hash chains "
            + ("verify" if chains.ok else f"BROKEN: {chains.broken}")
        )
    print("\nSummary (median of rounds)\n  " + "\n  ".join(summary))


if __name__ == "__main__":
    main()
