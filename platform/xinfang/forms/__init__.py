"""Tenant-defined petition forms: JSON Schema safety gate, server-side rendering, built-in templates."""
