"""indexes for the case list's text search and the scoreboard at 1,000,000 cases

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06 04:10:00

The case list's text search is ``LIKE '%word%'`` on the description, the place and the named
unit (storage/case_list.py): no B-tree serves a pattern with a leading wildcard, so at a
million cases it read the whole table. On PostgreSQL, trigram GIN indexes (pg_trgm) answer it
from the index, one per column, combined by a BitmapOr. SQLite has no such index: there the
same names are plain indexes (its demo-sized databases scan fast enough), so that the models
describe both backends.

The scoreboard's per-unit figures join every lead row of case_units to its case: a partial
index on the lead rows (case_id, unit_id) lets PostgreSQL read them from the index alone.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = '0013'
down_revision: str | Sequence[str] | None = '0012'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SEARCHED = ("description", "place", "target_text")


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for column in SEARCHED:
        op.create_index(
            f"ix_cases_{column}_trgm",
            "cases",
            [column],
            postgresql_using="gin",
            postgresql_ops={column: "gin_trgm_ops"},
        )
    op.create_index(
        "ix_case_units_lead_case_id_unit_id",
        "case_units",
        ["case_id", "unit_id"],
        sqlite_where=sa.text("role = 'lead'"),
        postgresql_where=sa.text("role = 'lead'"),
    )


def downgrade() -> None:
    op.drop_index("ix_case_units_lead_case_id_unit_id", table_name="case_units")
    for column in SEARCHED:
        op.drop_index(f"ix_cases_{column}_trgm", table_name="cases")
    # the extension stays: other databases' objects may use it, and it costs nothing
