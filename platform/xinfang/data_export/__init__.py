"""A tenant's data (cases, cards, archives) as one documented archive file: a ZIP of JSON Lines per kind, a
manifest.json (format version, counts, sha256 per file, exported_at in the tenant's zone) and a README.txt."""
