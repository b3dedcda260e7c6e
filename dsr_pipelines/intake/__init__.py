"""Intake: the dsr CLI and the Python API, over the service layer and the Dagster jobs."""
