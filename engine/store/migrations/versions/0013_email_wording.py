"""Versions of the email wording the business manager edits on /admin/emails.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add email_wording."""
    op.create_table(
        "email_wording",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("text_source", sa.Text(), nullable=False),
        sa.Column("html_source", sa.Text(), nullable=False),
        sa.Column("shipped", sa.Boolean(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("author", sa.String(length=320), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_email_wording_name_id", "email_wording", ["name", "id"])


def downgrade() -> None:
    op.drop_index("ix_email_wording_name_id", table_name="email_wording")
    op.drop_table("email_wording")
