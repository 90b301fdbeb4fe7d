"""Spreadsheet imports: saved column mappings, anchors of relative due dates, indicators.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add sheet_mapping, anchor, relative_due and indicator."""
    op.create_table(
        "sheet_mapping",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("board", sa.String(length=200), nullable=False),
        sa.Column("headings_key", sa.String(length=64), nullable=False),
        sa.Column("headings", sa.JSON(), nullable=False),
        sa.Column("mapping", sa.JSON(), nullable=False),
        sa.Column("saved_at", sa.DateTime(), nullable=False),
        sa.Column("saved_by", sa.String(length=320), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("board", "headings_key"),
    )
    op.create_table(
        "anchor",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("review_id", sa.String(length=200), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("date", sa.Date(), nullable=True),
        sa.Column("set_at", sa.DateTime(), nullable=True),
        sa.Column("set_by", sa.String(length=320), nullable=True),
        sa.ForeignKeyConstraint(["review_id"], ["review.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("review_id", "key"),
    )
    op.create_index("ix_anchor_review_id", "anchor", ["review_id"])
    op.create_table(
        "relative_due",
        sa.Column("recommendation_id", sa.Integer(), nullable=False),
        sa.Column("anchor_id", sa.Integer(), nullable=False),
        sa.Column("after", sa.String(length=50), nullable=False),
        sa.Column("wording", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["anchor_id"], ["anchor.id"]),
        sa.ForeignKeyConstraint(["recommendation_id"], ["recommendation.id"]),
        sa.PrimaryKeyConstraint("recommendation_id"),
    )
    op.create_index("ix_relative_due_anchor_id", "relative_due", ["anchor_id"])
    op.create_table(
        "indicator",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("review_id", sa.String(length=200), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=500), nullable=False),
        sa.Column("measure", sa.Text(), nullable=True),
        sa.Column("finding", sa.Text(), nullable=True),
        sa.Column("action", sa.Text(), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["review_id"], ["review.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("review_id", "name"),
    )
    op.create_index("ix_indicator_review_id", "indicator", ["review_id"])


def downgrade() -> None:
    """Drop the four tables, dependants first."""
    op.drop_index("ix_indicator_review_id", table_name="indicator")
    op.drop_table("indicator")
    op.drop_index("ix_relative_due_anchor_id", table_name="relative_due")
    op.drop_table("relative_due")
    op.drop_index("ix_anchor_review_id", table_name="anchor")
    op.drop_table("anchor")
    op.drop_table("sheet_mapping")
