"""The baseline: the schema of every release before migrations (main up to commit f6f81dd).

Those releases created each table on first use, so a database they made may lack some of them:
this revision creates the tables that do not exist yet and leaves the others as they are.
The tables are a frozen copy, never the live `schema.py`, so this revision means the same forever.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

metadata = sa.MetaData()

sa.Table(
    "dsr_requests",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("tenant", sa.String(200), nullable=False, index=True),
    sa.Column("type", sa.String(40), nullable=False),
    sa.Column("state", sa.String(40), nullable=False, index=True),
    sa.Column("received_at", sa.DateTime, nullable=False),
    sa.Column("due_at", sa.DateTime, nullable=False),
    sa.Column("updated_at", sa.DateTime, nullable=False),
    sa.Column("probe", sa.Text),
    sa.Column("error", sa.Text),
)

sa.Table(
    "dsr_request_identities",
    metadata,
    sa.Column("request_id", sa.Integer, sa.ForeignKey("dsr_requests.id"), primary_key=True),
    sa.Column("position", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("kind", sa.String(40), nullable=False),
    sa.Column("ref", sa.String(64), nullable=False, index=True),
    sa.Column("ciphertext", sa.LargeBinary),  # None once an erasure completed
)

sa.Table(
    "dsr_request_transitions",
    metadata,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("request_id", sa.Integer, sa.ForeignKey("dsr_requests.id"), nullable=False, index=True),
    sa.Column("at", sa.DateTime, nullable=False),
    sa.Column("actor", sa.String(200), nullable=False),
    sa.Column("from_state", sa.String(40)),
    sa.Column("to_state", sa.String(40), nullable=False),
    sa.Column("note", sa.Text),
)

sa.Table(
    "dsr_request_links",
    metadata,
    sa.Column("request_id", sa.Integer, sa.ForeignKey("dsr_requests.id"), primary_key=True),
    sa.Column("link", sa.String(400), primary_key=True),  # e.g. shop.customers(id)
    sa.Column("ciphertext", sa.LargeBinary),  # JSON list of key tuples, encrypted
)

sa.Table(
    "dsr_store_runs",
    metadata,
    sa.Column("request_id", sa.Integer, sa.ForeignKey("dsr_requests.id"), primary_key=True),
    sa.Column("store", sa.String(63), primary_key=True),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("error", sa.Text),
    sa.Column("finished_at", sa.DateTime, nullable=False),
)

sa.Table(
    "dsr_results",
    metadata,
    sa.Column("request_id", sa.Integer, sa.ForeignKey("dsr_requests.id"), primary_key=True),
    sa.Column("store", sa.String(63), primary_key=True),
    sa.Column("collection", sa.String(200), primary_key=True),
    sa.Column("found", sa.Integer, nullable=False, default=0),
    sa.Column("exported", sa.Integer, nullable=False, default=0),
    sa.Column("deleted", sa.Integer, nullable=False, default=0),
    sa.Column("masked", sa.Integer, nullable=False, default=0),
    sa.Column("retained", sa.Integer, nullable=False, default=0),
    sa.Column("residual", sa.Integer, nullable=False, default=0),
    sa.Column("skipped", sa.Integer, nullable=False, default=0),
    sa.Column("versions", sa.Integer, nullable=False, default=0),
    sa.Column("restricted", sa.Integer, nullable=False, default=0),
    sa.Column("lifted", sa.Integer, nullable=False, default=0),
    sa.Column("reason", sa.Text),
)

sa.Table(
    "dsr_skipped",
    metadata,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("request_id", sa.Integer, sa.ForeignKey("dsr_requests.id"), nullable=False, index=True),
    sa.Column("store", sa.String(63), nullable=False),
    sa.Column("collection", sa.String(200), nullable=False),
    # An object key or file name may itself be personal: encrypted like identities.
    sa.Column("item", sa.LargeBinary, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
)

sa.Table(
    "dsr_audit_events",
    metadata,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("at", sa.String(40), nullable=False),
    sa.Column("actor", sa.String(200), nullable=False),
    sa.Column("tenant", sa.String(200)),
    sa.Column("request_id", sa.Integer),
    sa.Column("event", sa.String(60), nullable=False),
    sa.Column("subject_refs", sa.Text, nullable=False),
    sa.Column("details", sa.Text, nullable=False),
    sa.Column("prev_hash", sa.String(64), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
)

sa.Table(
    "dsr_audit_head",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("seq", sa.Integer, nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
)

sa.Table(
    "dsr_holds",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("tenant", sa.String(200), nullable=False, index=True),
    sa.Column("identity_kind", sa.String(40)),
    sa.Column("identity_ref", sa.String(64), index=True),
    sa.Column("ciphertext", sa.LargeBinary),  # the identity, for finding the held records
    sa.Column("store", sa.String(63)),
    sa.Column("collection", sa.String(200)),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("until", sa.DateTime),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("created_by", sa.String(200), nullable=False),
    sa.Column("released_at", sa.DateTime),
    sa.Column("released_by", sa.String(200)),
)

sa.Table(
    "dsr_request_holds",
    metadata,
    sa.Column("request_id", sa.Integer, sa.ForeignKey("dsr_requests.id"), primary_key=True),
    sa.Column("hold_id", sa.Integer, sa.ForeignKey("dsr_holds.id"), primary_key=True),
    sa.Column("store", sa.String(63), primary_key=True),
)

sa.Table(
    "dsr_backups",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("store", sa.String(63), nullable=False),
    sa.Column("name", sa.String(600), nullable=False),  # with store, a key MariaDB accepts
    sa.Column("taken_at", sa.DateTime, nullable=False),
    sa.Column("due_by", sa.DateTime, nullable=False),  # taken_at + rotation: gone by then
    sa.Column("first_seen", sa.DateTime, nullable=False),
    sa.Column("gone_at", sa.DateTime),  # the scan that no longer listed it
    sa.UniqueConstraint("store", "name"),
)

sa.Table(
    "dsr_backup_scans",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("store", sa.String(63), nullable=False, index=True),
    sa.Column("at", sa.DateTime, nullable=False),
    sa.Column("error", sa.Text),  # set: the location could not be listed, the state is unknown
)

sa.Table(
    "dsr_backup_links",
    metadata,
    sa.Column("holder", sa.String(40), primary_key=True),
    sa.Column("backup_id", sa.Integer, sa.ForeignKey("dsr_backups.id"), primary_key=True),
)

sa.Table(
    "dsr_backup_ageout",
    metadata,
    sa.Column("holder", sa.String(40), primary_key=True),
    sa.Column("request_id", sa.Integer),
    sa.Column("state", sa.String(30), nullable=False),
    sa.Column("since", sa.DateTime, nullable=False),
)

sa.Table(
    "dsr_sweeps",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("run_key", sa.String(200), unique=True),
    sa.Column("as_of", sa.DateTime, nullable=False),
    sa.Column("rule", sa.String(63)),  # only this rule; None: all
    sa.Column("dry_run", sa.Boolean, nullable=False),
    sa.Column("state", sa.String(20), nullable=False),  # running, completed, partial
    sa.Column("actor", sa.String(200), nullable=False),
    sa.Column("started_at", sa.DateTime, nullable=False),
    sa.Column("finished_at", sa.DateTime),
)

sa.Table(
    "dsr_sweep_results",
    metadata,
    sa.Column("sweep_id", sa.Integer, sa.ForeignKey("dsr_sweeps.id"), primary_key=True),
    sa.Column("rule", sa.String(63), primary_key=True),
    sa.Column("target", sa.String(300), primary_key=True),
    sa.Column("expired", sa.Integer, nullable=False),
    sa.Column("kept", sa.Integer, nullable=False),
    sa.Column("changed", sa.Integer, nullable=False),
    sa.Column("oldest", sa.DateTime),
    sa.Column("newest", sa.DateTime),
    sa.Column("batches", sa.Integer, nullable=False),
    sa.Column("longest_batch", sa.Float, nullable=False),
    sa.Column("partitions_dropped", sa.Integer, nullable=False),
    sa.Column("held_by", sa.Text),  # JSON list of hold ids
    sa.Column("error", sa.Text),
)

sa.Table(
    "dsr_terminations",
    metadata,
    sa.Column("tenant", sa.String(200), primary_key=True),
    sa.Column("effective_at", sa.DateTime, nullable=False),
    sa.Column("grace", sa.String(40)),
    sa.Column("due_at", sa.DateTime, nullable=False),
    sa.Column("state", sa.String(20), nullable=False),  # terminated, purging, purged
    sa.Column("terminated_at", sa.DateTime, nullable=False),
    sa.Column("terminated_by", sa.String(200), nullable=False),
    sa.Column("purged_at", sa.DateTime),
)

sa.Table(
    "dsr_archives",
    metadata,
    sa.Column("path", sa.String(600), primary_key=True),  # MariaDB keys: at most 3072 bytes
    sa.Column("archive_store", sa.String(63), nullable=False),
    sa.Column("tenant", sa.String(200), nullable=False, index=True),
    sa.Column("store", sa.String(63), nullable=False),
    sa.Column("collection", sa.String(200), nullable=False),
    sa.Column("records", sa.Integer, nullable=False),
    sa.Column("rule", sa.String(63), nullable=False),
    sa.Column("legal_basis", sa.Text, nullable=False),
    sa.Column("until", sa.DateTime, nullable=False),
    sa.Column("written_at", sa.DateTime, nullable=False),
    sa.Column("deleted_at", sa.DateTime),
)

sa.Table(
    "dsr_tombstones",
    metadata,
    sa.Column("store", sa.String(63), primary_key=True),
    sa.Column("collection", sa.String(200), primary_key=True),
    sa.Column("digest", sa.String(64), primary_key=True),
    sa.Column("action", sa.String(10), nullable=False),  # delete or mask
    sa.Column("request_id", sa.Integer, nullable=False),
)

sa.Table(
    "dsr_tombstone_check",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("check", sa.String(64), nullable=False),
)

sa.Table(
    "dsr_restrictions",
    metadata,
    sa.Column("request_id", sa.Integer, sa.ForeignKey("dsr_requests.id"), primary_key=True),
    sa.Column("store", sa.String(63), primary_key=True),
    sa.Column("collection", sa.String(200), primary_key=True),
    sa.Column("covered", sa.LargeBinary, nullable=False),  # encrypted Arrow IPC of key tuples
    sa.Column("previous", sa.LargeBinary, nullable=False),  # of those, marked before this restriction
    sa.Column("records", sa.Integer, nullable=False),
    sa.Column("lifted_by", sa.Integer),
    sa.Column("lifted_at", sa.DateTime),
)

sa.Table(
    "dsr_discovery_findings",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("run", sa.String(64), nullable=False),
    sa.Column("at", sa.String(40), nullable=False),
    sa.Column("store", sa.String(100), nullable=False),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("path", sa.String(500), nullable=False),
    sa.Column("detail", sa.Text, nullable=False),
    sa.Column("category", sa.String(60)),
    sa.Column("confidence", sa.Float),
    sa.Index("ix_dsr_discovery_findings_store_run", "store", "run"),
)


def upgrade() -> None:
    bind = op.get_bind()
    existing = set(sa.inspect(bind).get_table_names())
    metadata.create_all(bind, tables=[t for t in metadata.sorted_tables if t.name not in existing])


def downgrade() -> None:
    raise NotImplementedError("the baseline is not undone: drop the database instead")
