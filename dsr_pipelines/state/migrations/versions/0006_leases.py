"""Leases: a request, a sweep of one rule, a purge of one tenant is claimed by exactly one run.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("dsr_requests", sa.Column("lease_run", sa.String(64)))
    op.add_column("dsr_requests", sa.Column("lease_until", sa.DateTime))
    op.create_table(
        "dsr_leases",
        sa.Column("name", sa.String(255), primary_key=True),
        sa.Column("run", sa.String(64), nullable=False),
        sa.Column("until", sa.DateTime, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("dsr_leases")
    with op.batch_alter_table("dsr_requests") as batch:
        batch.drop_column("lease_until")
        batch.drop_column("lease_run")
