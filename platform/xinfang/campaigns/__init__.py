"""Screening campaigns (排查) run by a county or prefecture."""
