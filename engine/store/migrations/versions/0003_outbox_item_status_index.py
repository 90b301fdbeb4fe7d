"""Index outbox rows by item and status.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Let fire() find an item's pending chasing without scanning every pending row."""
    op.create_index("ix_outbox_item_status", "outbox", ["item_id", "status"])


def downgrade() -> None:
    op.drop_index("ix_outbox_item_status", table_name="outbox")
