"""Analysis and early warning (issue 14): rollups kept from domain events, reports, maps, forecasts, alerts."""
