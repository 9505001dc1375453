"""Temporal workflows. Deterministic code only: DTOs in, IDs out, no I/O."""
