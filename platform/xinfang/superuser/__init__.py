"""Superusers above tenants: the tenant tree, and the one audited path that reads across tenants."""
