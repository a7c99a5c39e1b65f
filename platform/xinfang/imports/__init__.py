"""Bulk import of legacy petition registers and message-board exports (XLSX, CSV): a column mapping saved per
named source, a dry run that lists each row's errors, and a real run that imports the valid rows exactly once."""
