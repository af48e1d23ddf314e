"""views key from the entries themselves: listing_entries.entries_digest

Revision ID: 0006
Revises: 0005

``entries_digest`` (a sha256) covers a model's three entries exactly as built (values and key order): a
published file's ``views_key`` is made of its models' digests and the rendering code, so a run whose entries
come out the same as the live ones (a new commit whose facts are unchanged, say) keeps the live files' bytes
instead of loading every other model's entries and rendering all three files again. Rows written before this
revision have none: the first run after the upgrade renders once, as for any missing key.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("listing_entries") as batch:
        batch.add_column(sa.Column("entries_digest", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("listing_entries") as batch:
        batch.drop_column("entries_digest")
