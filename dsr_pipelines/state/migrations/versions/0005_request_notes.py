"""Free text about a request (an extension's reason) beside the request, out of the ledger.

Earlier ledgers keep the reasons they recorded: the ledger is append-only.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "dsr_request_notes",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("request_id", sa.Integer, sa.ForeignKey("dsr_requests.id"), nullable=False),
        sa.Column("at", sa.DateTime, nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("text", sa.Text),
    )
    op.create_index("ix_dsr_request_notes_request_id", "dsr_request_notes", ["request_id"])


def downgrade() -> None:
    op.drop_table("dsr_request_notes")
