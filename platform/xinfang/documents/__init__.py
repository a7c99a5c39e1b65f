"""Official documents (公文): outgoing (发文) and incoming (收文)."""
