"""The directory editor: absence dates, conflicts of interest, auditors assigned to agencies.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add contact.absent_from and contact.absent_until, conflict_of_interest and
    auditor_assignment."""
    with op.batch_alter_table("contact") as batch_op:
        batch_op.add_column(sa.Column("absent_from", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("absent_until", sa.Date(), nullable=True))
    for name, extra in (
        ("conflict_of_interest", [sa.Column("alternate_email", sa.String(320), nullable=True)]),
        ("auditor_assignment", []),
    ):
        op.create_table(
            name,
            sa.Column("id", sa.Integer(), nullable=False),
            sa.Column("agency_id", sa.String(length=100), nullable=False),
            sa.Column("email", sa.String(length=320), nullable=False),
            *extra,
            sa.ForeignKeyConstraint(["agency_id"], ["agency.id"]),
            sa.PrimaryKeyConstraint("id"),
            sa.UniqueConstraint("agency_id", "email"),
        )
        op.create_index(f"ix_{name}_agency_id", name, ["agency_id"], unique=False)


def downgrade() -> None:
    """Drop them again (the absence dates go; the flag each contact had stays)."""
    for name in ("auditor_assignment", "conflict_of_interest"):
        op.drop_index(f"ix_{name}_agency_id", table_name=name)
        op.drop_table(name)
    with op.batch_alter_table("contact") as batch_op:
        batch_op.drop_column("absent_until")
        batch_op.drop_column("absent_from")
