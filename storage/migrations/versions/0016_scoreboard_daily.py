"""per-unit per-day scoreboard counts kept beside the cases (issue 13)

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06 19:40:00

Two things make the dashboard answer within 300 ms at a million cases (issue 13):

- ``scoreboard_daily``: the campaign-long scoreboard's per-unit figures per local day, a cache
  of ``storage.stats`` rebuilt by the periodic pass (``storage.scoreboard_daily.refresh``);
  ``scoreboard_daily_refresh`` says up to which day it holds and in which time zone it was
  counted. A cache, not data: it starts empty and the first pass fills it (until then, or
  when it is old, the scoreboard counts the cases themselves, as before), so there is nothing
  to backfill here that a refresh would not redo with the deployment's own time zone.
- The case list's text search: ``LIKE '%材料%'`` with a two-character word, the usual length of
  a Chinese word, yields no trigram, so 0013's pg_trgm indexes read every row for it. On
  PostgreSQL a GIN index on the set of two-character substrings of the searched columns
  (``case_text_bigrams``) finds the candidates; the LIKE stays and decides. SQLite has neither
  the function nor the index (the model skips it there: ``ddl_if``).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = '0016'
down_revision: str | Sequence[str] | None = '0015'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COUNTS = (
    "received", "sign_due", "signed_on_time", "answer_due", "answered_on_time", "answered",
    "satisfied", "basically", "unsatisfied", "no_response", "pending", "reopened",
)  # fmt: skip

# The distinct two-character substrings of the three searched columns (storage/case_list.py
# asks for the query's own with @>). IMMUTABLE: an index expression must be; it is, as it reads
# its arguments only. Not inlined by the planner (it has a FROM), so the query's call is the
# index's expression.
BIGRAMS_FUNCTION = """
CREATE OR REPLACE FUNCTION case_text_bigrams(a text, b text, c text) RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT coalesce(array_agg(DISTINCT substr(p, i, 2)), '{}')
  FROM unnest(ARRAY[a, b, c]) AS p, generate_series(1, char_length(p) - 1) AS i
$$
"""


def upgrade() -> None:
    op.create_table(
        'scoreboard_daily',
        sa.Column('unit_id', sa.String(length=64), nullable=False),
        sa.Column('area', sa.String(length=32), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        *(sa.Column(name, sa.Integer(), nullable=False) for name in COUNTS),
        sa.PrimaryKeyConstraint('unit_id', 'area', 'day', name=op.f('pk_scoreboard_daily')),
    )
    op.create_index(op.f('ix_scoreboard_daily_day'), 'scoreboard_daily', ['day'], unique=False)
    op.create_table(
        'scoreboard_daily_refresh',
        sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('zone', sa.String(length=64), nullable=False),
        sa.Column('through', sa.Date(), nullable=False),
        sa.Column('refreshed_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_scoreboard_daily_refresh')),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(BIGRAMS_FUNCTION)
        op.create_index(
            'ix_cases_text_bigrams',
            'cases',
            [sa.text('case_text_bigrams(description, place, target_text)')],
            postgresql_using='gin',
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index('ix_cases_text_bigrams', table_name='cases')
        op.execute("DROP FUNCTION IF EXISTS case_text_bigrams(text, text, text)")
    op.drop_table('scoreboard_daily_refresh')
    op.drop_index(op.f('ix_scoreboard_daily_day'), table_name='scoreboard_daily')
    op.drop_table('scoreboard_daily')
