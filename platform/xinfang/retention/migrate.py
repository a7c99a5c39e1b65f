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
    done = 0
    petitions = Petition.get_pymongo_collection()
    rows = await petitions.find({"identity_sealed": TENANT_KEY_SEALED, "identity_destroyed_on": {"$in": [None]}},
                                projection={"tenant_id": 1, "identity_sealed": 1}).limit(limit).to_list(None)
    for raw in rows:
        pid = str(raw["_id"])
        try:
            identity = await keyring.open(raw["tenant_id"], pid, raw["identity_sealed"])
        except InvalidTag:
            log.warning("petition %s: its identity does not open with its tenant's key; left as it is", pid)
            continue
        sealed = await keyring.seal_record(raw["tenant_id"], pid, pid, identity)
        result = await petitions.update_one({"_id": raw["_id"], "identity_sealed": raw["identity_sealed"]}, {"$set": {"identity_sealed": sealed}})
        done += result.modified_count
    notices = CitizenNotice.get_pymongo_collection()
    rows = await notices.find({"contact_sealed": TENANT_KEY_SEALED}, projection={"tenant_id": 1, "petition_id": 1, "contact_sealed": 1}
                              ).limit(max(0, limit - len(rows))).to_list(None)
    for raw in rows:
        notice_id = str(raw["_id"])
        try:
            contact = await keyring.open(raw["tenant_id"], notice_id, raw["contact_sealed"])
        except InvalidTag:
            log.warning("citizen notice %s: its contact does not open with its tenant's key; left as it is", notice_id)
            continue
        sealed = await keyring.seal_record(raw["tenant_id"], raw["petition_id"], notice_id, contact)
        result = await notices.update_one({"_id": raw["_id"], "contact_sealed": raw["contact_sealed"]}, {"$set": {"contact_sealed": sealed}})
        done += result.modified_count
    return done
