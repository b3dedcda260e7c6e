"""The controllers' HTTP API: keys (hashes only), idempotent submissions, cancelled requests and
the controller's own reference on a request.

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "dsr_api_keys",
        sa.Column("id", sa.String(24), primary_key=True),
        sa.Column("tenant", sa.String(200), index=True),
        sa.Column("scopes", sa.Text, nullable=False),
        sa.Column("secret_hash", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("expires_at", sa.DateTime),
        sa.Column("revoked_at", sa.DateTime),
        sa.Column("replaced_by", sa.String(24)),
    )
    op.create_table(
        "dsr_idempotency",
        sa.Column("tenant", sa.String(200), primary_key=True),
        sa.Column("key_ref", sa.String(64), primary_key=True),
        sa.Column("body_ref", sa.String(64), nullable=False),
        sa.Column("request_ids", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    with op.batch_alter_table("dsr_requests") as batch:
        batch.add_column(sa.Column("external_ref", sa.String(200)))


def downgrade() -> None:
    with op.batch_alter_table("dsr_requests") as batch:
        batch.drop_column("external_ref")
    op.drop_table("dsr_idempotency")
    op.drop_table("dsr_api_keys")
