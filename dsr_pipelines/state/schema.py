"""Every table of the state database, in one `MetaData`.

The state database (`request_store:` in dsr.yaml) holds requests and their identities (encrypted),
results, the audit ledger, legal holds, backups, sweeps, terminations, archives, tombstones,
restrictions and the discovery log. Its schema changes only through the Alembic migrations in
`migrations/`; `tests/test_migrations.py` checks that they build exactly these tables.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

# -- keys -----------------------------------------------------------------------------------

# The data keys, each wrapped by the master key; a rotation adds an encryption key version.
keys_t = sa.Table(
    "dsr_keys",
    metadata,
    sa.Column("purpose", sa.String(40), primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("wrapped", sa.LargeBinary, nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
)
# Which master key the database was made with: every opening compares, before reading anything.
key_check_t = sa.Table(
    "dsr_key_check",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("check", sa.String(64), nullable=False),
    sa.Column("since", sa.DateTime, nullable=False),
)

# -- requests -------------------------------------------------------------------------------

requests_t = sa.Table(
    "dsr_requests",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("tenant", sa.String(200), nullable=False, index=True),
    sa.Column("type", sa.String(40), nullable=False),
    sa.Column("state", sa.String(40), nullable=False, index=True),
    sa.Column("received_at", sa.DateTime, nullable=False),
    sa.Column("due_at", sa.DateTime, nullable=False),
    sa.Column("first_due_at", sa.DateTime),  # before any extension: they add two months at most
    sa.Column("updated_at", sa.DateTime, nullable=False),
    sa.Column("probe", sa.Text),
    sa.Column("error", sa.Text),
    # The run that holds the request, until when: a second run skips it; once the time has passed
    # (the run died), another run may take it.
    sa.Column("lease_run", sa.String(64)),
    sa.Column("lease_until", sa.DateTime),
    sa.Column("external_ref", sa.String(200)),  # the controller's own reference, from the API
)
identities_t = sa.Table(
    "dsr_request_identities",
    metadata,
    sa.Column("request_id", sa.Integer, sa.ForeignKey("dsr_requests.id"), primary_key=True),
    sa.Column("position", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("kind", sa.String(40), nullable=False),
    sa.Column("ref", sa.String(64), nullable=False, index=True),
    sa.Column("ciphertext", sa.LargeBinary),  # None once an erasure completed
)
transitions_t = sa.Table(
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
# Free text about a request (an extension's reason): kept beside it, erasable with it; the
# ledger holds only its MAC.
notes_t = sa.Table(
    "dsr_request_notes",
    metadata,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("request_id", sa.Integer, sa.ForeignKey("dsr_requests.id"), nullable=False, index=True),
    sa.Column("at", sa.DateTime, nullable=False),
    sa.Column("actor", sa.String(200), nullable=False),
    sa.Column("kind", sa.String(40), nullable=False),
    sa.Column("text", sa.Text),  # None once erased
)
# Keys by which a subject's rows in one store reach another store, resolved before any change.
links_t = sa.Table(
    "dsr_request_links",
    metadata,
    sa.Column("request_id", sa.Integer, sa.ForeignKey("dsr_requests.id"), primary_key=True),
    sa.Column("link", sa.String(400), primary_key=True),  # e.g. shop.customers(id)
    sa.Column("ciphertext", sa.LargeBinary),  # JSON list of key tuples, encrypted
)

# -- results --------------------------------------------------------------------------------

store_runs_t = sa.Table(
    "dsr_store_runs",
    metadata,
    sa.Column("request_id", sa.Integer, sa.ForeignKey("dsr_requests.id"), primary_key=True),
    sa.Column("store", sa.String(63), primary_key=True),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("error", sa.Text),
    sa.Column("finished_at", sa.DateTime, nullable=False),
    sa.Column("actor", sa.String(200)),  # who asked for the run; None before schema revision 0002
)
results_t = sa.Table(
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
skipped_t = sa.Table(
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

# -- the audit ledger -----------------------------------------------------------------------

audit_events_t = sa.Table(
    "dsr_audit_events",
    metadata,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("at", sa.String(40), nullable=False),
    sa.Column("actor", sa.String(200), nullable=False),
    sa.Column("tenant", sa.String(200)),
    sa.Column("request_id", sa.Integer, index=True),
    sa.Column("event", sa.String(60), nullable=False),
    sa.Column("subject_refs", sa.Text, nullable=False),
    sa.Column("details", sa.Text, nullable=False),
    sa.Column("prev_hash", sa.String(64), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
)
# One row holding the chain's head, locked while appending so that concurrent writers serialise.
audit_head_t = sa.Table(
    "dsr_audit_head",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("seq", sa.Integer, nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
    # How the chain is made: hmac-sha256 (keyed); sha256 in ledgers of earlier releases until re-keyed.
    sa.Column("scheme", sa.String(20), nullable=False, server_default="sha256"),
)

# -- legal holds ----------------------------------------------------------------------------

holds_t = sa.Table(
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
# Which holds deferred which store of which request: a released hold lets those run again.
request_holds_t = sa.Table(
    "dsr_request_holds",
    metadata,
    sa.Column("request_id", sa.Integer, sa.ForeignKey("dsr_requests.id"), primary_key=True),
    sa.Column("hold_id", sa.Integer, sa.ForeignKey("dsr_holds.id"), primary_key=True),
    sa.Column("store", sa.String(63), primary_key=True),
)

# -- backups --------------------------------------------------------------------------------

backups_t = sa.Table(
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
backup_scans_t = sa.Table(
    "dsr_backup_scans",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("store", sa.String(63), nullable=False, index=True),
    sa.Column("at", sa.DateTime, nullable=False),
    sa.Column("error", sa.Text),  # set: the location could not be listed, the state is unknown
)
# What still holds erased data: `request:7`, `sweep:3` or `tenant:acme`, and the backups taken before it.
backup_links_t = sa.Table(
    "dsr_backup_links",
    metadata,
    sa.Column("holder", sa.String(40), primary_key=True),
    sa.Column("backup_id", sa.Integer, sa.ForeignKey("dsr_backups.id"), primary_key=True),
)
ageout_t = sa.Table(
    "dsr_backup_ageout",
    metadata,
    sa.Column("holder", sa.String(40), primary_key=True),
    sa.Column("request_id", sa.Integer),
    sa.Column("state", sa.String(30), nullable=False),
    sa.Column("since", sa.DateTime, nullable=False),
)

# -- leases ---------------------------------------------------------------------------------

# Work other than requests that one run at a time may do: `sweep-rule:<rule>`, `purge:<tenant>`.
leases_t = sa.Table(
    "dsr_leases",
    metadata,
    sa.Column("name", sa.String(255), primary_key=True),
    sa.Column("run", sa.String(64), nullable=False),
    sa.Column("until", sa.DateTime, nullable=False),
)

# -- the over-deletion guard ----------------------------------------------------------------

# Each time the guard refused a request (with the guard it applied), and each override of it
# (the override's reason is free text: it is kept with the request's notes).
guard_decisions_t = sa.Table(
    "dsr_guard_decisions",
    metadata,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("request_id", sa.Integer, sa.ForeignKey("dsr_requests.id"), nullable=False, index=True),
    sa.Column("at", sa.DateTime, nullable=False),
    sa.Column("actor", sa.String(200), nullable=False),
    sa.Column("kind", sa.String(20), nullable=False),  # refused | overridden
    sa.Column("store", sa.String(100)),
    sa.Column("collection", sa.String(255)),
    sa.Column("matched", sa.Integer),
    sa.Column("total", sa.Integer),
    sa.Column("max_share", sa.Double),
    sa.Column("min_rows", sa.Integer),
)

# -- retention sweeps -----------------------------------------------------------------------

sweeps_t = sa.Table(
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
sweep_results_t = sa.Table(
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
    sa.Column("longest_batch", sa.Double, nullable=False),
    sa.Column("partitions_dropped", sa.Integer, nullable=False),
    sa.Column("held_by", sa.Text),  # JSON list of hold ids
    sa.Column("error", sa.Text),
)

# -- terminations and archives --------------------------------------------------------------

terminations_t = sa.Table(
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
archives_t = sa.Table(
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

# -- tombstones -----------------------------------------------------------------------------

tombstones_t = sa.Table(
    "dsr_tombstones",
    metadata,
    sa.Column("store", sa.String(63), primary_key=True),
    sa.Column("collection", sa.String(200), primary_key=True),
    sa.Column("digest", sa.String(64), primary_key=True),
    sa.Column("action", sa.String(10), nullable=False),  # delete or mask
    sa.Column("request_id", sa.Integer, nullable=False),
)
tombstone_check_t = sa.Table(
    "dsr_tombstone_check",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("check", sa.String(64), nullable=False),
)

# -- restrictions ---------------------------------------------------------------------------

restrictions_t = sa.Table(
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

# -- the discovery log ----------------------------------------------------------------------

# Per discovery run and store, the datamap changes it proposed: key paths, categories and
# confidences, never sampled values.
discovery_changes_t = sa.Table(
    "dsr_discovery_changes",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("run", sa.String(64), nullable=False),
    sa.Column("at", sa.String(40), nullable=False),
    sa.Column("store", sa.String(100), nullable=False),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("path", sa.String(500), nullable=False),
    sa.Column("detail", sa.Text, nullable=False),
    sa.Column("category", sa.String(60)),
    sa.Column("confidence", sa.Double),
    sa.Index("ix_dsr_discovery_changes_store_run", "store", "run"),
)

# -- reflected schemas, kept between runs ---------------------------------------------------

# Per SQL store, the tables its runs reflected (pickled SQLAlchemy metadata, encrypted: only the
# project key's holder can make one the stores load) and the catalogue fingerprint they match.
schema_cache_t = sa.Table(
    "dsr_schema_cache",
    metadata,
    sa.Column("store", sa.String(100), primary_key=True),
    sa.Column("fingerprint", sa.String(64), nullable=False),
    sa.Column("tables", sa.Integer, nullable=False),
    sa.Column("schema", sa.LargeBinary, nullable=False),
    sa.Column("cached_at", sa.DateTime, nullable=False),
)


# -- the controllers' API ---------------------------------------------------------------------

# A key is shown once; only the SHA-256 of its secret is kept (the secret is 256 random bits, so the
# hash needs no key of its own and survives a rotation of the project's keys). No tenant: an
# operator's key.
api_keys_t = sa.Table(
    "dsr_api_keys",
    metadata,
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
# A submission's Idempotency-Key and body, both as keyed hashes (a body holds identities): the same
# key again returns the same requests, with another body it is refused.
idempotency_t = sa.Table(
    "dsr_idempotency",
    metadata,
    sa.Column("tenant", sa.String(200), primary_key=True),
    sa.Column("key_ref", sa.String(64), primary_key=True),
    sa.Column("body_ref", sa.String(64), nullable=False),
    sa.Column("request_ids", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
)

# A controller's webhook endpoints; the signing secret sealed (the API shows it once, at creation).
webhooks_t = sa.Table(
    "dsr_webhooks",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("tenant", sa.String(200), nullable=False, index=True),
    sa.Column("url", sa.Text, nullable=False),
    sa.Column("secret", sa.LargeBinary),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("created_by", sa.String(200), nullable=False),
    sa.Column("removed_at", sa.DateTime),
)
# The outbox: one row per event per endpoint, written in the transaction of the change it reports;
# its attempts are the delivery log, `dead` ones the dead letters. Bodies hold ids, never identities.
webhook_events_t = sa.Table(
    "dsr_webhook_events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("webhook_id", sa.Integer, sa.ForeignKey("dsr_webhooks.id"), nullable=False),
    sa.Column("tenant", sa.String(200), nullable=False, index=True),
    sa.Column("event_id", sa.String(36), nullable=False, unique=True),
    sa.Column("kind", sa.String(40), nullable=False),
    sa.Column("request_id", sa.Integer),
    sa.Column("dedupe", sa.String(100)),  # an event sent once per endpoint (a deadline reminder)
    sa.Column("details", sa.Text, nullable=False),
    sa.Column("body", sa.Text),  # as first sent: retries send the same bytes
    sa.Column("state", sa.String(12), nullable=False, index=True),  # pending, delivered, dead
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("next_attempt_at", sa.DateTime, nullable=False),
    sa.Column("last_status", sa.Integer),
    sa.Column("last_error", sa.Text),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("delivered_at", sa.DateTime),
    sa.UniqueConstraint("webhook_id", "dedupe"),
)
