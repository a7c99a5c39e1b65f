"""Exchange with other systems: API clients (keys and rate limits), the Open311 GeoReport v2 intake, signed webhooks."""
