"""personal data erasure (retention past the year-end assessment, and the citizen's /forget)

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06 04:10:00

Issue 15 (个人信息保护法: kept no longer than needed). ``cases.identity_erased_at`` marks a case
whose complainant's identity and evidence files were erased (the case stays for statistics),
with a partial index on ``closed_at`` over the cases not yet erased, for the periodic pass;
``citizens.erased_at`` marks a citizen whose /forget cleared their details while some case was
still open; ``erasure_requests`` holds what the office decides on such a /forget.

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision: str = '0014'
down_revision: str | Sequence[str] | None = '0013'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table('cases') as batch:
        batch.add_column(sa.Column('identity_erased_at', sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table('citizens') as batch:
        batch.add_column(sa.Column('erased_at', sa.DateTime(timezone=True), nullable=True))
    op.create_index(
        'ix_cases_closed_at_kept', 'cases', ['closed_at'],
        sqlite_where=sa.text('identity_erased_at IS NULL'),
        postgresql_where=sa.text('identity_erased_at IS NULL'),
    )
    op.create_table('erasure_requests',
    sa.Column('id', ID, nullable=False),
    sa.Column('citizen_id', ID, nullable=True),
    sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('cases', JSON, nullable=False),
    sa.Column('decision', sa.String(length=8), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decided_by', sa.BigInteger(), nullable=True),
    sa.ForeignKeyConstraint(
        ['citizen_id'], ['citizens.id'], name=op.f('fk_erasure_requests_citizen_id_citizens'),
        ondelete='SET NULL',
    ),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_erasure_requests')),
    )
    op.create_index(op.f('ix_erasure_requests_citizen_id'), 'erasure_requests', ['citizen_id'])


def downgrade() -> None:
    op.drop_index(op.f('ix_erasure_requests_citizen_id'), table_name='erasure_requests')
    op.drop_table('erasure_requests')
    op.drop_index('ix_cases_closed_at_kept', table_name='cases')
    with op.batch_alter_table('citizens') as batch:
        batch.drop_column('erased_at')
    with op.batch_alter_table('cases') as batch:
        batch.drop_column('identity_erased_at')
