"""The template context of each email, from an outbox row and the facts read for it.

A context carries references, the names an administrator marked safe for email, dates,
names and a link, never a plan's free text, case details, notes or a decision's reasons:
it is built only from ``engine.mail_facts`` (what an email may say about an item), the
workflow (state labels, what a state expects, whose move it is) and the row's own context
(dates, step, trigger, what was received). Building one reads nothing and writes nothing;
a request's link token is the composer's business.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from engine.mail_facts import ItemFacts, MailFacts
from engine.spec import Move, Owed, WorkflowSpec, move_in
from notifications.links import Links

EXPECTED = (
    "Evidence that the agreed action is in place and working: for example minutes, "
    "procedures, training records or audit results."
)
# what an automatic answer says, by engine.inbox.Unusable: (why, what to do); fixed words only
AUTO_ANSWERS = {
    "not_allowed": (
        "this address does not take evidence for this recommendation from you",
        "Ask the person the email was sent to (or their deputy) to reply, or ask the board to "
        "add you to its contacts for your agency.",
    ),
    "closed": (
        "it can no longer be used: the recommendation has moved on since that email, or the "
        "address has expired",
        "Use the link in the latest email we sent you about it, or ask the board for a new one.",
    ),
    "empty": (
        "it had no text and no attachments",
        "Reply again with your evidence written in the email or attached to it.",
    ),
    "file_refused": (
        "an attached file could not be accepted: its type or content is not allowed, or it is "
        "too large",
        "Send it again as a PDF, or upload it through the link in the email we sent you. "
        "Nothing from your email was kept on the recommendation.",
    ),
}
# what is expected when the state does not say (``expects``), by what is owed
EXPECTED_BY_OWED = {
    Owed.EVIDENCE: EXPECTED,
    Owed.DECISION: (
        "A decision on the evidence submitted: sign it off, or challenge it and say what "
        "more is needed."
    ),
    Owed.CONFIRMATION: (
        "Confirmation that the agreed action has been implemented: for example an audit report."
    ),
}
DIGEST_ITEM_KEYS = (
    "ref",
    "summary",
    "review_ref",
    "agency_name",
    "due",
    "days_overdue",
    "overdue_since",
    "urgent",
    "link",
)
SIGNER_ROLE = "Business manager"  # who signs: the board's business manager (the directory's)


def long_date(iso: str | None) -> str:
    """An ISO date as an email writes it ("1 April 2011"), or "no date set"."""
    if not iso:
        return "no date set"
    d = dt.date.fromisoformat(iso)
    return f"{d.day} {d:%B %Y}"


def day_after(iso: str | None) -> str:
    """The day after an ISO date, written out: the first day an item due then is overdue."""
    if not iso:
        return "no date set"
    return long_date((dt.date.fromisoformat(iso) + dt.timedelta(days=1)).isoformat())


def decision_labels(spec: WorkflowSpec) -> dict[str, str]:
    """The decision label of each trigger of ``spec``'s workflow."""
    return {t.trigger: t.label or t.trigger.replace("_", " ") for t in spec.model.transitions}


class Contexts:
    """The contexts of the rows one read of ``facts`` serves.

    What rows for the same item, recipient and dates share is built once (a later read of
    the facts gets a new ``Contexts``, so it sees the item as it is then). Every method
    returns a new dict: callers may add to it.

    ``today`` is the board's local date when the emails are sent: ``days_overdue`` counts
    plain calendar days from the due date to it (negative before the due date, 0 on the
    day). Without it, the count the row was queued with is used.

    Emails are signed by the business manager the facts name; without one, by ``signature``
    (default: ``sender_name``, the From name).

    Raises (every method):
        KeyError: the row's item is not in ``facts``, or its state is not in its workflow.
        ValueError: a date in the row's context is not an ISO date.
    """

    def __init__(
        self,
        facts: MailFacts,
        *,
        links: Links,
        sender: str,
        sender_name: str,
        signature: str | None = None,
        today: dt.date | None = None,
    ) -> None:
        self.facts, self.today = facts, today
        self.links, self.sender, self.sender_name = links, sender, sender_name
        self.signature = signature or sender_name
        self._common: dict[tuple[object, ...], dict[str, object]] = {}
        self._labels: dict[int, tuple[WorkflowSpec, dict[str, str]]] = {}
        self._moves: dict[tuple[int, str], tuple[WorkflowSpec, Move | None]] = {}

    def _recipient_name(self, email: str, agency_id: str | None = None) -> str:
        person = self.facts.person(email, agency_id)
        return person.name if person else email

    def common(self, row: Any) -> dict[str, object]:
        """The context every kind of ``row``'s item shares."""
        ctx = row.context
        key = (
            row.item_id,
            row.recipient,
            ctx.get("due"),
            ctx.get("days_overdue", 0),
            ctx.get("to_state"),
            ctx.get("state"),  # whose move it is follows the state the row was queued in
            bool(ctx.get("urgent")),
        )
        try:
            common = self._common.get(key)
        except TypeError:  # a value in the row's context that is no key: build it afresh
            return self._build_common(row)
        if common is None:
            common = self._common[key] = self._build_common(row)
        return common.copy()

    def _signature(self) -> tuple[str, str]:
        """Who signs (the business manager in the directory, else the sender) and their role."""
        if self.facts.signer:
            return self.facts.signer, SIGNER_ROLE
        return self.signature, ""

    def _build_common(self, row: Any) -> dict[str, object]:
        item: ItemFacts = self.facts.items[row.item_id]
        ctx = row.context
        state = ctx.get("state") or ctx.get("to_state") or item.state
        move = self._move(item.spec, state)
        if move is None:
            owed, owed_by = "", ""
        elif move.own_agency:
            owed, owed_by = move.owed.value, item.board if item.board_item else item.agency_name
        else:
            owed, owed_by = move.owed.value, move.label
        expects = item.spec.states[state].expects
        expected = (expects or "").strip() or EXPECTED_BY_OWED[move.owed if move else Owed.EVIDENCE]
        sender_name, sender_role = self._signature()
        due = ctx.get("due") or (item.due.isoformat() if item.due else None)
        if self.today is not None and due:
            days = (self.today - dt.date.fromisoformat(due)).days
        else:
            days = int(ctx.get("days_overdue", 0))
        return {
            "recipient_name": self._recipient_name(row.recipient, item.agency_id),
            "agency_name": item.agency_name,
            "board_name": item.board,
            "review_ref": item.review_id,
            "review_name": item.review_name,
            "ref": item.ref,
            "summary": item.summary,
            "due": long_date(due),
            "days_overdue": days,
            "overdue_since": day_after(due),
            "urgent": bool(ctx.get("urgent")),
            "state_label": item.spec.states[ctx.get("to_state", item.state)].label,
            "owed": owed,
            "owed_by": owed_by,
            "expected": " ".join(expected.split()),
            "link": self.links.item(item.review_id, item.ref, item.agency_id),
            "reply_to": self.sender,
            "sender_name": sender_name,
            "sender_role": sender_role,
        }

    def single(self, row: Any) -> dict[str, object]:
        """The context of a row that is an email of its own (not a digest, not failures)."""
        ctx = self.common(row)
        item = self.facts.items[row.item_id]
        if row.kind == "escalation":
            person = self.facts.person(row.recipient, item.agency_id)
            ctx.update(
                step=int(row.context.get("step", 0)) + 1,
                escalated_to_role=(person.role.replace("_", " ") if person else "contact"),
                late_agency_name=item.agency_name,
            )
        elif row.kind == "decision":
            labels = self._decision_labels(item.spec)
            ctx["decision_label"] = labels.get(row.context.get("trigger", ""), "Decision recorded")
        elif row.kind == "receipt":
            ctx["received"] = list(row.context.get("received", ()))
        return ctx

    def _move(self, spec: WorkflowSpec, state: str) -> Move | None:
        """Whose move it is in ``state`` of ``spec``, worked out once per spec and state."""
        known = self._moves.get((id(spec), state))
        if known is None or known[0] is not spec:
            known = self._moves[(id(spec), state)] = (spec, move_in(spec.model, state))
        return known[1]

    def _decision_labels(self, spec: WorkflowSpec) -> dict[str, str]:
        known = self._labels.get(id(spec))
        if known is None or known[0] is not spec:
            known = self._labels[id(spec)] = (spec, decision_labels(spec))
        return known[1]

    def digest(self, recipient: str, rows: Sequence[Any], kind: str) -> dict[str, object]:
        """The context of one digest of ``rows`` (one each item; reminders, chases or
        escalations, as ``kind`` says) to ``recipient``."""
        items = []
        for row in rows:
            c = self.common(row)
            items.append({k: c[k] for k in DIGEST_ITEM_KEYS})
        first = self.facts.items[rows[0].item_id]
        sender_name, sender_role = self._signature()
        return {
            "kind": kind,
            "items": items,
            "urgent": any(i["urgent"] for i in items),
            "recipient_name": self._recipient_name(recipient, first.agency_id),
            "board_name": first.board,
            "reply_to": self.sender,
            "sender_name": sender_name,
            "sender_role": sender_role,
        }

    def auto_answer(self, row: Any) -> dict[str, object]:
        """The context of an automatic answer to a reply that could not be used."""
        why, advice = AUTO_ANSWERS[row.context["reason"]]
        return {
            "written_to": row.context["address"],
            "why": why,
            "advice": advice,
            "board_name": self.sender_name,
            "sender_name": self.sender_name,
            "reply_to": self.sender,
        }

    def failures(self, row: Any) -> dict[str, object]:
        """The context of the admin's email listing failed deliveries."""
        return {
            "count": row.context["count"],
            "failures": row.context["failures"],
            "unreachable": row.context.get("unreachable", []),
            "recipient_name": self._recipient_name(row.recipient),
            "board_name": self.sender_name,
            "sender_name": "signoff",
            "reply_to": self.sender,
            "link": self.links.outbox(),
        }

    def sign_in(self, row: Any, link: str, minutes: int) -> dict[str, object]:
        """The context of a sign-in email: the link (minted for it alone) and no item."""
        return {
            "link": link,
            "minutes": minutes,
            "recipient_name": self._recipient_name(row.recipient),
            "board_name": self.sender_name,
            "sender_name": self.sender_name,
            "reply_to": self.sender,
        }
