"""Supervision cards: card types and escalation rules as tenant data (the workflow arrives with its own issue)."""
