"""Argon2id password hashing; unknown users cost the same time as known ones."""

from __future__ import annotations

import asyncio

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()
# Verified when the account does not exist, so timing does not tell who exists.
_DUMMY_HASH = _hasher.hash("xinfang-no-such-account")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def _verify(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


async def verify_password(password_hash: str | None, password: str) -> bool:
    """Verify off the event loop: argon2 takes tens of milliseconds on purpose."""
    return await asyncio.to_thread(_verify, password_hash, password)
