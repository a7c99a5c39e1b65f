"""Re-seal identities (and notice contacts) still sealed with the tenant key under their petition's record key.

Idempotent and bounded: each write is guarded by the ciphertext it replaces, so a second run, or two at once, change
each one once; what is done drops out of the question. Run by the sweep a little at a time, or whole by
``xinfang retention reseal``. Backups taken before hold the old ciphertext, which the tenant key still opens: they
are not shredded until they age out (README, Data lifecycle).
"""

from __future__ import annotations

import logging

from cryptography.exceptions import InvalidTag

from ..crypto import KeyRing
from ..notifications.models import CitizenNotice
from ..petitions.models import Petition

log = logging.getLogger(__name__)

# A tenant-key ciphertext is plain base64; a record-key one starts with "~" (crypto.RECORD_SEALED_PREFIX).
TENANT_KEY_SEALED = {"$regex": "^[A-Za-z0-9+/]"}


async def reseal_legacy(keyring: KeyRing, limit: int = 200) -> int:
    """Re-seal up to ``limit`` petitions' identities and notices' contacts; the number re-sealed."""
    petitions = await Petition.get_pymongo_collection().find(
        {"identity_sealed": TENANT_KEY_SEALED, "identity_destroyed_on": {"$in": [None]}},
        projection={"tenant_id": 1, "identity_sealed": 1}).limit(limit).to_list(None)
    done = await _reseal(keyring, Petition.get_pymongo_collection(), petitions, "identity_sealed", "petition",
                         petition_of=lambda raw: str(raw["_id"]))
    notices = await CitizenNotice.get_pymongo_collection().find(
        {"contact_sealed": TENANT_KEY_SEALED}, projection={"tenant_id": 1, "petition_id": 1, "contact_sealed": 1}
    ).limit(max(0, limit - len(petitions))).to_list(None)
    return done + await _reseal(keyring, CitizenNotice.get_pymongo_collection(), notices, "contact_sealed", "citizen notice",
                                petition_of=lambda raw: raw["petition_id"])


async def _reseal(keyring: KeyRing, collection, rows: list[dict], field: str, what: str, petition_of) -> int:
    """Each row's ``field`` opened with its tenant's key and sealed again with its petition's record key; a write is
    guarded by the ciphertext it replaces (a second run, or one racing this, changes nothing)."""
    done = 0
    for raw in rows:
        row_id = str(raw["_id"])
        try:
            opened = await keyring.open(raw["tenant_id"], row_id, raw[field])
        except InvalidTag:
            log.warning("%s %s: its sealed field does not open with its tenant's key; left as it is", what, row_id)
            continue
        sealed = await keyring.seal_record(raw["tenant_id"], petition_of(raw), row_id, opened)
        result = await collection.update_one({"_id": raw["_id"], field: raw[field]}, {"$set": {field: sealed}})
        done += result.modified_count
    return done
