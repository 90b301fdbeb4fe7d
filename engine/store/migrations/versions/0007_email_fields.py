"""What emails may carry: a review's email name and a recommendation's email summary.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add review.email_name and recommendation.email_summary (both optional)."""
    op.add_column("review", sa.Column("email_name", sa.String(length=60), nullable=True))
    op.add_column(
        "recommendation", sa.Column("email_summary", sa.String(length=120), nullable=True)
    )


def downgrade() -> None:
    """Drop both columns, natively (SQLite 3.35+): recreating ``review`` as batch mode does
    would break the foreign keys that point at it."""
    op.drop_column("recommendation", "email_summary")
    op.drop_column("review", "email_name")
