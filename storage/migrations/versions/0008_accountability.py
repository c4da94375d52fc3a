"""accountability records

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05 14:40:00

案件查办 (the plan's 保障措施 三): accountability records against a unit, the people concerned
by role, the facts, the cases they rest on and the outcome (core.reports.AccountabilityRecord).

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision: str = '0008'
down_revision: str | Sequence[str] | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table('accountability_records',
    sa.Column('id', ID, nullable=False),
    sa.Column('unit_id', sa.String(length=64), nullable=False),
    sa.Column('facts', sa.Text(), nullable=False),
    sa.Column('outcome', sa.String(length=24), nullable=False),
    sa.Column('people', JSON, nullable=False),
    sa.Column('case_numbers', JSON, nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('recorded_by', sa.BigInteger(), nullable=True),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_accountability_records_unit_id_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_accountability_records')),
    )
    op.create_index(op.f('ix_accountability_records_unit_id'), 'accountability_records', ['unit_id'])


def downgrade() -> None:
    op.drop_index(op.f('ix_accountability_records_unit_id'), table_name='accountability_records')
    op.drop_table('accountability_records')
