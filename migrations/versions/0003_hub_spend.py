"""hub_spend: the Hub requests of the current 5-minute window, shared by every run of one database

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import syncer.store.models

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "hub_spend",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("sent_at", syncer.store.models.UTCDateTime(), nullable=False),
        sa.Column("requests", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["run_id"], ["sync_runs.id"], name=op.f("fk_hub_spend_run_id_sync_runs"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hub_spend")),
    )
    with op.batch_alter_table("hub_spend", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_hub_spend_sent_at"), ["sent_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("hub_spend", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_hub_spend_sent_at"))
    op.drop_table("hub_spend")
