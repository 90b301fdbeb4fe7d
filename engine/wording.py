"""The email wording the business manager edits on ``/admin/emails``: versions per template.

Every save of a template's wording (its text part, whose first line is ``Subject: ...``, and
its HTML part) is a new row: who saved it, when and why. The newest row of a name is its
current wording; reverting to the shipped wording adds a row marked ``shipped``, so history
is never rewritten and the shipped file is used again. Nothing is saved unless ``check``
(the notification sandbox's ``validate``, passed in by the caller so that the engine needs no
template engine) accepts both parts; its error is raised unchanged and nothing is written.

Each version is named ``db<id>-<first 8 hex digits of its SHA-256>`` (:func:`version_name`):
the dispatcher records that name as the template version of every email that used it.
This module is the one writer of the email_wording table.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import sqlalchemy as sa

from engine import adminlog, outbox
from engine.errors import SignoffError
from engine.services import Services
from engine.store.tables import EmailWording

_wording = EmailWording.__table__  # type: ignore[attr-defined]
MAX_NOTE = 500
MAX_AUTHOR = 320

Check = Callable[[str, str, str], None]


@dataclass(frozen=True)
class Preview:
    """A wording rendered with the kind's sample values."""

    subject: str
    text: str
    html: str


class Book(Protocol):
    """The templates as the editor sees them (``notifications.templates.WordingBook``): the
    names, their shipped sources, the sandbox check and a preview with sample values."""

    @property
    def names(self) -> frozenset[str]: ...

    def shipped(self, name: str) -> tuple[str, str]: ...

    def check(self, name: str, text_source: str, html_source: str) -> None: ...

    def preview(self, name: str, text_source: str, html_source: str) -> Preview: ...


class WordingRefused(SignoffError, ValueError):
    """A save that is not allowed (a bad note or an unknown name); nothing was saved."""


@dataclass(frozen=True, kw_only=True)
class Version:
    """One saved version of one template's wording."""

    id: int
    name: str
    text_source: str
    html_source: str
    shipped: bool
    sha256: str
    author: str
    created_at: dt.datetime
    note: str | None

    @property
    def version(self) -> str:
        return version_name(self.id, self.sha256)


def version_name(row_id: int, sha256: str) -> str:
    """How an email records a database version: ``db<id>-<8 hex digits>``."""
    return f"db{row_id}-{sha256[:8]}"


def sha256_of(text_source: str, html_source: str) -> str:
    return hashlib.sha256(text_source.encode() + b"\x00" + html_source.encode()).hexdigest()


def save(
    services: Services,
    *,
    name: str,
    text_source: str,
    html_source: str,
    author: str,
    now: dt.datetime,
    check: Check,
    names: frozenset[str],
    note: str | None = None,
) -> Version:
    """Save a new current wording for ``name`` once ``check`` accepts it; return the version."""
    _check_name(name, names)
    note = _clean_note(note)
    check(name, text_source, html_source)
    return _insert(services, name, text_source, html_source, False, author, now, note)


def revert(
    services: Services,
    *,
    name: str,
    shipped_text: str,
    shipped_html: str,
    author: str,
    now: dt.datetime,
    names: frozenset[str],
    note: str | None = None,
) -> Version:
    """Go back to the shipped wording: a new version, marked ``shipped``, holding its sources."""
    _check_name(name, names)
    note = _clean_note(note) or "Reverted to the shipped wording"
    return _insert(services, name, shipped_text, shipped_html, True, author, now, note)


def send_test(
    services: Services, *, name: str, to: str, now: dt.datetime, names: frozenset[str]
) -> None:
    """Queue ``name``'s current wording, with sample values, to ``to`` (the signed-in person):
    the dispatcher sends it like any email, subject marked as a test."""
    _check_name(name, names)
    notice = outbox.Notice(
        dedupe_key=f"wording_test:{name}:{secrets.token_hex(8)}",
        item_id=None,
        kind=outbox.Kind.WORDING_TEST,
        template=name,
        recipient=to,
        context={},
        send_at=now,
    )
    with services.db.write() as conn:
        outbox.enqueue(conn, [notice], now)


def current(services: Services) -> dict[str, Version]:
    """The current version of every name that has one and is not back to the shipped file."""
    newest = (
        sa.select(_wording.c.name, sa.func.max(_wording.c.id).label("id"))
        .group_by(_wording.c.name)
        .subquery()
    )
    query = sa.select(_wording).join(newest, _wording.c.id == newest.c.id)
    with services.db.engine.connect() as conn:
        rows = conn.execute(query).all()
    return {r.name: _version(r) for r in rows if not r.shipped}


def history(services: Services, name: str) -> list[Version]:
    """Every version of ``name``, newest first."""
    query = sa.select(_wording).where(_wording.c.name == name).order_by(_wording.c.id.desc())
    with services.db.engine.connect() as conn:
        return [_version(r) for r in conn.execute(query)]


def _insert(
    services: Services,
    name: str,
    text_source: str,
    html_source: str,
    shipped: bool,
    author: str,
    now: dt.datetime,
    note: str | None,
) -> Version:
    if not author or len(author) > MAX_AUTHOR:
        raise WordingRefused(f"the author must be 1 to {MAX_AUTHOR} characters")
    values = {
        "name": name,
        "text_source": text_source,
        "html_source": html_source,
        "shipped": shipped,
        "sha256": sha256_of(text_source, html_source),
        "author": author,
        "created_at": now,
        "note": note,
    }
    with services.db.write() as conn:
        before = _current_row(conn, name)
        insert = sa.insert(_wording).values(values).returning(_wording.c.id)
        row_id = conn.execute(insert).scalar_one()
        version = Version(id=row_id, **values)  # type: ignore[arg-type]
        adminlog.record(
            conn,
            actor=author,
            at=now,
            action="email.revert" if shipped else "email.save",
            subject=f"email {name}",
            before=_logged(before) if before else None,
            after=_logged(version),
            note=note,
        )
    return version


def _logged(version: Version) -> dict[str, object]:
    """What the admin log keeps of a version: its name, both sources and whether shipped."""
    return {
        "version": version.version,
        "shipped": version.shipped,
        "text": version.text_source,
        "html": version.html_source,
    }


def _current_row(conn: sa.Connection, name: str) -> Version | None:
    row = conn.execute(
        sa.select(_wording).where(_wording.c.name == name).order_by(_wording.c.id.desc()).limit(1)
    ).one_or_none()
    return _version(row) if row else None


def _check_name(name: str, names: frozenset[str]) -> None:
    if name not in names:
        raise WordingRefused(f"no email {name!r}; emails: {', '.join(sorted(names))}")


def _clean_note(note: str | None) -> str | None:
    note = (note or "").strip()
    if len(note) > MAX_NOTE:
        raise WordingRefused(f"the note is {len(note)} characters; at most {MAX_NOTE}")
    if any(c in note for c in "\r\n\x00"):
        raise WordingRefused("the note must be one line")
    return note or None


def _version(r: sa.Row[object]) -> Version:
    return Version(
        id=r.id,
        name=r.name,
        text_source=r.text_source,
        html_source=r.html_source,
        shipped=bool(r.shipped),
        sha256=r.sha256,
        author=r.author,
        created_at=r.created_at,
        note=r.note,
    )
