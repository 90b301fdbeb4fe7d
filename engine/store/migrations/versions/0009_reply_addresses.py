"""Every email that invites a reply carries a reply address: evidence_request rows of a kind.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add evidence_request.kind and followup_seq; a digest's address has no item or agency."""
    with op.batch_alter_table("evidence_request", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("kind", sa.String(length=10), nullable=False, server_default="request")
        )
        batch_op.add_column(sa.Column("followup_seq", sa.Integer(), nullable=True))
        batch_op.alter_column("item_id", existing_type=sa.Integer(), nullable=True)
        batch_op.alter_column("agency_id", existing_type=sa.String(length=100), nullable=True)
        batch_op.create_index("ix_evidence_request_recipient", ["recipient"])


def downgrade() -> None:
    """Drop the reply addresses that are not requests, then the columns."""
    others = "SELECT id FROM evidence_request WHERE kind <> 'request'"
    for table in ("evidence", "inbound_message"):
        op.execute(f"UPDATE {table} SET request_id = NULL WHERE request_id IN ({others})")
    op.execute("DELETE FROM evidence_request WHERE kind <> 'request'")
    with op.batch_alter_table("evidence_request", schema=None) as batch_op:
        batch_op.drop_index("ix_evidence_request_recipient")
        batch_op.alter_column("agency_id", existing_type=sa.String(length=100), nullable=False)
        batch_op.alter_column("item_id", existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column("followup_seq")
        batch_op.drop_column("kind")
