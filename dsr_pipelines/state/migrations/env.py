"""Alembic's environment: migrations run on the connection `state/migrate.py` hands over."""

from alembic import context

from dsr_pipelines.state.migrate import VERSION_TABLE
from dsr_pipelines.state.schema import metadata

context.configure(
    connection=context.config.attributes["connection"],
    target_metadata=metadata,
    version_table=VERSION_TABLE,
)
with context.begin_transaction():
    context.run_migrations()
