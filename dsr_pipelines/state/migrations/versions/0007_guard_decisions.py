"""The over-deletion guard's decisions per request: refusals (with the guard applied) and overrides.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "dsr_guard_decisions",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("request_id", sa.Integer, sa.ForeignKey("dsr_requests.id"), nullable=False),
        sa.Column("at", sa.DateTime, nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("store", sa.String(100)),
        sa.Column("collection", sa.String(255)),
        sa.Column("matched", sa.Integer),
        sa.Column("total", sa.Integer),
        sa.Column("max_share", sa.Double),
        sa.Column("min_rows", sa.Integer),
    )
    op.create_index("ix_dsr_guard_decisions_request_id", "dsr_guard_decisions", ["request_id"])


def downgrade() -> None:
    op.drop_index("ix_dsr_guard_decisions_request_id", "dsr_guard_decisions")
    op.drop_table("dsr_guard_decisions")
