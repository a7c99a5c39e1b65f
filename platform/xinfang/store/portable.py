"""Filters written so that the embedded store answers them as MongoDB does.

The embedded store (nx-27017) mistranslates a top-level ``$or`` beside other conditions when a date is
compared anywhere in the filter: ``{"tenant_id": A, "username": "u", "$or": [{"locked_until": None},
{"locked_until": {"$lt": now}}]}`` matched another user of the tenant, and a ``created_at`` bound beside an
``$or`` returned other tenants' rows. The same ``$or`` inside ``$and`` is answered right there, and means the same
on MongoDB. ``tests/test_store_contract.py`` holds both facts.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def portable_filter(query: Mapping[str, Any]) -> dict[str, Any]:
    """The same filter with a top-level ``$or`` moved into ``$and`` (other conditions stay where they are)."""
    query = dict(query)
    alternatives = query.pop("$or", None)
    if alternatives is None:
        return query
    query["$and"] = [*query.get("$and", []), {"$or": alternatives}]
    return query
