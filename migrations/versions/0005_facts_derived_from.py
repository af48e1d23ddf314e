"""hub_facts.derived_from: the key of everything a model's facts were derived from

Revision ID: 0005
Revises: 0004

The key (a sha256) covers the commit, the repo's listed metadata and the code that derives facts. A run
whose listing gives the same key reuses the stored facts instead of reading and deriving the files again.
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


def downgrade() -> None:
    with op.batch_alter_table("hub_facts") as batch:
        batch.drop_column("derived_from")
