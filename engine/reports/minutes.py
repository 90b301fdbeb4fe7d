"""``minutes``: the decisions recorded for one panel meeting, assembled from the history.

A decision belongs to the meeting when its event names that meeting date
(``data.meeting_date``: challenges and sign-offs require one), or when it names none and was
recorded on that day (RAG changes, extension decisions and closures take no meeting date).
Each entry says which: ``basis`` is ``meeting_date`` or ``recorded_that_day``. Each carries
who decided, why, and the evidence on file it was decided on, by id and SHA-256: the
decision's own ``evidence_on_file`` where it recorded one, otherwise every submission made
before it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa

from engine.calendar import Calendar
from engine.reports.figures import FORMAT, Figure, Report, Table
from engine.reports.kinds import DECISIONS, Kind, kind_of, label_of
from engine.reports.lives import Life, Scope, Specs, local_day
from engine.store import core

_evidence = core.evidence
# what the minutes' summary calls each kind of decision
_KIND_WORDS = {
    Kind.CHALLENGE.value: "Challenges",
    Kind.SIGN_OFF.value: "Sign-offs",
    Kind.ASSURANCE.value: "Implementation confirmed",
    Kind.RAG.value: "RAG changes",
    Kind.EXTENSION_GRANTED.value: "Extensions granted",
    Kind.EXTENSION_REFUSED.value: "Extensions refused",
    Kind.CLOSURE.value: "Closures",
}


def build(
    conn: sa.Connection,
    lives: list[Life],
    specs: Specs,
    calendar: Calendar,
    *,
    scope: Scope,
    meeting: dt.date,
) -> Report:
    entries: list[dict[str, Any]] = []
    for life in lives:
        version = None
        rag: str | None = None
        state_label: dict[str, str] = {}
        submitted: list[dict[str, Any]] = []
        for e in life.events:
            data = e.data or {}
            version = e.version_id if e.version_id is not None else version
            spec = specs.spec(int(version)) if version is not None else None
            kind = kind_of(e, spec)
            rag_before: str | None = rag
            rag = e.rag or rag
            named = data.get("meeting_date")
            basis = None
            if named == meeting.isoformat():
                basis = "meeting_date"
            elif named is None and local_day(e.at, calendar) == meeting:
                basis = "recorded_that_day"
            rag_changed = bool(e.rag) and e.rag != rag_before
            if basis and (kind in DECISIONS or rag_changed):
                on_file = data.get("evidence_on_file")
                evidence = on_file if on_file is not None else list(submitted)
                if spec is not None:
                    state_label = {n: s.label for n, s in spec.states.items()}
                entries.append(
                    {
                        "key": life.key,
                        "review": life.review,
                        "agency": life.agency,
                        "title": life.title,
                        "at": e.at.isoformat(),
                        "basis": basis,
                        "kind": kind.value,
                        "trigger": e.trigger,
                        "decision": label_of(e, spec),
                        "from": e.from_state,
                        "from_label": state_label.get(e.from_state or "", e.from_state),
                        "to": e.to_state,
                        "to_label": state_label.get(e.to_state, e.to_state),
                        "actor": e.actor,
                        "reason": e.reason,
                        "rag": {"from": rag_before, "to": e.rag} if rag_changed else None,
                        "due": (
                            {"from": data.get("due_from"), "to": data.get("due_to")}
                            if kind is Kind.EXTENSION_GRANTED
                            else None
                        ),
                        "evidence": [{"id": int(x["id"]), "sha256": x["sha256"]} for x in evidence],
                        "seq": e.seq,
                    }
                )
            submitted.extend(data.get("evidence", ()))
    names = _filenames(conn, {x["id"] for m in entries for x in m["evidence"]})
    for m in entries:
        for x in m["evidence"]:
            x["filename"] = names.get(x["id"])
    entries.sort(key=lambda m: (m["at"], m["key"], m["seq"]))
    data = {
        "format": FORMAT,
        "report": "minutes",
        "meeting": meeting.isoformat(),
        "scope": {"review": scope.review, "agency": scope.agency},
        "count": len(entries),
        "decisions": entries,
    }
    by_kind: dict[str, list[str]] = {}
    for m in entries:
        by_kind.setdefault(m["kind"], []).append(m["key"])
    summary = Table(
        name="summary",
        caption=f"Decisions recorded for the panel meeting of {meeting.isoformat()}",
        columns=("Decision", "Items"),
        rows=tuple(
            (_KIND_WORDS.get(k, k), Figure.of(_KIND_WORDS.get(k, k), list(dict.fromkeys(v))))
            for k, v in sorted(by_kind.items())
        ),
    )
    detail = Table(
        name="decisions",
        caption="Each decision: who, why, and the evidence it was taken on (SHA-256)",
        columns=("Item", "Decision", "From", "To", "RAG", "By", "Why", "Evidence", "Basis"),
        rows=tuple(
            (
                m["key"],
                m["decision"],
                m["from_label"],
                m["to_label"],
                f"{m['rag']['from'] or 'no RAG'} to {m['rag']['to']}" if m["rag"] else None,
                m["actor"],
                m["reason"],
                "; ".join(
                    f"#{x['id']} {x['filename'] or 'statement'} sha256 {x['sha256']}"
                    for x in m["evidence"]
                )
                or "none on file",
                m["basis"].replace("_", " "),
            )
            for m in entries
        ),
    )
    return Report(name="minutes", title="Panel minutes", data=data, tables=(summary, detail))


def _filenames(conn: sa.Connection, ids: set[int]) -> dict[int, str | None]:
    if not ids:
        return {}
    rows = conn.execute(
        sa.select(_evidence.c.id, _evidence.c.filename).where(_evidence.c.id.in_(sorted(ids)))
    )
    return {r.id: r.filename for r in rows}
