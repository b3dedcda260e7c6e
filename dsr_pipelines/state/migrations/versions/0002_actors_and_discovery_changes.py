"""Who recorded each store's outcome; ledger events found by request; the discovery log named for
what it holds (proposed datamap changes, not findings); fractional columns double precision.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Outcomes recorded before this revision keep no actor; the ledger has it for each of them.
    op.add_column("dsr_store_runs", sa.Column("actor", sa.String(200)))
    op.create_index("ix_dsr_audit_events_request_id", "dsr_audit_events", ["request_id"])
    op.drop_index("ix_dsr_discovery_findings_store_run", table_name="dsr_discovery_findings")
    op.rename_table("dsr_discovery_findings", "dsr_discovery_changes")
    op.create_index("ix_dsr_discovery_changes_store_run", "dsr_discovery_changes", ["store", "run"])
    if op.get_bind().dialect.name != "postgresql":  # PostgreSQL's FLOAT is double precision already
        # A plain FLOAT is single precision on MariaDB, unless Dagster, imported in the same process,
        # turned it into FLOAT(32), a double: now one type whoever made the table (SQLite copies it).
        for table, column, nullable in [
            ("dsr_sweep_results", "longest_batch", False),
            ("dsr_discovery_changes", "confidence", True),
        ]:
            with op.batch_alter_table(table) as batch:
                batch.alter_column(
                    column, type_=sa.Double(), existing_type=sa.Float(), existing_nullable=nullable
                )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        for table, column, nullable in [
            ("dsr_sweep_results", "longest_batch", False),
            ("dsr_discovery_changes", "confidence", True),
        ]:
            with op.batch_alter_table(table) as batch:
                batch.alter_column(
                    column, type_=sa.Float(), existing_type=sa.Double(), existing_nullable=nullable
                )
    op.drop_index("ix_dsr_discovery_changes_store_run", table_name="dsr_discovery_changes")
    op.rename_table("dsr_discovery_changes", "dsr_discovery_findings")
    op.create_index("ix_dsr_discovery_findings_store_run", "dsr_discovery_findings", ["store", "run"])
    op.drop_index("ix_dsr_audit_events_request_id", table_name="dsr_audit_events")
    with op.batch_alter_table("dsr_store_runs") as batch:
        batch.drop_column("actor")
