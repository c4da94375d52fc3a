"""recusals and submission keys

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04 19:45:00

``case_recusals``: the units kept out of a case (the unit complained about and its offices
never see it; its heads may not lead), found from the whole complaint, not only the unit the
citizen picked. ``cases.submission_key``: the citizen's confirm press, unique, so a double
tap or a retried update files one case. Works on SQLite and PostgreSQL.

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision: str = '0003'
down_revision: str | Sequence[str] | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Written out here, not imported from storage.models: a migration is history.
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        'case_recusals',
        sa.Column('case_id', ID, nullable=False),
        sa.Column('unit_id', sa.String(length=64), nullable=False),
        sa.Column('scope', sa.String(length=8), nullable=False),
        sa.Column('reason', sa.String(length=16), nullable=False),
        sa.Column('matched', sa.Text(), nullable=False),
        sa.Column('via', sa.String(length=64), nullable=True),
        sa.Column('pending', sa.Boolean(), nullable=False),
        sa.Column('at', TIMESTAMP, nullable=False),
        sa.Column('by', sa.String(length=64), nullable=True),
        sa.CheckConstraint("scope IN ('full', 'lead')", name=op.f('ck_case_recusals_scope')),
        sa.ForeignKeyConstraint(
            ['case_id'], ['cases.id'], name=op.f('fk_case_recusals_case_id_cases'), ondelete='CASCADE'
        ),
        sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_case_recusals_unit_id_units')),
        sa.PrimaryKeyConstraint('case_id', 'unit_id', name=op.f('pk_case_recusals')),
    )
    op.create_index('ix_case_recusals_unit_id', 'case_recusals', ['unit_id'])
    with op.batch_alter_table('cases') as batch:
        batch.add_column(sa.Column('submission_key', sa.String(length=64), nullable=True))
        batch.create_unique_constraint(batch.f('uq_cases_submission_key'), ['submission_key'])


def downgrade() -> None:
    with op.batch_alter_table('cases') as batch:
        batch.drop_constraint(batch.f('uq_cases_submission_key'), type_='unique')
        batch.drop_column('submission_key')
    op.drop_index('ix_case_recusals_unit_id', table_name='case_recusals')
    op.drop_table('case_recusals')
