"""The document store: embedded server supervision, client lifecycle, tenant-scoped access."""
