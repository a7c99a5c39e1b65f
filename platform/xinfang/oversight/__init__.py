"""督办: a higher body supervises a lower body's handling of a case or a card (see service.py)."""
