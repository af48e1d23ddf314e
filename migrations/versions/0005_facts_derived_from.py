"""reuse keys: hub_facts.derived_from, listing_entries.merged_from (with the 2.4 entry and a summary),
published_snapshots.views_key

Revision ID: 0005
Revises: 0004

``derived_from`` (a sha256) covers the commit, the repo's listed metadata and the code that derives facts: a
run whose listing gives the same key reuses the stored facts instead of reading and deriving the files again.
``merged_from`` covers the catalog model, its facts and the merging code: a run with the same key reuses the
stored entries (the 2.4 one included, hence ``openrouter_v2_entry``; ``summary`` holds what a run reports of
them) instead of merging and validating again. ``views_key`` covers every entry of a published file and the
rendering code: a run with the same key keeps the live file's bytes without loading or rendering an entry.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("hub_facts") as batch:
        batch.add_column(sa.Column("derived_from", sa.String(length=64), nullable=True))
    with op.batch_alter_table("listing_entries") as batch:
        batch.add_column(sa.Column("openrouter_v2_entry", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("merged_from", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("summary", sa.JSON(), nullable=True))
    with op.batch_alter_table("published_snapshots") as batch:
        batch.add_column(sa.Column("views_key", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("published_snapshots") as batch:
        batch.drop_column("views_key")
    with op.batch_alter_table("listing_entries") as batch:
        batch.drop_column("summary")
        batch.drop_column("merged_from")
        batch.drop_column("openrouter_v2_entry")
    with op.batch_alter_table("hub_facts") as batch:
        batch.drop_column("derived_from")
