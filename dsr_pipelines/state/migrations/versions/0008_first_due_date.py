"""A request's due date before any extension, so that extensions add at most two months in total.

Existing requests get their current due date: one extended before this release may be extended
by up to two months more from there (the original date was not kept).

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("dsr_requests", sa.Column("first_due_at", sa.DateTime))
    op.execute("UPDATE dsr_requests SET first_due_at = due_at")


def downgrade() -> None:
    with op.batch_alter_table("dsr_requests") as batch:
        batch.drop_column("first_due_at")
