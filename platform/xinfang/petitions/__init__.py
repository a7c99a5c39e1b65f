"""Petitions: citizens file and follow them, staff register and handle them in the tenant's workflow."""
