"""Orchestration: Dagster jobs, thin ops, sensors, schedules and resources over the service layer."""
