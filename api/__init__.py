"""HTTP API (FastAPI): validates, then reads Postgres or signals the case workflows."""
