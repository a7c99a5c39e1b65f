"""xinfang: a multi-tenant, low-code petition supervision (信访监督) platform."""
