"""SQLModel tables: the schema, and the types used for ordinary reads.

The one definition of each table. ``engine.store.core`` is generated from it
(``core_source``; a test fails if it drifts): the same tables as plain SQLAlchemy Core,
for read paths that must start fast (``signoff list``) without SQLModel and pydantic.

The hot path (``engine.fire.fire``) writes through SQLAlchemy Core statements on
these same tables; everything else may use the ORM. Datetimes are stored as UTC and
come back timezone-aware on every backend.
"""

from __future__ import annotations

import base64
import datetime as dt
import secrets
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import Column, Field, SQLModel
from sqlmodel.sql.sqltypes import AutoString

from engine.store.types import UTCDateTime


def new_public_id() -> str:
    """A public id for a row named in URLs: 80 random bits, lower-case base32."""
    return base64.b32encode(secrets.token_bytes(10)).decode().rstrip("=").lower()


class Rag(StrEnum):
    RED = "red"
    AMBER = "amber"
    GREEN = "green"


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    SENDING = "sending"  # claimed by a dispatcher until lease_until
    FAILED = "failed"
    CANCELLED = "cancelled"  # decided, then overtaken (the item moved on) before sending


def _ts(nullable: bool = False, index: bool = False) -> Any:
    return Field(default=None, sa_column=Column(UTCDateTime(), nullable=nullable, index=index))


def _json(default: Any) -> Any:
    return Field(default_factory=lambda: default.copy(), sa_column=Column(sa.JSON, nullable=False))


class WorkflowVersion(SQLModel, table=True):
    __tablename__ = "workflow_version"
    __table_args__ = (sa.UniqueConstraint("name", "version"),)
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100)
    version: int
    sha256: str = Field(max_length=64)
    source_text: str = Field(sa_column=Column(sa.Text, nullable=False))
    published_at: dt.datetime = _ts()
    published_by: str = Field(max_length=320)
    note: str | None = None


class Agency(SQLModel, table=True):
    id: str = Field(primary_key=True, max_length=100)
    name: str
    senior_contact_role: str | None = None
    note: str | None = Field(default=None, sa_column=Column(sa.Text))
    ladder: list[str] = _json([])


class Contact(SQLModel, table=True):
    __table_args__ = (sa.UniqueConstraint("agency_id", "email", "role"),)
    id: int | None = Field(default=None, primary_key=True)
    agency_id: str = Field(foreign_key="agency.id", index=True, max_length=100)
    name: str
    email: str = Field(index=True, max_length=320)
    role: str = Field(max_length=100)
    absent: bool = False  # away now; with dates, each sweep sets it from them (engine.contacts)
    deputy_email: str | None = Field(default=None, max_length=320)
    failing: bool = False
    absent_from: dt.date | None = None  # first day away
    absent_until: dt.date | None = None  # last day away


class ConflictOfInterest(SQLModel, table=True):
    """A contact who must not receive escalations about an agency (engine.contacts)."""

    __tablename__ = "conflict_of_interest"
    __table_args__ = (sa.UniqueConstraint("agency_id", "email"),)
    id: int | None = Field(default=None, primary_key=True)
    agency_id: str = Field(foreign_key="agency.id", index=True, max_length=100)
    email: str = Field(max_length=320)
    alternate_email: str | None = Field(default=None, max_length=320)  # who receives instead


class AuditorAssignment(SQLModel, table=True):
    """An internal auditor who audits an agency's items (engine.contacts)."""

    __tablename__ = "auditor_assignment"
    __table_args__ = (sa.UniqueConstraint("agency_id", "email"),)
    id: int | None = Field(default=None, primary_key=True)
    agency_id: str = Field(foreign_key="agency.id", index=True, max_length=100)
    email: str = Field(max_length=320)


class Review(SQLModel, table=True):
    id: str = Field(primary_key=True, max_length=200)
    title: str = Field(sa_column=Column(sa.Text, nullable=False))
    # what emails call the review: an administrator marks it safe for email (never the title)
    email_name: str | None = Field(default=None, max_length=60)
    board: str
    kind: str = Field(max_length=50)
    source_document: str | None = None
    date: dt.date | None = None
    note: str | None = Field(default=None, sa_column=Column(sa.Text))
    imported_at: dt.datetime = _ts()
    source: dict[str, Any] = _json({})  # sections of the file kept, not used (by name)


class Recommendation(SQLModel, table=True):
    """The recommendation as written in the review; one Item per answering agency."""

    __table_args__ = (sa.UniqueConstraint("review_id", "ref"),)
    id: int | None = Field(default=None, primary_key=True)
    review_id: str = Field(foreign_key="review.id", index=True, max_length=200)
    ref: str = Field(max_length=50)
    text: str = Field(sa_column=Column(sa.Text, nullable=False))
    risk_if_not_actioned: str | None = Field(default=None, sa_column=Column(sa.Text))
    lead: str | None = None
    priority: str | None = Field(default=None, max_length=1)
    agreed_action: str | None = Field(default=None, sa_column=Column(sa.Text))
    # a summary an administrator marked safe for email (emails never carry ``text``)
    email_summary: str | None = Field(default=None, max_length=120)
    due_dates: list[str] = _json([])
    start_dates: list[str] = _json([])  # when the work starts: shown, never chased
    themes: list[str] = _json([])
    note: str | None = Field(default=None, sa_column=Column(sa.Text))
    source: dict[str, Any] = _json({})


class Item(SQLModel, table=True):
    """One agency's answer to one recommendation: the thing that moves through a workflow."""

    __table_args__ = (sa.UniqueConstraint("recommendation_id", "agency_id"),)
    id: int | None = Field(default=None, primary_key=True)
    recommendation_id: int = Field(foreign_key="recommendation.id", index=True)
    agency_id: str = Field(foreign_key="agency.id", index=True, max_length=100)
    workflow_version_id: int = Field(foreign_key="workflow_version.id")
    state: str = Field(index=True, max_length=100)
    rag: Rag | None = Field(default=None, sa_column=Column(sa.String(10)))
    version: int = 1
    seq: int = 0
    last_hash: str = Field(max_length=64)
    due: dt.date | None = None
    due_history: list[str] = _json([])
    pending_due: dt.date | None = None
    actors: dict[str, list[str]] = _json({})
    entered_at: dt.datetime = _ts()
    entered_seq: int = 0
    next_attention_at: dt.datetime | None = _ts(nullable=True, index=True)
    updated_at: dt.datetime = _ts()


class Evidence(SQLModel, table=True):
    """One submission: a statement and/or one file. Never overwritten."""

    id: int | None = Field(default=None, primary_key=True)
    item_id: int = Field(foreign_key="item.id", index=True)
    submitted_by: str = Field(max_length=320)
    submitted_at: dt.datetime = _ts()
    statement: str | None = Field(default=None, sa_column=Column(sa.Text))
    filename: str | None = None
    stored_name: str | None = None
    sha256: str = Field(max_length=64)
    size: int = 0
    content_type: str | None = Field(default=None, max_length=100)
    channel: str = Field(default="staff", max_length=20)  # staff, web or email
    request_id: int | None = Field(default=None, foreign_key="evidence_request.id", index=True)
    # what URLs name it by: random, so a download link cannot be guessed from another
    public_id: str = Field(
        sa_column=Column(sa.String(32), nullable=False, unique=True, default=new_public_id)
    )


class RequestStatus(StrEnum):
    OPEN = "open"
    ANSWERED = "answered"
    REVOKED = "revoked"  # the item moved on, or the board withdrew it


class RequestKind(StrEnum):
    """What a reply address (an evidence_request row) was made for."""

    REQUEST = "request"  # the board asked for evidence: a link and a reply address
    REPLY = "reply"  # the reply address of another email about one item to one person
    DIGEST = "digest"  # the reply address of a person's digest: no item until a reply names one


class EvidenceRequest(SQLModel, table=True):
    """A request to one agency contact for evidence on one item, answered by link or reply.

    Every reply address is one of these rows (``kind``): a request's, or the address another
    email about an item (``reply``) or a person's digest (``digest``, no item) carries.
    """

    __tablename__ = "evidence_request"
    id: int | None = Field(default=None, primary_key=True)
    public_id: str = Field(unique=True, max_length=32)  # in reply addresses; not a secret
    kind: RequestKind = Field(
        default=RequestKind.REQUEST,
        sa_column=Column(sa.String(10), nullable=False, server_default="request"),
    )
    item_id: int | None = Field(default=None, foreign_key="item.id", index=True)
    agency_id: str | None = Field(default=None, foreign_key="agency.id", max_length=100)
    recipient: str = Field(max_length=320, index=True)
    asked: str = Field(sa_column=Column(sa.Text, nullable=False))
    due: dt.date | None = None
    state: str = Field(max_length=100)  # the item's state when asked
    entered_seq: int  # the item's state entry when asked: a later entry revokes the request
    issued_at: dt.datetime = _ts()
    issued_by: str = Field(max_length=320)
    expires_at: dt.datetime = _ts()
    issues: int = 1  # how many times the link was sent (reissues)
    status: RequestStatus = Field(
        default=RequestStatus.OPEN, sa_column=Column(sa.String(10), nullable=False, index=True)
    )
    closed_at: dt.datetime | None = _ts(nullable=True)
    closed_reason: str | None = Field(default=None, max_length=200)
    # the item's state entry an answer made: replies are follow-ups while the item stays there
    followup_seq: int | None = None


class RequestToken(SQLModel, table=True):
    """One link sent for a request; only the SHA-256 of the token is kept."""

    __tablename__ = "request_token"
    id: int | None = Field(default=None, primary_key=True)
    request_id: int = Field(foreign_key="evidence_request.id", index=True)
    token_hash: str = Field(unique=True, max_length=64)
    outbox_id: int | None = Field(default=None, foreign_key="outbox.id")
    created_at: dt.datetime = _ts()
    expires_at: dt.datetime = _ts()
    revoked_at: dt.datetime | None = _ts(nullable=True)


class InboundStatus(StrEnum):
    ACCEPTED = "accepted"  # became evidence on an item
    QUARANTINED = "quarantined"  # could not be matched: the admin decides
    HELD = "held"  # matched, but a member of staff must confirm who sent it (or assign it)
    AUTO_REPLY = "auto_reply"
    BOUNCE = "bounce"
    DISMISSED = "dismissed"  # the admin looked and set it aside


class InboundMessage(SQLModel, table=True):
    """One message received by the inbound listener, whatever became of it."""

    __tablename__ = "inbound_message"
    id: int | None = Field(default=None, primary_key=True)
    message_key: str = Field(unique=True, max_length=400)  # Message-ID, else the raw SHA-256
    received_at: dt.datetime = _ts()
    envelope_from: str | None = Field(default=None, max_length=320)
    sender: str | None = Field(default=None, max_length=320)
    recipient: str = Field(max_length=320)
    subject: str | None = Field(default=None, sa_column=Column(sa.Text))
    status: InboundStatus = Field(sa_column=Column(sa.String(12), nullable=False, index=True))
    reason: str | None = Field(default=None, sa_column=Column(sa.Text))
    request_id: int | None = Field(default=None, foreign_key="evidence_request.id")
    raw_sha256: str = Field(max_length=64)
    size: int = 0
    evidence_ids: list[int] = _json([])


class Event(SQLModel, table=True):
    """One immutable entry in an item's history, chained by hash to the one before."""

    __table_args__ = (sa.UniqueConstraint("item_id", "seq"),)
    id: int | None = Field(default=None, primary_key=True)
    item_id: int = Field(foreign_key="item.id")
    seq: int
    at: dt.datetime = _ts()
    actor: str = Field(max_length=320)
    trigger: str = Field(max_length=100)
    from_state: str | None = Field(default=None, max_length=100)
    to_state: str = Field(max_length=100)
    reason: str | None = Field(default=None, sa_column=Column(sa.Text))
    rag: str | None = Field(default=None, max_length=10)
    data: dict[str, Any] = _json({})
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)


class Outbox(SQLModel, table=True):
    """An email the system decided to send; kept until delivered or failed."""

    # fire() cancels an item's pending chasing on every move: this keeps that O(item's rows)
    __table_args__ = (sa.Index("ix_outbox_item_status", "item_id", "status"),)
    id: int | None = Field(default=None, primary_key=True)
    dedupe_key: str = Field(unique=True, max_length=400)
    item_id: int | None = Field(default=None, foreign_key="item.id", index=True)
    kind: str = Field(max_length=50)
    template: str = Field(max_length=100)
    recipient: str = Field(max_length=320)
    context: dict[str, Any] = _json({})
    status: DeliveryStatus = Field(
        default=DeliveryStatus.PENDING, sa_column=Column(sa.String(10), nullable=False, index=True)
    )
    attempts: int = 0
    next_attempt_at: dt.datetime = _ts(index=True)
    last_error: str | None = Field(default=None, sa_column=Column(sa.Text))
    created_at: dt.datetime = _ts()
    sent_at: dt.datetime | None = _ts(nullable=True)
    message_id: str | None = Field(default=None, max_length=400)
    lease_owner: str | None = Field(default=None, max_length=200)
    lease_until: dt.datetime | None = _ts(nullable=True)
    failed_at: dt.datetime | None = _ts(nullable=True)


class SignInLink(SQLModel, table=True):
    """A sign-in link asked for (``/sign-in``) or printed (``signoff staff-link``).

    Only the SHA-256 of its token is kept; an emailed link's token is minted when the email
    is composed, so the raw token exists only in that email.
    """

    __tablename__ = "sign_in_link"
    id: int | None = Field(default=None, primary_key=True)
    public_id: str = Field(unique=True, max_length=32)  # in the outbox row; not a secret
    email: str = Field(max_length=320)
    token_hash: str | None = Field(default=None, unique=True, max_length=64)
    next_path: str | None = Field(default=None, max_length=500)
    created_at: dt.datetime = _ts()
    expires_at: dt.datetime = _ts()
    used_at: dt.datetime | None = _ts(nullable=True)


class StaffSession(SQLModel, table=True):
    """A signed-in person's session; only the SHA-256 of its id (the cookie) is kept."""

    __tablename__ = "staff_session"
    id: int | None = Field(default=None, primary_key=True)
    public_id: str = Field(unique=True, max_length=32)  # names it on /sessions; not a secret
    id_hash: str = Field(unique=True, max_length=64)
    email: str = Field(index=True, max_length=320)
    how: str = Field(max_length=20)  # link (later: oidc)
    roles_digest: str = Field(max_length=64)  # the roles held at sign-in: a change ends it
    started_at: dt.datetime = _ts()
    last_seen_at: dt.datetime = _ts()
    expires_at: dt.datetime = _ts()
    ended_at: dt.datetime | None = _ts(nullable=True, index=True)
    ended_reason: str | None = Field(default=None, max_length=100)


class ApiToken(SQLModel, table=True):
    """A personal access token for the JSON API, scoped to one role (and agency); only the
    SHA-256 of its secret is kept. Written only by ``engine.api_tokens``."""

    __tablename__ = "api_token"
    id: int | None = Field(default=None, primary_key=True)
    public_id: str = Field(unique=True, max_length=32)  # names it on /tokens; not a secret
    secret_hash: str = Field(unique=True, max_length=64)
    name: str = Field(max_length=100)
    role: str = Field(max_length=50)  # an engine.permissions.Role
    agency_id: str | None = Field(default=None, foreign_key="agency.id", max_length=100)
    acts_for: str | None = Field(default=None, max_length=320)  # who decisions are made as
    created_at: dt.datetime = _ts()
    created_by: str = Field(max_length=320)
    last_used_at: dt.datetime | None = _ts(nullable=True)
    revoked_at: dt.datetime | None = _ts(nullable=True)


class SweepState(SQLModel, table=True):
    """What the sweep remembers between runs (one row, id 1): when it last looked for failed
    deliveries and when it should next look (the next local midnight), so the every-minute
    sweep reads one indexed row instead of querying the outbox."""

    __tablename__ = "sweep_state"
    id: int = Field(primary_key=True)
    failures_checked_at: dt.datetime = _ts()
    failures_next_check_at: dt.datetime = _ts()


class Checkpoint(SQLModel, table=True):
    """A signed seal over every item's chain head at one time, written only by
    ``engine.checkpoints``; its heads that moved since the checkpoint before are its
    ``checkpoint_head`` rows."""

    number: int = Field(primary_key=True)  # 1, 2, 3 ... with no gaps
    taken_at: dt.datetime = _ts()
    taken_by: str = Field(max_length=320)
    prev_signature: str = Field(max_length=64)  # the signature of number - 1 ('' for 1)
    items: int
    events: int
    heads: int  # how many checkpoint_head rows it has
    heads_sha256: str = Field(max_length=64)
    key_id: str = Field(max_length=16)
    signature: str = Field(max_length=64)


class CheckpointHead(SQLModel, table=True):
    """An item's chain head (its last seq and hash) as one checkpoint sealed it."""

    __tablename__ = "checkpoint_head"
    checkpoint: int = Field(foreign_key="checkpoint.number", primary_key=True)
    item_id: int = Field(primary_key=True)
    seq: int
    hash: str = Field(max_length=64)


class EmailWording(SQLModel, table=True):
    """One version of one notification kind's wording, as the business manager saved it on
    ``/admin/emails``. The newest row of a kind is its current wording; a row marked
    ``shipped`` (a revert) means the shipped file is used again. Written only by
    ``engine.wording``."""

    __tablename__ = "email_wording"
    __table_args__ = (sa.Index("ix_email_wording_name_id", "name", "id"),)
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100)  # a template name (a kind or a variant)
    text_source: str = Field(sa_column=Column(sa.Text, nullable=False))  # "Subject: ..." first
    html_source: str = Field(sa_column=Column(sa.Text, nullable=False))
    shipped: bool = False
    sha256: str = Field(max_length=64)
    author: str = Field(max_length=320)
    created_at: dt.datetime = _ts()
    note: str | None = Field(default=None, max_length=500)


class AdminEvent(SQLModel, table=True):
    """One change an administrator made (a workflow, an email's wording, the directory), in
    one hash chain of its own: ``hash`` = SHA-256 of ``prev_hash`` and a canonical JSON of
    the other fields (``engine.adminlog``). Written only by ``engine.adminlog``."""

    __tablename__ = "admin_event"
    id: int | None = Field(default=None, primary_key=True)
    seq: int = Field(sa_column=Column(sa.Integer, nullable=False, unique=True))
    at: dt.datetime = _ts()
    actor: str = Field(max_length=320)
    action: str = Field(max_length=100)
    subject: str = Field(max_length=300)
    before: Any = Field(default=None, sa_column=Column(sa.JSON, nullable=True))
    after: Any = Field(default=None, sa_column=Column(sa.JSON, nullable=True))
    note: str | None = Field(default=None, max_length=500)
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)


class AdminLogHead(SQLModel, table=True):
    """The admin chain's newest event (one row), so removing it is detected like removing an
    item's newest event."""

    __tablename__ = "admin_log_head"
    id: int = Field(primary_key=True)
    seq: int
    hash: str = Field(max_length=64)


class WorkflowDraft(SQLModel, table=True):
    """A workflow being edited on ``/admin/workflows``: never live until published. ``revision``
    goes up by one on every save (a save names the revision it read: optimistic concurrency);
    ``changes`` lists each save (who, when, a short summary in words). Written only by
    ``engine.drafts``."""

    __tablename__ = "workflow_draft"
    __table_args__ = (sa.Index("ix_workflow_draft_workflow_status", "workflow", "status"),)
    id: int | None = Field(default=None, primary_key=True)
    workflow: str = Field(max_length=100)
    base_version_id: int = Field(foreign_key="workflow_version.id")
    author: str = Field(max_length=320)
    text: str = Field(sa_column=Column(sa.Text, nullable=False))
    revision: int
    created_at: dt.datetime = _ts()
    updated_at: dt.datetime = _ts()
    updated_by: str = Field(max_length=320)
    status: str = Field(max_length=20)  # an engine.drafts.DraftStatus value
    published_version_id: int | None = Field(default=None, foreign_key="workflow_version.id")
    changes: list[dict[str, Any]] = _json([])


class SheetMapping(SQLModel, table=True):
    """A spreadsheet's column mapping saved for one board (``signoff import --save-mapping``,
    the import page): the next import of a file with the same headings uses it. ``headings``
    are the sheets' heading rows as matched (words only); ``headings_key`` their SHA-256.
    Written only by ``engine.saved_mappings``."""

    __tablename__ = "sheet_mapping"
    __table_args__ = (sa.UniqueConstraint("board", "headings_key"),)
    id: int | None = Field(default=None, primary_key=True)
    board: str = Field(max_length=200)
    headings_key: str = Field(max_length=64)
    headings: dict[str, Any] = _json({})  # sheet -> {"header_row": n, "headings": [...]}
    mapping: dict[str, Any] = _json({})  # the mapping file's shape (sheet-mapping.schema.json)
    saved_at: dt.datetime = _ts()
    saved_by: str = Field(max_length=320)


class Anchor(SQLModel, table=True):
    """An event a review's relative due dates count from ("publication of this Review"),
    and its date once an administrator gives it (``engine.anchors``)."""

    __table_args__ = (sa.UniqueConstraint("review_id", "key"),)
    id: int | None = Field(default=None, primary_key=True)
    review_id: str = Field(foreign_key="review.id", index=True, max_length=200)
    name: str = Field(max_length=200)  # as first written in the plan
    key: str = Field(max_length=200)  # the name's words (engine.spec.fields.words)
    date: dt.date | None = None
    set_at: dt.datetime | None = _ts(nullable=True)
    set_by: str | None = Field(default=None, max_length=320)


class RelativeDue(SQLModel, table=True):
    """A recommendation due a time after an anchor ("within six months of publication of
    this Review"): its items have no due date until the anchor's date is given."""

    __tablename__ = "relative_due"
    recommendation_id: int = Field(foreign_key="recommendation.id", primary_key=True)
    anchor_id: int = Field(foreign_key="anchor.id", index=True)
    after: str = Field(max_length=50)  # a duration: "6 months" (engine.durations)
    wording: str = Field(sa_column=Column(sa.Text, nullable=False))  # as the plan says it


class Indicator(SQLModel, table=True):
    """A performance indicator as a review (an annual report) states it: shown beside the
    figures signoff computes, never mixed with them."""

    __table_args__ = (sa.UniqueConstraint("review_id", "name"),)
    id: int | None = Field(default=None, primary_key=True)
    review_id: str = Field(foreign_key="review.id", index=True, max_length=200)
    position: int
    name: str = Field(max_length=500)
    measure: str | None = Field(default=None, sa_column=Column(sa.Text))
    finding: str | None = Field(default=None, sa_column=Column(sa.Text))
    action: str | None = Field(default=None, sa_column=Column(sa.Text))
    comment: str | None = Field(default=None, sa_column=Column(sa.Text))
    data: dict[str, Any] = _json({})  # value, unit, target as the report gives them


def _core_type(column: sa.Column[Any]) -> str:
    kind = column.type
    if isinstance(kind, UTCDateTime):
        return "UTCDateTime()"
    if isinstance(kind, AutoString | sa.String) and not isinstance(kind, sa.Text):
        return f"sa.String({kind.length})" if kind.length else "sa.String()"
    for name in ("Text", "JSON", "Integer", "Boolean", "Date"):
        if type(kind) is getattr(sa, name):
            return f"sa.{name}()"
    raise TypeError(f"{column}: no Core rendering for {kind!r}; add one to _core_type")


def core_source() -> str:
    """The text of ``engine/store/core.py``: every table here as a Core ``sa.Table``.

    Columns keep their names, types, primary keys and nullability; constraints, indexes and
    foreign keys are left to these classes and the migrations (Core statements name their
    joins). Regenerate with ``python -c "from engine.store.tables import core_source;
    print(core_source(), end='')" > engine/store/core.py``.
    """
    out = [
        '"""Generated from ``engine.store.tables`` by ``core_source()``: do not edit.',
        "",
        "The tables as plain SQLAlchemy Core, for statements that must not load SQLModel and",
        "pydantic (``signoff list``). Constraints, indexes and foreign keys are left out: the",
        "SQLModel classes and the migrations own the schema; this metadata is never created.",
        '"""',
        "",
        "from __future__ import annotations",
        "",
        "import sqlalchemy as sa",
        "",
        "from engine.store.types import UTCDateTime",
        "",
        "metadata = sa.MetaData()",
    ]
    for table in SQLModel.metadata.tables.values():
        out += ["", f"{table.name} = sa.Table(", f'    "{table.name}",', "    metadata,"]
        for c in table.columns:
            flags = ", primary_key=True" if c.primary_key else ""
            flags += "" if c.nullable else ", nullable=False"
            out.append(f'    sa.Column("{c.name}", {_core_type(c)}{flags}),')
        out.append(")")
    return "\n".join(out) + "\n"
