"""unit leaders (一把手 and 分管领导) and the role an invite code binds to

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05 21:50:00

The plan holds each unit's 一把手 first responsible and names a leader in charge of the campaign
(保障措施 一). An invite code now says what it binds its holder to (liaison, the default, as every
code issued before; first_responsible; campaign_leader); unit_leaders holds the bindings.

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = '0009'
down_revision: str | Sequence[str] | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table('invite_codes') as batch:
        batch.add_column(sa.Column('role', sa.String(length=24), server_default='liaison', nullable=False))
    op.create_table('unit_leaders',
    sa.Column('id', ID, nullable=False),
    sa.Column('unit_id', sa.String(length=64), nullable=False),
    sa.Column('role', sa.String(length=24), nullable=False),
    sa.Column('user_id', sa.BigInteger(), nullable=False),
    sa.Column('name', sa.String(length=128), server_default='', nullable=False),
    sa.Column('bound_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_unit_leaders_unit_id_units')),
    sa.ForeignKeyConstraint(['user_id'], ['users.user_id'], name=op.f('fk_unit_leaders_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_unit_leaders')),
    )
    op.create_index(op.f('ix_unit_leaders_unit_id'), 'unit_leaders', ['unit_id'])
    op.create_index(op.f('ix_unit_leaders_user_id'), 'unit_leaders', ['user_id'])
    op.create_index(
        'uq_unit_leaders_active_role', 'unit_leaders', ['unit_id', 'role'], unique=True,
        sqlite_where=sa.text('ended_at IS NULL'), postgresql_where=sa.text('ended_at IS NULL'),
    )


def downgrade() -> None:
    op.drop_index('uq_unit_leaders_active_role', table_name='unit_leaders')
    op.drop_index(op.f('ix_unit_leaders_user_id'), table_name='unit_leaders')
    op.drop_index(op.f('ix_unit_leaders_unit_id'), table_name='unit_leaders')
    op.drop_table('unit_leaders')
    with op.batch_alter_table('invite_codes') as batch:
        batch.drop_column('role')
