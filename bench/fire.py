"""Benchmark: what one persisted transition costs through ``engine.fire.fire``.

Not a test: it prints figures with their targets beside them. Run it as a script,
``.venv/bin/python bench/transitions.py`` (``--quick`` for a short run, ``--profile`` to add
a cProfile of the service on SQLite, ``--no-postgres``, ``--rounds N``).

Each figure compares the service with a raw-driver baseline that runs the same statements,
in the same order, with the same parameters, on a database prepared the same way. The
SQLite run checks this statement by statement, values included. The PostgreSQL run checks
the statement texts. At the end of every run, every row either side wrote (items, events,
evidence, evidence requests, outbox) must be the same, column by column; the one value
allowed to differ is a request's random public id, and each side's ids are compared by
their order of creation. The figures:

  1. SQLite (a file in a temporary directory, WAL, synchronous=NORMAL, foreign_keys=ON),
     one transaction per transition: ``fire`` against ``sqlite3``.
  2. SQLite, 1,000 transitions per transaction.
  3. PostgreSQL (``SIGNOFF_BENCH_POSTGRES_URL``), both ways, against ``psycopg``. Each side
     works in its own private schema, which is dropped afterwards.
  4. The pure state step ``fire`` takes: the transition from ``spec.table``, then its destination.

The workload alternates two transitions on each of many items in turn:

- ``submit_evidence``, a written statement: evidence insert, event, item update, one
  outbox row to the business manager.
- ``challenge``, a reason and a meeting date: evidence-on-file select, event, item update,
  one outbox row to the agency. ``challenged`` has ``request_on_entry``, so it also issues
  an evidence request to the agency contact who may answer it (``submit_evidence``): an
  ``evidence_request`` row with a random public id and a ``request`` outbox row.

Each transition also reads the contacts once (one SELECT serves the actor's roles, the
recipients of the transition's emails and, for ``challenge``, whoever may answer the
request), authorises its actor, replans the item's
deadline for its new state (the raw side calls the same pure ``engine.deadlines``
functions), writes the item back with every mutable column bound and cancels the reminders
planned for the old state, as the service does. There are enough items that no item's
history, and so no item's evidence on file, grows long.
Between rounds, outside the timing and the same on both sides, the pending outbox rows are
marked sent, as the mailer would mark them.
"""

from __future__ import annotations

import argparse
import base64
import cProfile
import datetime as dt
import gc
import hashlib
import json
import os
import platform
import pstats
import re
import secrets
import sqlite3
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import common
import psycopg
import sqlalchemy as sa
from common import ROOT, WORKFLOW
from psycopg.types.json import Json

from engine import deadlines
from engine.calendar import Calendar
from engine.evidence import EvidenceInput
from engine.fire import FireRequest, fire, fire_in
from engine.hashchain import verify
from engine.items import create_item
from engine.requests import DEFAULT_EXPIRY
from engine.services import Services
from engine.spec import Scope, State, WorkflowSpec, answer_transition, load_spec_file
from engine.store.db import Database
from engine.store.tables import Recommendation
from notifications.templates import available

PG_URL = os.environ.get("SIGNOFF_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")

NOW = dt.datetime(2011, 1, 10, 9, 0, tzinfo=dt.UTC)
REVIEW = "southend-iawg-scr-audit-2010"
AGENCY = "southend-lscb"
BM = "business.manager@southend-lscb.example.org"
PANEL = "panel.member@southend-lscb.example.org"
STATEMENT = "Minutes of the LSCB meeting adopting the monitoring process, with the new template."
REASON = "The minutes do not show who monitors the action plan or how often."
MEETING = dt.date(2011, 1, 6)
CYCLE = ("submit_evidence", "challenge")
CALENDAR = Calendar()  # the default, as in Services: Europe/London, GB-ENG bank holidays

TARGETS = {"sqlite_committed": 4.0, "sqlite_batched": 6.0, "postgres": 1.5, "machine_us": 15.0}


@dataclass(frozen=True)
class Sizes:
    rounds: int
    warmup: int
    committed: int  # transitions per round, one transaction each (SQLite)
    batch: int  # transitions per transaction in the batched measurements
    pg_committed: int  # transitions per round, one transaction each (PostgreSQL)
    machine: int  # next_state calls per round

    def items(self, transitions: int) -> int:
        """Enough items that each one sees about two submit/challenge pairs at most."""
        return max(100, transitions // 4 + 1)


FULL = Sizes(rounds=5, warmup=200, committed=500, batch=1000, pg_committed=200, machine=100_000)
QUICK = Sizes(rounds=3, warmup=60, committed=100, batch=1000, pg_committed=50, machine=20_000)


# --- data ------------------------------------------------------------------------------


def prepare(db: Database, n_items: int) -> list[int]:
    """Migrate, publish the workflow, import the Southend plan and contacts, add ``n_items``.

    Deterministic: two databases prepared alike get the same ids everywhere.
    """
    rec = Recommendation.__table__  # type: ignore[attr-defined]
    version_id = common.migrate_and_publish(db, NOW)
    spec = load_spec_file(WORKFLOW, available())
    with db.write() as conn:
        common.import_examples(conn, NOW, calendar=CALENDAR)
        ids = []
        for i in range(n_items):
            rec_id = conn.execute(
                rec.insert()
                .values(
                    review_id=REVIEW,
                    ref=f"B{i:05d}",
                    text=f"Benchmark recommendation {i}.",
                    due_dates=[],
                    themes=[],
                    source={},
                )
                .returning(rec.c.id)
            ).scalar_one()
            ids.append(
                create_item(
                    conn,
                    recommendation_id=rec_id,
                    agency_id=AGENCY,
                    spec=spec,
                    version_id=version_id,
                    due=None,
                    actor="bench",
                    now=NOW,
                    calendar=CALENDAR,
                )
            )
    return ids


class Workload:
    """The same deterministic sequence of requests for each side: pairs on items in turn."""

    def __init__(self, item_ids: Sequence[int]) -> None:
        self.item_ids, self.pos = list(item_ids), 0

    def take(self, n: int) -> list[FireRequest]:
        out = [self._request(i) for i in range(self.pos, self.pos + n)]
        self.pos += n
        return out

    def _request(self, i: int) -> FireRequest:
        item = self.item_ids[(i // 2) % len(self.item_ids)]
        if CYCLE[i % 2] == "submit_evidence":
            return FireRequest(
                item=item,
                trigger="submit_evidence",
                actor=BM,
                now=NOW,
                evidence=(EvidenceInput(statement=STATEMENT),),
            )
        return FireRequest(
            item=item,
            trigger="challenge",
            actor=PANEL,
            now=NOW,
            reason=REASON,
            meeting_date=MEETING,
        )


# --- the service side ----------------------------------------------------------------


def service_committed(services: Services, requests: Sequence[FireRequest]) -> None:
    for request in requests:
        fire(services, request)


def service_batched(services: Services, requests: Sequence[FireRequest]) -> None:
    # ``fire`` always opens its own transaction, so for many transitions per commit we call
    # its body, the internal ``_fire_in``, inside one ``db.write()`` block. ``stored`` is
    # built exactly as ``fire`` builds it (statements only: no file is stored).
    with services.db.write() as conn:
        for request in requests:
            stored = [(ev, None) for ev in request.evidence]
            fire_in(conn, services.specs, request, stored, services.calendar)


# --- the raw side --------------------------------------------------------------------

_ITEM_COLUMNS = (
    "item.id, item.state, item.version, item.seq, item.last_hash, item.workflow_version_id, "
    "item.agency_id, item.rag, item.due, item.due_history, item.pending_due, item.actors, "
    "item.entered_at, item.entered_seq, item.next_attention_at, item.recommendation_id, "
    "recommendation.agreed_action, recommendation.review_id, recommendation.ref"
)


@dataclass(frozen=True)
class Statements:
    """The SQL the service sends, as SQLAlchemy renders it for one dialect."""

    select_item: str
    select_contacts: str  # with {marks}: one placeholder per contact role to notify
    insert_evidence: str
    select_evidence: str
    insert_event: str
    update_item: str
    cancel_chasing: str
    insert_outbox: str
    insert_request: str  # the evidence request made on entering a request_on_entry state
    mark: str  # one VARCHAR placeholder
    returns_ids: bool  # PostgreSQL inserts return the new id; SQLite uses lastrowid


def _statements(postgres: bool) -> Statements:
    """SQLAlchemy's rendering: PostgreSQL casts every parameter and returns inserted ids."""

    def m(*types: str) -> str:
        return ", ".join(f"%s::{t}" if postgres else "?" for t in types)

    i, v, ts, j, d = "INTEGER", "VARCHAR", "TIMESTAMP WITHOUT TIME ZONE", "JSON", "DATE"
    trigger = "trigger" if postgres else '"trigger"'
    event_id = " RETURNING event.id" if postgres else ""
    outbox_id = " RETURNING outbox.id" if postgres else ""
    return Statements(
        select_item=f"SELECT {_ITEM_COLUMNS} \nFROM item JOIN recommendation ON "
        f"recommendation.id = item.recommendation_id \nWHERE item.id = {m(i)}",
        select_contacts="SELECT contact.agency_id, contact.role, contact.email, "
        "contact.absent, contact.deputy_email, contact.failing \nFROM contact \n"
        f"WHERE contact.email = {m(v)} OR contact.role IN ({{marks}})",
        insert_evidence="INSERT INTO evidence (item_id, submitted_by, submitted_at, statement, "
        "filename, stored_name, sha256, size, content_type, channel, request_id) VALUES "
        f"({m(i, v, ts, v, v, v, v, i, v, v, i)}) "
        f"RETURNING {'evidence.id' if postgres else 'id'}",
        select_evidence=f"SELECT evidence.id, evidence.sha256 \nFROM evidence \n"
        f"WHERE evidence.item_id = {m(i)} ORDER BY evidence.id",
        insert_event=f"INSERT INTO event (item_id, seq, at, actor, {trigger}, from_state, "
        "to_state, reason, rag, data, prev_hash, hash) VALUES "
        f"({m(i, i, ts, v, v, v, v, v, v, j, v, v)}){event_id}",
        # every mutable column, in the table's column order, as the service's fixed UPDATE
        update_item=f"UPDATE item SET state={m(v)}, rag={m(v)}, version={m(i)}, seq={m(i)}, "
        f"last_hash={m(v)}, due={m(d)}, due_history={m(j)}, pending_due={m(d)}, "
        f"actors={m(j)}, entered_at={m(ts)}, entered_seq={m(i)}, next_attention_at={m(ts)}, "
        f"updated_at={m(ts)} WHERE item.id = {m(i)} AND item.version = {m(i)}",
        cancel_chasing=f"UPDATE outbox SET status={m(v)} WHERE outbox.item_id = {m(i)} AND "
        f"outbox.status = {m(v)} AND outbox.kind IN ({m(v, v, v)})",
        insert_outbox="INSERT INTO outbox (dedupe_key, item_id, kind, template, recipient, "
        "context, status, attempts, next_attempt_at, created_at) VALUES "
        f"({m(v, i, v, v, v, j, v, i, ts, ts)}){outbox_id}",
        insert_request="INSERT INTO evidence_request (public_id, item_id, agency_id, recipient, "
        "asked, due, state, entered_seq, issued_at, issued_by, expires_at, issues, status) "
        f"VALUES ({m(v, i, v, v, v, d, v, i, ts, v, ts, i, v)}) "
        f"RETURNING {'evidence_request.id' if postgres else 'id'}",
        mark=m(v),
        returns_ids=postgres,
    )


SQLITE_SQL = _statements(postgres=False)
POSTGRES_SQL = _statements(postgres=True)


@dataclass(frozen=True)
class RawRole:
    contact_roles: tuple[str, ...]
    any_agency: bool


@dataclass(frozen=True)
class RawAsk:
    """The evidence request a transition makes by entering a ``request_on_entry`` state."""

    answering: tuple[RawRole, ...]  # the roles of the transition that will answer it
    template: str  # the state's request template
    expects: str  # what the state expects, stripped ("" when it says nothing)


@dataclass(frozen=True)
class RawTransition:
    """What the raw side knows about one transition: taken from the spec once, up front."""

    dest: str
    dest_state: State  # its deadline rule
    allowed: tuple[RawRole, ...]
    notify: tuple[tuple[str, tuple[RawRole, ...]], ...]  # (template, roles)
    ask: RawAsk | None  # the request made on entering ``dest``, if its workflow says so
    contacts_sql: str  # the actor's rows and the holders of the contact roles in ``wanted``
    wanted: tuple[str, ...]


def raw_transitions(spec: WorkflowSpec, sql: Statements) -> dict[tuple[str, str], RawTransition]:
    def role(name: str) -> RawRole:
        r = spec.model.roles[name]
        return RawRole(tuple(r.contact_roles), r.scope is Scope.ANY)

    out = {}
    for (trigger, state), t in spec.table.items():
        if trigger not in CYCLE:
            continue
        notify = tuple((n.template, tuple(role(x) for x in n.to)) for n in t.notify)
        roles = {r for _, rs in notify for r in rs}
        ask = None
        dest_state = spec.states[t.dest or state]
        answering = answer_transition(spec.model, t.dest) if t.dest is not None else None
        if dest_state.request_on_entry and answering is not None:
            ask = RawAsk(
                answering=tuple(role(x) for x in answering.roles),
                template=dest_state.templates["request"],
                expects=(dest_state.expects or "").strip(),
            )
            roles.update(ask.answering)
        wanted = tuple(sorted({c for r in roles for c in r.contact_roles}))
        out[(trigger, state)] = RawTransition(
            dest=t.dest or state,
            dest_state=dest_state,
            allowed=tuple(role(x) for x in t.roles),
            notify=notify,
            ask=ask,
            contacts_sql=sql.select_contacts.format(marks=", ".join([sql.mark] * len(wanted))),
            wanted=wanted,
        )
    return out


def role_emails(role: RawRole, contacts: Sequence[Any], agency: str) -> list[str]:
    """A workflow role's addresses, as ``Directory.workflow_role`` resolves them: the first
    of its contact roles anyone holds (in the item's agency unless scoped to any), deputies
    for the absent, failing addresses skipped."""
    for contact_role in role.contact_roles:
        found = [
            deputy if absent and deputy else email
            for a, r, email, absent, deputy, failing in contacts
            if r == contact_role and (role.any_agency or a == agency) and not failing
        ]
        if found:
            return found
    return []


class RawFire:
    """The service's statements for one transition, written directly against the driver.

    The Python around them is the minimum the same decision needs: the transition lookup,
    the role check, the event's data and hash, the actors record and the recipients.
    """

    def __init__(self, conn: Any, spec: WorkflowSpec, sql: Statements, postgres: bool) -> None:
        self.conn, self.sql, self.postgres = conn, sql, postgres
        self.table = raw_transitions(spec, sql)
        self.cur = conn.cursor()

    def committed(self, requests: Sequence[FireRequest]) -> None:
        for request in requests:
            self._begin()
            self.fire(request)
            self.conn.commit()

    def batched(self, requests: Sequence[FireRequest]) -> None:
        self._begin()
        for request in requests:
            self.fire(request)
        self.conn.commit()

    def _begin(self) -> None:
        if not self.postgres:  # the service's SQLite writes begin with BEGIN IMMEDIATE
            self.cur.execute("BEGIN IMMEDIATE")

    def _json(self, value: Any) -> Any:
        return Json(value) if self.postgres else json.dumps(value)

    def _ts(self, value: dt.datetime) -> Any:
        """Naive UTC, as the service's UTCDateTime stores it (SQLite: SQLAlchemy's text form)."""
        naive = value.astimezone(dt.UTC).replace(tzinfo=None)
        return naive if self.postgres else naive.isoformat(" ", "microseconds")

    def cancel_chasing_plan(self) -> str:
        """How the database plans the service's cancel-chasing UPDATE on the outbox."""
        params = ("cancelled", 1, "pending", "reminder", "chase", "escalation")
        if self.postgres:
            rows = self.cur.execute("EXPLAIN " + self.sql.cancel_chasing, params).fetchall()
            self.conn.rollback()
            return " / ".join(r[0].strip(" ->") for r in rows if "Scan" in r[0])
        rows = self.cur.execute("EXPLAIN QUERY PLAN " + self.sql.cancel_chasing, params)
        return " / ".join(r[3] for r in rows.fetchall())

    def fire(self, req: FireRequest) -> None:
        cur, sql = self.cur, self.sql
        at = self._ts(req.now)
        (
            item_id,
            state,
            version,
            seq,
            last_hash,
            version_id,
            agency,
            rag,
            due,
            due_history,
            pending_due,
            actors,
            _entered_at,
            _entered_seq,
            _attention,
            _recommendation_id,
            agreed_action,
            review_id,
            ref,
        ) = cur.execute(sql.select_item, (req.item,)).fetchone()
        t = self.table[(req.trigger, state)]
        # one read: the actor's own rows (their roles) and every holder of a role to notify
        actor = req.actor.strip().lower()
        contacts = cur.execute(t.contacts_sql, (actor, *t.wanted)).fetchall()
        if not any(
            r in role.contact_roles and (role.any_agency or a == agency)
            for role in t.allowed
            for a, r, email, *_ in contacts
            if email == actor
        ):
            raise PermissionError(f"{req.actor} may not {req.trigger}")

        data: dict[str, Any] = {"workflow_version_id": version_id}
        if req.meeting_date:
            data["meeting_date"] = req.meeting_date.isoformat()
        if req.evidence:
            data["evidence"] = []
            for ev in req.evidence:
                text = (ev.statement or "").encode()
                sha = hashlib.sha256(text).hexdigest()
                cur.execute(
                    sql.insert_evidence,
                    (item_id, req.actor, at, ev.statement, None, None, sha, len(text),
                     "text/plain", "staff", None),
                )  # fmt: skip
                data["evidence"].append({"id": cur.fetchone()[0], "sha256": sha})
        else:
            cur.execute(sql.select_evidence, (item_id,))
            data["evidence_on_file"] = [{"id": i, "sha256": s} for i, s in cur.fetchall()]

        seq += 1
        when = req.now.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        payload = json.dumps(
            [item_id, seq, when, req.actor, req.trigger, state, t.dest, req.reason, None, data],
            sort_keys=True,
            separators=(",", ":"),
            ensure_ascii=False,
        )
        digest = hashlib.sha256((last_hash + payload).encode()).hexdigest()
        cur.execute(
            sql.insert_event,
            (
                item_id,
                seq,
                at,
                req.actor,
                req.trigger,
                state,
                t.dest,
                req.reason,
                None,
                self._json(data),
                last_hash,
                digest,
            ),
        )
        if sql.returns_ids:
            cur.fetchone()

        if not self.postgres:  # SQLite hands back JSON as text, dates as ISO text
            actors, due_history = json.loads(actors), json.loads(due_history)
            item_due = due and dt.date.fromisoformat(due)
        else:
            item_due = due
        if req.actor not in actors.get(req.trigger, ()):
            actors[req.trigger] = [*actors.get(req.trigger, ()), req.actor]
        # the new state's deadline: the same pure functions (and calendar) the service uses
        plan = deadlines.plan(
            t.dest_state, item_due=item_due, entered_at=req.now, entered_seq=seq, calendar=CALENDAR
        )
        attention = deadlines.attention(plan, req.now, CALENDAR)
        # the service's fixed UPDATE binds every mutable column: the unchanged ones (rag, due,
        # due_history, pending_due) go back as read (dates as they came, JSON re-encoded)
        cur.execute(
            sql.update_item,
            (t.dest, rag, version + 1, seq, digest, due, self._json(due_history), pending_due,
             self._json(actors), at, seq, attention and self._ts(attention), at, item_id,
             version),
        )  # fmt: skip
        if cur.rowcount != 1:
            raise RuntimeError(f"item {item_id} changed underneath")
        # the item moved: reminders and chases planned for its old state no longer apply
        cur.execute(
            sql.cancel_chasing, ("cancelled", item_id, "pending", "reminder", "chase", "escalation")
        )

        for template, roles in t.notify:
            emails = {e for role in roles for e in role_emails(role, contacts, agency)}
            for email in sorted(emails):
                context = {
                    "key": f"{review_id}/{ref}",
                    "trigger": req.trigger,
                    "from_state": state,
                    "to_state": t.dest,
                    "seq": seq,
                }
                cur.execute(
                    sql.insert_outbox,
                    (
                        f"event:{item_id}:{seq}:{template}:{email}",
                        item_id,
                        "decision",
                        template,
                        email,
                        self._json(context),
                        "pending",
                        0,
                        at,
                        at,
                    ),
                )
                if sql.returns_ids:
                    cur.fetchone()

        if t.ask is not None:
            self._ask(req, t.ask, t.dest, item_id, agency, agreed_action, due, seq, contacts)

    def _ask(
        self,
        req: FireRequest,
        ask: RawAsk,
        state: str,
        item_id: int,
        agency: str,
        agreed_action: str | None,
        due: Any,
        seq: int,
        contacts: Sequence[Any],
    ) -> None:
        """The evidence request made on entering ``state``: its row and its email."""
        people = sorted({e for role in ask.answering for e in role_emails(role, contacts, agency)})
        if not people:  # nobody to ask: the service makes no request either
            return
        cur, sql, at = self.cur, self.sql, self._ts(req.now)
        parts = ((agreed_action or "").strip(), ask.expects)
        asked = "\n\n".join(p for p in parts if p) or "Evidence that the agreed action is in place."
        # random, as engine.requests.tokens.new_public_id makes it: 80 bits, lower-case base32
        public_id = base64.b32encode(secrets.token_bytes(10)).decode().rstrip("=").lower()
        cur.execute(
            sql.insert_request,
            (public_id, item_id, agency, people[0], asked, due, state, seq, at, req.actor,
             self._ts(req.now + DEFAULT_EXPIRY), 1, "open"),
        )  # fmt: skip
        request_id = cur.fetchone()[0]
        cur.execute(
            sql.insert_outbox,
            (
                f"request:{public_id}:1",
                item_id,
                "request",
                ask.template,
                people[0],
                self._json({"request": public_id, "request_id": request_id, "issue": 1}),
                "pending",
                0,
                at,
                at,
            ),
        )
        if sql.returns_ids:
            cur.fetchone()


# --- measuring -----------------------------------------------------------------------


def _elapsed(run: Callable[[list[Any]], None], work: list[Any]) -> float:
    """Seconds ``run(work)`` takes, starting from a collected heap."""
    gc.collect()
    start = time.perf_counter()
    run(work)
    return time.perf_counter() - start


@dataclass
class Comparison:
    service_us: list[float]
    raw_us: list[float]

    @property
    def ratios(self) -> list[float]:
        return [s / r for s, r in zip(self.service_us, self.raw_us, strict=True)]


def summarise(c: Comparison, target: float) -> str:
    ratio = statistics.median(c.ratios)
    verdict = "meets" if ratio <= target else "MISSES"
    return (
        f"  median: service {statistics.median(c.service_us):.1f} µs, raw "
        f"{statistics.median(c.raw_us):.1f} µs per transition; ratio {ratio:.2f}× "
        f"(spread {min(c.ratios):.2f}–{max(c.ratios):.2f}×); target ≤ {target:g}×: {verdict}"
    )


@contextmanager
def traced(conn: sqlite3.Connection) -> Iterator[list[str]]:
    """Every statement SQLite executes on ``conn`` while inside the block."""
    seen: list[str] = []
    conn.set_trace_callback(seen.append)
    try:
        yield seen
    finally:
        conn.set_trace_callback(None)


# A request's public id (engine.requests.tokens.new_public_id) is random: the one value the two
# sides may not share. Both checks below replace each side's ids by their order of creation.
_PUBLIC_ID = re.compile(r"(?<![a-z2-7])[a-z2-7]{16}(?![a-z2-7])")
_ISSUED = re.compile(r"^INSERT INTO evidence_request \(public_id\b.*?\) VALUES \('([a-z2-7]+)'")


def _renamed(value: Any, names: dict[str, str]) -> Any:
    """``value`` with every public id in ``names`` replaced by its name (JSON included)."""
    if isinstance(value, str):
        return _PUBLIC_ID.sub(lambda m: names.get(m.group(), m.group()), value)
    if isinstance(value, dict):
        return {k: _renamed(v, names) for k, v in value.items()}
    if isinstance(value, list):
        return [_renamed(v, names) for v in value]
    return value


def _names(public_ids: Sequence[str]) -> dict[str, str]:
    """Public ids in order of creation -> ``<request 1>``, ``<request 2>`` ..."""
    names = {p: f"<request {n}>" for n, p in enumerate(public_ids, 1)}
    if len(names) != len(public_ids):
        raise AssertionError("a public id was issued twice")
    return names


def _same_statements(service_sql: list[str], raw_sql: list[str]) -> tuple[list[str], list[str]]:
    """Both traces, each side's public ids named by the order its requests were issued in."""
    out = []
    for trace in (service_sql, raw_sql):
        issued = [m.group(1) for s in trace if (m := _ISSUED.match(s))]
        names = _names(issued)
        out.append([_renamed(s, names) for s in trace])
    return out[0], out[1]


# Every table fire() writes, whole rows in id order; in (table, column) the public ids are
# the free variable (``context`` is JSON: text on SQLite, decoded on PostgreSQL).
_WRITTEN = ("item", "event", "evidence", "evidence_request", "outbox")
_FREE = {("evidence_request", "public_id"), ("outbox", "dedupe_key"), ("outbox", "context")}


def _dump(conn: Any) -> dict[str, tuple[list[str], list[tuple[Any, ...]]]]:
    """Each written table's column names and rows, public ids named (see _FREE)."""
    issued = [r[0] for r in conn.execute("SELECT public_id FROM evidence_request ORDER BY id")]
    names = _names(issued)
    out = {}
    for table in _WRITTEN:
        cur = conn.execute(f"SELECT * FROM {table} ORDER BY id")  # noqa: S608 (fixed names)
        columns = [d[0] for d in cur.description]
        free = [(table, c) in _FREE for c in columns]
        rows = [
            tuple(_renamed(v, names) if f else v for v, f in zip(row, free, strict=True))
            for row in cur.fetchall()
        ]
        out[table] = (columns, rows)
    return out


def check_same_data(service_conn: Any, raw_conn: Any) -> str:
    """Both sides ran the same requests: every row they wrote must agree exactly, column by
    column, except that each side's random request public ids are named by creation order."""
    service, raw = _dump(service_conn), _dump(raw_conn)
    for table in _WRITTEN:
        (columns, s_rows), (raw_columns, r_rows) = service[table], raw[table]
        if columns != raw_columns or len(s_rows) != len(r_rows):
            raise AssertionError(
                f"the raw baseline wrote something different from the service: {table} has "
                f"{len(s_rows)} rows ({columns}) against {len(r_rows)} ({raw_columns})"
            )
        for s_row, r_row in zip(s_rows, r_rows, strict=True):
            if s_row != r_row:
                diff = {c: (a, b) for c, a, b in zip(columns, s_row, r_row, strict=True) if a != b}
                raise AssertionError(
                    f"the raw baseline wrote something different from the service: {table} "
                    f"id {s_row[0]}, (service, raw) = {diff}"
                )
    counts = ", ".join(f"{len(service[t][1])} {t}" for t in _WRITTEN)
    return f"identical, row by row with every column ({counts} rows)"


def chains_verify(db: Database) -> str:
    with db.engine.connect() as conn:
        result = verify(conn)
    return "verify" if result.ok else f"BROKEN: {result.broken}"


# --- the measurements ----------------------------------------------------------------


@dataclass
class Pair:
    """The two sides of one backend's comparison, each with its own copy of the workload."""

    services: Services
    service_work: Workload
    raw: RawFire
    raw_work: Workload

    def warm_up(self, n: int) -> None:
        service_committed(self.services, self.service_work.take(n))
        self.raw.committed(self.raw_work.take(n))
        service_batched(self.services, self.service_work.take(n))
        self.raw.batched(self.raw_work.take(n))
        self.deliver_outbox()

    def deliver_outbox(self) -> None:
        """Stand in for the mailer, untimed and alike on both sides: pending rows become sent.

        It keeps the outbox as a running service would see it. With the (item_id, status)
        index of migration 0003 the cancel-chasing UPDATE no longer scans every pending row,
        but the planner's choice can still depend on how many there are (see the plans printed).
        """
        deliver = "UPDATE outbox SET status = 'sent' WHERE status = 'pending'"
        with self.services.db.write() as conn:
            conn.exec_driver_sql(deliver)
        self.raw.cur.execute(deliver)
        self.raw.conn.commit()

    def committed(self, title: str, rounds: int, per_round: int) -> Comparison:
        def service(requests: list[FireRequest]) -> None:
            service_committed(self.services, requests)

        return self._compare(title, rounds, per_round, service, self.raw.committed)

    def batched(self, title: str, rounds: int, per_round: int) -> Comparison:
        def service(requests: list[FireRequest]) -> None:
            service_batched(self.services, requests)

        return self._compare(title, rounds, per_round, service, self.raw.batched)

    def _compare(
        self,
        title: str,
        rounds: int,
        per_round: int,
        service: Callable[[list[FireRequest]], None],
        raw: Callable[[list[FireRequest]], None],
    ) -> Comparison:
        """Alternate which side goes first, round by round; print each round as it ends."""
        result = Comparison([], [])
        print(f"\n{title}")
        for n in range(rounds):
            self.deliver_outbox()
            sides = [
                ("service", service, self.service_work.take(per_round)),
                ("raw", raw, self.raw_work.take(per_round)),
            ]
            took = {k: _elapsed(run, work) for k, run, work in sides[:: 1 if n % 2 == 0 else -1]}
            result.service_us.append(took["service"] / per_round * 1e6)
            result.raw_us.append(took["raw"] / per_round * 1e6)
            print(
                f"  round {n + 1}: service {result.service_us[-1]:8.1f} µs   "
                f"raw {result.raw_us[-1]:8.1f} µs   ratio {result.ratios[-1]:5.2f}×"
            )
        return result


def check_sqlite_statements(pair: Pair, n: int) -> str:
    """Trace what SQLite itself runs for ``n`` more transitions from each side."""
    with pair.services.db.engine.connect() as c:
        pooled = c.connection.dbapi_connection  # the one connection the pool hands out
    assert isinstance(pooled, sqlite3.Connection)
    with traced(pooled) as service_sql:
        service_committed(pair.services, pair.service_work.take(n))
    with traced(pair.raw.conn) as raw_sql:
        pair.raw.committed(pair.raw_work.take(n))
    service_sql, raw_sql = _same_statements(service_sql, raw_sql)
    verdict = "the same, with the same values" if service_sql == raw_sql else "DIFFERENT"
    for a, b in zip(service_sql, raw_sql, strict=False):
        if a != b:
            verdict += f"; first difference:\n    service: {a}\n    raw:     {b}"
            break
    return (
        f"traced over {n} more, SQLite ran {len(service_sql) / n:.1f} statements per transition "
        f"from the service and {len(raw_sql) / n:.1f} from sqlite3 (BEGIN IMMEDIATE … COMMIT): "
        + verdict
    )


class RecordingCursor:
    """A psycopg cursor that remembers the text of each statement."""

    def __init__(self, cursor: Any) -> None:
        self.cursor, self.seen = cursor, []

    def execute(self, query: str, params: Any = None) -> RecordingCursor:
        self.seen.append(query)
        self.cursor.execute(query, params)
        return self

    def __getattr__(self, name: str) -> Any:
        return getattr(self.cursor, name)


def check_postgres_statements(pair: Pair, n: int) -> str:
    """Compare the statement texts each side sends for ``n`` more transitions.

    Run last: a cursor listener on the engine slows every later execute.
    """
    service_sql: list[str] = []

    def record(_c: Any, _cur: Any, statement: str, *_rest: Any) -> None:
        service_sql.append(re.sub(r"%\(\w+\)s", "%s", statement))  # named -> positional

    engine = pair.services.db.engine
    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        service_committed(pair.services, pair.service_work.take(n))
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)
    cursor = pair.raw.cur
    pair.raw.cur = recording = RecordingCursor(cursor)
    try:
        pair.raw.committed(pair.raw_work.take(n))
    finally:
        pair.raw.cur = cursor
    verdict = "the same text" if service_sql == recording.seen else "DIFFERENT"
    for a, b in zip(service_sql, recording.seen, strict=False):
        if a != b:
            verdict += f"; first difference:\n    service: {a}\n    raw:     {b}"
            break
    return (
        f"over {n} more, {len(service_sql) / n:.1f} statements per transition from the service "
        f"and {len(recording.seen) / n:.1f} from psycopg (which begins implicitly): {verdict}"
    )


def measure_sqlite(sizes: Sizes, tmp: Path, spec: WorkflowSpec) -> list[str]:
    """SQLite: one commit per transition, then 1,000 per commit; the service against sqlite3."""
    checked = 20
    total = sizes.warmup * 2 + checked + sizes.rounds * (sizes.committed + sizes.batch)
    service_db = Database(f"sqlite:///{tmp / 'service.db'}")
    raw_db = Database(f"sqlite:///{tmp / 'raw.db'}")
    ids = prepare(service_db, sizes.items(total))
    assert prepare(raw_db, sizes.items(total)) == ids
    raw_db.dispose()  # from here on the raw side reaches its file through sqlite3 alone
    raw_conn = common.raw_sqlite(tmp / "raw.db")
    pair = Pair(
        Services(db=service_db, data_dir=tmp / "data"),
        Workload(ids),
        RawFire(raw_conn, spec, SQLITE_SQL, postgres=False),
        Workload(ids),
    )
    print(f"\nSQLite {sqlite3.sqlite_version}: {tmp}/{{service,raw}}.db, {len(ids)} items each")
    pair.warm_up(sizes.warmup)
    print(f"  warm-up: {sizes.warmup} committed + {sizes.warmup} batched per side")
    print(f"  statements: {check_sqlite_statements(pair, checked)}")
    print(f"  outbox cancel-chasing UPDATE plan: {pair.raw.cancel_chasing_plan()}")

    committed = pair.committed(
        f"1. SQLite, one transaction per transition ({sizes.committed} per round)",
        sizes.rounds,
        sizes.committed,
    )
    print(summarise(committed, TARGETS["sqlite_committed"]))
    batched = pair.batched(
        f"2. SQLite, {sizes.batch} transitions per transaction (one transaction per round)",
        sizes.rounds,
        sizes.batch,
    )
    print(summarise(batched, TARGETS["sqlite_batched"]))

    with service_db.engine.connect() as c:
        same_data = check_same_data(c.connection.dbapi_connection, raw_conn)
    raw_conn.close()
    print(
        f"  check: service and raw databases {same_data}; hash chains "
        f"{chains_verify(service_db)} (service) and {chains_verify(raw_db)} (raw)"
    )
    raw_db.dispose()
    service_db.dispose()
    return [
        f"SQLite committed   {statistics.median(committed.ratios):5.2f}×  (target ≤ 4×)",
        f"SQLite batched     {statistics.median(batched.ratios):5.2f}×  (target ≤ 6×)",
    ]


def measure_postgres(sizes: Sizes, spec: WorkflowSpec) -> list[str]:
    """PostgreSQL: one commit per transition, then 1,000 per commit; the service against psycopg."""
    try:
        admin = psycopg.connect(PG_URL, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        print(f"\n3. PostgreSQL: skipped, unreachable at {PG_URL}: {exc}".rstrip())
        return ["PostgreSQL         skipped (unreachable)"]
    tag = uuid.uuid4().hex[:10]
    schemas = {side: f"bench_{side}_{tag}" for side in ("service", "raw")}
    settings = [
        admin.execute(f"SELECT current_setting('{name}')").fetchone()
        for name in ("server_version", "synchronous_commit")
    ]
    version, sync = (row[0] if row else "?" for row in settings)
    dbs: dict[str, Database] = {}
    raw_conn = None
    try:
        checked = 20
        total = sizes.warmup * 2 + checked + sizes.rounds * (sizes.pg_committed + sizes.batch)
        ids = {}
        for side, schema in schemas.items():
            admin.execute(f'CREATE SCHEMA "{schema}"')
            # every connection of this engine works in the private schema
            dbs[side] = Database(PG_URL, connect_args={"options": f"-csearch_path={schema}"})
            ids[side] = prepare(dbs[side], sizes.items(total))
        assert ids["service"] == ids["raw"]
        dbs["raw"].dispose()
        raw_conn = psycopg.connect(PG_URL, options=f"-csearch_path={schemas['raw']}")
        pair = Pair(
            Services(db=dbs["service"], data_dir=Path(tempfile.gettempdir())),
            Workload(ids["service"]),
            RawFire(raw_conn, spec, POSTGRES_SQL, postgres=True),
            Workload(ids["raw"]),
        )
        print(
            f"\nPostgreSQL {version} at {PG_URL} (synchronous_commit={sync}), schemas "
            f"{', '.join(schemas.values())}, {len(ids['raw'])} items each"
        )
        pair.warm_up(sizes.warmup)
        print(
            f"  warm-up: {sizes.warmup} committed + {sizes.warmup} batched per side. The "
            "service's engine recycles connections (pool_recycle) rather than pinging them, "
            "so neither side makes a round trip beyond its statements"
        )

        committed = pair.committed(
            f"3a. PostgreSQL, one transaction per transition ({sizes.pg_committed} per round)",
            sizes.rounds,
            sizes.pg_committed,
        )
        print(summarise(committed, TARGETS["postgres"]))
        batched = pair.batched(
            f"3b. PostgreSQL, {sizes.batch} transitions per transaction",
            sizes.rounds,
            sizes.batch,
        )
        print(summarise(batched, TARGETS["postgres"]))

        print(f"  statements: {check_postgres_statements(pair, checked)}")
        print(f"  outbox cancel-chasing UPDATE plan: {pair.raw.cancel_chasing_plan()}")
        with dbs["service"].engine.connect() as c:
            same_data = check_same_data(c.connection.dbapi_connection, raw_conn)
        raw_conn.close()
        print(
            f"  check: service and raw schemas {same_data}; hash chains "
            f"{chains_verify(dbs['service'])} (service) and {chains_verify(dbs['raw'])} (raw)"
        )
        return [
            f"PostgreSQL commit  {statistics.median(committed.ratios):5.2f}×  (target ≤ 1.5×)",
            f"PostgreSQL batched {statistics.median(batched.ratios):5.2f}×  (target ≤ 1.5×)",
        ]
    finally:
        if raw_conn is not None:
            raw_conn.close()
        for db in dbs.values():
            db.dispose()
        for schema in schemas.values():
            admin.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        admin.close()


def _next_state(spec: WorkflowSpec, state: str, trigger: str) -> str:
    t = spec.table[(trigger, state)]
    return t.dest if t.dest is not None else state


def measure_state_machine(sizes: Sizes, spec: WorkflowSpec) -> list[str]:
    """``_next_state(spec, state, trigger)`` (as ``fire`` does) over the workload's moves."""
    moves = [
        ("open", "submit_evidence"),
        ("evidence_submitted", "challenge"),
        ("challenged", "submit_evidence"),
        ("evidence_submitted", "challenge"),
    ]
    calls = [moves[i % len(moves)] for i in range(sizes.machine)]

    def run(calls: list[tuple[str, str]]) -> None:
        for state, trigger in calls:
            _next_state(spec, state, trigger)

    run(calls)  # warm-up
    per_call = [_elapsed(run, calls) / len(calls) * 1e6 for _ in range(sizes.rounds)]
    target = TARGETS["machine_us"]
    median = statistics.median(per_call)
    print(
        f"\n4. State machine: spec.table[(trigger, state)] and its destination, {len(calls)} "
        f"calls per round\n  rounds: {', '.join(f'{u:.2f}' for u in per_call)} µs\n"
        f"  median {median:.2f} µs per fire (spread {min(per_call):.2f}–{max(per_call):.2f});"
        f" target ≤ {target:g} µs: {'meets' if median <= target else 'MISSES'}"
    )
    return [f"State machine      {median:5.2f} µs per fire  (target ≤ 15 µs)"]


def profile_service(sizes: Sizes, tmp: Path) -> None:
    """cProfile of ``fire`` on SQLite, one commit per transition: where the time goes."""
    n = sizes.committed * sizes.rounds
    db = Database(f"sqlite:///{tmp / 'profile.db'}")
    services = Services(db=db, data_dir=tmp / "data")
    work = Workload(prepare(db, sizes.items(n + sizes.warmup)))
    service_committed(services, work.take(sizes.warmup))
    profiler = cProfile.Profile()
    for _ in range(sizes.rounds):  # rounds as measured: the mailer keeps the outbox short
        with db.write() as conn:
            conn.exec_driver_sql("UPDATE outbox SET status = 'sent' WHERE status = 'pending'")
        profiler.runcall(service_committed, services, work.take(sizes.committed))
    db.dispose()
    stats = pstats.Stats(profiler)
    rows = []
    for (file, line, func), (_cc, calls, own, cum, _callers) in stats.stats.items():
        where = file.split("site-packages/")[-1].removeprefix(str(ROOT) + "/")
        name = f"{where}:{line}({func})" if line else func
        ours = where.startswith(("engine/", "sqlalchemy/"))
        rows.append((cum / n * 1e6, own / n * 1e6, calls / n, name, ours))
    print(
        f"\nProfile: {n} committed service fires on SQLite, {stats.total_tt / n * 1e6:.0f} µs "
        "each under cProfile (which inflates Python-heavy code)"
    )
    header = f"  {'cum µs':>8} {'own µs':>8} {'calls':>6}  per fire"
    print(f"top 10 cumulative, engine/ and sqlalchemy only:\n{header}")
    for cum, own, calls, name, _ours in sorted((r for r in rows if r[4]), reverse=True)[:10]:
        print(f"  {cum:8.1f} {own:8.1f} {calls:6.1f}  {name}")
    print(f"top 10 own time, everything:\n{header}")
    for cum, own, calls, name, _ours in sorted(rows, key=lambda r: -r[1])[:10]:
        print(f"  {cum:8.1f} {own:8.1f} {calls:6.1f}  {name}")


# --- main ----------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a short run (fewer rounds)")
    parser.add_argument("--rounds", type=int, help="rounds per measurement (default 5; 3 quick)")
    parser.add_argument("--no-postgres", action="store_true", help="skip PostgreSQL")
    parser.add_argument("--profile", action="store_true", help="also cProfile fire on SQLite")
    args = parser.parse_args()
    sizes = QUICK if args.quick else FULL
    if args.rounds:
        sizes = replace(sizes, rounds=args.rounds)
    spec = load_spec_file(WORKFLOW, available())
    print(
        f"signoff transition benchmark: Python {platform.python_version()}, SQLAlchemy "
        f"{sa.__version__}, psycopg {psycopg.__version__}, {os.cpu_count()} CPUs, "
        f"{'quick' if args.quick else 'full'} run, {sizes.rounds} rounds, load average "
        f"{os.getloadavg()[0]:.2f} (a shared machine: read the spread, not one round)\n"
        "mix, alternating on each item, items in turn:\n"
        f"  submit_evidence by {BM}: a written statement\n"
        "    (evidence row, event, item update, 1 outbox row to the business manager)\n"
        f"  challenge by {PANEL}: reason + meeting date\n"
        "    (evidence-on-file select, event, item update, 1 outbox row to the agency,\n"
        "    and on entering challenged an evidence request: its row + 1 request outbox row)\n"
        "  each also reads the item and, in one query, the contacts (the actor's roles, the\n"
        "  recipients and who may answer the request); items go open ->\n"
        "  evidence_submitted -> challenged -> evidence_submitted ...; now is passed in"
    )
    summary = []
    with tempfile.TemporaryDirectory(prefix="signoff-bench-") as tmp:
        summary += measure_sqlite(sizes, Path(tmp), spec)
        if not args.no_postgres:
            summary += measure_postgres(sizes, spec)
        summary += measure_state_machine(sizes, spec)
        if args.profile:
            profile_service(sizes, Path(tmp))
    print("\nSummary (median of rounds; service ÷ raw):\n  " + "\n  ".join(summary))


if __name__ == "__main__":
    main()
