"""The dispatcher: claims outbox rows, sends them with aiosmtplib, settles them.

Messages go over reused SMTP connections (``connections`` of them, each sending its
share in turn), with STARTTLS or SSL and login when configured. ``classify`` alone
decides what is retried: 4xx replies, timeouts, refused and dropped connections are
temporary and retried with capped exponential backoff and jitter; 5xx replies are
permanent and fail at once. A row that keeps failing temporarily fails after
``MAX_ATTEMPTS``. If the process dies mid-batch its claimed rows' leases run out and
another dispatch sends them again under the same Message-ID; every row ends ``sent``
or ``failed``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import random
from collections.abc import Sequence
from dataclasses import dataclass, field

import aiosmtplib

from engine.service import Services
from engine.settings import Settings, SmtpTls
from notifications.compose import Composer, Prepared
from notifications.outbox import Outcome, Result, claim, settle
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


def _client(settings: Settings) -> aiosmtplib.SMTP:
    password = settings.smtp_password.get_secret_value() if settings.smtp_password else None
    return aiosmtplib.SMTP(
        hostname=settings.smtp_host,
        port=settings.smtp_port,
        username=settings.smtp_username,
        password=password,
        use_tls=settings.smtp_tls is SmtpTls.SSL,
        start_tls=True if settings.smtp_tls is SmtpTls.STARTTLS else False,
        timeout=settings.smtp_timeout,
    )


async def _send_share(settings: Settings, share: Sequence[Prepared]) -> dict[str, BaseException]:
    """Send ``share`` over one connection; reconnect once if the server drops it."""
    errors: dict[str, BaseException] = {}
    if not share:
        return errors
    client = _client(settings)
    try:
        await client.connect()
    except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
        return {p.message_id: exc for p in share}
    try:
        for p in share:
            for attempt in range(2):
                try:
                    await client.sendmail(p.sender, [p.recipient], p.message)
                    break
                except aiosmtplib.SMTPServerDisconnected as exc:
                    if attempt == 1:
                        errors[p.message_id] = exc
                        break
                    try:
                        await client.connect()
                    except (aiosmtplib.SMTPException, OSError, TimeoutError) as again:
                        errors[p.message_id] = again
                        break
                except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
                    errors[p.message_id] = exc
                    break
    finally:
        if client.is_connected:
            try:
                await client.quit()
            except (aiosmtplib.SMTPException, OSError, TimeoutError):
                client.close()
    return errors


async def send(
    settings: Settings, prepared: Sequence[Prepared], connections: int = 1
) -> dict[str, BaseException]:
    """Send everything; return the error of each message that did not go."""
    shares = [list(prepared[i::connections]) for i in range(max(connections, 1))]
    results = await asyncio.gather(*(_send_share(settings, s) for s in shares))
    return {k: v for r in results for k, v in r.items()}


async def dispatch_async(
    services: Services,
    settings: Settings,
    templates: Templates,
    now: dt.datetime,
    *,
    owner: str,
    batch: int = 500,
    connections: int = 1,
    rng: random.Random | None = None,
) -> DispatchReport:
    """Claim up to ``batch`` due rows, send them, and settle every one."""
    rng = rng or random.Random()
    rows = claim(services, now, owner, batch, LEASE)
    report = DispatchReport(claimed=len(rows))
    if not rows:
        return report
    prepared, outcomes = Composer(services, settings, templates).prepare(rows, now)
    errors = await send(settings, prepared, connections)
    attempts = {r.id: r.attempts for r in rows}
    for p in prepared:
        exc = errors.get(p.message_id)
        result = Result.SENT if exc is None else classify(exc)
        for row_id in p.row_ids:
            if result is Result.RETRY and attempts[row_id] >= MAX_ATTEMPTS:
                result = Result.FAILED
            outcomes.append(
                Outcome(
                    row_id=row_id,
                    result=result,
                    message_id=p.message_id,
                    template_version=p.template_version,
                    error=None if exc is None else f"{type(exc).__name__}: {exc}",
                    retry_at=now + backoff(attempts[row_id], rng)
                    if result is Result.RETRY
                    else None,
                )
            )
    settle(services, rows, outcomes, owner, now)
    for o in outcomes:
        if o.result is Result.SENT:
            report.sent += 1
        elif o.result is Result.RETRY:
            report.retried += 1
        else:
            report.failed += 1
            report.errors.append(f"outbox #{o.row_id}: {o.error}")
    return report


def dispatch(
    services: Services, settings: Settings, templates: Templates, now: dt.datetime, **kwargs: object
) -> DispatchReport:
    """Synchronous wrapper for the command line and the scheduler's worker thread."""
    return asyncio.run(dispatch_async(services, settings, templates, now, **kwargs))  # type: ignore[arg-type]
