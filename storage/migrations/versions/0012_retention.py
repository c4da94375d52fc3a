"""retention and erasure of identity and evidence

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 04:10:00

Reserved in the chain so that work on each part can land in any order; filled in by the change
that adds the tables.

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = '0012'
down_revision: str | Sequence[str] | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # the evidence store (issue 15): the SHA-256 of the attachment's local copy
    with op.batch_alter_table("attachments") as batch:
        batch.add_column(sa.Column("sha256", sa.String(length=64), nullable=True))
        batch.create_index("ix_attachments_sha256", ["sha256"])


def downgrade() -> None:
    with op.batch_alter_table("attachments") as batch:
        batch.drop_index("ix_attachments_sha256")
        batch.drop_column("sha256")
