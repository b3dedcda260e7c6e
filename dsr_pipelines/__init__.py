"""Data-subject requests and retention, orchestrated by Dagster."""
