"""Everything signoff raises on purpose.

::

    SignoffError
    ├── SettingsError                 a SIGNOFF_* variable is missing or malformed
    ├── SpecError                     a workflow file is invalid (load or publish, never on fire)
    │   └── SpecErrors                several SpecErrors found in one file, reported together
    ├── ImportErrors                  an import file has bad rows; nothing was written
    ├── NotFound (LookupError)
    │   ├── RecommendationNotFound
    │   ├── ContactNotFound
    │   └── WorkflowNotFound
    ├── FireError                     a transition was refused; nothing was written
    │   ├── UnknownTrigger
    │   ├── TransitionNotAllowed
    │   ├── RoleNotAllowed (PermissionError)
    │   ├── SeparationOfDuties (PermissionError)
    │   ├── MissingInput (ValueError)
    │   ├── GuardFailed
    │   └── ConcurrentUpdate
    ├── PublishRefused                a publish would strand items; lists them
    └── EvidenceError (ValueError)    an evidence file cannot be read or stored

Errors carry their parts as attributes so callers never parse messages.
"""

from __future__ import annotations

from collections.abc import Sequence


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


class ImportErrors(SignoffError, ValueError):
    """An import file has problems; nothing was written. ``problems`` lists each one."""

    def __init__(self, file: str, problems: Sequence[str]) -> None:
        self.file, self.problems = file, list(problems)
        super().__init__("\n".join(f"{file}: {p}" for p in self.problems))


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


class SeparationOfDuties(FireError, PermissionError):
    def __init__(self, ref: str, trigger: str, actor: str, earlier: str) -> None:
        super().__init__(
            f"{ref}: {actor} did {earlier!r} on this item, so someone else must {trigger!r} "
            "(separation of duties)"
        )
        self.ref, self.trigger, self.actor, self.earlier = ref, trigger, actor, earlier


class MissingInput(FireError, ValueError):
    def __init__(self, ref: str, trigger: str, missing: str, how: str) -> None:
        super().__init__(f"{ref}: {trigger!r} requires {missing}; {how}")
        self.ref, self.trigger, self.missing = ref, trigger, missing


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


class PublishRefused(SignoffError):
    def __init__(self, name: str, problem: str, items: Sequence[str]) -> None:
        listed = "\n".join(f"  {i}" for i in items)
        super().__init__(f"workflow {name!r} not published: {problem}\n{listed}")
        self.name, self.problem, self.items = name, problem, list(items)


class EvidenceError(SignoffError, ValueError):
    """An evidence file could not be read or stored."""


class RequestNotFound(NotFound):
    def __init__(self, public_id: str) -> None:
        super().__init__(
            f"no evidence request {public_id!r}; `signoff show REVIEW/REF` lists an item's requests"
        )
        self.public_id = public_id


class RequestRefused(SignoffError, ValueError):
    """An evidence request cannot be issued, reissued or answered as asked."""
