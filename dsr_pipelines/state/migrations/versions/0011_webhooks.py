"""Controllers' webhooks: endpoints with their sealed signing secrets, and the outbox of events
each must receive (its delivery log and dead letters).

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "dsr_webhooks",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("tenant", sa.String(200), nullable=False, index=True),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("secret", sa.LargeBinary),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("removed_at", sa.DateTime),
    )
    op.create_table(
        "dsr_webhook_events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("webhook_id", sa.Integer, sa.ForeignKey("dsr_webhooks.id"), nullable=False),
        sa.Column("tenant", sa.String(200), nullable=False, index=True),
        sa.Column("event_id", sa.String(36), nullable=False, unique=True),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("request_id", sa.Integer),
        sa.Column("dedupe", sa.String(100)),
        sa.Column("details", sa.Text, nullable=False),
        sa.Column("body", sa.Text),
        sa.Column("state", sa.String(12), nullable=False, index=True),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", sa.DateTime, nullable=False),
        sa.Column("last_status", sa.Integer),
        sa.Column("last_error", sa.Text),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("delivered_at", sa.DateTime),
        sa.UniqueConstraint("webhook_id", "dedupe"),
    )


def downgrade() -> None:
    op.drop_table("dsr_webhook_events")
    op.drop_table("dsr_webhooks")
