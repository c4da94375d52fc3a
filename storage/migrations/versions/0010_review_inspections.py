"""review inspections (复核检查) and the campaign's acceptance (验收)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 04:10:00

Reserved in the chain so that work on each part can land in any order; filled in by the change
that adds the tables.

"""

from collections.abc import Sequence

# revision identifiers, used by Alembic.
revision: str = '0010'
down_revision: str | Sequence[str] | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
