"""``signoff serve``: every role in one process, wired together here.

The web app, the scheduler (sweep and dispatch on a timer), the reply listener and, on
request, a local mail catcher. Each gets its own settings from the one ``Settings``.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import typer

from app.console import refusals, services, settings


def _wall_clock() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@refusals
def serve(
    mail_catcher: Annotated[
        bool,
        typer.Option("--mail-catcher", help="also run a local SMTP catcher on SIGNOFF_SMTP_PORT"),
    ] = False,
    sweep_every: Annotated[float, typer.Option(help="seconds between sweeps")] = 300,
    dispatch_every: Annotated[float, typer.Option(help="seconds between dispatches")] = 30,
) -> None:
    """Run everything in one process: scheduler, dispatcher, web app and reply listener."""
    import logging
    import signal
    import threading

    from app import scheduler
    from app.settings import Environment
    from engine.errors import SettingsError
    from engine.store import migrate
    from inbound import listener
    from inbound.receive import Mailbox
    from notifications import catcher
    from notifications.templates import Templates, WordingBook
    from web.app import create_app
    from web.server import build_server, start_in_thread
    from web.server import stop as stop_web

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd logs every SMTP verb
    current = settings()
    if mail_catcher and current.environment is Environment.PRODUCTION:
        raise SettingsError(
            "--mail-catcher keeps every email on this machine instead of sending it; production "
            "refuses it (SIGNOFF_ENVIRONMENT=production): drop --mail-catcher and set "
            "SIGNOFF_SMTP_HOST to the board's mail server"
        )
    running = services()
    if migrate.current(running.db) != migrate.head():
        raise SettingsError(
            f"the database at SIGNOFF_DATABASE_URL is not initialised or not up to date "
            f"(revision {migrate.current(running.db)}, need {migrate.head()}); run 'signoff init'"
        )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    mail = None
    if mail_catcher:
        mail = catcher.start(current.data_dir / "mail", current.smtp_port, current.smtp_host)
        typer.echo(
            f"mail catcher on {current.smtp_host}:{current.smtp_port}, "
            f"messages kept in {current.data_dir / 'mail'}"
        )
    replies = listener.start(
        running,
        Mailbox(
            key=current.key(),
            domain=current.reply_domain,
            limits=current.upload_limits(),
            authserv_id=current.inbound_authserv_id,
            max_message_bytes=current.inbound_max_message_mb * 1024 * 1024,
            messages_per_minute=current.inbound_messages_per_minute,
            refusals_per_minute=current.inbound_refusals_per_minute,
        ),
        current.inbound_smtp_host,
        current.inbound_smtp_port,
        clock=_wall_clock,
    )
    typer.echo(
        f"replies: SMTP on {current.inbound_smtp_host}:{current.inbound_smtp_port} "
        f"for reply+…@{current.reply_domain}"
    )
    web = current.web()
    site = create_app(running, web, clock=_wall_clock, emails=WordingBook())
    web_server = build_server(site, web.http_host, web.http_port)
    web_thread = start_in_thread(web_server)
    typer.echo(f"web: reply pages on http://{web.http_host}:{web.http_port}")
    jobs = scheduler.build(
        running,
        current.mail(),
        Templates(),
        sweep_every=sweep_every,
        dispatch_every=dispatch_every,
        checkpoint_key=current.key(),
    )
    jobs.start()
    typer.echo(
        "signoff is running: sweep and dispatch on a timer, a signed checkpoint of the "
        "history daily; Ctrl-C stops it"
    )
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        jobs.shutdown(wait=True)
        stop_web(web_server, web_thread)
        replies.stop()
        if mail is not None:
            mail.stop()
        running.db.dispose()
