"""Commands on items: list, show, fire, request, reissue, staff-link, quarantine.

Each imports the engine inside its body, so loading this module (for ``--help``) is cheap.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from app.console import (
    database_url,
    parse_date,
    parse_now,
    print_json,
    refusals,
    services,
    settings,
)


class RagOption(StrEnum):
    """``--rag``: engine.store.tables.Rag's values (a test keeps them equal); importing Rag
    itself would load the store for every command, ``--help`` included."""

    RED = "red"
    AMBER = "amber"
    GREEN = "green"


@refusals
def list_(
    state: Annotated[str | None, typer.Option(help="only items in this state")] = None,
    agency: Annotated[str | None, typer.Option(help="only this agency's items")] = None,
    review: Annotated[str | None, typer.Option(help="only this review's items")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="stable JSON (README)")] = False,
) -> None:
    """List items with their state, RAG and due date."""
    # only what a list reads: not services(), whose settings and calendar load
    # pydantic-settings and the holidays package (see app.environment)
    from engine import queries
    from engine.store.db import Database
    from engine.versions import SpecCache

    db = Database(database_url())
    with db.engine.connect() as conn:
        items = queries.list_items(conn, SpecCache(), state=state, agency=agency, review=review)
    if as_json:
        print_json({"format": queries.FORMAT, "items": items})
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


@refusals
def show(
    key: Annotated[str, typer.Argument(help="REVIEW/REF, or REVIEW/REF@AGENCY")],
    as_json: Annotated[bool, typer.Option("--json", help="stable JSON (README)")] = False,
) -> None:
    """Show one recommendation, each agency's item, and its history."""
    from engine import queries

    current = services()
    with current.db.engine.connect() as conn:
        view = queries.show(conn, current.specs, key)
    if as_json:
        print_json(view)
        return
    typer.echo(f"{view['key']}  {view['title']}")
    typer.echo(f"review: {view['review']['title']}")
    typer.echo(
        f"priority {view['priority'] or '-'}; lead {view['lead'] or '-'}; "
        f"due {', '.join(view['due_dates']) or '-'}"
    )
    for label, field in (
        ("recommendation", "text"),
        ("risk if not actioned", "risk_if_not_actioned"),
        ("agreed action", "agreed_action"),
    ):
        if view[field]:
            typer.echo(f"{label}:\n{_indented(view[field])}")
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
            what = ev["filename"] or "statement"
            typer.echo(f"  evidence #{ev['id']}: {what} (sha256 {ev['sha256'][:12]}…)")
            if ev["statement"]:
                typer.echo(_indented(ev["statement"], "      "))
        for h in item["history"]:
            moved = f"{h['from'] or ''} -> {h['to']}" if h["from"] != h["to"] else h["to"]
            extra = f" RAG {h['rag'].upper()}" if h["rag"] else ""
            if (h["data"] or {}).get("meeting_date"):
                extra += f"; panel meeting {h['data']['meeting_date']}"
            typer.echo(
                f"  {h['seq']:>3} {h['at'][:16]} {h['actor']}: {h['trigger']} ({moved})"
                f"{extra}" + (f" — {h['reason']}" if h["reason"] else "")
            )


@refusals
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
        RagOption | None, typer.Option(case_sensitive=False, help="red, amber or green")
    ] = None,
    meeting_date: Annotated[str | None, typer.Option(help="panel meeting date YYYY-MM-DD")] = None,
    due_date: Annotated[str | None, typer.Option(help="proposed due date YYYY-MM-DD")] = None,
    now: Annotated[str | None, typer.Option(help="ISO date-time with timezone")] = None,
    expected_version: Annotated[
        int | None, typer.Option(help="refuse if the item moved on")
    ] = None,
) -> None:
    """Fire a transition on an item, as a named person."""
    from engine.evidence import EvidenceInput
    from engine.fire import FireRequest, fire
    from engine.store.tables import Rag

    inputs = [EvidenceInput(path=p) for p in evidence or []]
    if statement:
        inputs.append(EvidenceInput(statement=statement))
    done = fire(
        services(),
        FireRequest(
            item=key,
            trigger=trigger,
            actor=actor.strip().lower(),
            now=parse_now(now),
            reason=reason,
            rag=None if rag is None else Rag(rag.value),
            meeting_date=parse_date(meeting_date, "--meeting-date"),
            due_date=parse_date(due_date, "--due-date"),
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


@refusals
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

    days = expires_days or settings().request_expiry_days
    done = issue(
        services(),
        key,
        actor=actor.strip().lower(),
        now=parse_now(now),
        to=to,
        note=note,
        expires_in=dt.timedelta(days=days),
    )
    typer.echo(
        f"{done.item_key}: evidence requested from {done.recipient} (request {done.public_id}; "
        f"the link works until {done.expires_at:%d %B %Y %H:%M} UTC); 1 email queued"
    )


@refusals
def reissue_(
    request: Annotated[str, typer.Argument(help="the request id `signoff show` lists")],
    actor: Annotated[str, typer.Option(help="who reissues (recorded)")] = "system:cli",
    expires_days: Annotated[int | None, typer.Option(min=1, max=365)] = None,
    now: Annotated[str | None, typer.Option(help="ISO date-time with timezone")] = None,
) -> None:
    """Send a request's link again: earlier links stop working and the expiry restarts."""
    from engine.requests import reissue

    days = expires_days or settings().request_expiry_days
    done = reissue(
        services(),
        request,
        actor=actor.strip().lower(),
        now=parse_now(now),
        expires_in=dt.timedelta(days=days),
    )
    typer.echo(
        f"{done.item_key}: request {done.public_id} sent again to {done.recipient} "
        f"(issue {done.issues}; works until {done.expires_at:%d %B %Y %H:%M} UTC)"
    )


@refusals
def staff_link_(
    email: Annotated[str, typer.Argument(help="a contact in the directory")],
    now: Annotated[str | None, typer.Option(help="ISO date-time with timezone")] = None,
) -> None:
    """Print a 15-minute, single-use sign-in link (for first set-up, before email works)."""
    from engine import signin

    token = signin.issue_link(services(), email, parse_now(now))
    typer.echo(f"{settings().web().base_url}/sign-in/{token}")


@refusals
def quarantine_(
    show_all: Annotated[
        bool, typer.Option("--all", help="every received message, not only the quarantined")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="stable JSON (README)")] = False,
    confirm: Annotated[
        int | None,
        typer.Option(help="ID of a held reply whose sender you have confirmed: take it as theirs"),
    ] = None,
    item: Annotated[
        str | None, typer.Option(help="with --confirm, for a reply to a digest: its REVIEW/REF")
    ] = None,
    actor: Annotated[
        str | None, typer.Option(help="with --confirm: your email (a board role, recorded)")
    ] = None,
    now: Annotated[str | None, typer.Option(help="ISO date-time with timezone")] = None,
) -> None:
    """Replies that could not be matched to a live request, or are held for staff, and why."""
    from engine import queries

    if confirm is not None:
        _confirm_held(confirm, item=item, actor=actor, now=now)
        return
    current = services()
    with current.db.engine.connect() as conn:
        messages = queries.quarantine(conn, include_all=show_all)
    if as_json:
        print_json({"format": queries.FORMAT, "messages": messages})
        return
    if not messages:
        typer.echo("nothing in quarantine" if not show_all else "no messages received")
        return
    for m in messages:
        typer.echo(
            f"#{m['id']} {m['received_at'][:16]} {m['status']:<11} from {m['sender'] or '-'} "
            f"to {m['recipient']}: {m['reason'] or ''}"
        )


def _confirm_held(message_id: int, *, item: str | None, actor: str | None, now: str | None) -> None:
    """``quarantine --confirm``: a member of staff takes a held reply as its sender's answer."""
    from inbound.receive import Mailbox, confirm

    if not actor:
        typer.echo("error: --confirm needs --actor EMAIL (yours: a board role)", err=True)
        raise typer.Exit(1)
    current = settings()
    mailbox = Mailbox(
        key=current.key(), domain=current.reply_domain, limits=current.upload_limits()
    )
    done = confirm(services(), mailbox, message_id, staff=actor, now=parse_now(now), item=item)
    typer.echo(
        f"#{message_id} confirmed: {len(done.evidence_ids)} evidence record(s) "
        f"through {done.request}"
    )


def _indented(text: str, prefix: str = "  ") -> str:
    """``text`` in full, wrapped to 100 columns, each paragraph kept, behind ``prefix``."""
    import textwrap

    return "\n".join(
        textwrap.fill(line, 100, initial_indent=prefix, subsequent_indent=prefix) if line else ""
        for line in text.strip().splitlines()
    )
