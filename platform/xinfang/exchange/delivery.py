"""Sending one webhook delivery: signed, to a public address only, recorded attempt by attempt.

Signature: ``X-Xinfang-Signature: sha256=<hex>`` is HMAC-SHA256 with the endpoint's secret over
``<X-Xinfang-Timestamp>.<body>`` (the timestamp in epoch seconds); a receiver recomputes it, compares in constant
time and refuses old timestamps (replays). For a while after the secret was rotated the header carries two
signatures, the new secret's first: ``sha256=<new>, sha256=<old>``; a receiver accepts the delivery when any one
of them matches the secret it holds. Retries are rows in the store: a failed attempt sets
``next_attempt_at`` (the first wait ``XINFANG_WEBHOOK_RETRY_SECONDS``, then twice as long each time, 8 attempts),
and the beat's sweep sends what is due (tasks.py), never a Celery ETA.

Against SSRF the host's every address must be public unless ``XINFANG_WEBHOOK_ALLOW_PRIVATE_ADDRESSES`` is on,
and the request goes to the address that was checked (no second look-up between check and connect); redirects
are not followed. The answer's status is all that is read (never its body), within ATTEMPT_SECONDS for the whole attempt.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import ipaddress
import socket
import time
from urllib.parse import urlsplit, urlunsplit

import httpx2
from beanie.odm.utils.dump import get_dict
from beanie.odm.utils.parsing import parse_obj
from pymongo import ReturnDocument

from ..store.scoped import parse_object_id
from .models import Attempt, WebhookDelivery, WebhookEndpoint

MAX_ATTEMPTS = 8
LEASE_SECONDS = 60  # a claimed delivery is someone's for this long (a worker killed mid-send: tried again after)
TIMEOUT_SECONDS = 10  # each connect, write and read
ATTEMPT_SECONDS = 30  # a whole attempt, up to the answer's headers (its body is never read)
MAX_BACKOFF_SECONDS = 6 * 3600
USER_AGENT = "xinfang-webhooks/1"


class Refused(Exception):
    """The endpoint may not be called (a private address, say): recorded as the attempt's error."""


def signature(secret: str, timestamp: str, body: str) -> str:
    return "sha256=" + hmac.new(secret.encode(), f"{timestamp}.{body}".encode(), hashlib.sha256).hexdigest()


def signatures(secrets: list[str], timestamp: str, body: str) -> str:
    """The header's value: one signature per secret still valid (the current one first), comma-separated."""
    return ", ".join(signature(secret, timestamp, body) for secret in secrets)


def backoff(attempts: int, first_wait: float) -> float:
    """Seconds to wait after ``attempts`` failed attempts: first_wait, 2x, 4x ... (capped)."""
    return min(first_wait * (2 ** max(attempts - 1, 0)), MAX_BACKOFF_SECONDS)


# IPv6 prefixes that carry an IPv4 address in their last 32 bits and reach it: NAT64's well-known prefix, the
# IPv4-compatible and the SIIT-translated forms (``ipaddress`` calls the first two global whatever they embed).
EMBEDDING_IPV4 = tuple(ipaddress.ip_network(n) for n in ("64:ff9b::/96", "::/96", "::ffff:0:0:0/96"))


def is_public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """A global unicast address, and so is any IPv4 address it embeds (::ffff:10.0.0.1, 64:ff9b::a9fe:a9fe ...)."""
    if not address.is_global or address.is_multicast:
        return False
    if address.version == 6:
        inner = address.ipv4_mapped or next((ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
                                             for net in EMBEDDING_IPV4 if address in net), None)
        if inner is not None:
            return inner.is_global and not inner.is_multicast
    return True


async def public_address(host: str, port: int, allow_private: bool) -> str:
    """The address to connect to: the host's first, once every address it resolves to passed the check."""
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise Refused(f"主机名无法解析 / cannot resolve the host: {exc.strerror}") from None
    addresses = [ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos]
    if not addresses:
        raise Refused("主机名无法解析 / cannot resolve the host")
    if not allow_private and not all(is_public(a) for a in addresses):
        raise Refused("拒绝推送到内网、本机或保留地址 / refused: a private, loopback or reserved address")
    return str(addresses[0])


async def claim(delivery_id: str, now: float) -> WebhookDelivery | None:
    """Take a due delivery for LEASE_SECONDS (one sender at a time; the sweep finds it again after a crash)."""
    oid = parse_object_id(delivery_id)
    if oid is None:
        return None
    raw = await WebhookDelivery.get_pymongo_collection().find_one_and_update(
        {"_id": oid, "status": "pending", "next_attempt_at": {"$lte": now}},
        {"$set": {"next_attempt_at": now + LEASE_SECONDS}}, return_document=ReturnDocument.AFTER)
    return parse_obj(WebhookDelivery, raw) if raw else None


async def send(delivery: WebhookDelivery, endpoint: WebhookEndpoint, secret: str, *, allow_private: bool,
               previous_secret: str | None = None) -> Attempt:
    """One POST of the delivery's body; what happened, as an attempt (never raises for the endpoint's faults).
    ``previous_secret``: the secret before a rotation, still in its grace period (signs second)."""
    started = time.monotonic()
    timestamp = str(int(time.time()))
    headers = {"Content-Type": "application/json; charset=utf-8", "User-Agent": USER_AGENT,
               "X-Xinfang-Event": delivery.event, "X-Xinfang-Delivery": str(delivery.id),
               "X-Xinfang-Timestamp": timestamp,
               "X-Xinfang-Signature": signatures([secret] + ([previous_secret] if previous_secret else []), timestamp, delivery.body)}
    try:
        parts = urlsplit(endpoint.url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        address = await public_address(parts.hostname or "", port, allow_private)
        netloc = f"[{address}]:{port}" if ":" in address else f"{address}:{port}"
        target = urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, ""))
        headers["Host"] = parts.netloc.rpartition("@")[2]
        extensions = {"sni_hostname": parts.hostname} if parts.scheme == "https" else {}
        # The status is the answer: the body is not read (a receiver trickling or sending a huge one cannot hold
        # the worker), and the whole attempt has a deadline (nor can one trickling its headers).
        async with asyncio.timeout(ATTEMPT_SECONDS), \
                httpx2.AsyncClient(timeout=TIMEOUT_SECONDS, follow_redirects=False, trust_env=False) as client, \
                client.stream("POST", target, content=delivery.body.encode(), headers=headers, extensions=extensions) as response:
            status = response.status_code
        error = None if 200 <= status < 300 else f"HTTP {status}"
        return Attempt(at=time.time(), status_code=status, error=error, duration_ms=int((time.monotonic() - started) * 1000))
    except TimeoutError:
        return Attempt(at=time.time(), error=f"对方在 {ATTEMPT_SECONDS} 秒内没有应答 / no answer within {ATTEMPT_SECONDS} s",
                       duration_ms=int((time.monotonic() - started) * 1000))
    except Refused as refused:
        return Attempt(at=time.time(), error=str(refused)[:300], duration_ms=int((time.monotonic() - started) * 1000))
    except (httpx2.HTTPError, OSError, ValueError) as exc:
        return Attempt(at=time.time(), error=f"{type(exc).__name__}: {exc}"[:300], duration_ms=int((time.monotonic() - started) * 1000))


async def record(delivery: WebhookDelivery, attempt: Attempt, first_wait: float, *, final: bool = False) -> WebhookDelivery:
    """The attempt appended; delivered, due again after the back-off, or failed for good after MAX_ATTEMPTS
    (or at once when ``final``: the endpoint is gone).

    The whole row is replaced, guarded by the claim (``next_attempt_at`` as claimed): the embedded store keeps a
    ``$push``ed document as a string, and only the sender holding the claim writes."""
    claimed_until = delivery.next_attempt_at
    delivery.attempts = [*delivery.attempts, attempt]
    if attempt.error is None:
        delivery.status, delivery.delivered_at, delivery.finished_at = "delivered", attempt.at, attempt.at
    elif len(delivery.attempts) >= MAX_ATTEMPTS or final:
        delivery.status, delivery.finished_at = "failed", attempt.at
    else:
        delivery.next_attempt_at = attempt.at + backoff(len(delivery.attempts), first_wait)
    await WebhookDelivery.get_pymongo_collection().replace_one(
        {"_id": delivery.id, "status": "pending", "next_attempt_at": claimed_until}, get_dict(delivery, to_db=True))
    return delivery
