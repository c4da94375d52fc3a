"""web sessions

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05 13:20:00

The dashboard (web/): one-time sign-in links and sessions, both by hash only
(core.web_access); the case list's seek-paging indexes on (created_at, id) and
(state, created_at, id), the first replacing the plain created_at index it extends; the audit
viewer's indexes on (action | target | actor_id, at, id).

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = '0007'
down_revision: str | Sequence[str] | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('web_links',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.BigInteger(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_web_links')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_web_links_token_hash')),
    )
    op.create_table('web_sessions',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.BigInteger(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('end_reason', sa.String(length=16), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_web_sessions')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_web_sessions_token_hash')),
    )
    op.create_index('ix_web_sessions_user_id_ended_at', 'web_sessions', ['user_id', 'ended_at'])
    op.create_index('ix_cases_created_at_id', 'cases', ['created_at', 'id'])
    op.create_index('ix_cases_state_created_at_id', 'cases', ['state', 'created_at', 'id'])
    op.drop_index('ix_cases_created_at', table_name='cases')
    op.create_index('ix_audit_log_action_at_id', 'audit_log', ['action', 'at', 'id'])
    op.create_index('ix_audit_log_target_at_id', 'audit_log', ['target', 'at', 'id'])
    op.create_index('ix_audit_log_actor_id_at_id', 'audit_log', ['actor_id', 'at', 'id'])


def downgrade() -> None:
    op.drop_index('ix_audit_log_actor_id_at_id', table_name='audit_log')
    op.drop_index('ix_audit_log_target_at_id', table_name='audit_log')
    op.drop_index('ix_audit_log_action_at_id', table_name='audit_log')
    op.create_index('ix_cases_created_at', 'cases', ['created_at'])
    op.drop_index('ix_cases_state_created_at_id', table_name='cases')
    op.drop_index('ix_cases_created_at_id', table_name='cases')
    op.drop_index('ix_web_sessions_user_id_ended_at', table_name='web_sessions')
    op.drop_table('web_sessions')
    op.drop_table('web_links')
