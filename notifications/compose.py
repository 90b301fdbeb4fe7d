"""Turning claimed outbox rows into email messages.

Each row becomes one message, except reminders and chases whose rule asks for a
digest: those are grouped into one message per recipient. The template context is
built from the item, its recommendation, review and agency at send time; it carries
references, titles, dates and a link, never case details or a decision's reasons.
Every message has a stable Message-ID derived from its dedupe key(s), so a resend after
a crash is recognisable.

The MIME bytes are written here directly rather than with ``email.mime``: a
``multipart/alternative`` with a text and an HTML part, both UTF-8 and quoted-printable (so
the bodies stay readable in mail catchers and logs), CRLF line endings, and a boundary
derived from the Message-ID that cannot occur in quoted-printable text. Header values are
refused if they hold a line break; non-ASCII values become RFC 2047 encoded words and long
ones are folded. Parsed with the stdlib ``email`` package the result gives the same headers
and parts as the ``MIMEMultipart`` it replaces (``tests/notifications/test_compose.py``).
"""

from __future__ import annotations

import codecs
import datetime as dt
import functools
import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from email.headerregistry import Address
from email.utils import format_datetime, parseaddr
from typing import Any

import sqlalchemy as sa

from engine import evidence_requests
from engine.errors import RequestNotFound, TemplateError
from engine.queries import title_of
from engine.replykeys import reply_address
from engine.services import Services
from engine.store.tables import Agency, Contact, Item, Recommendation, Review
from notifications.outbox import Outcome, Result
from notifications.settings import MailSettings
from notifications.templates import Rendered, Templates

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


def is_digest(row: Any) -> bool:
    """Whether ``row`` goes into its recipient's digest rather than a message of its own."""
    return bool(row.context.get("digest")) and row.kind in ("reminder", "chase")


# --- the MIME bytes ------------------------------------------------------------------------

# what Templates.render refuses in header values, and NUL
_HEADER_BREAK = re.compile("[\x00\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")
_LINE = 78  # RFC 5322's recommended line length, as the stdlib folds
_WORD = 63  # the encoded text of one RFC 2047 word: =?utf-8?q?...?= stays within 75
_Q_SAFE = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!*+-/")
_Q = tuple(
    chr(b) if b in _Q_SAFE else "_" if b == 0x20 else f"={b:02X}" for b in range(256)
)  # RFC 2047 "Q" encoding of one byte, safe in any header


def _encoded_words(value: str, first: int) -> list[str]:
    """``value`` as RFC 2047 Q-encoded UTF-8 words, never splitting a character."""
    encoded = "".join(map(_Q.__getitem__, value.encode()))
    words: list[str] = []
    start, budget = 0, max(first, 12)
    while len(encoded) - start > budget:
        cut = start + budget
        escape = encoded.rfind("=", cut - 2, cut)  # "=" only starts an escape here
        if escape != -1:
            cut = escape
        while encoded.startswith("=", cut) and encoded[cut + 1] in "89AB" and cut > start:
            cut -= 3  # a UTF-8 continuation byte: keep the character whole
        words.append(f"=?utf-8?q?{encoded[start:cut]}?=")
        start, budget = cut, _WORD
    words.append(f"=?utf-8?q?{encoded[start:]}?=")
    return words


def _fold(name: str, value: str) -> str | None:
    """A long ASCII header folded at its spaces, or None when it cannot be (double spaces,
    or a word too long for an SMTP line)."""
    words = value.split(" ")
    if "" in words:
        return None
    lines = [f"{name}: {words[0]}"]
    for word in words[1:]:
        if len(lines[-1]) + 1 + len(word) > _LINE:
            lines.append(" " + word)
        else:
            lines[-1] += " " + word
    if any(len(line) > 998 for line in lines):
        return None
    return "\r\n".join(lines) + "\r\n"


def header(name: str, value: str) -> str:
    """One header line (folded, ending CRLF); non-ASCII values as RFC 2047 encoded words.

    Raises:
        ValueError: the value contains a line break (a header injection).
    """
    if _HEADER_BREAK.search(value):
        raise ValueError(f"the {name} header would contain a line break: {value!r}")
    if value.isascii() and value.isprintable() and "=?" not in value:
        if len(name) + 2 + len(value) <= _LINE:
            return f"{name}: {value}\r\n"
        folded = _fold(name, value)
        if folded is not None:
            return folded
    words = _encoded_words(value, _LINE - len(name) - 2 - 12)
    return f"{name}: " + "\r\n ".join(words) + "\r\n"


_QP_ESCAPE = {bytes([b]): b"=%02X" % b for b in range(256)}
_QP_HEX = tuple(f"={b:02X}" for b in range(256))
_QP_PLAIN = bytes(range(0x20, 0x7F)) + b"\t\n"  # left as they are
_QP_CONTROL = re.compile(b"[\x00-\x08\x0b-\x1f\x7f]")
_QP_TRAILING = re.compile(b"[\t ](?=\n|\\Z)")
# one piece of a long line: 75 characters, or fewer so as not to split an "=XX" escape
_QP_PIECE = re.compile(b"[^\n]{73}(?:[^=]{2}|[^=](?==)|(?==))|[^\n]+")


def _escape(match: re.Match[bytes]) -> bytes:
    return _QP_ESCAPE[match[0]]


def _escape_non_ascii(exc: UnicodeError) -> tuple[str, int]:
    # an encoding error handler: it sees only the runs of non-ASCII characters, so ASCII
    # text is encoded at C speed (a regex over every byte is several times slower)
    if not isinstance(exc, UnicodeEncodeError):
        raise exc
    chunk = exc.object[exc.start : exc.end].encode("utf-8")
    return "".join([_QP_HEX[b] for b in chunk]), exc.end


codecs.register_error("signoff-quoted-printable", _escape_non_ascii)


def quoted_printable(text: str) -> bytes:
    """``text`` as UTF-8 quoted-printable (RFC 2045) lines of at most 76 characters, CRLF.

    Only what must be is escaped: "=", bytes outside printable ASCII (tab aside), and a
    space or tab at the end of a line; longer lines get soft breaks.
    """
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    data = text.replace("=", "=3D").encode("ascii", "signoff-quoted-printable")
    if data.translate(None, _QP_PLAIN):  # control characters (rare)
        data = _QP_CONTROL.sub(_escape, data)
    if b" \n" in data or b"\t\n" in data or data.endswith((b" ", b"\t")):
        data = _QP_TRAILING.sub(_escape, data)
    lines = data.split(b"\n")
    if any(len(line) > 76 for line in lines):
        data = b"\n".join(
            [b"=\n".join(_QP_PIECE.findall(line)) if len(line) > 76 else line for line in lines]
        )
    return data.replace(b"\n", b"\r\n")


_PART_TEXT = (
    b'Content-Type: text/plain; charset="utf-8"\r\n'
    b"Content-Transfer-Encoding: quoted-printable\r\n\r\n"
)
_PART_HTML = (
    b'Content-Type: text/html; charset="utf-8"\r\n'
    b"Content-Transfer-Encoding: quoted-printable\r\n\r\n"
)


def _long_date(iso: str | None) -> str:
    if not iso:
        return "no date set"
    d = dt.date.fromisoformat(iso)
    return f"{d.day} {d:%B %Y}"


@dataclass(frozen=True, slots=True)
class _Body:
    """A rendering, with its Subject header and its parts in quoted-printable."""

    rendered: Rendered
    subject: str
    text: bytes
    html: bytes


_CACHED = 4096  # renderings a composer keeps; a full cache starts again
_CACHEABLE = (str, int, type(None))  # not bool or float: True == 1 == 1.0, rendered apart


def _context_key(name: str, ctx: dict[str, object]) -> tuple[object, ...] | None:
    """What a rendering of template ``name`` depends on, or None if it cannot be a key.

    Rendering is deterministic (a sandbox with no globals and no random filters), so two
    contexts with the same scalar values give the same email.
    """
    for value in ctx.values():
        if type(value) not in _CACHEABLE:
            return None
    return (name, *ctx.items())  # the same keys in another order only miss


class Composer:
    """Builds messages for a batch of rows; reads what it needs in one pass."""

    def __init__(self, services: Services, settings: MailSettings, templates: Templates) -> None:
        self.services, self.settings, self.templates = services, settings, templates
        name, address = parseaddr(settings.mail_from)
        self.sender = address
        self.sender_name = name or "signoff"
        self.domain = address.rpartition("@")[2] or "localhost"
        # the envelope sender: bounces come back to the reply listener, which marks the
        # address failing (the From: and Reply-To: stay the board's)
        self.envelope = f"bounces@{settings.reply_domain}"
        self._dates: dict[dt.datetime, str] = {}
        # what many rows of one dispatch share (see _common and _render): the item part of
        # a context, and a rendering with its encoded parts, keyed by everything they use
        self._bodies: dict[tuple[object, ...], _Body] = {}
        self._to: dict[str, str] = {}
        self._decision_labels: dict[int, tuple[Any, dict[str, str]]] = {}

    @functools.cached_property
    def _from_header(self) -> str:
        name = self.sender_name
        if name.isascii() and name.isprintable():
            return header("From", str(Address(name, addr_spec=self.sender)))
        if _HEADER_BREAK.search(name):
            raise ValueError(f"the sender's name would contain a line break: {name!r}")
        str(Address(addr_spec=self.sender))  # refuses an address that is not one
        words = _encoded_words(name, _LINE - len("From: ") - 12)
        return "From: " + "\r\n ".join(words) + f" <{self.sender}>\r\n"

    @functools.cached_property
    def _reply_to_header(self) -> str:
        return header("Reply-To", self.sender)

    def _date(self, now: dt.datetime) -> str:
        date = self._dates.get(now)
        if date is None:
            date = self._dates[now] = header("Date", format_datetime(now))
        return date

    def prepare(
        self, rows: Sequence[Any], now: dt.datetime, *, facts: dict[str, Any] | None = None
    ) -> tuple[list[Prepared], list[Outcome]]:
        """Messages for ``rows``; rows that cannot be rendered come back as failures.

        ``facts`` (from :meth:`facts`, for these rows or more) saves reading them again.
        """
        if facts is None:
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
            if is_digest(row):
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

    def facts(self, rows: Sequence[Any]) -> dict[str, Any]:
        """What composing ``rows`` reads from the database, in one pass."""
        return self._facts(rows)

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
        """The context every kind of a row's item shares (a new dict: callers add to it).

        Rows for the same item, recipient and dates share it: it is built once per read of
        the facts (``facts`` holds the cache, so a later read sees the item as it is then).
        """
        ctx = row.context
        key = (
            row.item_id,
            row.recipient,
            ctx.get("due"),
            ctx.get("days_overdue", 0),
            ctx.get("to_state"),
        )
        cache: dict[tuple[object, ...], dict[str, object]] = facts.setdefault("_common", {})
        try:
            common = cache.get(key)
        except TypeError:  # a value in the row's context that is no key: build it afresh
            return self._build_common(row, facts)
        if common is None:
            common = cache[key] = self._build_common(row, facts)
        return common.copy()

    def _build_common(self, row: Any, facts: dict[str, Any]) -> dict[str, object]:
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
            labels = self._labels(facts["specs"][item.workflow_version_id])
            ctx["decision_label"] = labels.get(row.context.get("trigger", ""), "Decision recorded")
        if row.kind == "receipt":
            ctx["received"] = list(row.context.get("received", ()))
        if row.kind == "request":  # its link token is its own: never rendered from a cache
            reply_to = self._request(row, ctx, now)
            rendered = self.templates.render(row.template, ctx)
            return self._message([row], row.recipient, rendered, now, reply_to=reply_to)
        return self._message([row], row.recipient, None, now, body=self._render(row.template, ctx))

    def _labels(self, spec: Any) -> dict[str, str]:
        """The decision label of each trigger of ``spec``'s workflow."""
        known = self._decision_labels.get(id(spec))
        if known is None or known[0] is not spec:
            labels = {
                t.trigger: t.label or t.trigger.replace("_", " ") for t in spec.model.transitions
            }
            known = self._decision_labels[id(spec)] = (spec, labels)
        return known[1]

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
            subject=header("Subject", rendered.subject),
            text=quoted_printable(rendered.text),
            html=quoted_printable(rendered.html),
        )

    def _request(self, row: Any, ctx: dict[str, object], now: dt.datetime) -> str:
        """Mint the link's token (it exists only in this email) and the reply address."""
        public_id = row.context["request"]
        token = evidence_requests.mint_token(self.services, public_id, row.id, now)
        if token is None:
            raise ValueError(f"request {public_id} was answered or closed before it was sent")
        address = reply_address(self._reply_key, public_id, self.settings.reply_domain)
        try:
            expected = evidence_requests.asked(self.services, public_id)
        except RequestNotFound as exc:
            raise ValueError(str(exc)) from None
        ctx.update(link=f"{self.settings.base_url}/r/{token}", reply_to=address, expected=expected)
        return address

    @functools.cached_property
    def _reply_key(self) -> bytes:
        return self.settings.reply_key()

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
        self,
        rows: Sequence[Any],
        recipient: str,
        rendered: Any,
        now: dt.datetime,
        reply_to: str | None = None,
        *,
        body: _Body | None = None,
    ) -> Prepared:
        """The message for ``rows``: from ``rendered``, or from ``body`` (already encoded)."""
        if body is None:
            body = self._encode(rendered)
        to = self._to.get(recipient)
        if to is None:
            to = header("To", recipient)
            if len(self._to) < _CACHED:
                self._to[recipient] = to
        mid = message_id([r.dedupe_key for r in rows], self.domain)
        boundary = "=_" + mid[1:33]  # "=_" never occurs in quoted-printable text
        head = "".join(
            (
                f'Content-Type: multipart/alternative;\r\n boundary="{boundary}"\r\n',
                "MIME-Version: 1.0\r\n",
                self._from_header,
                to,
                body.subject,
                self._date(now),
                header("Message-ID", mid),
                header("Reply-To", reply_to) if reply_to else self._reply_to_header,
                "Auto-Submitted: auto-generated\r\n",
                header("X-Signoff-Kind", rows[0].kind),
                f"\r\n--{boundary}\r\n",
            )
        ).encode("ascii")
        delimiter = f"\r\n--{boundary}".encode("ascii")
        message = b"".join(
            (
                head,
                _PART_TEXT,
                body.text,
                delimiter,
                b"\r\n",
                _PART_HTML,
                body.html,
                delimiter,
                b"--\r\n",
            )
        )
        return Prepared(
            row_ids=tuple(r.id for r in rows),
            sender=self.envelope,
            recipient=recipient,
            message=message,
            message_id=mid,
            template_version=body.rendered.template_version,
        )
