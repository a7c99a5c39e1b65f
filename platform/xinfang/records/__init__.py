"""Archived records (归档): closed cases, cards and actions frozen as numbered records."""
