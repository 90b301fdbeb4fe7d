"""Changing the directory: the one writer of what an administrator changes in it.

Agencies (name, escalation ladder), their contacts (name, email, roles, absence with dates
and a deputy), conflicts of interest (a contact barred from an agency's escalations, with an
optional named alternate) and the internal auditors assigned to an agency, as
``engine.contacts`` reads them. Every change, from the editor's pages (``/admin/directory``)
or from a file (``engine.directory.files``, ``signoff directory import``, ``signoff import``),
goes the same way (``store.edit``):

1. the directory is read (``store.read``) as a ``Snapshot`` inside the write transaction (on
   PostgreSQL after a transaction-scoped advisory lock, so two administrators' edits are
   applied one after the other, never over each other);
2. the change (``edits``) makes a new snapshot, which is checked whole (``checks.check``):
   every problem is a ``Problem`` naming the agency, the contact and the field, and any
   problem refuses the change (``DirectoryRefused``) with nothing written;
3. the differences (``changes.changes``) are written, and each is recorded in the
   administrators' log (``engine.adminlog.record``) with what it was before and after, in
   the same transaction: the change and its record commit together or not at all.

An absence is recorded on a contact (all their roles at that agency): with dates it applies
from the first day to the last (both included, either may be open), without dates it applies
now until it is taken off. The ``absent`` flag stored is the absence today; each day's first
sweep keeps it in line with the dates (``engine.contacts.refresh_absences``).

Modules: ``model`` (the snapshot and refusals), ``checks``, ``changes``, ``store`` (read,
write, log), ``edits`` (the editor's changes) and ``files`` (YAML, CSV and xlsx).
"""

from __future__ import annotations

from engine.directory.changes import Change, changes, fingerprint
from engine.directory.checks import check
from engine.directory.model import (
    AgencyEntry,
    Conflict,
    DirectoryRefused,
    Person,
    Problem,
    Snapshot,
    label,
)
from engine.directory.store import Edit, commit, edit, read

__all__ = [
    "AgencyEntry",
    "Change",
    "Conflict",
    "DirectoryRefused",
    "Edit",
    "Person",
    "Problem",
    "Snapshot",
    "changes",
    "check",
    "commit",
    "edit",
    "fingerprint",
    "label",
    "read",
]
