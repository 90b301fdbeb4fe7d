"""Layer 4: cross-references. Every name a workflow uses is declared and fits.

Roles and contact roles, triggers in the separation of duties, guards and effects (against
``engine.spec.rules``), templates (when the caller knows which exist), escalation targets
(roles, ``ladder``, or a named contact's email address) and ladders, deadlines and the
emails they send, and evidence requests someone can answer.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from email_validator import EmailNotValidError, validate_email

from engine.spec.fields import words
from engine.spec.model import (
    LADDER,
    Requirement,
    Role,
    State,
    WorkflowFile,
    answer_transition,
)
from engine.spec.reader import PathPart
from engine.spec.report import Reporter, suggest
from engine.spec.rules import EFFECTS, GUARDS


def check_references(m: WorkflowFile, r: Reporter, known_templates: Collection[str] | None) -> None:
    """Every role, trigger, rule, template and escalation target ``m`` names exists."""
    contact_roles = set(m.contact_roles)
    for name, role in m.roles.items():
        for j, cr in enumerate(role.contact_roles):
            if cr not in contact_roles:
                r.add(
                    ("roles", name, "contact_roles", j),
                    f"unknown contact role {cr!r}"
                    f"{suggest(cr, contact_roles)}; declare it in contact_roles: {m.contact_roles}",
                )
    triggers = {t.trigger for t in m.transitions}
    for i, t in enumerate(m.transitions):
        base: tuple[PathPart, ...] = ("transitions", i)
        _check_roles(r, (*base, "roles"), t.roles, m.roles)
        for j, g in enumerate(t.guards):
            if g not in GUARDS:
                r.add(
                    (*base, "guards", j),
                    f"unknown guard {g!r}{suggest(g, GUARDS)}; available: {sorted(GUARDS)}",
                )
        for j, e in enumerate(t.effects):
            effect = EFFECTS.get(e)
            if effect is None:
                r.add(
                    (*base, "effects", j),
                    f"unknown effect {e!r}{suggest(e, EFFECTS)}; available: {sorted(EFFECTS)}",
                )
            elif effect.needs is not None and effect.needs not in t.requires:
                r.add((*base, "requires"), f"effect {e!r} needs 'requires: [{effect.needs.value}]'")
            elif effect.needs_guard is not None and effect.needs_guard not in t.guards:
                r.add((*base, "guards"), f"effect {e!r} needs the guard {effect.needs_guard!r}")
        if Requirement.RAG in t.requires and Requirement.REASON not in t.requires:
            r.add(
                (*base, "requires"),
                "a transition that sets RAG must also require a reason "
                "(every RAG change is recorded with why)",
            )
        for j, n in enumerate(t.notify):
            _check_roles(r, (*base, "notify", j, "to"), n.to, m.roles)
            _check_template(r, (*base, "notify", j, "template"), n.template, known_templates)
    for i, s in enumerate(m.separation_of_duties):
        for path, trig in [(("separation_of_duties", i, "trigger"), s.trigger)] + [
            (("separation_of_duties", i, "not_actor_of", j), x)
            for j, x in enumerate(s.not_actor_of)
        ]:
            if trig not in triggers:
                r.add(
                    path,
                    f"unknown trigger {trig!r}{suggest(trig, triggers)}; "
                    f"triggers: {sorted(triggers)}",
                )
    _check_imported_status(m, r)
    escalation_roles = contact_roles | set(m.roles) | {LADDER}
    for name, st in m.states.items():
        for kind, template in st.templates.items():
            _check_template(r, ("states", name, "templates", kind), template, known_templates)
        if st.request_on_entry and "request" not in st.templates:
            r.add(
                ("states", name, "request_on_entry"),
                "an evidence request needs its email: add 'request' to this state's templates, "
                "e.g. templates: {request: request}",
            )
        if (st.request_on_entry or "request" in st.templates) and answer_transition(
            m, name
        ) is None:
            r.add(
                ("states", name, "templates", "request"),
                f"evidence is requested in {name!r}, but no transition from it requires "
                "evidence from an own_agency role, so the agency could not answer; add one "
                "(e.g. submit_evidence with requires: [evidence]) or remove the request",
            )
        if st.deadline is None:
            continue
        _check_deadline_parts(r, name, st, escalation_roles)
        for j, step in enumerate(st.deadline.escalate):
            for k, target in enumerate(step.to):
                if "@" in target:  # a named contact
                    _check_address(r, ("states", name, "deadline", "escalate", j, "to", k), target)
                elif target not in escalation_roles:
                    r.add(
                        ("states", name, "deadline", "escalate", j, "to", k),
                        f"unknown role {target!r}{suggest(target, escalation_roles)}; "
                        f"allowed: {sorted(escalation_roles)}, or a contact's email address",
                    )
        afters = [s.after for s in st.deadline.escalate]
        if any(
            a.unit != b.unit or a.count >= b.count for a, b in zip(afters, afters[1:], strict=False)
        ):
            r.add(
                ("states", name, "deadline", "escalate"),
                "escalation steps must come in increasing order of 'after', in one unit",
            )


def _check_imported_status(m: WorkflowFile, r: Reporter) -> None:
    """Each status word names a state, and no two words are the same words."""
    seen: dict[str, str] = {}
    for word, state in m.imported_status.items():
        path = ("imported_status", word)
        key = words(word)
        if not key:
            r.add(path, f"{word!r} has no letters or digits; write the status as boards do")
        elif key in seen:
            r.add(
                path,
                f"{word!r} is the same status as {seen[key]!r} (case and punctuation are "
                "ignored); keep one of them",
            )
        seen.setdefault(key, word)
        if state not in m.states:
            r.add(
                path,
                f"unknown state {state!r}{suggest(state, m.states)}; states: {list(m.states)}",
            )


def _check_deadline_parts(r: Reporter, name: str, st: State, targets: set[str]) -> None:
    deadline = st.deadline
    if deadline is None:  # pragma: no cover - the caller checks
        return
    for k, target in enumerate(deadline.to):
        if target not in targets:
            r.add(
                ("states", name, "deadline", "to", k),
                f"unknown role {target!r}{suggest(target, targets)}; allowed: {sorted(targets)}",
            )
    if (deadline.remind_before or deadline.chase_every) and not deadline.to:
        r.add(
            ("states", name, "deadline"),
            "reminders and chases need recipients: add 'to: [ROLE]' (e.g. to: [agency])",
        )
    needs = {
        "reminder": bool(deadline.remind_before),
        "chase": deadline.chase_every is not None,
        "escalation": bool(deadline.escalate),
    }
    for kind, needed in needs.items():
        if needed and kind not in st.templates:
            r.add(
                ("states", name, "templates"),
                f"the deadline sends {kind}s, so add 'templates: {{{kind}: TEMPLATE}}'",
            )


def _check_address(r: Reporter, path: tuple[PathPart, ...], address: str) -> None:
    try:
        validate_email(address, check_deliverability=False)
    except EmailNotValidError as exc:
        r.add(path, f"{address!r} is not an email address: {exc}")


def _check_roles(
    r: Reporter, path: tuple[PathPart, ...], names: Sequence[str], roles: dict[str, Role]
) -> None:
    for j, role in enumerate(names):
        if role not in roles:
            r.add(
                (*path, j), f"unknown role {role!r}{suggest(role, roles)}; roles: {sorted(roles)}"
            )


def _check_template(
    r: Reporter, path: tuple[PathPart, ...], name: str, known: Collection[str] | None
) -> None:
    if known is not None and name not in known:
        r.add(path, f"unknown template {name!r}{suggest(name, known)}; templates: {sorted(known)}")
