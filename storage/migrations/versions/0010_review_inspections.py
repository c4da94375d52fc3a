"""review inspections (复核检查) and the campaign's acceptance (验收)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 04:10:00

工作步骤 四 item 3: the 纪委/监察局/效能办/优化办 with related units inspect every unit again
(review_inspections, the units on the row), record findings per unit with a severity, each able
to become a 整改建议书 (review_findings.recommendation_id), and accept each unit
(unit_acceptances: accepted or 不予验收) and the campaign as a whole (campaign_acceptances, with
the office's listed exceptions). Acceptance rows are history: the newest counts.

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision: str = '0010'
down_revision: str | Sequence[str] | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table('review_inspections',
    sa.Column('id', ID, nullable=False),
    sa.Column('bodies', sa.String(length=500), nullable=False),
    sa.Column('inspected_on', sa.Date(), nullable=False),
    sa.Column('unit_ids', JSON, nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('recorded_by', sa.BigInteger(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_review_inspections')),
    )
    op.create_table('review_findings',
    sa.Column('id', ID, nullable=False),
    sa.Column('inspection_id', ID, nullable=False),
    sa.Column('unit_id', sa.String(length=64), nullable=False),
    sa.Column('severity', sa.String(length=16), nullable=False),
    sa.Column('facts', sa.Text(), nullable=False),
    sa.Column('case_numbers', JSON, nullable=False),
    sa.Column('recommendation_id', ID, nullable=True),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['inspection_id'], ['review_inspections.id'], ondelete='CASCADE',
                            name=op.f('fk_review_findings_inspection_id_review_inspections')),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_review_findings_unit_id_units')),
    sa.ForeignKeyConstraint(['recommendation_id'], ['rectification_recommendations.id'],
                            name=op.f('fk_review_findings_recommendation_id_rectification_recommendations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_review_findings')),
    )
    op.create_index(op.f('ix_review_findings_inspection_id'), 'review_findings', ['inspection_id'])
    op.create_index(op.f('ix_review_findings_unit_id'), 'review_findings', ['unit_id'])
    op.create_index(op.f('ix_review_findings_recommendation_id'), 'review_findings', ['recommendation_id'])
    op.create_table('unit_acceptances',
    sa.Column('id', ID, nullable=False),
    sa.Column('unit_id', sa.String(length=64), nullable=False),
    sa.Column('accepted', sa.Boolean(), nullable=False),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('decided_by', sa.BigInteger(), nullable=True),
    sa.Column('note', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_unit_acceptances_unit_id_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_unit_acceptances')),
    )
    op.create_index(op.f('ix_unit_acceptances_unit_id'), 'unit_acceptances', ['unit_id'])
    op.create_table('campaign_acceptances',
    sa.Column('id', ID, nullable=False),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('decided_by', sa.BigInteger(), nullable=True),
    sa.Column('exceptions', JSON, nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_campaign_acceptances')),
    )


def downgrade() -> None:
    op.drop_table('campaign_acceptances')
    op.drop_index(op.f('ix_unit_acceptances_unit_id'), table_name='unit_acceptances')
    op.drop_table('unit_acceptances')
    op.drop_index(op.f('ix_review_findings_recommendation_id'), table_name='review_findings')
    op.drop_index(op.f('ix_review_findings_unit_id'), table_name='review_findings')
    op.drop_index(op.f('ix_review_findings_inspection_id'), table_name='review_findings')
    op.drop_table('review_findings')
    op.drop_table('review_inspections')
