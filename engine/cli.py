"""The ``signoff`` command line. Every command is documented in README.md.

Exit codes: 0 success; 1 refused (bad input, a transition not allowed, a broken log),
with the reason on standard error; 2 a usage error. ``now`` is read from the clock
here, at the edge, and passed into the engine (``--now`` overrides it).
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Annotated, Any, ParamSpec, TypeVar

import typer

from engine import queries
from engine.errors import Refusal, RequestRefused, SettingsError, SignoffError, SpecError
from engine.evidence import EvidenceInput
from engine.fire import FireRequest, fire
from engine.hashchain import verify
from engine.services import Services
from engine.settings import Settings, load_settings
from engine.spec import WorkflowSpec, json_schema, load_spec_file
from engine.store import migrate
from engine.store.db import Database
from engine.store.tables import Rag
from engine.versions import ensure_published, publish

app = typer.Typer(
    pretty_exceptions_show_locals=False,  # locals may hold personal data or secrets
    no_args_is_help=True,
    add_completion=False,
    help="Track review recommendations through evidence-based sign-off.",
)
workflow_app = typer.Typer(no_args_is_help=True, help="Check, publish and draw workflows.")
app.add_typer(workflow_app, name="workflow")

P = ParamSpec("P")
R = TypeVar("R")


class _State:
    settings: Settings | None = None


_state = _State()


def _settings() -> Settings:
    if _state.settings is None:
        _state.settings = load_settings()
    return _state.settings


def _services() -> Services:
    settings = _settings()
    return Services(
        db=Database(settings.database_url),
        data_dir=settings.data_dir,
        calendar=settings.calendar(),
    )


def _known_templates() -> frozenset[str]:
    from notifications.templates import available  # only the commands that need it import it

    return available()


def _now(value: str | None) -> dt.datetime:
    if value is None:
        return dt.datetime.now(dt.UTC)
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(
            f"{value!r} is not an ISO date-time, e.g. 2011-04-01T09:00+01:00", param_hint="--now"
        ) from None
    if parsed.tzinfo is None:
        raise typer.BadParameter(
            "give a timezone, e.g. 2011-04-01T09:00+01:00 or ...Z", param_hint="--now"
        )
    return parsed


def _date(value: str | None, option: str) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(
            f"{value!r} is not a date; write YYYY-MM-DD", param_hint=option
        ) from None


def _refusals(func: Callable[P, R]) -> Callable[P, R]:
    """Turn signoff's own errors into a message on stderr and exit code 1."""

    @wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except SignoffError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(1) from None

    return wrapper


def _print_json(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))


@app.command()
@_refusals
def init(
    actor: Annotated[str, typer.Option(help="who publishes the shipped workflows")] = "system:init",
) -> None:
    """Create or upgrade the database and publish the shipped workflows (safe to repeat)."""
    settings = _settings()
    services = _services()
    migrate.upgrade(services.db)
    specs = _load_dir(settings.workflows_dir)
    with services.db.write() as conn:
        for spec in specs:
            version_id = ensure_published(conn, spec, actor=actor, now=_now(None))
            typer.echo(f"workflow {spec.name}: published as #{version_id}")
    typer.echo(f"database ready at revision {migrate.current(services.db)}")


def _load_dir(folder: Path) -> list[WorkflowSpec]:
    files = sorted(folder.glob("*.yaml"))
    if not files:
        raise SpecError(
            str(folder), "", "no workflow files (*.yaml) here; set SIGNOFF_WORKFLOWS_DIR"
        )
    known = _known_templates()
    return [load_spec_file(f, known) for f in files]


@app.command("import")
@_refusals
def import_(
    files: Annotated[list[Path], typer.Argument(help="action plan and/or contacts YAML files")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="check only; write nothing")] = False,
    actor: Annotated[str, typer.Option(help="recorded as who imported")] = "system:import",
    now: Annotated[str | None, typer.Option(help="ISO date-time to record")] = None,
) -> None:
    """Import action plans and contacts; all files or nothing."""
    from engine.importer import import_files

    services = _services()
    with services.db.write() as conn:
        report = import_files(
            conn,
            files,
            specs=services.specs,
            actor=actor,
            now=_now(now),
            dry_run=dry_run,
            calendar=services.calendar,
        )
        if dry_run:
            conn.rollback()
    for line in report.lines():
        typer.echo(line)


@app.command("list")
@_refusals
def list_(
    state: Annotated[str | None, typer.Option(help="only items in this state")] = None,
    agency: Annotated[str | None, typer.Option(help="only this agency's items")] = None,
    review: Annotated[str | None, typer.Option(help="only this review's items")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="stable JSON (README)")] = False,
) -> None:
    """List items with their state, RAG and due date."""
    services = _services()
    with services.db.engine.connect() as conn:
        items = queries.list_items(conn, services.specs, state=state, agency=agency, review=review)
    if as_json:
        _print_json({"format": queries.FORMAT, "items": items})
        return
    if not items:
        typer.echo("no items" + (" match" if state or agency or review else "; import a plan"))
        return
    width = max(len(i["key"]) for i in items)
    for i in items:
        rag = (i["rag"] or "-").upper()
        typer.echo(
            f"{i['key']:<{width}}  {i['state']:<20} {rag:<6} due {i['due'] or '-':<10}  "
            f"{i['agency']}"
        )


@app.command()
@_refusals
def show(
    key: Annotated[str, typer.Argument(help="REVIEW/REF, or REVIEW/REF@AGENCY")],
    as_json: Annotated[bool, typer.Option("--json", help="stable JSON (README)")] = False,
) -> None:
    """Show one recommendation, each agency's item, and its history."""
    services = _services()
    with services.db.engine.connect() as conn:
        view = queries.show(conn, services.specs, key)
    if as_json:
        _print_json(view)
        return
    typer.echo(f"{view['key']}  {view['title']}")
    typer.echo(f"review: {view['review']['title']}")
    typer.echo(
        f"priority {view['priority'] or '-'}; lead {view['lead'] or '-'}; "
        f"due {', '.join(view['due_dates']) or '-'}"
    )
    roll = view["rollup"]
    if roll["of"] > 1:
        typer.echo(f"roll-up: {roll['label']} ({roll['open']} of {roll['of']} agencies open)")
    for item in view["items"]:
        typer.echo(
            f"\n[{item['agency']}] {item['state_label']} ({item['state']}); "
            f"RAG {(item['rag'] or '-').upper()}; due {item['due'] or '-'}"
            + (
                f" (revised from {', '.join(item['due_history'][:-1])})"
                if len(item["due_history"]) > 1
                else ""
            )
            + (
                f"; extension to {item['pending_due']} awaiting decision"
                if item["pending_due"]
                else ""
            )
        )
        typer.echo(f"  can do now: {', '.join(item['allowed']) or 'nothing (finished)'}")
        for ev in item["evidence"]:
            what = ev["filename"] or (ev["statement"] or "")[:60]
            typer.echo(f"  evidence #{ev['id']}: {what} (sha256 {ev['sha256'][:12]}…)")
        for h in item["history"]:
            moved = f"{h['from'] or ''} -> {h['to']}" if h["from"] != h["to"] else h["to"]
            extra = f" RAG {h['rag'].upper()}" if h["rag"] else ""
            typer.echo(
                f"  {h['seq']:>3} {h['at'][:16]} {h['actor']}: {h['trigger']} ({moved})"
                f"{extra}" + (f" — {h['reason']}" if h["reason"] else "")
            )


@app.command("fire")
@_refusals
def fire_(
    key: Annotated[str, typer.Argument(help="REVIEW/REF, or REVIEW/REF@AGENCY")],
    trigger: Annotated[str, typer.Argument(help="e.g. submit_evidence, challenge, sign_off")],
    actor: Annotated[str, typer.Option(help="email address of the person acting")],
    reason: Annotated[str | None, typer.Option(help="why (required by many triggers)")] = None,
    evidence: Annotated[
        list[Path] | None, typer.Option(help="a file to attach (repeatable)")
    ] = None,
    statement: Annotated[str | None, typer.Option(help="a written evidence statement")] = None,
    rag: Annotated[
        Rag | None, typer.Option(case_sensitive=False, help="red, amber or green")
    ] = None,
    meeting_date: Annotated[str | None, typer.Option(help="panel meeting date YYYY-MM-DD")] = None,
    due_date: Annotated[str | None, typer.Option(help="proposed due date YYYY-MM-DD")] = None,
    now: Annotated[str | None, typer.Option(help="ISO date-time with timezone")] = None,
    expected_version: Annotated[
        int | None, typer.Option(help="refuse if the item moved on")
    ] = None,
) -> None:
    """Fire a transition on an item, as a named person."""
    inputs = [EvidenceInput(path=p) for p in evidence or []]
    if statement:
        inputs.append(EvidenceInput(statement=statement))
    done = fire(
        _services(),
        FireRequest(
            item=key,
            trigger=trigger,
            actor=actor.strip().lower(),
            now=_now(now),
            reason=reason,
            rag=rag,
            meeting_date=_date(meeting_date, "--meeting-date"),
            due_date=_date(due_date, "--due-date"),
            evidence=inputs,
            expected_version=expected_version,
        ),
    )
    moved = (
        f"{done.from_state} -> {done.to_state}"
        if done.from_state != done.to_state
        else done.to_state
    )
    typer.echo(
        f"{done.key}: {trigger} ({moved}); event {done.seq} {done.hash[:12]}…"
        + (f"; {done.notifications} email(s) queued" if done.notifications else "")
    )


# what to do on the command line about a refused request; the engine's message says why
_REQUEST_ADVICE: dict[Refusal, str] = {
    Refusal.CLOSED: "; issue a new one with `signoff request {key}`",
    Refusal.NOBODY_TO_ASK: ", or give --to EMAIL",
    Refusal.NOT_ANSWERER: "; give one of them with --to EMAIL, or leave --to out",
    Refusal.FAILING: " (--to EMAIL)",
    Refusal.NOT_ISSUER: "; give --actor EMAIL of someone who holds one",
}


def _advised(exc: RequestRefused) -> RequestRefused:
    """The same refusal, its message followed by the command-line advice for its reason."""
    advice = _REQUEST_ADVICE.get(exc.reason, "").format(key=exc.key or "REVIEW/REF")
    return RequestRefused(exc.reason, f"{exc}{advice}", exc.key)


@app.command("request")
@_refusals
def request_(
    key: Annotated[str, typer.Argument(help="REVIEW/REF, or REVIEW/REF@AGENCY")],
    to: Annotated[
        str | None, typer.Option(help="the agency contact to ask (default: its lead officer)")
    ] = None,
    actor: Annotated[str, typer.Option(help="who asks (recorded)")] = "system:cli",
    note: Annotated[str | None, typer.Option(help="added to what is asked")] = None,
    expires_days: Annotated[
        int | None, typer.Option(min=1, max=365, help="link lifetime (SIGNOFF_REQUEST_EXPIRY_DAYS)")
    ] = None,
    now: Annotated[str | None, typer.Option(help="ISO date-time with timezone")] = None,
) -> None:
    """Ask an agency for evidence: an email with a reply link and a reply address."""
    from engine.requests import issue

    days = expires_days or _settings().request_expiry_days
    try:
        done = issue(
            _services(),
            key,
            actor=actor.strip().lower(),
            now=_now(now),
            to=to,
            note=note,
            expires_in=dt.timedelta(days=days),
        )
    except RequestRefused as exc:
        raise _advised(exc) from None
    typer.echo(
        f"{done.item_key}: evidence requested from {done.recipient} (request {done.public_id}; "
        f"the link works until {done.expires_at:%d %B %Y %H:%M} UTC); 1 email queued"
    )


@app.command("reissue")
@_refusals
def reissue_(
    request: Annotated[str, typer.Argument(help="the request id `signoff show` lists")],
    actor: Annotated[str, typer.Option(help="who reissues (recorded)")] = "system:cli",
    expires_days: Annotated[int | None, typer.Option(min=1, max=365)] = None,
    now: Annotated[str | None, typer.Option(help="ISO date-time with timezone")] = None,
) -> None:
    """Send a request's link again: earlier links stop working and the expiry restarts."""
    from engine.requests import reissue

    days = expires_days or _settings().request_expiry_days
    try:
        done = reissue(
            _services(),
            request,
            actor=actor.strip().lower(),
            now=_now(now),
            expires_in=dt.timedelta(days=days),
        )
    except RequestRefused as exc:
        raise _advised(exc) from None
    typer.echo(
        f"{done.item_key}: request {done.public_id} sent again to {done.recipient} "
        f"(issue {done.issues}; works until {done.expires_at:%d %B %Y %H:%M} UTC)"
    )


@app.command("staff-link")
@_refusals
def staff_link_(
    email: Annotated[str, typer.Argument(help="a contact holding one of the board's roles")],
    now: Annotated[str | None, typer.Option(help="ISO date-time with timezone")] = None,
) -> None:
    """Print a 15-minute sign-in link for board staff (evidence downloads)."""
    from web import issue_staff_link

    typer.echo(issue_staff_link(_services(), _settings(), email.strip().lower(), _now(now)))


@app.command("quarantine")
@_refusals
def quarantine_(
    show_all: Annotated[
        bool, typer.Option("--all", help="every received message, not only the quarantined")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="stable JSON (README)")] = False,
) -> None:
    """Replies that could not be matched to a live request, and why."""
    services = _services()
    with services.db.engine.connect() as conn:
        messages = queries.quarantine(conn, include_all=show_all)
    if as_json:
        _print_json({"format": queries.FORMAT, "messages": messages})
        return
    if not messages:
        typer.echo("nothing in quarantine" if not show_all else "no messages received")
        return
    for m in messages:
        typer.echo(
            f"#{m['id']} {m['received_at'][:16]} {m['status']:<11} from {m['sender'] or '-'} "
            f"to {m['recipient']}: {m['reason'] or ''}"
        )


@app.command("verify-log")
@_refusals
def verify_log(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Check the hash chain of every item's history; report the first broken link."""
    services = _services()
    with services.db.engine.connect() as conn:
        result = verify(conn)
    if as_json:
        broken = result.broken
        _print_json(
            {
                "format": queries.FORMAT,
                "ok": result.ok,
                "items": result.items,
                "events": result.events,
                "broken": None
                if broken is None
                else {"item_id": broken.item_id, "seq": broken.seq, "problem": broken.problem},
            }
        )
    elif result.ok:
        typer.echo(f"ok: {result.events} events on {result.items} items verify")
    else:
        typer.echo(f"BROKEN: {result.broken}", err=True)
    if not result.ok:
        raise typer.Exit(1)


@app.command()
@_refusals
def sweep(
    now: Annotated[str | None, typer.Option(help="ISO date-time with timezone")] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="show what is due; queue nothing")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Queue every reminder, chase and escalation due now (each exactly once)."""
    from engine.sweep import run_once

    report = run_once(_services(), _now(now), dry_run=dry_run)
    decided = [
        {
            "kind": d["kind"],
            "to": d["recipient"],
            "key": d["context"]["key"],
            "step": d["context"]["step"],
            "send_at": d["next_attempt_at"].isoformat(),
        }
        for d in report.decided
    ]
    if as_json:
        _print_json(
            {
                "format": queries.FORMAT,
                "items": report.items,
                "queued": report.queued,
                "dry_run": dry_run,
                "decided": decided,
            }
        )
        return
    for d in decided:
        typer.echo(f"{d['key']}: {d['kind']} {d['step']} to {d['to']} at {d['send_at']}")
    verb = "would queue" if dry_run else f"queued {report.queued} new of"
    typer.echo(f"{report.items} item(s) due; {verb} {len(decided)} notification(s)")


@app.command("dispatch")
@_refusals
def dispatch_(
    now: Annotated[str | None, typer.Option(help="ISO date-time with timezone")] = None,
    batch: Annotated[int, typer.Option(min=1, help="most rows to claim")] = 500,
    connections: Annotated[int, typer.Option(min=1, max=32, help="SMTP connections")] = 1,
) -> None:
    """Send what the outbox holds that is due; retry or fail each delivery."""
    import os
    import socket

    from notifications.dispatcher import dispatch
    from notifications.templates import Templates

    report = dispatch(
        _services(),
        _settings(),
        Templates(),
        _now(now),
        owner=f"{socket.gethostname()}:{os.getpid()}",
        batch=batch,
        connections=connections,
    )
    typer.echo(
        f"claimed {report.claimed}: {report.sent} sent, {report.retried} to retry, "
        f"{report.failed} failed"
    )
    for error in report.errors:
        typer.echo(f"failed: {error}", err=True)


@app.command()
@_refusals
def outbox(
    status: Annotated[
        str | None, typer.Option(help="pending, sending, sent, failed, cancelled")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """List emails in the outbox; with --status failed, what the admin must look at."""
    import sqlalchemy as sa

    from engine.store.tables import Outbox

    table = Outbox.__table__  # type: ignore[attr-defined]
    query = sa.select(table).order_by(table.c.id)
    if status:
        query = query.where(table.c.status == status)
    with _services().db.engine.connect() as conn:
        rows = [
            {
                "id": r.id,
                "kind": r.kind,
                "to": r.recipient,
                "status": r.status,
                "attempts": r.attempts,
                "key": r.context.get("key"),
                "error": r.last_error,
                "next_attempt_at": r.next_attempt_at.isoformat(),
                "sent_at": r.sent_at.isoformat() if r.sent_at else None,
            }
            for r in conn.execute(query)
        ]
    if as_json:
        _print_json({"format": queries.FORMAT, "rows": rows})
        return
    for r in rows:
        typer.echo(
            f"#{r['id']} {r['status']:<9} {r['kind']:<10} {r['to']:<45} {r['key']}"
            + (f"  ({r['error']})" if r["error"] else "")
        )
    typer.echo(f"{len(rows)} row(s)")


@app.command("forecast")
@_refusals
def forecast_(
    days: Annotated[int, typer.Option(min=1, max=366, help="how far ahead")] = 14,
    now: Annotated[str | None, typer.Option(help="ISO date-time with timezone")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Who will be emailed what, and when, over the next N days."""
    from engine.forecast import forecast

    rows = forecast(_services(), _now(now), days)
    if as_json:
        _print_json({"format": queries.FORMAT, "days": days, "emails": rows})
        return
    for r in rows:
        typer.echo(
            f"{r['at'][:16]}  {r['kind']:<10} {r['key']:<40} to {', '.join(r['to'])}"
            + ("  (no contact for the role: business manager instead)" if r["fallback"] else "")
        )
    typer.echo(f"{len(rows)} email(s) in the next {days} day(s)")


@app.command()
@_refusals
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

    from engine.replykeys import secret_key
    from inbound import listener
    from inbound.receive import Mailbox
    from notifications import catcher, scheduler
    from notifications.templates import Templates
    from web import build_server, create_app, start_in_thread
    from web import stop as stop_web

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd logs every SMTP verb
    settings = _settings()
    services = _services()
    if migrate.current(services.db) != migrate.head():
        raise SettingsError(
            f"the database at SIGNOFF_DATABASE_URL is not initialised or not up to date "
            f"(revision {migrate.current(services.db)}, need {migrate.head()}); run 'signoff init'"
        )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    mail = None
    if mail_catcher:
        mail = catcher.start(settings.data_dir / "mail", settings.smtp_port, settings.smtp_host)
        typer.echo(
            f"mail catcher on {settings.smtp_host}:{settings.smtp_port}, "
            f"messages kept in {settings.data_dir / 'mail'}"
        )
    replies = listener.start(
        services,
        Mailbox(
            key=secret_key(settings),
            domain=settings.reply_domain,
            limits=settings.upload_limits(),
        ),
        settings.inbound_smtp_host,
        settings.inbound_smtp_port,
        clock=lambda: dt.datetime.now(dt.UTC),
    )
    typer.echo(
        f"replies: SMTP on {settings.inbound_smtp_host}:{settings.inbound_smtp_port} "
        f"for reply+…@{settings.reply_domain}"
    )
    site = create_app(services, settings, clock=lambda: dt.datetime.now(dt.UTC))
    web_server = build_server(site, settings.http_host, settings.http_port)
    web_thread = start_in_thread(web_server)
    typer.echo(f"web: reply pages on http://{settings.http_host}:{settings.http_port}")
    jobs = scheduler.build(
        services, settings, Templates(), sweep_every=sweep_every, dispatch_every=dispatch_every
    )
    jobs.start()
    typer.echo("signoff is running: sweep and dispatch on a timer; Ctrl-C stops it")
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
        services.db.dispose()


@workflow_app.command("validate")
def workflow_validate(files: Annotated[list[Path], typer.Argument()]) -> None:
    """Check workflow files; print every problem and exit 1 if any file is invalid."""
    known, failed = _known_templates(), False
    for f in files:
        try:
            spec = load_spec_file(f, known)
        except SpecError as exc:
            failed = True
            typer.echo(str(exc), err=True)
        else:
            typer.echo(
                f"{f}: ok ({spec.name}: {len(spec.states)} states, "
                f"{len(spec.model.transitions)} transitions)"
            )
    if failed:
        raise typer.Exit(1)


@workflow_app.command("publish")
@_refusals
def workflow_publish(
    file: Annotated[Path, typer.Argument()],
    actor: Annotated[str, typer.Option(help="who publishes (recorded)")],
    migrate_items: Annotated[
        bool, typer.Option("--migrate", help="move open items onto it")
    ] = False,
    mapping: Annotated[
        list[str] | None, typer.Option("--map", help="OLD=NEW state (repeat)")
    ] = None,
    note: Annotated[str | None, typer.Option(help="what changed")] = None,
    now: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Publish a new immutable version of a workflow."""
    pairs: dict[str, str] = {}
    for m in mapping or []:
        old, sep, new = m.partition("=")
        if not sep or not old or not new:
            raise typer.BadParameter(
                f"{m!r}: write OLD=NEW, e.g. challenged=open", param_hint="--map"
            )
        pairs[old.strip()] = new.strip()
    spec = load_spec_file(file, _known_templates())
    services = _services()
    with services.db.write() as conn:
        done = publish(
            conn, spec, actor=actor, now=_now(now), migrate=migrate_items, mapping=pairs, note=note
        )
    if done.created:
        typer.echo(f"published {done.name} version {done.version}")
    else:
        typer.echo(f"{done.name} version {done.version} is already this content; nothing published")
    if done.migrated:
        typer.echo(f"moved {done.migrated} open item(s) to version {done.version}")


@workflow_app.command("diagram")
@_refusals
def workflow_diagram(file: Annotated[Path, typer.Argument()]) -> None:
    """Print the workflow as a Mermaid state diagram."""
    from engine.spec.diagram import mermaid

    typer.echo(mermaid(load_spec_file(file, _known_templates())))


@app.command("templates")
@_refusals
def templates_check(
    directory: Annotated[
        Path | None, typer.Option(help="a folder of NAME.txt.j2/NAME.html.j2")
    ] = None,
) -> None:
    """Check email templates (syntax, variables, sandbox, subject line) before using them."""
    from notifications.templates import TEMPLATE_DIR, Templates

    folder = directory or TEMPLATE_DIR
    built = Templates(folder)
    typer.echo(f"{folder}: ok ({', '.join(sorted(built.names))})")


@workflow_app.command("schema")
def workflow_schema() -> None:
    """Print the JSON Schema of workflow files."""
    _print_json(json_schema())


def main() -> None:
    """Console entry point."""
    try:
        _state.settings = load_settings()
    except SignoffError as exc:
        print(f"error: {exc}", file=sys.stderr)  # noqa: T201 - before typer is running
        sys.exit(1)
    app()
