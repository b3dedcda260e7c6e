"""State: the state database (every table, migrations, the ledger), below the domain and the service."""
