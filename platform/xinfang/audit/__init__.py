"""The audit log: append-only, keyed hash-chained records with gapless numbers, anchored outside the store.

``service.do_append_audit`` writes (the only writer) and anchors each record,
``keys`` derives the chain and anchor keys (never stored with the records),
``context`` holds them for this process (``configure_audit(settings)`` at start),
``anchors`` reads and writes the signed anchors files, ``verify`` checks,
``sweep`` anchors a head no append anchored, ``xinfang audit verify`` reports.
"""
