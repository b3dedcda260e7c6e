"""Reflected schemas of SQL stores, kept between runs while their catalogue is unchanged.

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "dsr_schema_cache",
        sa.Column("store", sa.String(100), primary_key=True),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("tables", sa.Integer, nullable=False),
        sa.Column("schema", sa.LargeBinary, nullable=False),
        sa.Column("cached_at", sa.DateTime, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("dsr_schema_cache")
