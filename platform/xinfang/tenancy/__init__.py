"""Tenants: hierarchy, resolution of the tenant of each request, bundles in tenants/."""
