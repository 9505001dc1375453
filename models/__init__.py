"""Records in PostgreSQL. Table modules are imported by `models.registry`, never by workflows."""
