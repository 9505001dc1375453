"""Data-driven strategy: the scorecard, strategies as pack variants, experiments and simulation."""
