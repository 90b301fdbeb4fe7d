"""Turning claimed outbox rows into email messages.

Each row becomes one message, except reminders and chases whose rule asks for a
digest: those are grouped into one message per recipient. The template context is
built from the item, its recommendation, review and agency at send time; it carries
references, titles, dates and a link, never case details or a decision's reasons.
Every message has a stable Message-ID derived from its dedupe key(s), so a resend after
a crash is recognisable.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from email.charset import QP, Charset
from email.headerregistry import Address
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import format_datetime, parseaddr
from typing import Any

import sqlalchemy as sa

from engine.queries import title_of
from engine.service import Services
from engine.settings import Settings
from engine.store.tables import Agency, Contact, Item, Recommendation, Review
from notifications.outbox import Outcome, Result
from notifications.templates import TemplateError, Templates

# quoted-printable keeps the bodies readable in mail catchers and logs; base64 would not
_UTF8_QP = Charset("utf-8")
_UTF8_QP.body_encoding = QP
EXPECTED = (
    "Evidence that the agreed action is in place and working: for example minutes, "
    "procedures, training records or audit results."
)
_item = Item.__table__  # type: ignore[attr-defined]
_rec = Recommendation.__table__  # type: ignore[attr-defined]
_review = Review.__table__  # type: ignore[attr-defined]
_agency = Agency.__table__  # type: ignore[attr-defined]
_contact = Contact.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True, kw_only=True)
class Prepared:
    """One message ready to send, and the outbox rows it settles."""

    row_ids: tuple[int, ...]
    sender: str
    recipient: str
    message: bytes
    message_id: str
    template_version: str


def message_id(keys: Sequence[str], domain: str) -> str:
    digest = hashlib.sha256("\n".join(sorted(keys)).encode()).hexdigest()[:40]
    return f"<{digest}@{domain}>"


def _long_date(iso: str | None) -> str:
    if not iso:
        return "no date set"
    d = dt.date.fromisoformat(iso)
    return f"{d.day} {d:%B %Y}"


class Composer:
    """Builds messages for a batch of rows; reads what it needs in one pass."""

    def __init__(self, services: Services, settings: Settings, templates: Templates) -> None:
        self.services, self.settings, self.templates = services, settings, templates
        name, address = parseaddr(settings.mail_from)
        self.sender = address
        self.sender_name = name or "signoff"
        self.domain = address.rpartition("@")[2] or "localhost"

    def prepare(
        self, rows: Sequence[Any], now: dt.datetime
    ) -> tuple[list[Prepared], list[Outcome]]:
        """Messages for ``rows``; rows that cannot be rendered come back as failures."""
        facts = self._facts(rows)
        prepared: list[Prepared] = []
        failed: list[Outcome] = []
        digests: dict[str, list[Any]] = {}
        for row in rows:
            if row.kind == "failures":
                try:
                    prepared.append(self._failures(row, facts, now))
                except (TemplateError, KeyError, ValueError) as exc:
                    failed.append(
                        Outcome(row_id=row.id, result=Result.FAILED, error=f"cannot compose: {exc}")
                    )
                continue
            if row.context.get("digest") and row.kind in ("reminder", "chase"):
                digests.setdefault(row.recipient, []).append(row)
                continue
            try:
                prepared.append(self._single(row, facts, now))
            except (TemplateError, KeyError, ValueError) as exc:
                failed.append(
                    Outcome(row_id=row.id, result=Result.FAILED, error=f"cannot compose: {exc}")
                )
        for recipient, group in digests.items():
            try:
                prepared.append(self._digest(recipient, group, facts, now))
            except (TemplateError, KeyError, ValueError) as exc:
                failed.extend(
                    Outcome(row_id=r.id, result=Result.FAILED, error=f"cannot compose: {exc}")
                    for r in group
                )
        return prepared, failed

    def _facts(self, rows: Sequence[Any]) -> dict[str, Any]:
        item_ids = sorted({r.item_id for r in rows if r.item_id})
        with self.services.db.engine.connect() as conn:
            items = {
                r.id: r
                for r in conn.execute(
                    sa.select(
                        _item.c.id,
                        _item.c.state,
                        _item.c.agency_id,
                        _item.c.due,
                        _item.c.workflow_version_id,
                        _rec.c.ref,
                        _rec.c.text,
                        _review.c.id.label("review_id"),
                        _review.c.title.label("review_title"),
                        _review.c.board,
                        _agency.c.name.label("agency_name"),
                    )
                    .join(_rec, _rec.c.id == _item.c.recommendation_id)
                    .join(_review, _review.c.id == _rec.c.review_id)
                    .join(_agency, _agency.c.id == _item.c.agency_id)
                    .where(_item.c.id.in_(item_ids))
                )
            }
            people = {
                (c.email, c.agency_id): c
                for c in conn.execute(
                    sa.select(
                        _contact.c.email, _contact.c.agency_id, _contact.c.name, _contact.c.role
                    ).where(_contact.c.email.in_(sorted({r.recipient for r in rows})))
                )
            }
            specs = {
                i.workflow_version_id: self.services.specs.get(conn, i.workflow_version_id)
                for i in items.values()
            }
        return {"items": items, "people": people, "specs": specs}

    def _person(self, facts: dict[str, Any], email: str, agency: str) -> Any:
        people = facts["people"]
        return people.get((email, agency)) or next(
            (p for (e, _a), p in people.items() if e == email), None
        )

    def _common(self, row: Any, facts: dict[str, Any]) -> dict[str, object]:
        item = facts["items"][row.item_id]
        spec = facts["specs"][item.workflow_version_id]
        person = self._person(facts, row.recipient, item.agency_id)
        ctx = row.context
        return {
            "recipient_name": person.name if person else row.recipient,
            "agency_name": item.agency_name,
            "board_name": item.board,
            "review_ref": item.review_id,
            "review_title": item.review_title,
            "ref": item.ref,
            "title": title_of(item.text),
            "due": _long_date(ctx.get("due") or (item.due.isoformat() if item.due else None)),
            "days_overdue": int(ctx.get("days_overdue", 0)),
            "state_label": spec.states[ctx.get("to_state", item.state)].label,
            "expected": EXPECTED,
            "link": f"{self.settings.base_url}/items/{item.review_id}/{item.ref}",
            "reply_to": self.sender,
            "sender_name": self.sender_name,
        }

    def _single(self, row: Any, facts: dict[str, Any], now: dt.datetime) -> Prepared:
        ctx = self._common(row, facts)
        item = facts["items"][row.item_id]
        if row.kind == "escalation":
            person = self._person(facts, row.recipient, item.agency_id)
            ctx.update(
                step=int(row.context.get("step", 0)) + 1,
                escalated_to_role=(person.role.replace("_", " ") if person else "contact"),
                late_agency_name=item.agency_name,
            )
        if row.kind == "decision":
            spec = facts["specs"][item.workflow_version_id]
            labels = {
                t.trigger: t.label or t.trigger.replace("_", " ") for t in spec.model.transitions
            }
            ctx["decision_label"] = labels.get(row.context.get("trigger", ""), "Decision recorded")
        rendered = self.templates.render(row.template, ctx)
        return self._message([row], row.recipient, rendered, now)

    def _failures(self, row: Any, facts: dict[str, Any], now: dt.datetime) -> Prepared:
        person = next((p for (e, _a), p in facts["people"].items() if e == row.recipient), None)
        rendered = self.templates.render(
            "failures",
            {
                "count": row.context["count"],
                "failures": row.context["failures"],
                "recipient_name": person.name if person else row.recipient,
                "board_name": self.sender_name,
                "sender_name": "signoff",
                "reply_to": self.sender,
                "link": f"{self.settings.base_url}/admin/outbox",
            },
        )
        return self._message([row], row.recipient, rendered, now)

    def _digest(
        self, recipient: str, rows: list[Any], facts: dict[str, Any], now: dt.datetime
    ) -> Prepared:
        items = []
        for row in rows:
            c = self._common(row, facts)
            items.append(
                {k: c[k] for k in ("ref", "title", "review_ref", "due", "days_overdue", "link")}
            )
        first = facts["items"][rows[0].item_id]
        person = self._person(facts, recipient, first.agency_id)
        rendered = self.templates.render(
            "digest",
            {
                "items": items,
                "recipient_name": person.name if person else recipient,
                "board_name": first.board,
                "reply_to": self.sender,
                "sender_name": self.sender_name,
            },
        )
        return self._message(rows, recipient, rendered, now)

    def _message(
        self, rows: Sequence[Any], recipient: str, rendered: Any, now: dt.datetime
    ) -> Prepared:
        msg = MIMEMultipart("alternative")
        mid = message_id([r.dedupe_key for r in rows], self.domain)
        msg["From"] = str(Address(self.sender_name, addr_spec=self.sender))
        msg["To"] = recipient
        msg["Subject"] = rendered.subject
        msg["Date"] = format_datetime(now)
        msg["Message-ID"] = mid
        msg["Reply-To"] = self.sender
        msg["Auto-Submitted"] = "auto-generated"
        msg["X-Signoff-Kind"] = rows[0].kind
        msg.attach(MIMEText(rendered.text, "plain", _UTF8_QP))  # type: ignore[arg-type]
        msg.attach(MIMEText(rendered.html, "html", _UTF8_QP))  # type: ignore[arg-type]
        return Prepared(
            row_ids=tuple(r.id for r in rows),
            sender=self.sender,
            recipient=recipient,
            message=msg.as_bytes(),
            message_id=mid,
            template_version=rendered.template_version,
        )
