"""The template context of each email, from an outbox row and the facts read for it.

A context carries references, titles, dates, names and a link, never case details or a
decision's reasons: it is built only from ``engine.mail_facts`` (what an email may say about
an item) and the row's own context (dates, step, trigger, what was received). Building
one reads nothing and writes nothing; a request's link token is the composer's business.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from engine.mail_facts import ItemFacts, MailFacts
from engine.spec import WorkflowSpec

EXPECTED = (
    "Evidence that the agreed action is in place and working: for example minutes, "
    "procedures, training records or audit results."
)
DIGEST_ITEM_KEYS = ("ref", "title", "review_ref", "due", "days_overdue", "overdue_since", "link")


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

    Raises (every method):
        KeyError: the row's item is not in ``facts``, or its state is not in its workflow.
        ValueError: a date in the row's context is not an ISO date.
    """

    def __init__(
        self,
        facts: MailFacts,
        *,
        base_url: str,
        sender: str,
        sender_name: str,
        today: dt.date | None = None,
    ) -> None:
        self.facts, self.today = facts, today
        self.base_url, self.sender, self.sender_name = base_url, sender, sender_name
        self._common: dict[tuple[object, ...], dict[str, object]] = {}
        self._labels: dict[int, tuple[WorkflowSpec, dict[str, str]]] = {}

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
            bool(ctx.get("urgent")),
        )
        try:
            common = self._common.get(key)
        except TypeError:  # a value in the row's context that is no key: build it afresh
            return self._build_common(row)
        if common is None:
            common = self._common[key] = self._build_common(row)
        return common.copy()

    def _build_common(self, row: Any) -> dict[str, object]:
        item: ItemFacts = self.facts.items[row.item_id]
        ctx = row.context
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
            "review_title": item.review_title,
            "ref": item.ref,
            "title": item.title,
            "due": long_date(due),
            "days_overdue": days,
            "overdue_since": day_after(due),
            "urgent": bool(ctx.get("urgent")),
            "state_label": item.spec.states[ctx.get("to_state", item.state)].label,
            "expected": EXPECTED,
            "link": f"{self.base_url}/items/{item.review_id}/{item.ref}",
            "reply_to": self.sender,
            "sender_name": self.sender_name,
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

    def _decision_labels(self, spec: WorkflowSpec) -> dict[str, str]:
        known = self._labels.get(id(spec))
        if known is None or known[0] is not spec:
            known = self._labels[id(spec)] = (spec, decision_labels(spec))
        return known[1]

    def digest(self, recipient: str, rows: Sequence[Any]) -> dict[str, object]:
        """The context of one digest of ``rows`` (reminders and chases) to ``recipient``."""
        items = []
        for row in rows:
            c = self.common(row)
            items.append({k: c[k] for k in DIGEST_ITEM_KEYS})
        first = self.facts.items[rows[0].item_id]
        return {
            "items": items,
            "recipient_name": self._recipient_name(recipient, first.agency_id),
            "board_name": first.board,
            "reply_to": self.sender,
            "sender_name": self.sender_name,
        }

    def failures(self, row: Any) -> dict[str, object]:
        """The context of the admin's email listing failed deliveries."""
        return {
            "count": row.context["count"],
            "failures": row.context["failures"],
            "recipient_name": self._recipient_name(row.recipient),
            "board_name": self.sender_name,
            "sender_name": "signoff",
            "reply_to": self.sender,
            "link": f"{self.base_url}/admin/outbox",
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
