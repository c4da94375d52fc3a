"""the case's campaign (sub-campaigns of streets and townships) and office members' scope

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06 04:10:00

A street or township runs the plan for its own units (core/campaigns.py): each case records the
campaign it belongs to, each office member the campaign whose office they are; "" is the
district's, which every existing row belongs to.

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = '0015'
down_revision: str | Sequence[str] | None = '0014'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('campaign', sa.String(length=64), server_default='', nullable=False))
        batch_op.create_index(batch_op.f('ix_cases_campaign'), ['campaign'], unique=False)
    with op.batch_alter_table('office_members', schema=None) as batch_op:
        batch_op.add_column(sa.Column('campaign', sa.String(length=64), server_default='', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('office_members', schema=None) as batch_op:
        batch_op.drop_column('campaign')
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_cases_campaign'))
        batch_op.drop_column('campaign')
