"""Storage: sqlmodel tables, repository, hash-chained audit log."""
