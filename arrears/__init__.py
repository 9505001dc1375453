"""Arrears: default-management case system on Temporal and PostgreSQL."""
