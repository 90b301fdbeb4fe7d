"""Workflow drafts: edits the business manager saves on ``/admin/workflows``, never live until
published. The one writer of the workflow_draft table.

A draft starts as a copy of a published version's YAML (the latest, or an earlier one to roll
back to) and belongs to its author. Several drafts of one workflow may be open at once. Each
save names the revision it read (``expected_revision``) and bumps it, so a save over someone
else's newer save is refused (``DraftChanged``) instead of silently undoing it. Saving an
invalid draft is allowed — that is what drafts are for — and ``check`` lists each problem with
the YAML line it belongs to; publishing one is not.

``publish`` stores the draft as the next version through ``engine.versions.publish`` (which
moves the items in flight and refuses to strand any), with who, when and why (a note is
required). It refuses a draft whose starting version is no longer the latest: someone else
published since, and publishing over them would undo their change unseen (``PublishConflict``,
naming who and when). Two publishers at once get one success and one conflict on SQLite (write
transactions queue) and on PostgreSQL (the versions of the workflow are locked, then the
latest re-read). Rolling back is a publish like any other: ``create(from_version_id=...)`` then
``publish``.

Each draft keeps its changes: per save, who, when and a short summary in words
(``engine.spec.diff``). Every create, save, discard and publish is also an admin log event.
Functions take the caller's connection, inside its transaction; ``now`` is passed in.
"""

from __future__ import annotations

import datetime as dt
import importlib
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from engine import versions
from engine.errors import (
    DraftChanged,
    DraftInvalid,
    DraftNotFound,
    DraftRefused,
    PublishConflict,
    SpecError,
    SpecErrors,
    WorkflowNotFound,
)
from engine.store import core

if TYPE_CHECKING:
    from engine.services import Services
    from engine.spec import WorkflowSpec

_draft = core.workflow_draft
_wv = core.workflow_version
_item = core.item

MAX_AUTHOR = 320
MAX_NOTE = 1000
MAX_SUMMARY = 6  # sentences kept per save; the page's diff in words has them all


class DraftStatus(StrEnum):
    OPEN = "open"
    PUBLISHED = "published"
    DISCARDED = "discarded"


@dataclass(frozen=True, kw_only=True)
class Problem:
    """One thing wrong with a draft's YAML: the engine's message, where it is (a path such
    as ``states.open.deadline.chase_every``) and the 1-based line it belongs to (None when the
    message is about the whole text)."""

    message: str
    line: int | None
    path: str

    def __str__(self) -> str:
        where = f"line {self.line}: " if self.line else ""
        return f"{where}{self.path + ': ' if self.path else ''}{self.message}"


@dataclass(frozen=True, kw_only=True)
class Change:
    """One save of a draft: the revision it made, who, when, and what changed in words."""

    revision: int
    author: str
    at: dt.datetime
    summary: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class Draft:
    id: int
    workflow: str
    base_version_id: int
    author: str
    text: str
    revision: int
    created_at: dt.datetime
    updated_at: dt.datetime
    updated_by: str
    status: DraftStatus
    published_version_id: int | None
    changes: tuple[Change, ...]

    @property
    def is_open(self) -> bool:
        return self.status is DraftStatus.OPEN


@dataclass(frozen=True, kw_only=True)
class StateToMap:
    """A state the draft no longer has while items in flight are in it: each needs a state
    of the draft to move to (``publish``'s ``mapping``)."""

    state: str
    label: str
    items: int


def check(
    text: str, known_templates: Collection[str] | None = None, *, workflow: str | None = None
) -> list[Problem]:
    """Every problem the engine finds in ``text`` (empty when it would publish), each with its
    line: the workflow loader's own messages (``engine.spec``), as ``signoff workflow
    validate`` prints them. With ``workflow``, a text naming another workflow is a problem too.
    ``known_templates`` None skips the check of email template names.
    """
    try:
        spec = _load(text, known_templates)
    except SpecError as exc:
        errors = exc.errors if isinstance(exc, SpecErrors) else [exc]
        return [Problem(message=e.problem, line=e.line, path=e.path) for e in errors]
    if workflow is not None and spec.name != workflow:
        from engine.spec.reader import load

        return [
            Problem(
                message=f"this is a draft of {workflow!r}, so its name must stay {workflow!r} "
                f"(it says {spec.name!r}); a new workflow is published with "
                "'signoff workflow publish'",
                line=load(text).line_of(("name",)),
                path="name",
            )
        ]
    return []


def create(
    conn: sa.Connection,
    *,
    workflow: str,
    author: str,
    now: dt.datetime,
    from_version_id: int | None = None,
) -> Draft:
    """A new open draft of ``workflow``: a copy of its latest published version, or of the
    earlier version ``from_version_id`` (to roll back to it). Either way the draft's base is
    the latest version, the one publishing it replaces.

    Raises:
        WorkflowNotFound: nothing published under that name.
        DraftRefused: ``from_version_id`` is not a version of ``workflow`` (field ``version``);
            a bad author.
    """
    _check_author(author)
    base = versions.require_latest(conn, workflow)
    source = base if from_version_id is None else from_version_id
    try:
        info = versions.version_info(conn, source)
    except WorkflowNotFound:
        info = None
    if info is None or info.name != workflow:
        raise DraftRefused("version", f"no version #{source} of workflow {workflow!r}")
    text = versions.text_of(conn, source)
    base_info = versions.version_info(conn, base)
    started = (
        f"Started from version {info.version}, the published one"
        if source == base
        else f"Started from version {info.version}, to publish it again over version "
        f"{base_info.version}"
    )
    first = Change(revision=1, author=author, at=now, summary=(started,))
    draft_id = conn.execute(
        _draft.insert()
        .values(
            workflow=workflow,
            base_version_id=base,
            author=author,
            text=text,
            revision=1,
            created_at=now,
            updated_at=now,
            updated_by=author,
            status=DraftStatus.OPEN.value,
            published_version_id=None,
            changes=[_change_json(first)],
        )
        .returning(_draft.c.id)
    ).scalar_one()
    _log(
        conn,
        actor=author,
        at=now,
        action="workflow.draft.create",
        subject=f"workflow:{workflow}",
        before=None,
        after={"draft": draft_id, "from_version": info.version, "base_version": base_info.version},
    )
    return get(conn, draft_id)


def get(conn: sa.Connection, draft_id: int) -> Draft:
    """The draft with this id, whatever its status.

    Raises:
        DraftNotFound: no draft has that id.
    """
    row = conn.execute(sa.select(_draft).where(_draft.c.id == draft_id)).one_or_none()
    if row is None:
        raise DraftNotFound(draft_id)
    return _draft_of(row)


def list_open(conn: sa.Connection, workflow: str | None = None) -> list[Draft]:
    """The open drafts (of ``workflow``, or of every workflow), most recently saved first."""
    query = sa.select(_draft).where(_draft.c.status == DraftStatus.OPEN.value)
    if workflow is not None:
        query = query.where(_draft.c.workflow == workflow)
    rows = conn.execute(query.order_by(_draft.c.updated_at.desc(), _draft.c.id.desc()))
    return [_draft_of(r) for r in rows]


def save_text(
    conn: sa.Connection,
    draft_id: int,
    *,
    text: str,
    author: str,
    now: dt.datetime,
    expected_revision: int,
) -> Draft:
    """Save ``text`` as the draft's YAML, valid or not; the revision goes up by one and the
    save joins the draft's changes (who, when, what in words). Saving the same text again
    changes nothing and returns the draft as it is.

    Raises:
        DraftNotFound: no draft has that id.
        DraftRefused: the draft is published or discarded (field ``status``); the text is
            larger than a workflow file may be (``text``); a bad author.
        DraftChanged: someone saved the draft after revision ``expected_revision`` was read.
    """
    from engine.spec.loader import LIMITS

    _check_author(author)
    if len(text.encode()) > LIMITS.max_bytes:
        raise DraftRefused(
            "text",
            f"the YAML is larger than {LIMITS.max_bytes // 1024} KiB, the most a "
            "workflow file may be",
        )
    draft = _open_draft(conn, draft_id)
    if draft.revision != expected_revision:
        raise _changed(draft, expected_revision)
    if text == draft.text:
        return draft
    revision = draft.revision + 1
    change = Change(
        revision=revision, author=author, at=now, summary=tuple(describe_change(draft.text, text))
    )
    done = conn.execute(
        _draft.update()
        .where(_draft.c.id == draft_id, _draft.c.revision == expected_revision)
        .values(
            text=text,
            revision=revision,
            updated_at=now,
            updated_by=author,
            changes=[_change_json(c) for c in draft.changes] + [_change_json(change)],
        )
    )
    if done.rowcount != 1:  # saved by someone else between the read and the write
        raise _changed(get(conn, draft_id), expected_revision)
    _log(
        conn,
        actor=author,
        at=now,
        action="workflow.draft.save",
        subject=f"workflow:{draft.workflow}",
        before={"draft": draft_id, "revision": draft.revision, "text": draft.text},
        after={
            "draft": draft_id,
            "revision": revision,
            "text": text,
            "summary": list(change.summary),
        },
    )
    return get(conn, draft_id)


def discard(conn: sa.Connection, draft_id: int, *, author: str, now: dt.datetime) -> Draft:
    """Close an open draft without publishing it; it stays readable.

    Raises:
        DraftNotFound: no draft has that id.
        DraftRefused: it is already published or discarded (field ``status``).
    """
    _check_author(author)
    draft = _open_draft(conn, draft_id)
    conn.execute(
        _draft.update()
        .where(_draft.c.id == draft_id)
        .values(status=DraftStatus.DISCARDED.value, updated_at=now, updated_by=author)
    )
    _log(
        conn,
        actor=author,
        at=now,
        action="workflow.draft.discard",
        subject=f"workflow:{draft.workflow}",
        before={"draft": draft_id, "status": draft.status.value},
        after={"draft": draft_id, "status": DraftStatus.DISCARDED.value},
    )
    return get(conn, draft_id)


def states_to_map(
    conn: sa.Connection, services: Services, draft: Draft, spec: WorkflowSpec
) -> list[StateToMap]:
    """The states items in flight on ``draft``'s workflow are in that ``spec`` (the draft,
    loaded) lacks, with how many items are in each: publishing needs a mapping for each."""
    rows = conn.execute(
        sa.select(_item.c.workflow_version_id, _item.c.state, sa.func.count().label("n"))
        .join(_wv, _wv.c.id == _item.c.workflow_version_id)
        .where(_wv.c.name == draft.workflow, _item.c.state.not_in(list(spec.states)))
        .group_by(_item.c.workflow_version_id, _item.c.state)
    ).all()
    counts: dict[str, int] = {}
    labels: dict[str, str] = {}
    for r in rows:
        facts = services.specs.states(conn, r.workflow_version_id).get(r.state)
        if facts is None or facts.terminal:
            continue  # finished items keep the version they finished on
        counts[r.state] = counts.get(r.state, 0) + r.n
        labels.setdefault(r.state, facts.label)
    return [StateToMap(state=s, label=labels[s], items=counts[s]) for s in sorted(counts)]


def publish(
    conn: sa.Connection,
    services: Services,
    draft_id: int,
    *,
    author: str,
    note: str,
    mapping: Mapping[str, str],
    now: dt.datetime,
    known_templates: Collection[str] | None = None,
    migrate: bool = True,
) -> versions.Published:
    """Publish the draft as the next version of its workflow, recording ``author``, ``now``
    and ``note``; with ``migrate`` (the default) the items in flight move onto it, states
    the draft lacks through ``mapping`` (old state -> a state of the draft). The draft is
    then closed as published. One transaction: the caller's.

    Raises:
        DraftNotFound: no draft has that id.
        DraftRefused: no note, or a note too long (field ``note``); the draft is not open
            (``status``); it is the same as the published version (``text``); a bad author.
        PublishConflict: someone published the workflow since the draft started; names who
            and when.
        DraftInvalid: the draft's YAML has problems; carries each with its line.
        SpecError: ``mapping`` names a state the draft lacks.
        PublishRefused: items would be stranded in states the draft lacks; lists each one.
    """
    from engine.spec import load_spec

    _check_author(author)
    note = (note or "").strip()
    if not note:
        raise DraftRefused("note", "say why the workflow is changing; the note is required")
    if len(note) > MAX_NOTE:
        raise DraftRefused("note", f"the note is {len(note):,} characters; at most {MAX_NOTE:,}")
    draft = _open_draft(conn, draft_id)
    # On PostgreSQL a second publisher waits here for the first to commit, then re-reads the
    # latest version below and sees theirs; on SQLite the write transactions already queue.
    conn.execute(sa.select(_wv.c.id).where(_wv.c.name == draft.workflow).with_for_update()).all()
    latest = versions.require_latest(conn, draft.workflow)
    if latest != draft.base_version_id:
        base, now_latest = (
            versions.version_info(conn, draft.base_version_id),
            versions.version_info(conn, latest),
        )
        raise PublishConflict(
            draft.workflow,
            base=base.version,
            latest=now_latest.version,
            by=now_latest.published_by,
            at=now_latest.published_at,
        )
    problems = check(draft.text, known_templates, workflow=draft.workflow)
    if problems:
        raise DraftInvalid(draft.workflow, problems)
    spec = load_spec(draft.text, f"draft #{draft_id}", known_templates)
    base = versions.version_info(conn, draft.base_version_id)
    if spec.sha256 == base.sha256:
        raise DraftRefused(
            "text",
            f"the draft is the same as version {base.version}, the published one; "
            "change something before publishing",
        )
    done = versions.publish(
        conn,
        spec,
        actor=author,
        now=now,
        migrate=migrate,
        mapping=dict(mapping),
        note=note,
        calendar=services.calendar,
    )
    conn.execute(
        _draft.update()
        .where(_draft.c.id == draft_id)
        .values(
            status=DraftStatus.PUBLISHED.value,
            published_version_id=done.version_id,
            updated_at=now,
            updated_by=author,
        )
    )
    record_publish(
        conn,
        author=author,
        now=now,
        before=base,
        done=done,
        sha256=spec.sha256,
        note=note,
        mapping=mapping,
        draft_id=draft_id,
    )
    return done


def record_publish(
    conn: sa.Connection,
    *,
    author: str,
    now: dt.datetime,
    before: versions.VersionInfo | None,
    done: versions.Published,
    sha256: str,
    note: str | None,
    mapping: Mapping[str, str],
    draft_id: int | None = None,
) -> None:
    """The admin log event of a publish (from a draft, or ``signoff workflow publish``): the
    version before and after, the items moved and the mapping, with the note."""
    _log(
        conn,
        actor=author,
        at=now,
        action="workflow.publish",
        subject=f"workflow:{done.name}",
        before=None if before is None else {"version": before.version, "sha256": before.sha256},
        after={
            "version": done.version,
            "sha256": sha256,
            "draft": draft_id,
            "migrated": done.migrated,
            "mapping": dict(mapping),
        },
        note=note,
    )


def describe_change(old_text: str, new_text: str) -> list[str]:
    """What a save changed, in a few words: the changes in words (``engine.spec.diff``) when
    both texts load, otherwise how many lines were added and removed."""
    from engine.spec import diff

    old, new = _try_load(old_text), _try_load(new_text)
    if old is not None and new is not None:
        return diff.summary(old, new, most=MAX_SUMMARY - 1) or ["Layout or comments only"]
    added, removed = diff.line_counts(old_text, new_text)
    words = [f"Edited the YAML: {added} line(s) added, {removed} removed"]
    if new is None:
        words.append("The draft has problems to fix before it can be published")
    else:
        words.append("The draft has no problems now")
    return words


def _try_load(text: str) -> WorkflowSpec | None:
    try:
        return _load(text, None)
    except SpecError:
        return None


def _load(text: str, known_templates: Collection[str] | None) -> WorkflowSpec:
    from engine.spec import load_spec

    return load_spec(text, "draft", known_templates)


def _open_draft(conn: sa.Connection, draft_id: int) -> Draft:
    row = conn.execute(
        sa.select(_draft).where(_draft.c.id == draft_id).with_for_update()
    ).one_or_none()
    if row is None:
        raise DraftNotFound(draft_id)
    draft = _draft_of(row)
    if not draft.is_open:
        raise DraftRefused(
            "status", f"draft #{draft_id} is {draft.status.value}; create a new draft"
        )
    return draft


def _changed(draft: Draft, expected: int) -> DraftChanged:
    return DraftChanged(
        draft.id,
        expected=expected,
        revision=draft.revision,
        by=draft.updated_by,
        at=draft.updated_at,
    )


def _check_author(author: str) -> None:
    if not author or len(author) > MAX_AUTHOR:
        raise DraftRefused("author", f"the author must be 1 to {MAX_AUTHOR} characters")


def _change_json(change: Change) -> dict[str, Any]:
    return {
        "revision": change.revision,
        "author": change.author,
        "at": change.at.astimezone(dt.UTC).isoformat(),
        "summary": list(change.summary),
    }


def _draft_of(row: Any) -> Draft:
    return Draft(
        id=row.id,
        workflow=row.workflow,
        base_version_id=row.base_version_id,
        author=row.author,
        text=row.text,
        revision=row.revision,
        created_at=row.created_at,
        updated_at=row.updated_at,
        updated_by=row.updated_by,
        status=DraftStatus(row.status),
        published_version_id=row.published_version_id,
        changes=tuple(
            Change(
                revision=c["revision"],
                author=c["author"],
                at=dt.datetime.fromisoformat(c["at"]),
                summary=tuple(c["summary"]),
            )
            for c in row.changes
        ),
    )


def _log(
    conn: sa.Connection,
    *,
    actor: str,
    at: dt.datetime,
    action: str,
    subject: str,
    before: Any,
    after: Any,
    note: str | None = None,
) -> None:
    """One admin log event, in the caller's transaction (``engine.adminlog.record``).

    Until the admin log lands on main, a checkout without ``engine.adminlog`` records nothing.
    """
    try:
        adminlog = importlib.import_module("engine.adminlog")
    except ModuleNotFoundError:
        return
    adminlog.record(
        conn,
        actor=actor,
        at=at,
        action=action,
        subject=subject,
        before=before,
        after=after,
        note=note,
    )
