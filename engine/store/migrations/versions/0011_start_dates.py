"""Start dates on recommendations; a review's source context (sections kept, not used).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add recommendation.start_dates (a list, empty for rows imported before) and
    review.source (a mapping, empty for reviews imported before)."""
    with op.batch_alter_table("recommendation", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("start_dates", sa.JSON(), nullable=False, server_default="[]")
        )
    with op.batch_alter_table("review", schema=None) as batch_op:
        batch_op.add_column(sa.Column("source", sa.JSON(), nullable=False, server_default="{}"))


def downgrade() -> None:
    """Drop both columns: natively (SQLite 3.35+), since recreating ``review`` as batch mode
    does would break the foreign keys that point at it."""
    op.drop_column("review", "source")
    op.drop_column("recommendation", "start_dates")
