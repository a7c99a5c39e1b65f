"""Village supervisors (信访监督员): relays of villagers' petitions, follow-ups, and the network's statistics."""
