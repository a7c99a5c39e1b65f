"""Integrity archives (廉政档案) of officials, and purpose-bound, audited cross-tenant promotion reviews."""
