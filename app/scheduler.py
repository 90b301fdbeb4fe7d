"""The clock: APScheduler (3.x, in-process) triggers the sweep and the dispatcher.

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
) -> BackgroundScheduler:
    """A scheduler with the two jobs (added to ``scheduler`` when given, replacing any
    earlier ones of the same id); the caller starts and shuts it down."""
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

    scheduler = scheduler or BackgroundScheduler(timezone=dt.UTC)
    for job_id, func, every in (
        ("sweep", sweep_job, sweep_every),
        ("dispatch", dispatch_job, dispatch_every),
    ):
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
