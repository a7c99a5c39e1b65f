"""The audit log's keys: kept outside the store, so whoever can write the store cannot re-hash the chain.

Both keys are derived with HKDF-SHA256 from the platform key (``XINFANG_ENCRYPTION_KEY``,
or the ``DATA_DIR/encryption.key`` it generates once), each under its own ``info``
label, so the one secret never serves two purposes and neither key reveals the other
or the platform key:

- ``chain``: the HMAC-SHA256 key of every record hash (records of format
  ``hmac-sha256/v2``);
- ``anchors``: the HMAC-SHA256 key that signs each anchor line.

Every web replica and worker already shares the platform key, so they share these
keys without another setting. Changing the platform key therefore also makes the
keyed records unverifiable: it is "never rotate casually" for this reason too.
"""

from __future__ import annotations

from dataclasses import dataclass

from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from ..secrets_file import resolve_encryption_key
from ..settings import Settings

CHAIN_KEY_LABEL = b"xinfang audit chain v2"
ANCHOR_KEY_LABEL = b"xinfang audit anchors v2"


def _derive(master: bytes, label: bytes) -> bytes:
    return HKDF(algorithm=SHA256(), length=32, salt=None, info=label).derive(master)


@dataclass(frozen=True, repr=False)  # no repr: a key must not end up in a log line or a traceback
class AuditKeys:
    chain: bytes
    anchors: bytes

    @classmethod
    def from_platform_key(cls, platform_key: bytes) -> "AuditKeys":
        return cls(chain=_derive(platform_key, CHAIN_KEY_LABEL), anchors=_derive(platform_key, ANCHOR_KEY_LABEL))

    @classmethod
    def from_settings(cls, settings: Settings) -> "AuditKeys":
        return cls.from_platform_key(resolve_encryption_key(settings))

    def __repr__(self) -> str:
        return "AuditKeys(<hidden>)"
