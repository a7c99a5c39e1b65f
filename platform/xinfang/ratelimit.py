"""Fixed-window rate limits kept in the document store, so every web replica counts together."""

from __future__ import annotations

import hashlib
import time

from pymongo import ASCENDING, IndexModel, ReturnDocument

from .errors import DomainError
from .store.documents import PlatformDocument


class TooManyRequests(DomainError):
    status = 429
    code = "rate_limited"
    message = {"zh": "尝试次数过多，请稍后再试", "en": "too many attempts; try again later"}

    def __init__(self, retry_after: int):
        super().__init__()
        self.retry_after = retry_after


async def forget_expired(now: float | None = None) -> int:
    result = await RateCounter.get_pymongo_collection().delete_many({"expires_at": {"$lt": time.time() if now is None else now}})
    return result.deleted_count


class RateCounter(PlatformDocument):
    key: str
    n: int = 0
    expires_at: float = 0  # epoch seconds; numbers, because the embedded store mangles $set datetimes

    class Settings:
        name = "rate_counters"
        indexes = [IndexModel([("key", ASCENDING)], unique=True), IndexModel([("expires_at", ASCENDING)])]


def _key(bucket: str, window: int) -> str:
    """Buckets hold user input (a username): hashed, they are short and free of NULs and odd characters."""
    return hashlib.sha256(f"{bucket}@{window}".encode("utf-8", "surrogatepass")).hexdigest()


async def check(bucket: str, *, limit: int, window_seconds: int, now: float | None = None) -> None:
    """Raise TooManyRequests if ``bucket`` already used up ``limit`` in the current window; count nothing."""
    now = time.time() if now is None else now
    window = int(now // window_seconds)
    doc = await RateCounter.get_pymongo_collection().find_one({"key": _key(bucket, window)})
    if doc is not None and doc["n"] >= limit:
        raise TooManyRequests(retry_after=int((window + 1) * window_seconds - now) + 1)


async def hit(bucket: str, *, limit: int, window_seconds: int, now: float | None = None) -> None:
    """Count one attempt in ``bucket``; raise TooManyRequests past ``limit`` in the current window."""
    now = time.time() if now is None else now
    window = int(now // window_seconds)
    doc = await RateCounter.get_pymongo_collection().find_one_and_update(
        {"key": _key(bucket, window)},
        {"$inc": {"n": 1}, "$set": {"expires_at": (window + 1) * window_seconds}},
        upsert=True, return_document=ReturnDocument.AFTER,
    )
    if doc is not None and doc["n"] > limit:
        raise TooManyRequests(retry_after=int((window + 1) * window_seconds - now) + 1)
