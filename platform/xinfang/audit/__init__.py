"""The audit log: append-only, hash-chained records with gapless numbers, anchored outside the store.

``service.do_append_audit`` writes (the only writer), ``verify.verify_audit_log`` checks,
``anchors`` keeps the head outside the collection, ``xinfang audit verify`` reports.
"""
