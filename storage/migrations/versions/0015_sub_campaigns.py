"""the case's campaign (sub-campaigns of streets and townships) and office members' scope

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06 04:10:00

Reserved in the chain so that work on each part can land in any order; filled in by the change
that adds the tables.

"""

from collections.abc import Sequence

# revision identifiers, used by Alembic.
revision: str = '0015'
down_revision: str | Sequence[str] | None = '0014'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
