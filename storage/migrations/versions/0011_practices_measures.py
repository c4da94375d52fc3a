"""good practices (特色做法) and long-term measures (长效机制)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 04:10:00

推介典型 (保障措施 四): good practices of a unit, recorded by the office and shared with the
liaisons. 长效机制 (工作步骤 四 item 2, 保障措施 五): each unit's long-term institutional
measures, their status (planned, in progress, done, dropped), evidence files (Telegram file ids
on the row) and the history of their status changes (core.measures).

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision: str = '0011'
down_revision: str | Sequence[str] | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table('good_practices',
    sa.Column('id', ID, nullable=False),
    sa.Column('unit_id', sa.String(length=64), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('case_numbers', JSON, nullable=False),
    sa.Column('report_ids', JSON, nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('recorded_by', sa.BigInteger(), nullable=True),
    sa.Column('shared_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('shared_to', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_good_practices_unit_id_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_good_practices')),
    )
    op.create_index(op.f('ix_good_practices_unit_id'), 'good_practices', ['unit_id'])
    op.create_table('long_term_measures',
    sa.Column('id', ID, nullable=False),
    sa.Column('unit_id', sa.String(length=64), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('due', sa.Date(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.BigInteger(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('evidence', JSON, nullable=False),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_long_term_measures_unit_id_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_long_term_measures')),
    )
    op.create_index(op.f('ix_long_term_measures_unit_id'), 'long_term_measures', ['unit_id'])
    op.create_index(op.f('ix_long_term_measures_status'), 'long_term_measures', ['status'])
    op.create_table('measure_changes',
    sa.Column('id', ID, nullable=False),
    sa.Column('measure_id', ID, nullable=False),
    sa.Column('from_status', sa.String(length=16), nullable=True),
    sa.Column('to_status', sa.String(length=16), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('by', sa.BigInteger(), nullable=True),
    sa.Column('note', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['measure_id'], ['long_term_measures.id'], ondelete='CASCADE',
                            name=op.f('fk_measure_changes_measure_id_long_term_measures')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_measure_changes')),
    )
    op.create_index(op.f('ix_measure_changes_measure_id'), 'measure_changes', ['measure_id'])


def downgrade() -> None:
    op.drop_index(op.f('ix_measure_changes_measure_id'), table_name='measure_changes')
    op.drop_table('measure_changes')
    op.drop_index(op.f('ix_long_term_measures_status'), table_name='long_term_measures')
    op.drop_index(op.f('ix_long_term_measures_unit_id'), table_name='long_term_measures')
    op.drop_table('long_term_measures')
    op.drop_index(op.f('ix_good_practices_unit_id'), table_name='good_practices')
    op.drop_table('good_practices')
