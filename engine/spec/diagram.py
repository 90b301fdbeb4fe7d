"""Workflow diagrams as Mermaid text (renders on GitHub and in most editors)."""

from __future__ import annotations

from engine.spec.compiled import WorkflowSpec


def mermaid(spec: WorkflowSpec) -> str:
    """A ``stateDiagram-v2`` of ``spec``; internal transitions are listed as notes."""
    lines = ["stateDiagram-v2", f"    [*] --> {spec.initial}"]
    for name, state in spec.states.items():
        lines.append(f"    {name} : {state.label.replace(':', ' -')}")
    internal: dict[str, list[str]] = {}
    for t in spec.model.transitions:
        for source in spec.sources(t):
            if t.dest is None:
                internal.setdefault(source, []).append(t.trigger)
            else:
                lines.append(f"    {source} --> {t.dest} : {t.trigger}")
    for name, state in spec.states.items():
        if state.terminal:
            lines.append(f"    {name} --> [*]")
    for source, triggers in internal.items():
        lines.append(f"    note right of {source} : also {', '.join(dict.fromkeys(triggers))}")
    return "\n".join(lines)
