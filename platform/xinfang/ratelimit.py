"""Fixed-window rate limits kept in the document store, so every web replica counts together."""

from __future__ import annotations

import dataclasses
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


@dataclasses.dataclass(frozen=True)
class Taken:
    """One attempt counted in one bucket's window: what ``give_back`` needs to return exactly that one."""

    key: str
    count: int


async def hit(bucket: str, *, limit: int, window_seconds: int, now: float | None = None) -> Taken:
    """Count one attempt in ``bucket``, atomically, and raise TooManyRequests past ``limit`` in the current window.

    Count first, decide after: the one ``$inc`` both reserves the attempt and says how many came before it,
    so any number of concurrent attempts (on any number of replicas) get distinct counts and no more than
    ``limit`` of them get through. An attempt refused here still counts: hammering does not reopen the window.
    """
    now = time.time() if now is None else now
    window = int(now // window_seconds)
    key = _key(bucket, window)
    doc = await RateCounter.get_pymongo_collection().find_one_and_update(
        {"key": key},
        {"$inc": {"n": 1}, "$set": {"expires_at": (window + 1) * window_seconds}},
        upsert=True, return_document=ReturnDocument.AFTER,
    )
    count = doc["n"] if doc is not None else 1
    if count > limit:
        raise TooManyRequests(retry_after=int((window + 1) * window_seconds - now) + 1)
    return Taken(key, count)


async def give_back(taken: Taken) -> None:
    """Return an attempt that turned out well (a right password), to the same window it was taken from."""
    await RateCounter.get_pymongo_collection().update_one({"key": taken.key, "n": {"$gt": 0}}, {"$inc": {"n": -1}})
