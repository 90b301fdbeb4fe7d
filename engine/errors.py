"""Everything signoff raises on purpose.

::

    SignoffError
    ├── SettingsError (ValueError)    a SIGNOFF_* variable is missing or malformed
    │   └── AssetsMissing             the GOV.UK Frontend files are not installed
    ├── SpecError                     a workflow file is invalid (load or publish, never on fire)
    │   └── SpecErrors                several SpecErrors found in one file, reported together
    ├── EditRefused (ValueError)      a structured edit of a workflow draft (``field``, ``problem``)
    ├── ImportErrors (ValueError)     import files have bad rows (``findings``); nothing written
    ├── NotFound (LookupError)
    │   ├── RecommendationNotFound
    │   ├── ContactNotFound
    │   ├── WorkflowNotFound
    │   ├── RequestNotFound           no evidence request with that public id
    │   ├── DraftNotFound             no workflow draft with that id
    │   ├── NotHeld                   no received message held for staff with that id
    │   ├── UnknownPerson             an address the directory does not know (sign-in)
    │   └── TokenNotFound             no API token with that public id
    ├── FireError                     a transition was refused; nothing was written
    │   ├── UnknownTrigger (LookupError)
    │   ├── TransitionNotAllowed
    │   ├── RoleNotAllowed (PermissionError)
    │   ├── SeparationOfDuties (PermissionError)
    │   ├── NotPermitted (PermissionError)  the roles table keeps the actor off this agency
    │   ├── MissingInput (ValueError)
    │   ├── BadInput (ValueError)     a value given is wrong, or not taken by the transition
    │   ├── GuardFailed
    │   └── ConcurrentUpdate          someone else changed the item first
    │       ├── ItemChanged           it changed since the deciding page was loaded
    │       └── DraftChanged          a workflow draft was saved by someone else first
    ├── ChainMoved                    an item's history moved on while events were appended
    ├── CheckpointRefused             a checkpoint would seal a history that does not verify
    ├── PublishRefused                a publish would strand items; lists them
    ├── PublishConflict               a draft's published version is no longer the latest
    ├── DraftRefused (ValueError)     a draft cannot be saved or published as asked (``field``)
    │   └── DraftInvalid              the draft's YAML has problems (``problems``)
    ├── EvidenceError (ValueError)    an evidence file cannot be read or stored
    │   └── UploadRefused             a file was refused by its name or content
    ├── RequestRefused (ValueError)   a request cannot be issued, reissued or answered (``reason``)
    ├── ReportRefused (ValueError)    a report was asked for with a bad name, date or filter
    ├── TemplateError (ValueError)    an email template is invalid or cannot render its context
    ├── Unreadable (ValueError)       received bytes are not a parseable email message
    ├── ActorRefused (PermissionError)  the roles table does not give --actor this permission
    ├── TokenRefused (ValueError)     an API token cannot be made as asked (``field``, ``problem``)
    └── AnchorRefused (ValueError)    an anchor's date cannot be set as asked (``field``)

Errors carry their parts as attributes so callers never parse messages; how to put a
problem right through a given interface ("--evidence FILE" on the command line, "choose a
file" on a page) is worded by that interface, from those attributes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

from engine.findings import Finding, Severity


class SignoffError(Exception):
    """Base class for everything signoff raises on purpose."""


class SettingsError(SignoffError, ValueError):
    """A setting from the environment is missing or malformed."""


class SpecError(SignoffError):
    """A workflow file is invalid. Raised on load or publish, never when a transition fires."""

    def __init__(self, file: str, path: str, problem: str, line: int | None = None) -> None:
        where = f"{file}:{line}" if line else file
        super().__init__(f"{where}: {path}: {problem}" if path else f"{where}: {problem}")
        self.file, self.path, self.problem, self.line = file, path, problem, line


class SpecErrors(SpecError):
    """Several problems in one workflow file; ``errors`` holds each one."""

    def __init__(self, errors: Sequence[SpecError]) -> None:
        first = errors[0]
        super().__init__(first.file, first.path, first.problem, first.line)
        self.errors = list(errors)
        self.args = ("\n".join(str(e) for e in self.errors),)

    def __str__(self) -> str:
        return "\n".join(str(e) for e in self.errors)


class EditRefused(SignoffError, ValueError):
    """A structured edit of a workflow draft was refused; the draft's text is unchanged.

    ``field`` names what the edit set that is wrong (``chase_every``, ``after``, ``roles``),
    ``problem`` is the engine's message (the duration parser's, the workflow loader's), and
    ``path`` is where in the file the problem is (``states.open.deadline.chase_every``), or ''.
    """

    def __init__(self, field: str, problem: str, path: str = "") -> None:
        super().__init__(f"{field}: {problem}" if field else problem)
        self.field, self.problem, self.path = field, problem, path


class ImportErrors(SignoffError, ValueError):
    """Import files have problems; nothing was written.

    ``findings`` holds everything the checks found, in file and line order (warnings and
    notes too); ``problems`` the text of each error, ``file`` the first file with one.
    ``sheets``: for each spreadsheet read, the mapping its columns were read with and the
    sheets whose headings could not be used (``engine.importer``), so a page can offer to
    map them.
    """

    def __init__(
        self, findings: Sequence[Finding], sheets: dict[str, dict[str, Any]] | None = None
    ) -> None:
        self.findings = list(findings)
        self.sheets = sheets or {}
        errors = [f for f in self.findings if f.severity is Severity.ERROR]
        self.file = errors[0].file if errors else ""
        self.problems = [str(f) for f in errors]
        super().__init__("\n".join(f"{f.file}: {f}" for f in errors))


class NotFound(SignoffError, LookupError):
    """Something named by the caller does not exist."""


class RecommendationNotFound(NotFound):
    def __init__(self, key: str, hint: str = "") -> None:
        super().__init__(f"no recommendation {key!r}{hint}")
        self.key = key


class ContactNotFound(NotFound):
    def __init__(self, email: str) -> None:
        super().__init__(
            f"no contact with address {email!r}; import a contacts file that lists them "
            "(see README: Import format)"
        )
        self.email = email


class WorkflowNotFound(NotFound):
    def __init__(self, name: str, version: int | None = None) -> None:
        what = f"{name!r} version {version}" if version else repr(name)
        super().__init__(
            f"no published workflow {what}; publish it with 'signoff workflow publish'"
        )
        self.name, self.version = name, version


class FireError(SignoffError):
    """A transition was refused. Nothing was written."""


class UnknownTrigger(FireError, LookupError):
    def __init__(self, ref: str, trigger: str, known: Sequence[str], suggestion: str) -> None:
        super().__init__(
            f"{ref}: unknown trigger {trigger!r}{suggestion}; known triggers: {sorted(known)}"
        )
        self.ref, self.trigger, self.known = ref, trigger, list(known)


class TransitionNotAllowed(FireError):
    def __init__(self, ref: str, trigger: str, state: str, allowed: Sequence[str]) -> None:
        super().__init__(
            f"{ref}: cannot {trigger!r} from {state!r}; allowed here: {sorted(allowed)}"
        )
        self.ref, self.trigger, self.state, self.allowed = ref, trigger, state, sorted(allowed)


class RoleNotAllowed(FireError, PermissionError):
    def __init__(self, ref: str, trigger: str, actor: str, roles: Sequence[str]) -> None:
        super().__init__(
            f"{ref}: {actor} may not {trigger!r}; it needs one of the roles {sorted(roles)} "
            "for this item's agency"
        )
        self.ref, self.trigger, self.actor, self.roles = ref, trigger, actor, sorted(roles)


class NotPermitted(FireError, PermissionError):
    """The roles table (``engine.permissions``) does not let the actor act on this agency's
    items, whatever the workflow's roles say."""

    def __init__(self, ref: str, trigger: str, actor: str, agency: str) -> None:
        super().__init__(
            f"{ref}: {actor} may not act on {agency}'s items: business managers, the panel and "
            f"the chair act on every agency's; internal auditors and agency contacts on the "
            f"agencies the directory lists them for; board viewers only read"
        )
        self.ref, self.trigger, self.actor, self.agency = ref, trigger, actor, agency


class SeparationOfDuties(FireError, PermissionError):
    def __init__(self, ref: str, trigger: str, actor: str, earlier: str) -> None:
        super().__init__(
            f"{ref}: {actor} did {earlier!r} on this item, so someone else must {trigger!r} "
            "(separation of duties)"
        )
        self.ref, self.trigger, self.actor, self.earlier = ref, trigger, actor, earlier


class MissingInput(FireError, ValueError):
    """``requirement`` is the workflow's name for what is missing (``evidence``, ``reason``,
    ``meeting_date``, ``rag``, ``due_date``); each interface says how to give it."""

    def __init__(self, ref: str, trigger: str, requirement: str) -> None:
        missing = requirement.replace("_", " ")
        super().__init__(f"{ref}: {trigger!r} requires {missing}")
        self.ref, self.trigger, self.requirement, self.missing = ref, trigger, requirement, missing


class GuardFailed(FireError):
    def __init__(self, ref: str, trigger: str, guard: str, why: str) -> None:
        super().__init__(f"{ref}: cannot {trigger!r}: {why} (guard {guard!r})")
        self.ref, self.trigger, self.guard = ref, trigger, guard


class ConcurrentUpdate(FireError):
    def __init__(self, ref: str, trigger: str) -> None:
        super().__init__(
            f"{ref}: someone else changed this item while {trigger!r} was being recorded; "
            "nothing was written — reload it and try again"
        )
        self.ref, self.trigger = ref, trigger


class ItemChanged(ConcurrentUpdate):
    """The item is not as the person deciding saw it: someone decided first, or evidence
    arrived or changed, since the page was loaded. ``seen_version`` and ``version`` are the
    item's versions then and now; ``seen_evidence`` and ``evidence`` the ids of the evidence
    on file then and now. Nothing was written; each interface shows what changed."""

    def __init__(
        self,
        ref: str,
        trigger: str,
        *,
        seen_version: int,
        version: int,
        seen_evidence: Sequence[int] = (),
        evidence: Sequence[int] = (),
    ) -> None:
        super().__init__(ref, trigger)
        self.args = (
            f"{ref}: the item changed since it was read (version {seen_version}, now "
            f"{version}); nothing was written — reload it and try again",
        )
        self.seen_version, self.version = seen_version, version
        self.seen_evidence, self.evidence = tuple(seen_evidence), tuple(evidence)


class CheckpointRefused(SignoffError):
    """A checkpoint was not taken: the history it would seal does not extend the last
    checkpoint (``problems`` says where), or another checkpoint was taken at the same time.
    Nothing was written."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__("no checkpoint taken: " + "; ".join(self.problems))


class ChainMoved(SignoffError):
    """An item's history moved on between reading its head and appending to it.

    Raised inside a transaction (or savepoint) that the caller retries; never shown to people.
    """

    def __init__(self, item_ids: Sequence[int]) -> None:
        super().__init__(f"the history of items {sorted(item_ids)} moved on; retry")
        self.item_ids = sorted(item_ids)


class PublishRefused(SignoffError):
    """A publish would strand items. ``items`` describes each; ``unmapped`` names the states
    they are in that the new version lacks (each needs a mapping to a state it has)."""

    def __init__(
        self, name: str, problem: str, items: Sequence[str], unmapped: Sequence[str] = ()
    ) -> None:
        listed = "\n".join(f"  {i}" for i in items)
        super().__init__(f"workflow {name!r} not published: {problem}\n{listed}")
        self.name, self.problem, self.items = name, problem, list(items)
        self.unmapped = sorted(set(unmapped))


class EvidenceError(SignoffError, ValueError):
    """An evidence file could not be read or stored."""


class RequestNotFound(NotFound):
    def __init__(self, public_id: str) -> None:
        super().__init__(f"no evidence request {public_id!r}")
        self.public_id = public_id


class ReportRule(StrEnum):
    """Which rule a report request broke, so each interface can word its own advice."""

    UNKNOWN = "unknown"  # no such report, review or agency (``option`` says which)
    NOT_A_DATE = "not_a_date"  # a date option that is not a date
    FROM_AFTER_TO = "from_after_to"  # the period ends before it starts
    ONE_DATE = "one_date"  # a period given to a report of the position on one date
    NO_MEETING = "no_meeting"  # minutes without the meeting's date
    MEETING_ONLY = "meeting_only"  # a period given to the minutes
    NOT_MINUTES = "not_minutes"  # a meeting date given to a report other than the minutes


class ReportRefused(SignoffError, ValueError):
    """A report cannot be built as asked: ``option`` names what was wrong (``name``, ``from``,
    ``to``, ``meeting``, ``review``, ``agency``), ``value`` what was given, ``allowed`` what
    may be given instead (may be empty), ``rule`` which rule it broke (None: not said)."""

    def __init__(
        self,
        option: str,
        value: str,
        problem: str,
        allowed: Sequence[str] = (),
        *,
        rule: ReportRule | None = None,
    ) -> None:
        super().__init__(f"{option} {value!r}: {problem}")
        self.option, self.value, self.problem, self.allowed = option, value, problem, allowed
        self.rule = rule


class NotHeld(NotFound):
    """No received message with that id is held for a member of staff to confirm."""

    def __init__(self, message_id: int, status: str | None) -> None:
        what = f"is {status}" if status else "does not exist"
        super().__init__(f"received message #{message_id} {what}, not held for staff")
        self.message_id, self.status = message_id, status


class BadInput(FireError, ValueError):
    """A value given to a transition is wrong or not accepted by it."""

    def __init__(self, key: str, trigger: str, problem: str) -> None:
        super().__init__(f"{key}: {trigger!r}: {problem}")
        self.key, self.trigger, self.problem = key, trigger, problem


class UploadRefused(EvidenceError):
    """A file was refused; ``reason`` completes a sentence that starts with its name."""

    def __init__(self, filename: str, reason: str) -> None:
        super().__init__(f"{shown_name(filename)} {reason}")
        self.filename, self.reason = filename, reason


def shown_name(name: str) -> str:
    """A file's name as quoted in messages: escaped, and cut short when very long."""
    if not name.strip():
        return "The file"
    return repr(name[:60] + "…") if len(name) > 60 else repr(name)


class Refusal(StrEnum):
    """Why a request could not be issued, reissued or answered."""

    NOT_ASKED_HERE = "not_asked_here"  # the item's state takes no evidence request
    CLOSED = "closed"  # answered, revoked, expired or the item moved on
    EMPTY = "empty"  # an answer with no statement and no file
    WORKFLOW_CHANGED = "workflow_changed"  # the state no longer takes evidence
    NOT_ISSUER = "not_issuer"  # the person asking holds no board role
    NOBODY_TO_ASK = "nobody_to_ask"  # the agency has no contact who may answer
    NOT_ANSWERER = "not_answerer"  # the address named may not answer for the item
    FAILING = "failing"  # the address named bounces
    NO_ITEM = "no_item"  # a reply to a digest: staff must name the item it is for


class RequestRefused(SignoffError, ValueError):
    """An evidence request cannot be issued, reissued or answered as asked.

    ``reason`` says which of the causes it was, so each interface can word its own advice.
    """

    def __init__(self, reason: Refusal, message: str, key: str | None = None) -> None:
        super().__init__(message)
        self.reason, self.key = reason, key


TemplatePart = Literal["text", "html", "context", "name"]


class TemplateError(SignoffError, ValueError):
    """A template is invalid, or cannot be rendered with the context given.

    ``part`` is ``text``, ``html``, ``context`` (the values passed to render) or ``name``;
    ``line`` is the line in that part, when known.
    """

    def __init__(
        self, name: str, part: TemplatePart, problem: str, line: int | None = None
    ) -> None:
        where = f"template {name!r} ({part})" + (f" line {line}" if line else "")
        super().__init__(f"{where}: {problem}")
        self.name, self.part, self.problem, self.line = name, part, problem, line


class Unreadable(SignoffError, ValueError):
    """The bytes are not a parseable email message; ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"unreadable message: {reason}")
        self.reason = reason


class UnknownPerson(NotFound):
    """No contact in the directory has this address, so it cannot sign in."""

    def __init__(self, email: str) -> None:
        super().__init__(
            f"{email} is not in the directory: add them to a contacts file and import it "
            "(signoff import FILE) first"
        )
        self.email = email


class ActorRefused(SignoffError, PermissionError):
    """The roles table (``engine.permissions``) does not give ``actor`` ``permission``."""

    def __init__(self, actor: str, permission: str, roles: Sequence[str]) -> None:
        super().__init__(
            f"{actor} may not {permission.replace('_', ' ')}: the roles table gives that to "
            f"{', '.join(roles)} only"
        )
        self.actor, self.permission, self.roles = actor, permission, list(roles)


class AssetsMissing(SettingsError):
    """The GOV.UK Frontend files are not installed where the web app serves them from."""

    def __init__(self, dist: Path, missing: str) -> None:
        super().__init__(
            f"GOV.UK Frontend assets are missing ({missing} not found under {dist}); "
            "reinstall signoff, or run `npm ci --prefix web` in a checkout"
        )
        self.dist, self.missing = dist, missing


class TokenNotFound(NotFound):
    """No API token has this public id (``signoff token list`` names them)."""

    def __init__(self, public_id: str) -> None:
        super().__init__(f"no API token {public_id!r}")
        self.public_id = public_id


class TokenRefused(SignoffError, ValueError):
    """An API token cannot be created as asked: ``field`` is wrong because ``problem``."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field, self.problem = field, problem


class DraftNotFound(NotFound):
    """No workflow draft has this id."""

    def __init__(self, draft_id: int) -> None:
        super().__init__(f"no workflow draft #{draft_id}")
        self.draft_id = draft_id


class DraftChanged(ConcurrentUpdate):
    """A workflow draft was saved by someone else after the saver read it: ``expected`` is the
    revision the saver read, ``revision`` the draft's now, saved by ``by`` at ``at``.
    Nothing was written."""

    def __init__(
        self, draft_id: int, *, expected: int, revision: int, by: str, at: dt.datetime
    ) -> None:
        super().__init__(f"workflow draft #{draft_id}", "save")
        self.args = (
            f"workflow draft #{draft_id} was saved by {by} at {at.isoformat(timespec='minutes')} "
            f"(revision {revision}) after you read revision {expected}; nothing was saved — "
            "reload the draft and make your change again",
        )
        self.draft_id, self.expected, self.revision = draft_id, expected, revision
        self.by, self.at = by, at


class PublishConflict(SignoffError):
    """A draft started from version ``base`` of ``name``, but ``by`` published version
    ``latest`` at ``at`` since: publishing it would undo their change unseen. Nothing was
    written; start a new draft from the latest version."""

    def __init__(self, name: str, *, base: int, latest: int, by: str, at: dt.datetime) -> None:
        super().__init__(
            f"workflow {name!r} not published: this draft started from version {base}, but "
            f"{by} published version {latest} at {at.isoformat(timespec='minutes')} since; "
            "create a new draft from the latest version and make your change there"
        )
        self.name, self.base, self.latest, self.by, self.at = name, base, latest, by, at


class DraftRefused(SignoffError, ValueError):
    """A draft cannot be saved or published as asked: ``field`` (``note``, ``text``,
    ``author``, ``status``, ``version``) is wrong because ``problem``. Nothing was written."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field, self.problem = field, problem


class DraftInvalid(DraftRefused):
    """A draft whose YAML has problems cannot be published; ``problems`` holds each engine
    message with its line (``engine.drafts.Problem``)."""

    def __init__(self, name: str, problems: Sequence[object]) -> None:
        listed = "\n".join(f"  {p}" for p in problems)
        super().__init__(
            "text",
            f"the draft of {name!r} has {len(problems)} problem(s); fix them first\n{listed}",
        )
        self.name, self.problems = name, list(problems)


class AnchorRefused(SignoffError, ValueError):
    """An anchor's date cannot be set as asked: ``field`` (review, anchor or date) is wrong
    because ``problem``; ``allowed`` lists what could be given instead. Nothing was written."""

    def __init__(self, field: str, value: str, problem: str, allowed: Sequence[str] = ()) -> None:
        super().__init__(f"{field} {value!r}: {problem}")
        self.field, self.value, self.problem, self.allowed = field, value, problem, list(allowed)
