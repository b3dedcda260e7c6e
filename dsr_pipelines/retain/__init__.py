"""Retain: retention rules and sweeps, legal holds, restriction, backups, tombstones, purges."""
