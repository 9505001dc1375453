"""Regulator and investor reports: figures as of a period end, rendered to CSV, JSON and PDF."""
