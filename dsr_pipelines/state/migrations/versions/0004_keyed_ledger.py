"""The ledger's chain is keyed: its head records how the chain is made.

Existing heads are marked `sha256` (the unkeyed chain); `dsr db upgrade` re-keys them, which
needs the project key, and then marks them `hmac-sha256`.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "dsr_audit_head", sa.Column("scheme", sa.String(20), nullable=False, server_default="sha256")
    )


def downgrade() -> None:
    with op.batch_alter_table("dsr_audit_head") as batch:
        batch.drop_column("scheme")
