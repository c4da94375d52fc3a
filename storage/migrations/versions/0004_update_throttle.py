"""update throttle

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 10:00:00

The per-user flood counter that several bot instances on one PostgreSQL share (bot/throttle.py,
storage/repositories/throttle.py): one row per user holding the current fixed window's start
and how many of that user's updates the instances let through in it. On SQLite the table
exists (one schema everywhere) but the bot does not use it: one process is the supported
shape there and its in-process window is enough.

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = '0004'
down_revision: str | Sequence[str] | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMESTAMP = sa.DateTime(timezone=True)  # aware; storage.models.UtcDateTime stores UTC


def upgrade() -> None:
    op.create_table('update_throttle',
    sa.Column('user_id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('window_start', TIMESTAMP, nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_update_throttle'))
    )


def downgrade() -> None:
    op.drop_table('update_throttle')
