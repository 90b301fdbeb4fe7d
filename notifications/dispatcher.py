"""The dispatcher: claims outbox rows, sends them with aiosmtplib, settles them.

Messages go over reused SMTP connections (``connections`` of them, each taking the next
message from one queue), with STARTTLS or SSL and login when configured. Claiming,
composing and settling overlap with sending (see ``_Dispatch``). ``classify`` alone
decides what is retried: 4xx replies, timeouts, refused and dropped connections are
temporary and retried with capped exponential backoff and jitter; 5xx replies are
permanent and fail at once. A row that keeps failing temporarily fails after
``MAX_ATTEMPTS``. If the process dies mid-batch its claimed rows' leases run out and
another dispatch sends them again under the same Message-ID; every row ends ``sent``
or ``failed``.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import datetime as dt
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import aiosmtplib

from engine import wording
from engine.mail_facts import MailFacts
from engine.outbox import Outcome, Result, claim, settle
from engine.services import Services
from notifications.compose import Composer, Prepared, is_digest
from notifications.settings import MailSettings, SmtpTls
from notifications.templates import Templates

MAX_ATTEMPTS = 8
BACKOFF_BASE = dt.timedelta(seconds=30)
BACKOFF_CAP = dt.timedelta(hours=2)
LEASE = dt.timedelta(minutes=10)


def classify(exc: BaseException) -> Result:
    """Temporary (retry) or permanent (fail now) for a delivery error."""
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        codes = [e.code for e in exc.recipients]
        return Result.FAILED if codes and all(c >= 500 for c in codes) else Result.RETRY
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        return Result.FAILED if exc.code >= 500 else Result.RETRY
    if isinstance(
        exc,
        aiosmtplib.SMTPServerDisconnected
        | aiosmtplib.SMTPConnectError
        | aiosmtplib.SMTPTimeoutError
        | TimeoutError
        | OSError,
    ):
        return Result.RETRY
    return Result.FAILED


def backoff(attempts: int, rng: random.Random) -> dt.timedelta:
    """Capped exponential backoff with jitter (between half and all of the step)."""
    step: dt.timedelta = min(BACKOFF_CAP, BACKOFF_BASE * (2 ** max(attempts - 1, 0)))
    return step * (0.5 + rng.random() / 2)


@dataclass
class DispatchReport:
    claimed: int = 0
    sent: int = 0
    retried: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)


def _client(settings: MailSettings) -> aiosmtplib.SMTP:
    return aiosmtplib.SMTP(
        hostname=settings.smtp_host,
        port=settings.smtp_port,
        username=settings.smtp_username,
        password=settings.smtp_password,
        use_tls=settings.smtp_tls is SmtpTls.SSL,
        start_tls=True if settings.smtp_tls is SmtpTls.STARTTLS else False,
        timeout=settings.smtp_timeout,
    )


_CONNECT_ERRORS = (aiosmtplib.SMTPException, OSError, TimeoutError)
FIRST_CLAIM = 64  # rows claimed before the first send: small, so sending starts at once
CLAIM = 256  # rows per later claim, made while earlier rows are sending
COMPOSE = 8  # messages composed between two turns of the event loop
SETTLE = 256  # outcomes settled together, in a thread, while sending goes on


class _Queue:
    """Composed messages waiting for a connection; ``close`` when no more will come."""

    def __init__(self) -> None:
        self.items: collections.deque[Prepared] = collections.deque()
        self.closed = False
        self.ready = asyncio.Event()

    def put(self, prepared: Sequence[Prepared]) -> None:
        self.items.extend(prepared)
        self.ready.set()

    def close(self) -> None:
        self.closed = True
        self.ready.set()

    async def get(self) -> Prepared | None:
        while not self.items:
            if self.closed:
                return None
            self.ready.clear()
            await self.ready.wait()
        return self.items.popleft()


class _Senders:
    """``connections`` SMTP connections, each taking the next message from one queue.

    A connection that cannot be opened (or reopened after the server dropped it) stops
    taking messages; when none is left, every message still queued gets its error.
    """

    def __init__(
        self,
        settings: MailSettings,
        queue: _Queue,
        done: Callable[[Prepared, BaseException | None], None],
    ) -> None:
        self.settings, self.queue, self.done = settings, queue, done
        self.last_error: BaseException | None = None

    async def run(self, connections: int) -> None:
        await asyncio.gather(*(self._connection() for _ in range(max(connections, 1))))
        error = self.last_error or aiosmtplib.SMTPServerDisconnected("no connection")
        while (p := await self.queue.get()) is not None:
            self.done(p, error)

    async def _connection(self) -> None:
        client = _client(self.settings)
        try:
            await client.connect()
        except _CONNECT_ERRORS as exc:
            self.last_error = exc
            return
        try:
            while (p := await self.queue.get()) is not None:
                error, usable = await self._send(client, p)
                self.done(p, error)
                if not usable:
                    return
        finally:
            if client.is_connected:
                try:
                    await client.quit()
                except _CONNECT_ERRORS:
                    client.close()

    async def _send(
        self, client: aiosmtplib.SMTP, p: Prepared
    ) -> tuple[BaseException | None, bool]:
        """Send one message, reconnecting once if the server dropped the connection; the
        error if it did not go, and whether the connection can take the next one."""
        for attempt in range(2):
            try:
                await client.sendmail(p.sender, [p.recipient], p.message)
                return None, True
            except aiosmtplib.SMTPServerDisconnected as exc:
                if attempt == 1:
                    return exc, True
                try:
                    await client.connect()
                except _CONNECT_ERRORS as again:
                    self.last_error = again
                    return again, False
            except _CONNECT_ERRORS as exc:
                return exc, True
        raise AssertionError("unreachable")


async def send(
    settings: MailSettings, prepared: Sequence[Prepared], connections: int = 1
) -> dict[str, BaseException]:
    """Send everything; return the error of each message that did not go."""
    errors: dict[str, BaseException] = {}

    def done(p: Prepared, exc: BaseException | None) -> None:
        if exc is not None:
            errors[p.message_id] = exc

    queue = _Queue()
    queue.put(prepared)
    queue.close()
    await _Senders(settings, queue, done).run(connections)
    return errors


class _Dispatch:
    """One dispatch: claim, compose, send and settle, overlapped.

    Rows are claimed in steps (a small first claim so that sending starts at once, then
    larger ones while messages go out), composed a few at a time between turns of the
    event loop, sent over ``connections`` connections from one queue, and settled in
    batches in a worker thread while sending goes on. Rows for a digest wait until every
    claim is in, so that a recipient still gets one digest per dispatch.
    """

    def __init__(
        self,
        services: Services,
        settings: MailSettings,
        templates: Templates,
        now: dt.datetime,
        owner: str,
        batch: int,
        rng: random.Random,
    ) -> None:
        self.services, self.settings, self.now, self.owner = services, settings, now, owner
        self.batch, self.rng = batch, rng
        self.composer = Composer(services, settings, templates)
        self.report = DispatchReport()
        self.rows: dict[int, Any] = {}
        self.queue = _Queue()
        self.unsettled: list[Outcome] = []
        self.settle_wanted = asyncio.Event()
        self.sending = True

    async def run(self, connections: int) -> DispatchReport:
        rows = await self._claim(min(self.batch, FIRST_CLAIM))
        if not rows:
            return self.report
        self.composer.templates = await asyncio.to_thread(
            board_wording, self.services, self.composer.templates
        )
        senders = _Senders(self.settings, self.queue, self._sent)
        work = asyncio.gather(self._feed(rows), senders.run(connections))
        settler = asyncio.create_task(self._settler())
        await asyncio.wait((work, settler), return_when=asyncio.FIRST_COMPLETED)
        if not work.done():  # the settler ended first: settling failed, stop sending
            work.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await work
            await settler  # raises its error
        self.sending = False
        self.settle_wanted.set()
        try:
            await settler  # the rest of the outcomes, even if sending failed
        finally:
            await work  # raises its error, if any
        return self.report

    async def _claim(self, limit: int) -> list[Any]:
        rows = await asyncio.to_thread(claim, self.services.db, self.now, self.owner, limit, LEASE)
        self.rows.update((r.id, r) for r in rows)
        self.report.claimed += len(rows)
        return rows

    async def _feed(self, rows: list[Any]) -> None:
        """Compose what is claimed, and claim more, until the batch is in; then close."""
        more: asyncio.Task[list[Any]] | None = None
        try:
            digests: list[Any] = []
            limit = min(self.batch, FIRST_CLAIM)
            while True:
                facts = await asyncio.to_thread(self.composer.facts, rows)
                singles: list[Any] = []
                for row in rows:
                    (digests if is_digest(row) else singles).append(row)
                more = None
                if len(rows) == limit and self.report.claimed < self.batch:
                    limit = min(CLAIM, self.batch - self.report.claimed)
                    more = asyncio.create_task(self._claim(limit))
                for start in range(0, len(singles), COMPOSE):
                    self._compose(singles[start : start + COMPOSE], facts)
                    await asyncio.sleep(0)
                if more is None:
                    break
                rows = await more
                if not rows:
                    break
            if digests:
                facts = await asyncio.to_thread(self.composer.facts, digests)
                self._compose(digests, facts)
        finally:
            self.queue.close()
            if more is not None and not more.done():  # composing failed: let the claim end
                await asyncio.gather(more, return_exceptions=True)

    def _compose(self, rows: Sequence[Any], facts: MailFacts) -> None:
        prepared, failed = self.composer.prepare(rows, self.now, facts=facts)
        self.queue.put(prepared)
        self._outcomes(failed)

    def _sent(self, p: Prepared, exc: BaseException | None) -> None:
        """Turn one message's delivery into its rows' outcomes."""
        found = Result.SENT if exc is None else classify(exc)
        # the rows of one message (a digest) retry together, so they stay one message
        attempts = max(self.rows[row_id].attempts for row_id in p.row_ids)
        result = found
        if result is Result.RETRY and attempts >= MAX_ATTEMPTS:
            result = Result.FAILED
        retry_at = self.now + backoff(attempts, self.rng) if result is Result.RETRY else None
        outcomes = [
            Outcome(
                row_id=row_id,
                result=result,
                message_id=p.message_id,
                template_version=p.template_version,
                error=None if exc is None else f"{type(exc).__name__}: {exc}",
                retry_at=retry_at,
            )
            for row_id in p.row_ids
        ]
        self._outcomes(outcomes)

    def _outcomes(self, outcomes: Sequence[Outcome]) -> None:
        self.unsettled.extend(outcomes)
        for o in outcomes:
            if o.result is Result.SENT:
                self.report.sent += 1
            elif o.result is Result.RETRY:
                self.report.retried += 1
            else:
                self.report.failed += 1
                self.report.errors.append(f"outbox #{o.row_id}: {o.error}")
        if len(self.unsettled) >= SETTLE:
            self.settle_wanted.set()

    async def _settler(self) -> None:
        """Settle outcomes a batch at a time, one settle after another, until all are in."""
        while True:
            await self.settle_wanted.wait()
            self.settle_wanted.clear()
            finished = not self.sending
            if self.unsettled and (finished or len(self.unsettled) >= SETTLE):
                outcomes, self.unsettled = self.unsettled, []
                rows = [self.rows[o.row_id] for o in outcomes]
                await asyncio.to_thread(
                    settle, self.services.db, rows, outcomes, self.owner, self.now
                )
                if self.unsettled:
                    self.settle_wanted.set()
            if finished and not self.unsettled:
                return


def board_wording(services: Services, templates: Templates) -> Templates:
    """``templates`` with the board's current saved wording (``engine.wording``) in place."""
    saved = wording.current(services)
    return templates.overridden(
        {name: (v.text_source, v.html_source, v.version) for name, v in saved.items()}
    )


async def dispatch_async(
    services: Services,
    settings: MailSettings,
    templates: Templates,
    now: dt.datetime,
    *,
    owner: str,
    batch: int = 500,
    connections: int = 1,
    rng: random.Random | None = None,
) -> DispatchReport:
    """Claim up to ``batch`` due rows, send them, and settle every one."""
    work = _Dispatch(services, settings, templates, now, owner, batch, rng or random.Random())
    return await work.run(connections)


def dispatch(
    services: Services,
    settings: MailSettings,
    templates: Templates,
    now: dt.datetime,
    **kwargs: object,
) -> DispatchReport:
    """Synchronous wrapper for the command line and the scheduler's worker thread."""
    return asyncio.run(dispatch_async(services, settings, templates, now, **kwargs))  # type: ignore[arg-type]
