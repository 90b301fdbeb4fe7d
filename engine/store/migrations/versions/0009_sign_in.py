"""Sign-in links and sessions kept in the database; evidence gets a random public id.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06
"""

from __future__ import annotations

import base64
import secrets

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def _public_id() -> str:
    return base64.b32encode(secrets.token_bytes(10)).decode().rstrip("=").lower()


def upgrade() -> None:
    """Add sign_in_link and staff_session, and evidence.public_id (filled for existing rows)."""
    op.create_table(
        "sign_in_link",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("public_id", sa.String(length=32), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=True),
        sa.Column("next_path", sa.String(length=500), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("used_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("public_id"),
        sa.UniqueConstraint("token_hash"),
    )
    op.create_table(
        "staff_session",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("public_id", sa.String(length=32), nullable=False),
        sa.Column("id_hash", sa.String(length=64), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("how", sa.String(length=20), nullable=False),
        sa.Column("roles_digest", sa.String(length=64), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("ended_at", sa.DateTime(), nullable=True),
        sa.Column("ended_reason", sa.String(length=100), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("public_id"),
        sa.UniqueConstraint("id_hash"),
    )
    op.create_index("ix_staff_session_email", "staff_session", ["email"])
    op.create_index("ix_staff_session_ended_at", "staff_session", ["ended_at"])
    _evidence_public_ids()


def _evidence_public_ids() -> None:
    """Give every evidence row a random public id, then make the column required and unique."""
    with op.batch_alter_table("evidence", schema=None) as batch_op:
        batch_op.add_column(sa.Column("public_id", sa.String(length=32), nullable=True))
    conn = op.get_bind()
    ids = conn.execute(sa.text("SELECT id FROM evidence")).scalars().all()
    for evidence_id in ids:
        conn.execute(
            sa.text("UPDATE evidence SET public_id = :p WHERE id = :i"),
            {"p": _public_id(), "i": evidence_id},
        )
    with op.batch_alter_table("evidence", schema=None) as batch_op:
        batch_op.alter_column("public_id", existing_type=sa.String(length=32), nullable=False)
        batch_op.create_unique_constraint("uq_evidence_public_id", ["public_id"])


def downgrade() -> None:
    with op.batch_alter_table("evidence", schema=None) as batch_op:
        batch_op.drop_constraint("uq_evidence_public_id", type_="unique")
        batch_op.drop_column("public_id")
    op.drop_index("ix_staff_session_ended_at", table_name="staff_session")
    op.drop_index("ix_staff_session_email", table_name="staff_session")
    op.drop_table("staff_session")
    op.drop_table("sign_in_link")
