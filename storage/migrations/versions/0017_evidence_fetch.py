"""the evidence fetch step's bookkeeping (issue 15)

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06 19:40:00

The bot keeps its own copy of every attachment (storage.evidence_store); the periodic fetch
(storage/evidence_fetch.py) claims the attachments still without one, counts its tries
(``attachments.fetch_attempts``) and backs off between them (``attachments.next_fetch_at``). A
partial index over the rows still to fetch (no SHA-256 yet, not erased) keeps its query small.

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = '0017'
down_revision: str | Sequence[str] | None = '0016'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


_TO_FETCH = "sha256 IS NULL AND file_id <> ''"


def upgrade() -> None:
    with op.batch_alter_table("attachments") as batch:
        batch.add_column(sa.Column("fetch_attempts", sa.Integer(), server_default="0", nullable=False))
        batch.add_column(sa.Column("next_fetch_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index(
        "ix_attachments_to_fetch", "attachments", ["id"],
        sqlite_where=sa.text(_TO_FETCH),
        postgresql_where=sa.text(_TO_FETCH),
    )


def downgrade() -> None:
    op.drop_index("ix_attachments_to_fetch", table_name="attachments")
    with op.batch_alter_table("attachments") as batch:
        batch.drop_column("next_fetch_at")
        batch.drop_column("fetch_attempts")
