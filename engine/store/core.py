"""Generated from ``engine.store.tables`` by ``core_source()``: do not edit.

The tables as plain SQLAlchemy Core, for statements that must not load SQLModel and
pydantic (``signoff list``). Constraints, indexes and foreign keys are left out: the
SQLModel classes and the migrations own the schema; this metadata is never created.
"""

from __future__ import annotations

import sqlalchemy as sa

from engine.store.types import UTCDateTime

metadata = sa.MetaData()

workflow_version = sa.Table(
    "workflow_version",
    metadata,
    sa.Column("id", sa.Integer(), primary_key=True, nullable=False),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("version", sa.Integer(), nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("source_text", sa.Text(), nullable=False),
    sa.Column("published_at", UTCDateTime(), nullable=False),
    sa.Column("published_by", sa.String(320), nullable=False),
    sa.Column("note", sa.String()),
)

agency = sa.Table(
    "agency",
    metadata,
    sa.Column("id", sa.String(100), primary_key=True, nullable=False),
    sa.Column("name", sa.String(), nullable=False),
    sa.Column("senior_contact_role", sa.String()),
    sa.Column("note", sa.Text()),
    sa.Column("ladder", sa.JSON(), nullable=False),
)

contact = sa.Table(
    "contact",
    metadata,
    sa.Column("id", sa.Integer(), primary_key=True, nullable=False),
    sa.Column("agency_id", sa.String(100), nullable=False),
    sa.Column("name", sa.String(), nullable=False),
    sa.Column("email", sa.String(320), nullable=False),
    sa.Column("role", sa.String(100), nullable=False),
    sa.Column("absent", sa.Boolean(), nullable=False),
    sa.Column("deputy_email", sa.String(320)),
    sa.Column("failing", sa.Boolean(), nullable=False),
    sa.Column("absent_from", sa.Date()),
    sa.Column("absent_until", sa.Date()),
)

conflict_of_interest = sa.Table(
    "conflict_of_interest",
    metadata,
    sa.Column("id", sa.Integer(), primary_key=True, nullable=False),
    sa.Column("agency_id", sa.String(100), nullable=False),
    sa.Column("email", sa.String(320), nullable=False),
    sa.Column("alternate_email", sa.String(320)),
)

auditor_assignment = sa.Table(
    "auditor_assignment",
    metadata,
    sa.Column("id", sa.Integer(), primary_key=True, nullable=False),
    sa.Column("agency_id", sa.String(100), nullable=False),
    sa.Column("email", sa.String(320), nullable=False),
)

review = sa.Table(
    "review",
    metadata,
    sa.Column("id", sa.String(200), primary_key=True, nullable=False),
    sa.Column("title", sa.Text(), nullable=False),
    sa.Column("email_name", sa.String(60)),
    sa.Column("board", sa.String(), nullable=False),
    sa.Column("kind", sa.String(50), nullable=False),
    sa.Column("source_document", sa.String()),
    sa.Column("date", sa.Date()),
    sa.Column("note", sa.Text()),
    sa.Column("imported_at", UTCDateTime(), nullable=False),
    sa.Column("source", sa.JSON(), nullable=False),
)

recommendation = sa.Table(
    "recommendation",
    metadata,
    sa.Column("id", sa.Integer(), primary_key=True, nullable=False),
    sa.Column("review_id", sa.String(200), nullable=False),
    sa.Column("ref", sa.String(50), nullable=False),
    sa.Column("text", sa.Text(), nullable=False),
    sa.Column("risk_if_not_actioned", sa.Text()),
    sa.Column("lead", sa.String()),
    sa.Column("priority", sa.String(1)),
    sa.Column("agreed_action", sa.Text()),
    sa.Column("email_summary", sa.String(120)),
    sa.Column("due_dates", sa.JSON(), nullable=False),
    sa.Column("start_dates", sa.JSON(), nullable=False),
    sa.Column("themes", sa.JSON(), nullable=False),
    sa.Column("note", sa.Text()),
    sa.Column("source", sa.JSON(), nullable=False),
)

item = sa.Table(
    "item",
    metadata,
    sa.Column("id", sa.Integer(), primary_key=True, nullable=False),
    sa.Column("recommendation_id", sa.Integer(), nullable=False),
    sa.Column("agency_id", sa.String(100), nullable=False),
    sa.Column("workflow_version_id", sa.Integer(), nullable=False),
    sa.Column("state", sa.String(100), nullable=False),
    sa.Column("rag", sa.String(10)),
    sa.Column("version", sa.Integer(), nullable=False),
    sa.Column("seq", sa.Integer(), nullable=False),
    sa.Column("last_hash", sa.String(64), nullable=False),
    sa.Column("due", sa.Date()),
    sa.Column("due_history", sa.JSON(), nullable=False),
    sa.Column("pending_due", sa.Date()),
    sa.Column("actors", sa.JSON(), nullable=False),
    sa.Column("entered_at", UTCDateTime(), nullable=False),
    sa.Column("entered_seq", sa.Integer(), nullable=False),
    sa.Column("next_attention_at", UTCDateTime()),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
)

evidence = sa.Table(
    "evidence",
    metadata,
    sa.Column("id", sa.Integer(), primary_key=True, nullable=False),
    sa.Column("item_id", sa.Integer(), nullable=False),
    sa.Column("submitted_by", sa.String(320), nullable=False),
    sa.Column("submitted_at", UTCDateTime(), nullable=False),
    sa.Column("statement", sa.Text()),
    sa.Column("filename", sa.String()),
    sa.Column("stored_name", sa.String()),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("size", sa.Integer(), nullable=False),
    sa.Column("content_type", sa.String(100)),
    sa.Column("channel", sa.String(20), nullable=False),
    sa.Column("request_id", sa.Integer()),
    sa.Column("public_id", sa.String(32), nullable=False),
)

evidence_request = sa.Table(
    "evidence_request",
    metadata,
    sa.Column("id", sa.Integer(), primary_key=True, nullable=False),
    sa.Column("public_id", sa.String(32), nullable=False),
    sa.Column("kind", sa.String(10), nullable=False),
    sa.Column("item_id", sa.Integer()),
    sa.Column("agency_id", sa.String(100)),
    sa.Column("recipient", sa.String(320), nullable=False),
    sa.Column("asked", sa.Text(), nullable=False),
    sa.Column("due", sa.Date()),
    sa.Column("state", sa.String(100), nullable=False),
    sa.Column("entered_seq", sa.Integer(), nullable=False),
    sa.Column("issued_at", UTCDateTime(), nullable=False),
    sa.Column("issued_by", sa.String(320), nullable=False),
    sa.Column("expires_at", UTCDateTime(), nullable=False),
    sa.Column("issues", sa.Integer(), nullable=False),
    sa.Column("status", sa.String(10), nullable=False),
    sa.Column("closed_at", UTCDateTime()),
    sa.Column("closed_reason", sa.String(200)),
    sa.Column("followup_seq", sa.Integer()),
)

request_token = sa.Table(
    "request_token",
    metadata,
    sa.Column("id", sa.Integer(), primary_key=True, nullable=False),
    sa.Column("request_id", sa.Integer(), nullable=False),
    sa.Column("token_hash", sa.String(64), nullable=False),
    sa.Column("outbox_id", sa.Integer()),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("expires_at", UTCDateTime(), nullable=False),
    sa.Column("revoked_at", UTCDateTime()),
)

inbound_message = sa.Table(
    "inbound_message",
    metadata,
    sa.Column("id", sa.Integer(), primary_key=True, nullable=False),
    sa.Column("message_key", sa.String(400), nullable=False),
    sa.Column("received_at", UTCDateTime(), nullable=False),
    sa.Column("envelope_from", sa.String(320)),
    sa.Column("sender", sa.String(320)),
    sa.Column("recipient", sa.String(320), nullable=False),
    sa.Column("subject", sa.Text()),
    sa.Column("status", sa.String(12), nullable=False),
    sa.Column("reason", sa.Text()),
    sa.Column("request_id", sa.Integer()),
    sa.Column("raw_sha256", sa.String(64), nullable=False),
    sa.Column("size", sa.Integer(), nullable=False),
    sa.Column("evidence_ids", sa.JSON(), nullable=False),
)

event = sa.Table(
    "event",
    metadata,
    sa.Column("id", sa.Integer(), primary_key=True, nullable=False),
    sa.Column("item_id", sa.Integer(), nullable=False),
    sa.Column("seq", sa.Integer(), nullable=False),
    sa.Column("at", UTCDateTime(), nullable=False),
    sa.Column("actor", sa.String(320), nullable=False),
    sa.Column("trigger", sa.String(100), nullable=False),
    sa.Column("from_state", sa.String(100)),
    sa.Column("to_state", sa.String(100), nullable=False),
    sa.Column("reason", sa.Text()),
    sa.Column("rag", sa.String(10)),
    sa.Column("data", sa.JSON(), nullable=False),
    sa.Column("prev_hash", sa.String(64), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
)

outbox = sa.Table(
    "outbox",
    metadata,
    sa.Column("id", sa.Integer(), primary_key=True, nullable=False),
    sa.Column("dedupe_key", sa.String(400), nullable=False),
    sa.Column("item_id", sa.Integer()),
    sa.Column("kind", sa.String(50), nullable=False),
    sa.Column("template", sa.String(100), nullable=False),
    sa.Column("recipient", sa.String(320), nullable=False),
    sa.Column("context", sa.JSON(), nullable=False),
    sa.Column("status", sa.String(10), nullable=False),
    sa.Column("attempts", sa.Integer(), nullable=False),
    sa.Column("next_attempt_at", UTCDateTime(), nullable=False),
    sa.Column("last_error", sa.Text()),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("sent_at", UTCDateTime()),
    sa.Column("message_id", sa.String(400)),
    sa.Column("lease_owner", sa.String(200)),
    sa.Column("lease_until", UTCDateTime()),
    sa.Column("failed_at", UTCDateTime()),
)

sign_in_link = sa.Table(
    "sign_in_link",
    metadata,
    sa.Column("id", sa.Integer(), primary_key=True, nullable=False),
    sa.Column("public_id", sa.String(32), nullable=False),
    sa.Column("email", sa.String(320), nullable=False),
    sa.Column("token_hash", sa.String(64)),
    sa.Column("next_path", sa.String(500)),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("expires_at", UTCDateTime(), nullable=False),
    sa.Column("used_at", UTCDateTime()),
)

staff_session = sa.Table(
    "staff_session",
    metadata,
    sa.Column("id", sa.Integer(), primary_key=True, nullable=False),
    sa.Column("public_id", sa.String(32), nullable=False),
    sa.Column("id_hash", sa.String(64), nullable=False),
    sa.Column("email", sa.String(320), nullable=False),
    sa.Column("how", sa.String(20), nullable=False),
    sa.Column("roles_digest", sa.String(64), nullable=False),
    sa.Column("started_at", UTCDateTime(), nullable=False),
    sa.Column("last_seen_at", UTCDateTime(), nullable=False),
    sa.Column("expires_at", UTCDateTime(), nullable=False),
    sa.Column("ended_at", UTCDateTime()),
    sa.Column("ended_reason", sa.String(100)),
)

api_token = sa.Table(
    "api_token",
    metadata,
    sa.Column("id", sa.Integer(), primary_key=True, nullable=False),
    sa.Column("public_id", sa.String(32), nullable=False),
    sa.Column("secret_hash", sa.String(64), nullable=False),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("role", sa.String(50), nullable=False),
    sa.Column("agency_id", sa.String(100)),
    sa.Column("acts_for", sa.String(320)),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("created_by", sa.String(320), nullable=False),
    sa.Column("last_used_at", UTCDateTime()),
    sa.Column("revoked_at", UTCDateTime()),
)

sweep_state = sa.Table(
    "sweep_state",
    metadata,
    sa.Column("id", sa.Integer(), primary_key=True, nullable=False),
    sa.Column("failures_checked_at", UTCDateTime(), nullable=False),
    sa.Column("failures_next_check_at", UTCDateTime(), nullable=False),
)

checkpoint = sa.Table(
    "checkpoint",
    metadata,
    sa.Column("number", sa.Integer(), primary_key=True, nullable=False),
    sa.Column("taken_at", UTCDateTime(), nullable=False),
    sa.Column("taken_by", sa.String(320), nullable=False),
    sa.Column("prev_signature", sa.String(64), nullable=False),
    sa.Column("items", sa.Integer(), nullable=False),
    sa.Column("events", sa.Integer(), nullable=False),
    sa.Column("heads", sa.Integer(), nullable=False),
    sa.Column("heads_sha256", sa.String(64), nullable=False),
    sa.Column("key_id", sa.String(16), nullable=False),
    sa.Column("signature", sa.String(64), nullable=False),
)

checkpoint_head = sa.Table(
    "checkpoint_head",
    metadata,
    sa.Column("checkpoint", sa.Integer(), primary_key=True, nullable=False),
    sa.Column("item_id", sa.Integer(), primary_key=True, nullable=False),
    sa.Column("seq", sa.Integer(), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
)

email_wording = sa.Table(
    "email_wording",
    metadata,
    sa.Column("id", sa.Integer(), primary_key=True, nullable=False),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("text_source", sa.Text(), nullable=False),
    sa.Column("html_source", sa.Text(), nullable=False),
    sa.Column("shipped", sa.Boolean(), nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("author", sa.String(320), nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("note", sa.String(500)),
)

admin_event = sa.Table(
    "admin_event",
    metadata,
    sa.Column("id", sa.Integer(), primary_key=True, nullable=False),
    sa.Column("seq", sa.Integer(), nullable=False),
    sa.Column("at", UTCDateTime(), nullable=False),
    sa.Column("actor", sa.String(320), nullable=False),
    sa.Column("action", sa.String(100), nullable=False),
    sa.Column("subject", sa.String(300), nullable=False),
    sa.Column("before", sa.JSON()),
    sa.Column("after", sa.JSON()),
    sa.Column("note", sa.String(500)),
    sa.Column("prev_hash", sa.String(64), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
)

admin_log_head = sa.Table(
    "admin_log_head",
    metadata,
    sa.Column("id", sa.Integer(), primary_key=True, nullable=False),
    sa.Column("seq", sa.Integer(), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
)

workflow_draft = sa.Table(
    "workflow_draft",
    metadata,
    sa.Column("id", sa.Integer(), primary_key=True, nullable=False),
    sa.Column("workflow", sa.String(100), nullable=False),
    sa.Column("base_version_id", sa.Integer(), nullable=False),
    sa.Column("author", sa.String(320), nullable=False),
    sa.Column("text", sa.Text(), nullable=False),
    sa.Column("revision", sa.Integer(), nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
    sa.Column("updated_by", sa.String(320), nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("published_version_id", sa.Integer()),
    sa.Column("changes", sa.JSON(), nullable=False),
)

sheet_mapping = sa.Table(
    "sheet_mapping",
    metadata,
    sa.Column("id", sa.Integer(), primary_key=True, nullable=False),
    sa.Column("board", sa.String(200), nullable=False),
    sa.Column("headings_key", sa.String(64), nullable=False),
    sa.Column("headings", sa.JSON(), nullable=False),
    sa.Column("mapping", sa.JSON(), nullable=False),
    sa.Column("saved_at", UTCDateTime(), nullable=False),
    sa.Column("saved_by", sa.String(320), nullable=False),
)

anchor = sa.Table(
    "anchor",
    metadata,
    sa.Column("id", sa.Integer(), primary_key=True, nullable=False),
    sa.Column("review_id", sa.String(200), nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("key", sa.String(200), nullable=False),
    sa.Column("date", sa.Date()),
    sa.Column("set_at", UTCDateTime()),
    sa.Column("set_by", sa.String(320)),
)

relative_due = sa.Table(
    "relative_due",
    metadata,
    sa.Column("recommendation_id", sa.Integer(), primary_key=True, nullable=False),
    sa.Column("anchor_id", sa.Integer(), nullable=False),
    sa.Column("after", sa.String(50), nullable=False),
    sa.Column("wording", sa.Text(), nullable=False),
)

indicator = sa.Table(
    "indicator",
    metadata,
    sa.Column("id", sa.Integer(), primary_key=True, nullable=False),
    sa.Column("review_id", sa.String(200), nullable=False),
    sa.Column("position", sa.Integer(), nullable=False),
    sa.Column("name", sa.String(500), nullable=False),
    sa.Column("measure", sa.Text()),
    sa.Column("finding", sa.Text()),
    sa.Column("action", sa.Text()),
    sa.Column("comment", sa.Text()),
    sa.Column("data", sa.JSON(), nullable=False),
)
