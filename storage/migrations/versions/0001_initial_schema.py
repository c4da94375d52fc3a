"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-27 18:27:50.125929

Every table of the first release. Works on SQLite and PostgreSQL.

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision: str = '0001'
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Written out here rather than imported from storage.models: a migration is history and must
# not change when the models do.
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")  # SQLite autoincrements INTEGER only
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TIMESTAMP = sa.DateTime(timezone=True)  # aware; storage.models.UtcDateTime stores UTC


def upgrade() -> None:
    op.create_table('audit_log',
    sa.Column('id', ID, nullable=False),
    sa.Column('at', TIMESTAMP, nullable=False),
    sa.Column('actor_id', sa.BigInteger(), nullable=False),
    sa.Column('action', sa.String(length=64), nullable=False),
    sa.Column('target', sa.String(length=128), nullable=False),
    sa.Column('details', JSON, nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_log'))
    )
    op.create_index('ix_audit_log_actor_id', 'audit_log', ['actor_id'])
    op.create_index('ix_audit_log_at', 'audit_log', ['at'])

    op.create_table('dialog_bot_data',
    sa.Column('name', sa.String(length=32), nullable=False),
    sa.Column('data', JSON, nullable=False),
    sa.Column('updated_at', TIMESTAMP, nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_dialog_bot_data'))
    )
    op.create_table('dialog_chat_data',
    sa.Column('chat_id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('data', JSON, nullable=False),
    sa.Column('updated_at', TIMESTAMP, nullable=False),
    sa.PrimaryKeyConstraint('chat_id', name=op.f('pk_dialog_chat_data'))
    )
    op.create_table('dialog_conversations',
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('key', sa.String(length=128), nullable=False),
    sa.Column('state', JSON, nullable=False),
    sa.Column('updated_at', TIMESTAMP, nullable=False),
    sa.PrimaryKeyConstraint('name', 'key', name=op.f('pk_dialog_conversations'))
    )
    op.create_table('dialog_user_data',
    sa.Column('user_id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('data', JSON, nullable=False),
    sa.Column('updated_at', TIMESTAMP, nullable=False),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_dialog_user_data'))
    )
    op.create_table('job_leases',
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('holder', sa.String(length=128), nullable=False),
    sa.Column('until', TIMESTAMP, nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_job_leases'))
    )
    op.create_table('office_members',
    sa.Column('user_id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('added_by', sa.BigInteger(), nullable=True),
    sa.Column('added_at', TIMESTAMP, nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_office_members'))
    )
    op.create_table('outbox',
    sa.Column('id', ID, nullable=False),
    sa.Column('chat_id', sa.BigInteger(), nullable=False),
    sa.Column('method', sa.String(length=32), nullable=False),
    sa.Column('payload', JSON, nullable=False),
    sa.Column('dedup_key', sa.String(length=200), nullable=True),
    sa.Column('created_at', TIMESTAMP, nullable=False),
    sa.Column('not_before', TIMESTAMP, nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('sent_at', TIMESTAMP, nullable=True),
    sa.Column('claimed_by', sa.String(length=64), nullable=True),
    sa.Column('claimed_until', TIMESTAMP, nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox')),
    sa.UniqueConstraint('dedup_key', name=op.f('uq_outbox_dedup_key'))
    )
    op.create_index('ix_outbox_state_not_before', 'outbox', ['state', 'not_before'])

    op.create_table('tracking_counters',
    sa.Column('prefix', sa.String(length=16), nullable=False),
    sa.Column('year', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('last_value', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('prefix', 'year', name=op.f('pk_tracking_counters'))
    )
    op.create_table('units',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_units'))
    )
    op.create_table('users',
    sa.Column('user_id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('language', sa.String(length=8), nullable=False),
    sa.Column('chat_id', sa.BigInteger(), nullable=True),
    sa.Column('first_seen', TIMESTAMP, nullable=False),
    sa.Column('blocked_bot', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_users'))
    )
    op.create_table('citizens',
    sa.Column('id', ID, nullable=False),
    sa.Column('user_id', sa.BigInteger(), nullable=False),
    sa.Column('phone', sa.String(length=32), nullable=True),
    sa.Column('created_at', TIMESTAMP, nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.user_id'], name=op.f('fk_citizens_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_citizens')),
    sa.UniqueConstraint('user_id', name=op.f('uq_citizens_user_id'))
    )
    op.create_table('invite_codes',
    sa.Column('id', ID, nullable=False),
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('unit_id', sa.String(length=64), nullable=False),
    sa.Column('created_by', sa.BigInteger(), nullable=True),
    sa.Column('created_at', TIMESTAMP, nullable=False),
    sa.Column('expires_at', TIMESTAMP, nullable=False),
    sa.Column('used_at', TIMESTAMP, nullable=True),
    sa.Column('used_by', sa.BigInteger(), nullable=True),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_invite_codes_unit_id_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_invite_codes')),
    sa.UniqueConstraint('code_hash', name=op.f('uq_invite_codes_code_hash'))
    )
    op.create_index('ix_invite_codes_unit_id', 'invite_codes', ['unit_id'])

    op.create_table('liaisons',
    sa.Column('id', ID, nullable=False),
    sa.Column('user_id', sa.BigInteger(), nullable=False),
    sa.Column('unit_id', sa.String(length=64), nullable=False),
    sa.Column('joined_at', TIMESTAMP, nullable=False),
    sa.Column('removed_at', TIMESTAMP, nullable=True),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_liaisons_unit_id_units')),
    sa.ForeignKeyConstraint(['user_id'], ['users.user_id'], name=op.f('fk_liaisons_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_liaisons'))
    )
    op.create_index('ix_liaisons_unit_id', 'liaisons', ['unit_id'])
    op.create_index('uq_liaisons_active_user', 'liaisons', ['user_id'], unique=True, sqlite_where=sa.text('removed_at IS NULL'), postgresql_where=sa.text('removed_at IS NULL'))

    op.create_table('rectification_recommendations',
    sa.Column('id', ID, nullable=False),
    sa.Column('unit_id', sa.String(length=64), nullable=False),
    sa.Column('problems', sa.Text(), nullable=False),
    sa.Column('issued_at', TIMESTAMP, nullable=False),
    sa.Column('issued_by', sa.BigInteger(), nullable=True),
    sa.Column('plan_due', sa.Date(), nullable=False),
    sa.Column('report_due', sa.Date(), nullable=False),
    sa.Column('status', sa.String(length=24), nullable=False),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_rectification_recommendations_unit_id_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rectification_recommendations'))
    )
    op.create_index('ix_rectification_recommendations_status', 'rectification_recommendations', ['status'])
    op.create_index('ix_rectification_recommendations_unit_id', 'rectification_recommendations', ['unit_id'])

    op.create_table('cases',
    sa.Column('id', ID, nullable=False),
    sa.Column('tracking_no', sa.String(length=32), nullable=False),
    sa.Column('state', sa.String(length=24), nullable=False),
    sa.Column('source', sa.String(length=24), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('created_at', TIMESTAMP, nullable=False),
    sa.Column('area_auto', sa.String(length=32), nullable=True),
    sa.Column('area_final', sa.String(length=32), nullable=True),
    sa.Column('confidence', sa.Float(), nullable=True),
    sa.Column('matched_cues', JSON, nullable=False),
    sa.Column('citizen_id', ID, nullable=True),
    sa.Column('anonymous', sa.Boolean(), nullable=False),
    sa.Column('target_unit_id', sa.String(length=64), nullable=True),
    sa.Column('target_text', sa.Text(), nullable=False),
    sa.Column('place', sa.Text(), nullable=False),
    sa.Column('occurred', sa.Text(), nullable=False),
    sa.Column('assigned_at', TIMESTAMP, nullable=True),
    sa.Column('sign_due', sa.Date(), nullable=True),
    sa.Column('signed_at', TIMESTAMP, nullable=True),
    sa.Column('answer_due', sa.Date(), nullable=True),
    sa.Column('answered_at', TIMESTAMP, nullable=True),
    sa.Column('extended', sa.Boolean(), nullable=False),
    sa.Column('closed_at', TIMESTAMP, nullable=True),
    sa.Column('outcome', sa.String(length=32), nullable=True),
    sa.Column('measure', sa.String(length=32), nullable=True),
    sa.Column('typical', sa.Boolean(), nullable=False),
    sa.Column('satisfaction', sa.String(length=16), nullable=True),
    sa.Column('satisfaction_comment', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['citizen_id'], ['citizens.id'], name=op.f('fk_cases_citizen_id_citizens')),
    sa.ForeignKeyConstraint(['target_unit_id'], ['units.id'], name=op.f('fk_cases_target_unit_id_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cases')),
    sa.UniqueConstraint('tracking_no', name=op.f('uq_cases_tracking_no'))
    )
    op.create_index('ix_cases_area_final_created_at', 'cases', ['area_final', 'created_at'])
    op.create_index('ix_cases_citizen_id_created_at', 'cases', ['citizen_id', 'created_at'])
    op.create_index('ix_cases_closed_at', 'cases', ['closed_at'])
    op.create_index('ix_cases_created_at', 'cases', ['created_at'])
    op.create_index('ix_cases_state_answer_due', 'cases', ['state', 'answer_due'])
    op.create_index('ix_cases_state_answered_at', 'cases', ['state', 'answered_at'])
    op.create_index('ix_cases_state_sign_due', 'cases', ['state', 'sign_due'])
    op.create_index('ix_cases_target_unit_id', 'cases', ['target_unit_id'])

    op.create_table('unit_reports',
    sa.Column('id', ID, nullable=False),
    sa.Column('unit_id', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('phase_id', sa.String(length=64), nullable=False),
    sa.Column('recommendation_id', ID, nullable=True),
    sa.Column('submitted_at', TIMESTAMP, nullable=False),
    sa.Column('submitted_by', sa.BigInteger(), nullable=True),
    sa.Column('due', sa.Date(), nullable=True),
    sa.Column('late', sa.Boolean(), nullable=False),
    sa.Column('inspected', sa.Integer(), nullable=True),
    sa.Column('total', sa.Integer(), nullable=True),
    sa.Column('problems', sa.Text(), nullable=False),
    sa.Column('measures', sa.Text(), nullable=False),
    sa.Column('reason_below_target', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('review_note', sa.Text(), nullable=False),
    sa.Column('reviewed_at', TIMESTAMP, nullable=True),
    sa.Column('reviewed_by', sa.BigInteger(), nullable=True),
    sa.ForeignKeyConstraint(['recommendation_id'], ['rectification_recommendations.id'], name=op.f('fk_unit_reports_recommendation_id_rectification_recommendations')),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_unit_reports_unit_id_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_unit_reports'))
    )
    op.create_index('ix_unit_reports_phase_id_kind', 'unit_reports', ['phase_id', 'kind'])
    op.create_index('ix_unit_reports_recommendation_id', 'unit_reports', ['recommendation_id'])
    op.create_index('ix_unit_reports_unit_id_kind', 'unit_reports', ['unit_id', 'kind'])

    op.create_table('attachments',
    sa.Column('id', ID, nullable=False),
    sa.Column('case_id', ID, nullable=True),
    sa.Column('report_id', ID, nullable=True),
    sa.Column('file_id', sa.String(length=256), nullable=False),
    sa.Column('file_unique_id', sa.String(length=128), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('mime', sa.String(length=128), nullable=True),
    sa.Column('size', sa.BigInteger(), nullable=True),
    sa.Column('file_name', sa.String(length=255), nullable=True),
    sa.Column('added_by', sa.BigInteger(), nullable=True),
    sa.Column('at', TIMESTAMP, nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_attachments_case_id_cases'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['report_id'], ['unit_reports.id'], name=op.f('fk_attachments_report_id_unit_reports'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_attachments'))
    )
    op.create_index('ix_attachments_case_id', 'attachments', ['case_id'])
    op.create_index('ix_attachments_report_id', 'attachments', ['report_id'])

    op.create_table('case_events',
    sa.Column('id', ID, nullable=False),
    sa.Column('case_id', ID, nullable=False),
    sa.Column('at', TIMESTAMP, nullable=False),
    sa.Column('actor', sa.String(length=16), nullable=False),
    sa.Column('actor_ref', sa.String(length=64), nullable=True),
    sa.Column('kind', sa.String(length=48), nullable=False),
    sa.Column('visibility', sa.String(length=16), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('data', JSON, nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_case_events_case_id_cases'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_events'))
    )
    op.create_index('ix_case_events_at', 'case_events', ['at'])
    op.create_index('ix_case_events_case_id_at', 'case_events', ['case_id', 'at'])

    op.create_table('case_units',
    sa.Column('case_id', ID, nullable=False),
    sa.Column('unit_id', sa.String(length=64), nullable=False),
    sa.Column('role', sa.String(length=8), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.CheckConstraint("role IN ('lead', 'assist')", name=op.f('ck_case_units_role')),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_case_units_case_id_cases'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_case_units_unit_id_units')),
    sa.PrimaryKeyConstraint('case_id', 'unit_id', name=op.f('pk_case_units'))
    )
    op.create_index('ix_case_units_unit_id_role_case_id', 'case_units', ['unit_id', 'role', 'case_id'])



def downgrade() -> None:
    op.drop_table('case_units')
    op.drop_table('case_events')
    op.drop_table('attachments')
    op.drop_table('unit_reports')
    op.drop_table('cases')
    op.drop_table('rectification_recommendations')
    op.drop_table('liaisons')
    op.drop_table('invite_codes')
    op.drop_table('citizens')
    op.drop_table('users')
    op.drop_table('units')
    op.drop_table('tracking_counters')
    op.drop_table('outbox')
    op.drop_table('office_members')
    op.drop_table('job_leases')
    op.drop_table('dialog_user_data')
    op.drop_table('dialog_conversations')
    op.drop_table('dialog_chat_data')
    op.drop_table('dialog_bot_data')
    op.drop_table('audit_log')
