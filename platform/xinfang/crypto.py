"""Per-tenant encryption of petitioners' identities, and slow receipt hashing.

Envelope encryption: each tenant has a random 256-bit data key, stored only
wrapped (AES-GCM) by the platform key (XINFANG_ENCRYPTION_KEY). Identity
fields are sealed with the data key of the tenant that holds the petition,
bound to the petition id as associated data, so a ciphertext copied onto
another petition does not open. A petition that moves to another tenant is
re-sealed with that tenant's key.

Record keys (crypto-shredding, retention/): a petitioner's identity, and every copy of it sealed later (a
citizen notice's contact details), is sealed with a random key of its own per record (the petition), wrapped
by the tenant's key and kept in ``record_keys`` in the KEY DATABASE (settings.effective_key_database), apart
from the data. Destroying that one row makes the sealed bytes unreadable wherever they are, in the data's
backups too, provided the key database is not kept in the same long-term backups (README, "Data lifecycle").
Such a ciphertext reads ``~rk1:<record id>:<base64>``; older ones (plain base64, sealed with the tenant key)
still open, and ``retention.migrate`` re-seals them under record keys.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
from typing import ClassVar

from argon2.low_level import Type, hash_secret_raw
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from pymongo import ASCENDING, IndexModel
from pymongo.errors import DuplicateKeyError

from .store.documents import IdRef, PlatformDocument

# Receipt hashing: argon2id, deterministic per platform so a receipt can be looked up
# by its hash. About 20-40 ms per hash here: cheap for one citizen, ruinous for guessing.
RECEIPT_TIME_COST = 2
RECEIPT_MEMORY_KIB = 19 * 1024


class TenantKey(PlatformDocument):
    tenant_id: IdRef
    wrapped: str  # base64(nonce || AES-GCM(platform key, data key))

    class Settings:
        name = "tenant_keys"
        indexes = [IndexModel([("tenant_id", ASCENDING)], unique=True)]


class RecordKey(PlatformDocument):
    """One record's own data key, wrapped by the data key of the tenant that holds the record. Deleting the row
    (``KeyRing.destroy_record_keys``) is the crypto-shredding of everything sealed with it."""

    # Store.open binds this class to the key database, not the data's: the data's backups never hold it.
    lives_in_key_database: ClassVar[bool] = True

    record_id: str
    tenant_id: IdRef
    wrapped: str  # base64(nonce || AES-GCM(tenant data key, record key)), bound to (tenant, record)

    class Settings:
        name = "record_keys"
        indexes = [IndexModel([("record_id", ASCENDING), ("tenant_id", ASCENDING)], unique=True)]


RECORD_SEALED_PREFIX = "~rk1:"  # "~" is not in the base64 alphabet: older tenant-key ciphertexts never start with it


class RecordKeyGone(LookupError):
    """The record key was destroyed (end of retention): what it sealed can never be opened again."""


def record_of(sealed: str | None) -> str | None:
    """The record id a ciphertext is sealed under, or None (tenant key, or nothing sealed)."""
    if not sealed or not sealed.startswith(RECORD_SEALED_PREFIX):
        return None
    return sealed[len(RECORD_SEALED_PREFIX):].partition(":")[0]


def _derive(master: bytes, purpose: bytes) -> bytes:
    return HKDF(algorithm=SHA256(), length=32, salt=None, info=b"xinfang " + purpose).derive(master)


class KeyRing:
    def __init__(self, platform_key: bytes):
        self._wrapping = AESGCM(_derive(platform_key, b"tenant key wrapping"))
        self._receipt_salt = _derive(platform_key, b"receipt salt")[:16]
        self._identity_key = _derive(platform_key, b"identity number matching v1")
        self._petitioner_key = _derive(platform_key, b"petitioner matching v1")
        self._submission_key = _derive(platform_key, b"submission idempotency v1")
        self._account_secrets = AESGCM(_derive(platform_key, b"account secrets v1"))  # TOTP secrets (auth/totp.py)
        self._cache: dict[str, AESGCM] = {}

    async def _data_key(self, tenant_id: str) -> AESGCM:
        if tenant_id in self._cache:
            return self._cache[tenant_id]
        row = await TenantKey.find_one({"tenant_id": tenant_id})
        if row is None:
            nonce, key = os.urandom(12), AESGCM.generate_key(bit_length=256)
            row = TenantKey(tenant_id=tenant_id, wrapped=base64.b64encode(nonce + self._wrapping.encrypt(nonce, key, tenant_id.encode())).decode())
            try:
                await row.insert()
            except DuplicateKeyError:  # another process created it a moment ago: use theirs
                row = await TenantKey.find_one({"tenant_id": tenant_id})
        blob = base64.b64decode(row.wrapped)
        key = self._wrapping.decrypt(blob[:12], blob[12:], tenant_id.encode())
        self._cache[tenant_id] = AESGCM(key)
        return self._cache[tenant_id]

    async def seal(self, tenant_id: str, bound_to: str, data: dict) -> str:
        aead = await self._data_key(tenant_id)
        nonce = os.urandom(12)
        plaintext = json.dumps(data, ensure_ascii=False, sort_keys=True).encode()
        return base64.b64encode(nonce + aead.encrypt(nonce, plaintext, bound_to.encode())).decode()

    async def open(self, tenant_id: str, bound_to: str, sealed: str) -> dict:
        """Open what ``seal`` or ``seal_record`` sealed; RecordKeyGone when its record key was destroyed."""
        record_id = record_of(sealed)
        if record_id is not None:
            aead = await self._record_key(tenant_id, record_id, create=False)
            blob = base64.b64decode(sealed[len(RECORD_SEALED_PREFIX) + len(record_id) + 1:])
        else:
            aead = await self._data_key(tenant_id)
            blob = base64.b64decode(sealed)
        return json.loads(aead.decrypt(blob[:12], blob[12:], bound_to.encode()))

    async def seal_record(self, tenant_id: str, record_id: str, bound_to: str, data: dict) -> str:
        """Seal with the record's own key (made on first use), so destroying that key shreds this copy too."""
        aead = await self._record_key(tenant_id, record_id, create=True)
        nonce = os.urandom(12)
        plaintext = json.dumps(data, ensure_ascii=False, sort_keys=True).encode()
        return f"{RECORD_SEALED_PREFIX}{record_id}:" + base64.b64encode(nonce + aead.encrypt(nonce, plaintext, bound_to.encode())).decode()

    async def _record_key(self, tenant_id: str, record_id: str, *, create: bool) -> AESGCM:
        # Never cached: a key destroyed by the sweep must stop opening at once in every process.
        tenant_key = await self._data_key(tenant_id)
        bound = f"record:{tenant_id}:{record_id}".encode()
        row = await RecordKey.find_one({"record_id": record_id, "tenant_id": tenant_id})
        if row is None:
            if not create:
                raise RecordKeyGone(record_id)
            nonce, key = os.urandom(12), AESGCM.generate_key(bit_length=256)
            row = RecordKey(record_id=record_id, tenant_id=tenant_id,
                            wrapped=base64.b64encode(nonce + tenant_key.encrypt(nonce, key, bound)).decode())
            try:
                await row.insert()
            except DuplicateKeyError:  # sealed a moment ago by another process (a retried submission): use theirs
                row = await RecordKey.find_one({"record_id": record_id, "tenant_id": tenant_id})
        blob = base64.b64decode(row.wrapped)
        return AESGCM(tenant_key.decrypt(blob[:12], blob[12:], bound))

    async def destroy_record_keys(self, record_id: str) -> int:
        """Crypto-shredding: delete every key of this record (in each tenant it was held by). Idempotent."""
        result = await RecordKey.get_pymongo_collection().delete_many({"record_id": record_id})
        return result.deleted_count

    def seal_account_secret(self, bound_to: str, secret: str) -> str:
        """An account's own secret (its TOTP key), bound to the account: copied onto another it does not open."""
        nonce = os.urandom(12)
        return base64.b64encode(nonce + self._account_secrets.encrypt(nonce, secret.encode(), bound_to.encode())).decode()

    def open_account_secret(self, bound_to: str, sealed: str) -> str:
        blob = base64.b64decode(sealed)
        return self._account_secrets.decrypt(blob[:12], blob[12:], bound_to.encode()).decode()

    def identity_hash(self, normalized_number: str) -> str:
        """A keyed hash of an identity number: equal numbers give equal hashes on every tenant of this
        platform, and without the platform key nobody can test a guessed number against it."""
        return hmac.new(self._identity_key, normalized_number.encode(), hashlib.sha256).hexdigest()

    def petitioner_hash(self, normalized_identifier: str) -> str:
        """A keyed hash that recognises the same petitioner across petitions (repeat petitions) without
        keeping who they are; a separate key from officials', so the two can never be joined."""
        return hmac.new(self._petitioner_key, normalized_identifier.encode(), hashlib.sha256).hexdigest()

    def submission_digest(self, purpose: str, *parts: str) -> bytes:
        """A keyed digest of a submission's idempotency key (petitions.service): its own sub-key, so the
        ids, receipts and key hashes derived from a key cannot be computed or tested without the platform key."""
        message = "\x00".join((purpose, *parts)).encode()
        return hmac.new(self._submission_key, message, hashlib.sha256).digest()

    def receipt_hash(self, receipt: str) -> str:
        """Slow and deterministic: run it off the event loop (asyncio.to_thread)."""
        digest = hash_secret_raw(
            receipt.encode(), self._receipt_salt, time_cost=RECEIPT_TIME_COST,
            memory_cost=RECEIPT_MEMORY_KIB, parallelism=1, hash_len=32, type=Type.ID,
        )
        return digest.hex()
