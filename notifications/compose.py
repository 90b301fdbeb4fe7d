"""Turning claimed outbox rows into email messages.

Each row becomes one message, with two exceptions. Rows of one kind of chasing (reminder,
chase, escalation) about the same item to the same person merge into one message, from
the highest step among them (a step reached while an earlier one still waited to go).
And where the item's rule asks for digests of that kind (``digest:`` in the workflow),
a recipient's rows of that kind are one message listing every item (the ``digest``
template), or the item's own email when there is only one. Every row is settled with
the message that carried it. The facts come from
``engine.mail_facts`` at send time, the template context from ``notifications.context``
and the bytes from ``notifications.mime``. Every message has a stable Message-ID, an HMAC
of its dedupe key(s) under the board's secret key, so a resend after a crash is
recognisable and nobody without the key can predict one; and an envelope sender of its
own (``engine.replykeys.bounce_address`` of its first outbox row), so a bounce can prove
which message, to whom, it answers. Every email that invites a
reply has a Reply-To of its own (``engine.requests.replies``): a request's, one bound to
the item and recipient, or a digest's bound to its recipient; the addresses of a batch are
found or made in one transaction.

A composer lives for one dispatch and keeps what many rows share: a rendering with its
encoded parts, keyed by everything it depends on. Request emails never come from that
cache: each carries a link token minted for it alone.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import hmac
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from email.utils import format_datetime, parseaddr
from typing import Any

from engine import signin
from engine.errors import TemplateError
from engine.mail_facts import MailFacts, read_mail_facts
from engine.outbox import CHASING, Outcome, Result
from engine.replykeys import bounce_address, reply_address
from engine.requests import mint_token
from engine.requests.replies import addresses
from engine.services import Services
from notifications import mime
from notifications.context import Contexts
from notifications.settings import MailSettings
from notifications.templates import SAMPLE_CONTEXT, Rendered, Templates, kind_of


@dataclass(frozen=True, kw_only=True)
class Prepared:
    """One message ready to send, and the outbox rows it settles."""

    row_ids: tuple[int, ...]
    sender: str  # the envelope sender (MAIL FROM): this message's bounce address
    recipient: str
    message: bytes
    message_id: str
    template_version: str


def message_id(key: bytes, keys: Sequence[str], domain: str) -> str:
    """The Message-ID of the message for the rows with dedupe ``keys``: the same every time.

    An HMAC under the board's secret ``key``: dedupe keys are built from public facts (the
    item, the state entry, the rule), so a plain hash of them could be predicted.
    """
    mac = hmac.new(key, b"message-id:" + "\n".join(sorted(keys)).encode(), hashlib.sha256)
    return f"<{mac.hexdigest()[:40]}@{domain}>"


_CHASING = frozenset(k.value for k in CHASING)
REPLY_KINDS = ("reminder", "chase", "escalation", "decision", "receipt")
"""Kinds whose email invites a reply about its item: each carries an address bound to its
item and recipient (a request carries its own request's; a digest one bound to its recipient)."""


def is_digest(row: Any) -> bool:
    """Whether ``row`` goes into its recipient's digest rather than a message of its own."""
    return bool(row.context.get("digest")) and row.kind in _CHASING


def _highest(rows: Sequence[Any]) -> Any:
    """The row of the highest step (the latest reminder, chase or escalation) of ``rows``."""
    return max(rows, key=lambda r: (int(r.context.get("step", 0)), r.id))


@dataclass(frozen=True, slots=True)
class _Body:
    """A rendering, with its Subject header and its parts in quoted-printable."""

    rendered: Rendered
    subject: str
    text: bytes
    html: bytes


_AUTO_GENERATED = "Auto-Submitted: auto-generated\r\n"
_AUTO_REPLIED = "Auto-Submitted: auto-replied\r\n"  # RFC 3834: an answer to a message
_CACHED = 4096  # renderings a composer keeps; a full cache starts again
_CACHEABLE = (str, int, bool, type(None))  # not float; bools are marked in the key (see below)


def _context_key(name: str, ctx: dict[str, object]) -> tuple[object, ...] | None:
    """What a rendering of template ``name`` depends on, or None if it cannot be a key.

    Rendering is deterministic (a sandbox with no globals and no random filters), so two
    contexts with the same scalar values give the same email. True == 1 but renders apart,
    so the names holding a bool end the key.
    """
    flags = []
    for key, value in ctx.items():
        kind = type(value)
        if kind not in _CACHEABLE:
            return None
        if kind is bool:
            flags.append(key)
    return (name, *ctx.items(), *flags)  # the same keys in another order only miss


def _cannot(row_id: int, exc: Exception) -> Outcome:
    return Outcome(row_id=row_id, result=Result.FAILED, error=f"cannot compose: {exc}")


class Composer:
    """Builds messages for a batch of rows; reads what it needs in one pass."""

    def __init__(self, services: Services, settings: MailSettings, templates: Templates) -> None:
        self.services, self.settings, self.templates = services, settings, templates
        name, address = parseaddr(settings.mail_from)
        self.sender = address
        self.sender_name = name or "signoff"
        # who signs when the directory lists no business manager: the From name, unless
        # that is the product's own (the default), which no board signs as
        self.signature = name if name and name.lower() != "signoff" else "The business manager"
        self.domain = address.rpartition("@")[2] or "localhost"
        # each message's envelope sender is its own bounce address (see _message): bounces
        # come back to the reply listener, which marks the address failing only when the
        # address verifies (the From: and Reply-To: stay the board's)
        self._dates: dict[dt.datetime, str] = {}
        # what many rows of one dispatch share: a rendering with its encoded parts, keyed
        # by everything it uses (see _render), and the contexts of the last facts read
        self._bodies: dict[tuple[object, ...], _Body] = {}
        self._to: dict[str, str] = {}
        self._contexts: Contexts | None = None

    @functools.cached_property
    def _from_header(self) -> str:
        return mime.address_header("From", self.sender_name, self.sender)

    @functools.cached_property
    def _reply_to_header(self) -> str:
        return mime.header("Reply-To", self.sender)

    @functools.cached_property
    def _reply_key(self) -> bytes:
        return self.settings.reply_key()

    def _date(self, now: dt.datetime) -> str:
        date = self._dates.get(now)
        if date is None:
            date = self._dates[now] = mime.header("Date", format_datetime(now))
        return date

    def facts(self, rows: Sequence[Any]) -> MailFacts:
        """What composing ``rows`` reads from the database, in one pass."""
        return read_mail_facts(
            self.services, (r.item_id for r in rows if r.item_id), (r.recipient for r in rows)
        )

    def _contexts_for(self, facts: MailFacts, now: dt.datetime) -> Contexts:
        """The contexts of ``facts`` on ``now``'s local day: kept while both stay the same."""
        today = self.services.calendar.local(now).date()
        known = self._contexts
        if known is None or known.facts is not facts or known.today != today:
            self._contexts = known = Contexts(
                facts,
                links=self.settings.links,
                sender=self.sender,
                sender_name=self.sender_name,
                signature=self.signature,
                today=today,
            )
        return known

    def prepare(
        self, rows: Sequence[Any], now: dt.datetime, *, facts: MailFacts | None = None
    ) -> tuple[list[Prepared], list[Outcome]]:
        """Messages for ``rows``; rows that cannot be rendered come back as failures.

        ``facts`` (from :meth:`facts`, for these rows or more) saves reading them again.
        Request rows mint their link token here (``engine.requests.mint_token``).
        """
        contexts = self._contexts_for(self.facts(rows) if facts is None else facts, now)
        prepared: list[Prepared] = []
        failed: list[Outcome] = []
        # chasing rows by recipient, kind and item (same item: one message), in row order
        chasing: dict[tuple[str, str, int], list[Any]] = {}
        singles: list[Any] = []
        for row in rows:
            if row.kind in _CHASING and row.item_id:
                chasing.setdefault((row.recipient, row.kind, row.item_id), []).append(row)
            else:
                singles.append(row)
        merged: list[list[Any]] = []
        digests: dict[tuple[str, str], list[list[Any]]] = {}
        for (recipient, kind, _item), same in chasing.items():
            if any(is_digest(r) for r in same):
                digests.setdefault((recipient, kind), []).append(same)
            else:
                merged.append(same)
        alone = [items[0] for items in digests.values() if len(items) == 1]
        replies = self._reply_addresses(
            [(r.item_id, r.recipient) for r in singles if r.item_id and r.kind in REPLY_KINDS]
            + [(same[0].item_id, same[0].recipient) for same in merged + alone]
            + [(None, recipient) for recipient, _kind in digests],
            now,
        )
        for row in singles:
            try:
                if row.kind == "failures":
                    rendered = self.templates.render("failures", contexts.failures(row))
                    prepared.append(self._message([row], row.recipient, rendered, now))
                elif row.kind == "sign_in":
                    prepared.append(self._sign_in(row, contexts, now))
                elif row.kind == "wording_test":  # sample values only: no case's data
                    rendered = self.templates.render(row.template, self._test_context(row))
                    rendered = replace(rendered, subject=f"[Test] {rendered.subject}")
                    prepared.append(self._message([row], row.recipient, rendered, now))
                elif row.kind == "auto_answer":
                    rendered = self.templates.render(row.template, contexts.auto_answer(row))
                    prepared.append(self._message([row], row.recipient, rendered, now))
                else:
                    reply_to = replies.get((row.item_id, row.recipient))
                    prepared.append(self._single(row, contexts, now, reply_to))
            except (TemplateError, KeyError, ValueError) as exc:
                failed.append(_cannot(row.id, exc))
        for same in merged:
            reply_to = replies.get((same[0].item_id, same[0].recipient))
            self._merged(same, contexts, now, prepared, failed, reply_to)
        for (recipient, kind), items in digests.items():
            if len(items) == 1:  # one item: the item's own email
                same = items[0]
                reply_to = replies.get((same[0].item_id, recipient))
                self._merged(same, contexts, now, prepared, failed, reply_to)
                continue
            group = [r for same in items for r in same]
            try:
                listed = sorted(
                    (_highest(same) for same in items),
                    key=lambda r: (r.context.get("due") or "", r.context.get("key") or ""),
                )
                ctx = contexts.digest(recipient, listed, kind)
                reply_to = replies.get((None, recipient))
                if reply_to:
                    ctx["reply_to"] = reply_to
                rendered = self.templates.render("digest", ctx)
                prepared.append(self._message(group, recipient, rendered, now, reply_to=reply_to))
            except (TemplateError, KeyError, ValueError) as exc:
                failed.extend(_cannot(r.id, exc) for r in group)
        return prepared, failed

    def _merged(
        self,
        same: Sequence[Any],
        contexts: Contexts,
        now: dt.datetime,
        prepared: list[Prepared],
        failed: list[Outcome],
        reply_to: str | None = None,
    ) -> None:
        """One message for rows of one kind about one item to one person: the highest step's."""
        top = _highest(same)
        try:
            ctx = contexts.single(top)
            if reply_to:
                ctx["reply_to"] = reply_to
            body = self._render(top.template, ctx)
            prepared.append(
                self._message(same, top.recipient, None, now, reply_to=reply_to, body=body)
            )
        except (TemplateError, KeyError, ValueError) as exc:
            failed.extend(_cannot(r.id, exc) for r in same)

    def _test_context(self, row: Any) -> dict[str, Any]:
        """A wording test's sample values, its links pointing at this board's own outbox page
        (the business manager who asked for the test can open it; the sample items are not
        real, so a link to them would lead nowhere)."""
        here = self.settings.links.outbox()

        def own(value: Any) -> Any:
            if isinstance(value, Mapping):
                return {k: here if k == "link" else own(v) for k, v in value.items()}
            if isinstance(value, list | tuple):
                return [own(v) for v in value]
            return value

        result: dict[str, Any] = own(SAMPLE_CONTEXT[kind_of(row.template)])
        return result

    def _reply_addresses(
        self, wanted: Sequence[tuple[int | None, str]], now: dt.datetime
    ) -> dict[tuple[int | None, str], str]:
        """The reply address of each email that invites a reply (not requests': each has its
        own), by (item, recipient); (None, recipient) for a digest. One transaction."""
        wanted = list(dict.fromkeys(wanted))
        if not wanted:
            return {}
        domain = self.settings.reply_domain
        return {
            pair: reply_address(self._reply_key, public_id, domain)
            for pair, public_id in addresses(self.services, wanted, now).items()
        }

    def _single(
        self, row: Any, contexts: Contexts, now: dt.datetime, reply_to: str | None = None
    ) -> Prepared:
        ctx = contexts.single(row)
        if row.kind == "request":  # its link token is its own: never rendered from a cache
            reply_to = self._request(row, ctx, now)
            rendered = self.templates.render(row.template, ctx)
            return self._message([row], row.recipient, rendered, now, reply_to=reply_to)
        if reply_to:
            ctx["reply_to"] = reply_to
        body = self._render(row.template, ctx)
        return self._message([row], row.recipient, None, now, reply_to=reply_to, body=body)

    def _sign_in(self, row: Any, contexts: Contexts, now: dt.datetime) -> Prepared:
        """A sign-in email: its link's token is minted here and exists only in this email.

        Raises:
            ValueError: the link was used or ran out before it was sent.
        """
        token = signin.mint_token(self.services, row.context["sign_in"], now)
        if token is None:
            raise ValueError("the sign-in link was used or expired before it was sent")
        link = self.settings.links.sign_in(token)
        minutes = int(signin.LINK_FOR.total_seconds() // 60)
        rendered = self.templates.render(row.template, contexts.sign_in(row, link, minutes))
        return self._message([row], row.recipient, rendered, now)

    def _request(self, row: Any, ctx: dict[str, object], now: dt.datetime) -> str:
        """Mint the link's token (it exists only in this email) and the reply address.

        Raises:
            ValueError: the request was answered, closed or removed before it was sent.
        """
        public_id = row.context["request"]
        token = mint_token(self.services, public_id, row.id, now)
        if token is None:
            raise ValueError(f"request {public_id} was answered or closed before it was sent")
        address = reply_address(self._reply_key, public_id, self.settings.reply_domain)
        # what the request asks in full (the agreed action, a note) is plan and staff free
        # text: it stays behind the link; the email says what the state expects
        ctx.update(link=self.settings.links.reply(token), reply_to=address)
        return address

    def _render(self, name: str, ctx: dict[str, object]) -> _Body:
        """Template ``name`` rendered with ``ctx``, encoded; the same context renders once."""
        key = _context_key(name, ctx)
        body = self._bodies.get(key) if key is not None else None
        if body is None:
            body = self._encode(self.templates.render(name, ctx))
            if key is not None:
                if len(self._bodies) >= _CACHED:
                    self._bodies.clear()
                self._bodies[key] = body
        return body

    @staticmethod
    def _encode(rendered: Rendered) -> _Body:
        return _Body(
            rendered=rendered,
            subject=mime.header("Subject", rendered.subject),
            text=mime.quoted_printable(rendered.text),
            html=mime.quoted_printable(rendered.html),
        )

    def _message(
        self,
        rows: Sequence[Any],
        recipient: str,
        rendered: Rendered | None,
        now: dt.datetime,
        reply_to: str | None = None,
        *,
        body: _Body | None = None,
    ) -> Prepared:
        """The message for ``rows``: from ``rendered``, or from ``body`` (already encoded).

        Raises:
            ValueError: a header value (the recipient, the subject) holds a line break.
        """
        if body is None:
            if rendered is None:
                raise TypeError("_message needs a rendering or an encoded body")
            body = self._encode(rendered)
        to = self._to.get(recipient)
        if to is None:
            to = mime.header("To", recipient)
            if len(self._to) < _CACHED:
                self._to[recipient] = to
        mid = message_id(self._reply_key, [r.dedupe_key for r in rows], self.domain)
        headers = (
            self._from_header,
            to,
            body.subject,
            self._date(now),
            mime.header("Message-ID", mid),
            mime.header("Reply-To", reply_to) if reply_to else self._reply_to_header,
            _AUTO_REPLIED if rows[0].kind == "auto_answer" else _AUTO_GENERATED,
            mime.header("X-Signoff-Kind", rows[0].kind),
        )
        return Prepared(
            row_ids=tuple(r.id for r in rows),
            sender=bounce_address(self._reply_key, rows[0].id, self.settings.reply_domain),
            recipient=recipient,
            message=mime.alternative(headers, body.text, body.html, mime.boundary_of(mid)),
            message_id=mid,
            template_version=body.rendered.template_version,
        )
