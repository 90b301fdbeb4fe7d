"""WorkflowSpec -> one shared ``transitions.Machine`` per published workflow version.

Building a Machine costs hundreds of microseconds; firing one costs a few. So each
published version gets exactly one Machine, built on first use and kept for the life
of the process, and every item borrows it: the item's state is loaded into the
machine's cursor, the trigger fires, the new state is read back. A lock makes the
borrow safe across threads (the critical section is a few microseconds).
"""

from __future__ import annotations

import threading

from transitions import Machine, MachineError

from engine.spec import WorkflowSpec


class _Cursor:
    """The single model object a shared Machine moves around."""

    state: str


class WorkflowMachine:
    """Executes state changes for one workflow version."""

    def __init__(self, spec: WorkflowSpec) -> None:
        self.spec = spec
        self._cursor = _Cursor()
        self._lock = threading.Lock()
        self._machine = Machine(
            model=self._cursor,
            states=list(spec.states),
            transitions=[
                {"trigger": t.trigger, "source": list(spec.sources(t)), "dest": t.dest}
                for t in spec.model.transitions
            ],
            initial=spec.initial,
            auto_transitions=False,
            ignore_invalid_triggers=False,
        )

    def next_state(self, state: str, trigger: str) -> str:
        """The state after firing ``trigger`` from ``state``.

        Raises:
            LookupError: ``trigger`` is not allowed from ``state`` (the service checks first,
                so this only fires if the spec index and the machine disagree).
        """
        with self._lock:
            self._cursor.state = state
            try:
                self._machine.events[trigger].trigger(self._cursor)
            except (MachineError, KeyError) as exc:
                raise LookupError(f"{trigger!r} not allowed from {state!r}") from exc
            return self._cursor.state


_machines: dict[str, WorkflowMachine] = {}
_machines_lock = threading.Lock()


def machine_for(spec: WorkflowSpec) -> WorkflowMachine:
    """The shared machine for ``spec`` (keyed by its content hash), built once."""
    found = _machines.get(spec.sha256)
    if found is None:
        with _machines_lock:
            found = _machines.setdefault(spec.sha256, WorkflowMachine(spec))
    return found
