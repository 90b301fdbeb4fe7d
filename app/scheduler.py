"""The clock: APScheduler (3.x, in-process) triggers the sweep, the dispatcher and the
daily checkpoint of the history.

It holds no state of its own and correctness never depends on it: jobs have fixed ids
(a restart replaces them instead of adding more), run one at a time, and coalesce
missed runs; the database's dedupe keys and leases make every run safe to repeat.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
from collections.abc import Callable

from apscheduler.schedulers.background import BackgroundScheduler

from engine.checkpoints import take_if_due
from engine.errors import CheckpointRefused
from engine.services import Services
from engine.sweep import run_once
from notifications.dispatcher import dispatch
from notifications.settings import MailSettings
from notifications.templates import Templates

log = logging.getLogger("signoff.scheduler")
Clock = Callable[[], dt.datetime]


def wall_clock() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def build(
    services: Services,
    settings: MailSettings,
    templates: Templates,
    *,
    sweep_every: float = 300,
    dispatch_every: float = 30,
    clock: Clock = wall_clock,
    scheduler: BackgroundScheduler | None = None,
    checkpoint_key: bytes | None = None,
    checkpoint_every: dt.timedelta = dt.timedelta(days=1),
    checkpoint_check_every: float = 3600,
) -> BackgroundScheduler:
    """A scheduler with the sweep and dispatch jobs, and with ``checkpoint_key`` a third that
    looks every ``checkpoint_check_every`` seconds whether the last checkpoint is
    ``checkpoint_every`` old and takes one if so (the database decides, so restarts and
    several schedulers take no extra ones). Jobs are added to ``scheduler`` when given,
    replacing earlier ones of the same id; the caller starts and shuts it down."""
    owner = f"{socket.gethostname()}:{os.getpid()}"

    def sweep_job() -> None:
        report = run_once(services, clock())
        if report.items:
            log.info("sweep: %s item(s) due, %s email(s) queued", report.items, report.queued)

    def dispatch_job() -> None:
        report = dispatch(services, settings, templates, clock(), owner=owner)
        if report.claimed:
            log.info(
                "dispatch: %s sent, %s to retry, %s failed",
                report.sent,
                report.retried,
                report.failed,
            )
        for error in report.errors:
            log.warning("delivery failed: %s", error)

    def checkpoint_job() -> None:
        assert checkpoint_key is not None
        try:
            taken = take_if_due(
                services,
                checkpoint_key,
                now=clock(),
                actor="system:scheduler",
                every=checkpoint_every,
            )
        except CheckpointRefused as exc:
            log.error("%s", exc)
            return
        if taken is not None:
            log.info(
                "checkpoint #%s: %s events on %s items sealed",
                taken.seal.number,
                taken.seal.events,
                taken.seal.items,
            )
            if taken.log_error:
                log.warning("checkpoint file not written: %s", taken.log_error)

    scheduler = scheduler or BackgroundScheduler(timezone=dt.UTC)
    jobs: list[tuple[str, Callable[[], None], float]] = [
        ("sweep", sweep_job, sweep_every),
        ("dispatch", dispatch_job, dispatch_every),
    ]
    if checkpoint_key is not None:
        jobs.append(("checkpoint", checkpoint_job, checkpoint_check_every))
    for job_id, func, every in jobs:
        scheduler.add_job(
            func,
            "interval",
            seconds=every,
            id=job_id,
            replace_existing=True,
            max_instances=1,
            coalesce=True,
            next_run_time=wall_clock(),  # the trigger runs on real time; clock is the jobs' now
        )
    return scheduler
