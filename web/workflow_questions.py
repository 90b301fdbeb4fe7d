"""The questions of the structured workflow editor: one page per setting, each a GOV.UK form.

A question is built from the draft as it is (or, after a refusal, from what was typed) and
turns what was posted into one ``engine.spec.edits`` edit. Field names are the ``field`` the
edits name in a refusal, so the engine's message lands at the right input.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from engine.errors import EditRefused
from engine.spec import edits as E
from web.workflow_outline import (
    DIGEST_KINDS,
    REQUIREMENTS,
    TEMPLATE_KINDS,
    Choice,
    Outline,
    deadline_of,
    digest_words,
    due_words,
    durations,
    names,
    steps_of,
)

DURATION_HINT = "For example 14 days, 20 working days, 2 weeks or 6 months"
_SPLIT = re.compile(r"[,;\n]")


class Posted:
    """What a form sent: one value per name, or every value of a name (checkboxes)."""

    def __init__(self, lists: Mapping[str, Sequence[str]]) -> None:
        self._lists = lists

    def one(self, name: str) -> str:
        values = self._lists.get(name, ())
        return values[0].replace("\r\n", "\n") if values else ""

    def many(self, name: str) -> list[str]:
        return [v for v in self._lists.get(name, ()) if v]

    def keys(self) -> list[str]:
        return list(self._lists)


@dataclass(frozen=True, kw_only=True)
class Field:
    """One input: ``kind`` is text, duration, textarea, radios, checkboxes, select or
    checkbox (a single yes/no box)."""

    name: str
    kind: str
    label: str
    hint: str = ""
    value: str = ""
    values: tuple[str, ...] = ()
    choices: tuple[Choice, ...] = ()


@dataclass(frozen=True, kw_only=True)
class Question:
    """A page: its heading (the question) and its fields."""

    heading: str
    fields: tuple[Field, ...]


@dataclass(frozen=True, kw_only=True)
class Setting:
    """A setting of a state or transition: how it reads on the summary page, its question,
    and the edit an answer makes. ``deadline``: only for states that have a deadline."""

    slug: str
    key: str
    shown: Callable[[Outline, str], str]
    ask: Callable[[Outline, str, Posted | None], Question]
    edit: Callable[[str, Posted], E.Edit]
    deadline: bool = False


def _pick(posted: Posted | None, name: str, current: str) -> str:
    return posted.one(name) if posted is not None else current


def _picks(posted: Posted | None, name: str, current: Sequence[str]) -> tuple[str, ...]:
    return tuple(posted.many(name) if posted is not None else current)


def split_list(text: str) -> list[str]:
    """'14 days, 3 days' (or one a line) -> ['14 days', '3 days']."""
    return [part.strip() for part in _SPLIT.split(text) if part.strip()]


# --- states ----------------------------------------------------------------------------


def _state(o: Outline, s: str) -> Mapping[str, object]:
    return o.states.get(s, {})


def _deadline(o: Outline, s: str) -> Mapping[str, object]:
    return deadline_of(_state(o, s)) or {}


def _ask_label(o: Outline, s: str, p: Posted | None) -> Question:
    return Question(
        heading="What is this state called?",
        fields=(
            Field(
                name="label", kind="text", label="What is this state called?",
                hint="Shown on the board's pages and reports, for example Open, awaiting evidence",
                value=_pick(p, "label", o.state_label(s)),
            ),
        ),
    )  # fmt: skip


def _ask_clock(o: Outline, s: str, p: Posted | None) -> Question:
    current = "paused" if _state(o, s).get("clock") == "paused" else "running"
    return Question(
        heading="Does the clock run in this state?",
        fields=(
            Field(
                name="clock", kind="radios", label="Does the clock run in this state?",
                hint="The clock measures how long an item has been with whoever owes the "
                "next step",
                value=_pick(p, "clock", current),
                choices=(
                    Choice(value="running", text="Yes, the clock runs"),
                    Choice(value="paused", text="No, the clock pauses",
                           hint="For example while the panel considers the evidence"),
                ),
            ),
        ),
    )  # fmt: skip


def _ask_deadline(o: Outline, s: str, p: Posted | None) -> Question:
    deadline = deadline_of(_state(o, s))
    due = str(deadline.get("due", "item_due")) if deadline is not None else ""
    kind = "none" if deadline is None else ("item_due" if due == "item_due" else "after")
    return Question(
        heading="Change the deadline",
        fields=(
            Field(
                name="due_kind", kind="radios", label="When is this state's deadline?",
                hint="Reminders go before it; chases and escalations after it",
                value=_pick(p, "due_kind", kind),
                choices=(
                    Choice(value="item_due", text="The item's own due date"),
                    Choice(value="after", text="A time after the item enters this state",
                           hint="Say how long below"),
                    Choice(value="none", text="No deadline",
                           hint="No reminders, chases or escalations in this state"),
                ),
            ),
            # not a conditional reveal: GOV.UK Frontend's script puts aria-expanded on the
            # radio, which axe-core refuses (aria-allowed-attr)
            Field(
                name="due", kind="duration", label="How long after entering the state?",
                hint=f"Only for a time after the item enters this state. {DURATION_HINT}",
                value=_pick(p, "due", "" if due == "item_due" else due),
            ),
        ),
    )  # fmt: skip


def _edit_deadline(s: str, p: Posted) -> E.Edit:
    kind = p.one("due_kind")
    if kind == "none":
        return E.DeadlineRemove(state=s)
    if kind == "item_due":
        return E.DeadlineDue(state=s, due=E.ITEM_DUE)
    if kind == "after":
        return E.DeadlineDue(state=s, due=p.one("due"))
    raise EditRefused("due_kind", "choose when this state's deadline is")


def _ask_recipients(o: Outline, s: str, p: Posted | None) -> Question:
    return Question(
        heading="Who receives the reminders and chases?",
        fields=(
            Field(
                name="to", kind="checkboxes", label="Who receives the reminders and chases?",
                hint="Select all that apply",
                values=_picks(p, "to", names(_deadline(o, s).get("to"))),
                choices=tuple(o.recipient_choices(ladder=False)),
            ),
        ),
    )  # fmt: skip


def _ask_reminders(o: Outline, s: str, p: Posted | None) -> Question:
    current = ", ".join(durations(_deadline(o, s).get("remind_before")))
    return Question(
        heading="How long before the deadline do reminders go?",
        fields=(
            Field(
                name="remind_before", kind="text",
                label="How long before the deadline do reminders go?",
                hint="One reminder for each, separated by commas, for example 14 days, 3 days. "
                "Leave empty for no reminders",
                value=_pick(p, "remind_before", current),
            ),
        ),
    )  # fmt: skip


def _ask_chase(o: Outline, s: str, p: Posted | None) -> Question:
    current = str(_deadline(o, s).get("chase_every") or "")
    return Question(
        heading="How often is a late item chased?",
        fields=(
            Field(
                name="chase_every", kind="duration", label="How often is a late item chased?",
                hint=f"Once it is overdue, one chase each period. {DURATION_HINT}. "
                "Leave empty not to chase",
                value=_pick(p, "chase_every", current),
            ),
        ),
    )  # fmt: skip


def _ask_digest(o: Outline, s: str, p: Posted | None) -> Question:
    value = _deadline(o, s).get("digest")
    current = list(DIGEST_KINDS) if value is True else names(value or [])
    return Question(
        heading="Which emails go as one digest per person?",
        fields=(
            Field(
                name="digest", kind="checkboxes", label="Which emails go as one digest per person?",
                hint="A digest lists every item in one email per person, instead of one email "
                "per item",
                values=_picks(p, "digest", current),
                choices=tuple(Choice(value=k, text=f"{k.capitalize()}s") for k in DIGEST_KINDS),
            ),
        ),
    )  # fmt: skip


def template_choices(known: Sequence[str] | None) -> tuple[Choice, ...]:
    return (Choice(value="", text="None: send nothing"),) + tuple(
        Choice(value=t, text=t) for t in sorted(known or ())
    )


def _template_kinds(o: Outline, s: str) -> list[str]:
    current = _state(o, s).get("templates")
    extra = (
        [str(k) for k in current if k not in TEMPLATE_KINDS] if isinstance(current, Mapping) else []
    )
    return [*TEMPLATE_KINDS, *extra]


def _asker_templates(
    known: Sequence[str] | None,
) -> Callable[[Outline, str, Posted | None], Question]:
    def ask(o: Outline, s: str, p: Posted | None) -> Question:
        current = _state(o, s).get("templates")
        chosen = current if isinstance(current, Mapping) else {}
        fields = []
        for kind in _template_kinds(o, s):
            value = _pick(p, f"template_{kind}", str(chosen.get(kind) or ""))
            options = template_choices(known)
            if value and value not in {c.value for c in options}:  # a name the list lacks
                options += (Choice(value=value, text=value),)
            fields.append(
                Field(name=f"template_{kind}", kind="select", label=f"{kind.capitalize()} email",
                      value=value, choices=options)
            )  # fmt: skip
        return Question(
            heading="Which emails does this state send?", fields=tuple(fields),
        )  # fmt: skip

    return ask


def _ask_expects(o: Outline, s: str, p: Posted | None) -> Question:
    return Question(
        heading="What does an evidence request in this state ask for?",
        fields=(
            Field(
                name="expects", kind="textarea",
                label="What does an evidence request in this state ask for?",
                hint="In plain words, after the agreed action, for example minutes, procedures "
                "or training records. Leave empty to say nothing more",
                value=_pick(p, "expects", str(_state(o, s).get("expects") or "").strip()),
            ),
        ),
    )  # fmt: skip


def state_settings(known_templates: Sequence[str] | None) -> dict[str, Setting]:
    """The settings of a state, in the order its page lists them."""
    d = _deadline
    listed = [
        Setting(slug="label", key="Label", shown=lambda o, s: o.state_label(s), ask=_ask_label,
                edit=lambda s, p: E.StateLabel(state=s, label=p.one("label"))),
        Setting(slug="clock", key="Clock",
                shown=lambda o, s: "Pauses" if _state(o, s).get("clock") == "paused" else "Runs",
                ask=_ask_clock,
                edit=lambda s, p: E.StateClock(state=s, paused=p.one("clock") == "paused")),
        Setting(slug="deadline", key="Deadline",
                shown=lambda o, s: due_words(deadline_of(_state(o, s))), ask=_ask_deadline,
                edit=_edit_deadline),
        Setting(slug="recipients", key="Reminders and chases go to", deadline=True,
                shown=lambda o, s: o.targets(d(o, s).get("to")), ask=_ask_recipients,
                edit=lambda s, p: E.DeadlineRecipients(state=s, to=p.many("to"))),
        Setting(slug="reminders", key="Reminders", deadline=True,
                shown=lambda o, s: (", ".join(durations(d(o, s).get("remind_before")))
                                    + " before the deadline") if d(o, s).get("remind_before")
                else "None",
                ask=_ask_reminders,
                edit=lambda s, p: E.Reminders(state=s, before=split_list(p.one("remind_before")))),
        Setting(slug="chase", key="Chasing", deadline=True,
                shown=lambda o, s: f"Every {d(o, s)['chase_every']} once overdue"
                if d(o, s).get("chase_every") else "Not chased",
                ask=_ask_chase,
                edit=lambda s, p: E.Chase(state=s, every=p.one("chase_every"))),
        Setting(slug="digest", key="Digests", deadline=True,
                shown=lambda o, s: digest_words(d(o, s).get("digest")), ask=_ask_digest,
                edit=lambda s, p: E.Digest(state=s, kinds=p.many("digest"))),
        Setting(slug="templates", key="Emails",
                shown=lambda o, s: _templates_words(_state(o, s).get("templates")),
                ask=_asker_templates(known_templates),
                edit=lambda s, p: E.StateTemplates(
                    state=s,
                    templates={k.removeprefix("template_"): p.one(k) for k in p.keys()
                               if k.startswith("template_")},
                )),
        Setting(slug="expects", key="What evidence requests ask for",
                shown=lambda o, s: str(_state(o, s).get("expects") or "Nothing more than the "
                                       "agreed action").strip(),
                ask=_ask_expects,
                edit=lambda s, p: E.StateExpects(state=s, expects=p.one("expects"))),
    ]  # fmt: skip
    return {setting.slug: setting for setting in listed}


def _templates_words(value: object) -> str:
    if not isinstance(value, Mapping) or not value:
        return "None"
    return "; ".join(f"{kind}: {name}" for kind, name in value.items())


# --- escalation steps ------------------------------------------------------------------


def step_words(o: Outline, step: Mapping[str, object]) -> str:
    urgent = " (urgent: also outside office hours)" if step.get("urgent") is True else ""
    return f"{step.get('after', '?')} overdue: {o.targets(step.get('to'))}{urgent}"


def ask_step(o: Outline, s: str, index: int | None, p: Posted | None) -> Question:
    """The question of escalation step ``index`` (None: a new one)."""
    steps = steps_of(_state(o, s))
    step = steps[index] if index is not None and index < len(steps) else {}
    to = names(step.get("to"))
    roles = [t for t in to if "@" not in t]
    contacts = [t for t in to if "@" in t]
    return Question(
        heading="Change the escalation step" if index is not None else "Add an escalation step",
        fields=(
            Field(name="after", kind="duration", label="How long overdue before this step?",
                  hint=DURATION_HINT + ". Steps come in order, in one unit",
                  value=_pick(p, "after", str(step.get("after") or ""))),
            Field(name="to", kind="checkboxes", label="Who receives it?",
                  hint="Select all that apply", values=_picks(p, "to", roles),
                  choices=tuple(o.recipient_choices(ladder=True))),
            Field(name="contacts", kind="textarea", label="Named contacts (optional)",
                  hint="Email addresses of people in the directory, one a line, for example "
                  "the board's chair. While one is away their deputy receives it",
                  value=_pick(p, "contacts", "\n".join(contacts))),
            Field(name="urgent", kind="checkbox", label="Urgency",
                  value=_pick(p, "urgent", "yes" if step.get("urgent") is True else ""),
                  choices=(Choice(value="yes", text="Urgent: send outside office hours too"),)),
        ),
    )  # fmt: skip


def step_targets(p: Posted) -> tuple[list[str], list[str]]:
    """The roles ticked, and the contacts' addresses typed, in the order given."""
    return p.many("to"), split_list(p.one("contacts"))


# --- transitions -----------------------------------------------------------------------


def _t(o: Outline, i: int) -> Mapping[str, object]:
    return o.transitions[i]


def _ask_t_label(o: Outline, i: int, p: Posted | None) -> Question:
    return Question(
        heading="What is this action called?",
        fields=(
            Field(name="label", kind="text", label="What is this action called?",
                  hint="The words on its button, for example Submit evidence",
                  value=_pick(p, "label", o.transition_label(i))),
        ),
    )  # fmt: skip


def _ask_t_roles(o: Outline, i: int, p: Posted | None) -> Question:
    return Question(
        heading="Who may do this?",
        fields=(
            Field(name="roles", kind="checkboxes", label="Who may do this?",
                  hint="Select all that apply",
                  values=_picks(p, "roles", names(_t(o, i).get("roles"))),
                  choices=tuple(o.role_choices())),
        ),
    )  # fmt: skip


def _ask_t_requires(o: Outline, i: int, p: Posted | None) -> Question:
    return Question(
        heading="What must the person give?",
        fields=(
            Field(name="requires", kind="checkboxes", label="What must the person give?",
                  hint="Select all that apply; a Red/Amber/Green status always needs a reason",
                  values=_picks(p, "requires", names(_t(o, i).get("requires"))),
                  choices=tuple(Choice(value=k, text=v) for k, v in REQUIREMENTS.items())),
        ),
    )  # fmt: skip


def _told(o: Outline, i: int) -> list[str]:
    out: list[str] = []
    for entry in names_of_notify(_t(o, i).get("notify")):
        out += [r for r in entry if r not in out]
    return out


def names_of_notify(value: object) -> list[list[str]]:
    entries = value if isinstance(value, list) else []
    return [names(e.get("to")) for e in entries if isinstance(e, Mapping)]


def _ask_t_notify(o: Outline, i: int, p: Posted | None) -> Question:
    return Question(
        heading="Who is told when this is done?",
        fields=(
            Field(name="notify", kind="checkboxes", label="Who is told when this is done?",
                  hint="They receive the decision email. Select all that apply, or none",
                  values=_picks(p, "notify", _told(o, i)), choices=tuple(o.role_choices())),
        ),
    )  # fmt: skip


def _requires_words(o: Outline, i: int) -> str:
    given = names(_t(o, i).get("requires"))
    return "; ".join(REQUIREMENTS.get(r, r) for r in given) or "Nothing"


@dataclass(frozen=True, kw_only=True)
class TransitionSetting:
    slug: str
    key: str
    shown: Callable[[Outline, int], str]
    ask: Callable[[Outline, int, Posted | None], Question]
    edit: Callable[[int, Posted], E.Edit]


TRANSITION_SETTINGS = {
    s.slug: s
    for s in [
        TransitionSetting(slug="label", key="Label", shown=lambda o, i: o.transition_label(i),
                          ask=_ask_t_label,
                          edit=lambda i, p: E.TransitionLabel(index=i, label=p.one("label"))),
        TransitionSetting(slug="roles", key="Who may do it",
                          shown=lambda o, i: o.targets(_t(o, i).get("roles")), ask=_ask_t_roles,
                          edit=lambda i, p: E.TransitionRoles(index=i, roles=p.many("roles"))),
        TransitionSetting(slug="requires", key="What it requires",
                          shown=_requires_words, ask=_ask_t_requires,
                          edit=lambda i, p: E.TransitionRequires(index=i,
                                                                 requires=p.many("requires"))),
        TransitionSetting(slug="notify", key="Who is told",
                          shown=lambda o, i: o.targets(_told(o, i)), ask=_ask_t_notify,
                          edit=lambda i, p: E.TransitionNotify(index=i, to=p.many("notify"))),
    ]
}  # fmt: skip
