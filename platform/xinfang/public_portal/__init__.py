"""The public integrity portal (廉政监督网) of each tenant: announcements, typical cases made public, policies and
regulations with full-text search, public suggestions with published replies, and the tenant's theme."""
