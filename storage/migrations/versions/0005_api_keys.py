"""api keys and API complainants

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04 22:25:00

``api_keys``: the keys the office issues to partner systems (the 12345 hotline, a city app)
for the Open311 API (web/open311). Only the SHA-256 of a key is stored, like invite codes: a
leaked database does not leak usable keys. A key is revoked, never deleted, so the audit
trail and the complainants filed through it keep pointing at a row.

``citizens`` learns a second kind of complainant: one known to a key holder's system, not to
Telegram. Such a citizen has no ``user_id``; it is (``api_key_id``, ``external_id``) instead,
unique together, the account the daily limit counts. ``email`` and ``name`` are the contact
details the API may send besides the phone; like the phone they stay in this table, which only
office queries join. A check keeps every row one kind or the other.

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = '0005'
down_revision: str | Sequence[str] | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Written out here, not imported from storage.models: a migration is history.
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TIMESTAMP = sa.DateTime(timezone=True)  # aware; storage.models.UtcDateTime stores UTC


def upgrade() -> None:
    op.create_table(
        'api_keys',
        sa.Column('id', ID, nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('key_hash', sa.String(length=64), nullable=False),
        sa.Column('created_at', TIMESTAMP, nullable=False),
        sa.Column('created_by', sa.BigInteger(), nullable=True),
        sa.Column('revoked_at', TIMESTAMP, nullable=True),
        sa.Column('revoked_by', sa.BigInteger(), nullable=True),
        sa.Column('last_used_at', TIMESTAMP, nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_api_keys')),
        sa.UniqueConstraint('key_hash', name=op.f('uq_api_keys_key_hash')),
    )
    with op.batch_alter_table('citizens') as batch:
        batch.alter_column('user_id', existing_type=sa.BigInteger(), nullable=True)
        batch.add_column(sa.Column('api_key_id', ID, nullable=True))
        batch.add_column(sa.Column('external_id', sa.String(length=128), nullable=True))
        batch.add_column(sa.Column('email', sa.String(length=254), nullable=True))
        batch.add_column(sa.Column('name', sa.String(length=200), nullable=True))
        batch.create_foreign_key(
            batch.f('fk_citizens_api_key_id_api_keys'), 'api_keys', ['api_key_id'], ['id']
        )
        batch.create_unique_constraint(
            batch.f('uq_citizens_api_key_id_external_id'), ['api_key_id', 'external_id']
        )
        batch.create_check_constraint(
            batch.f('ck_citizens_identity'),
            '(user_id IS NOT NULL) OR (api_key_id IS NOT NULL AND external_id IS NOT NULL)',
        )


def downgrade() -> None:
    # API complainants cannot exist without the API; their cases keep their history but lose
    # the complainant link, which is what a downgrade past this feature has to mean.
    op.execute(
        'UPDATE cases SET citizen_id = NULL WHERE citizen_id IN '
        '(SELECT id FROM citizens WHERE user_id IS NULL)'
    )
    op.execute('DELETE FROM citizens WHERE user_id IS NULL')
    with op.batch_alter_table('citizens') as batch:
        batch.drop_constraint(batch.f('ck_citizens_identity'), type_='check')
        batch.drop_constraint(batch.f('uq_citizens_api_key_id_external_id'), type_='unique')
        batch.drop_constraint(batch.f('fk_citizens_api_key_id_api_keys'), type_='foreignkey')
        batch.drop_column('name')
        batch.drop_column('email')
        batch.drop_column('external_id')
        batch.drop_column('api_key_id')
        batch.alter_column('user_id', existing_type=sa.BigInteger(), nullable=False)
    op.drop_table('api_keys')
