"""Retention: how long each kind of record is kept per tenant, and what happens at the end (crypto-shredding)."""
