"""Workflow drafts the business manager edits on /admin/workflows: workflow_draft.

Revision ID: 0015
Revises: 0014 (re-chained after the admin log, 0014_admin_log, for this branch's tests)
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add workflow_draft (workflow_version already records who published, when and why)."""
    op.create_table(
        "workflow_draft",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workflow", sa.String(length=100), nullable=False),
        sa.Column("base_version_id", sa.Integer(), nullable=False),
        sa.Column("author", sa.String(length=320), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("updated_by", sa.String(length=320), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("published_version_id", sa.Integer(), nullable=True),
        sa.Column("changes", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["base_version_id"], ["workflow_version.id"]),
        sa.ForeignKeyConstraint(["published_version_id"], ["workflow_version.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_workflow_draft_workflow_status", "workflow_draft", ["workflow", "status"])


def downgrade() -> None:
    op.drop_index("ix_workflow_draft_workflow_status", table_name="workflow_draft")
    op.drop_table("workflow_draft")
