"""The audit log of cross-tenant reads (hash-chaining arrives with the archives issue)."""
