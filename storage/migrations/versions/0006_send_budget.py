"""send budget

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04 22:40:00

The deployment's send budget (bot/send_budget.py, storage/send_budget.py): how many messages all
instances together sent per scope ("all", "group:<chat id>") and slot, so that replies and the
outbox sender of every instance stay under Telegram's limits. On PostgreSQL the table is
UNLOGGED: it is rewritten many times a second, and a crash losing it only lets one second's
messages through uncounted. On SQLite the table exists (one schema everywhere) but the bot does
not use it: one process is the supported shape there and its in-memory budget is enough.

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = '0006'
down_revision: str | Sequence[str] | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == 'postgresql'
    op.create_table('send_budget',
    sa.Column('scope', sa.String(length=64), nullable=False),
    sa.Column('slot', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('used', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('scope', 'slot', name=op.f('pk_send_budget')),
    prefixes=['UNLOGGED'] if postgres else [],
    )


def downgrade() -> None:
    op.drop_table('send_budget')
