"""statistics indexes

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 19:30:00

Indexes for the digests, the scoreboard and the public statistics (storage/stats.py): the
scoreboard's rates look at cases whose sign-for or answer deadline fell, or whose answer
came, in a period; the 通报 list reads escalation events of a period and the typical cases.
Works on SQLite and PostgreSQL.

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = '0002'
down_revision: str | Sequence[str] | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index('ix_cases_sign_due', 'cases', ['sign_due'])
    op.create_index('ix_cases_answer_due', 'cases', ['answer_due'])
    op.create_index('ix_cases_answered_at', 'cases', ['answered_at'])
    op.create_index(
        'ix_cases_typical', 'cases', ['id'],
        sqlite_where=sa.text('typical = 1'), postgresql_where=sa.text('typical'),
    )
    op.create_index('ix_case_events_kind_at', 'case_events', ['kind', 'at'])


def downgrade() -> None:
    op.drop_index('ix_case_events_kind_at', table_name='case_events')
    op.drop_index('ix_cases_typical', table_name='cases')
    op.drop_index('ix_cases_answered_at', table_name='cases')
    op.drop_index('ix_cases_answer_due', table_name='cases')
    op.drop_index('ix_cases_sign_due', table_name='cases')
