"""Login and receipt limits hold under concurrency and against rotating source addresses.

The server is a real ``xinfang serve`` behind one (pretend) trusted proxy: XINFANG_TRUSTED_PROXY_HOPS=1,
so each request names its client address in X-Forwarded-For, as a botnet behind a real proxy would.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import uuid

import httpx
import pytest

from xinfang.auth.service import (FAILED_LOGINS_PER_ACCOUNT, FAILED_LOGINS_PER_ACCOUNT_AND_ADDRESS, FAILED_LOGINS_PER_ADDRESS,
                                  LOGIN_WINDOW_SECONDS)
from xinfang.petitions.http import RECEIPT_ATTEMPTS_PER_PREFIX, RECEIPT_ATTEMPTS_PER_WINDOW, RECEIPT_WINDOW_SECONDS
from tests.conftest import in_one_window, serve_in_background
from tests.staffing import operator_account

PASSWORD = "long-enough-pw"


@pytest.fixture(autouse=True)
async def one_window():
    """Each test's bursts counted in one window of the login and receipt limits (a burst across a boundary starts
    counting again)."""
    await in_one_window(max(LOGIN_WINDOW_SECONDS, RECEIPT_WINDOW_SECONDS), needs=30)
_addresses = itertools.count(1)


def fresh_address() -> str:
    n = next(_addresses)
    return f"10.{77 + n // 65536}.{n // 256 % 256}.{n % 256}"


@pytest.fixture(scope="module")
def proxied_server(settings, app, worker, tmp_path_factory):
    yield from serve_in_background(settings, tmp_path_factory.mktemp("proxied"), XINFANG_TRUSTED_PROXY_HOPS="1")


async def new_account(slug: str) -> str:
    username = f"limit-{uuid.uuid4().hex[:8]}"
    await operator_account(slug, username, ["registrar"], PASSWORD)
    return username


async def burst(base: str, slug: str, username: str, attempts: list[tuple[str, str]]) -> list[tuple[str, int]]:
    """Send every (password, address) login at once; returns (password, status) pairs."""
    async with httpx.AsyncClient(base_url=base, timeout=120, limits=httpx.Limits(max_connections=len(attempts))) as api:
        async def one(password: str, address: str):
            response = await api.post(f"/t/{slug}/api/tokens", json={"username": username, "password": password},
                                      headers={"X-Forwarded-For": address})
            return password, response.status_code

        return await asyncio.gather(*(one(p, a) for p, a in attempts))


def tally(results) -> dict[int, int]:
    counts: dict[int, int] = {}
    for _, status in results:
        counts[status] = counts.get(status, 0) + 1
    return counts


def guesses(right_at: int, total: int = 60) -> list[str]:
    return [PASSWORD if i == right_at else f"wrong-guess-{i:03d}" for i in range(total)]


async def test_sixty_concurrent_guesses_from_one_address_get_no_more_than_the_limit_checked(proxied_server, tenants):
    username, address = await new_account(tenants.A), fresh_address()
    passwords = guesses(random.randrange(60))
    results = await burst(proxied_server, tenants.A, username, [(p, address) for p in passwords])
    counts = tally(results)
    checked = counts.get(200, 0) + counts.get(401, 0)
    assert checked <= FAILED_LOGINS_PER_ACCOUNT_AND_ADDRESS, counts  # the rest never reached the password check
    assert counts.get(429, 0) == 60 - checked and set(counts) <= {200, 401, 429}, counts
    # The limit is counted: the right password, now, from the same address, is not even checked.
    after = await burst(proxied_server, tenants.A, username, [(PASSWORD, address)])
    assert after[0][1] == 429


async def test_once_the_limit_is_counted_the_right_guess_in_a_burst_is_refused(proxied_server, tenants):
    username, address = await new_account(tenants.A), fresh_address()
    first = await burst(proxied_server, tenants.A, username, [(f"wrong-{i}", address) for i in range(FAILED_LOGINS_PER_ACCOUNT_AND_ADDRESS)])
    assert tally(first) == {401: FAILED_LOGINS_PER_ACCOUNT_AND_ADDRESS}
    results = await burst(proxied_server, tenants.A, username, [(p, address) for p in guesses(random.randrange(60))])
    assert tally(results) == {429: 60}, tally(results)  # the right one among them got no success


async def test_rotating_addresses_run_into_the_per_account_limit(proxied_server, tenants):
    username = await new_account(tenants.A)
    passwords = guesses(random.randrange(60))
    results = await burst(proxied_server, tenants.A, username, [(p, fresh_address()) for p in passwords])
    counts = tally(results)
    assert counts.get(200, 0) + counts.get(401, 0) <= FAILED_LOGINS_PER_ACCOUNT, counts
    # Every address is new, yet the account is closed to guessing for the window, right password included.
    assert (await burst(proxied_server, tenants.A, username, [(PASSWORD, fresh_address())]))[0][1] == 429
    # One guesser does not lock the owner out before the account limit: another account is untouched.
    other = await new_account(tenants.A)
    assert (await burst(proxied_server, tenants.A, other, [(PASSWORD, fresh_address())]))[0][1] == 200


async def test_one_address_spraying_many_accounts_runs_into_the_per_address_limit(proxied_server, tenants):
    address = fresh_address()
    usernames = [f"spray-{uuid.uuid4().hex[:8]}" for _ in range(FAILED_LOGINS_PER_ADDRESS + 10)]  # accounts that need not exist
    async with httpx.AsyncClient(base_url=proxied_server, timeout=120) as api:
        statuses = await asyncio.gather(*(
            api.post(f"/t/{tenants.A}/api/tokens", json={"username": u, "password": "spray-password-1"}, headers={"X-Forwarded-For": address})
            for u in usernames))
    counts = tally([(None, r.status_code) for r in statuses])
    assert counts.get(401, 0) <= FAILED_LOGINS_PER_ADDRESS and counts.get(429, 0) >= 10, counts
    real = await new_account(tenants.A)
    assert (await burst(proxied_server, tenants.A, real, [(PASSWORD, address)]))[0][1] == 429
    assert (await burst(proxied_server, tenants.A, real, [(PASSWORD, fresh_address())]))[0][1] == 200


async def test_a_right_password_gives_its_attempt_back(proxied_server, tenants):
    username, address = await new_account(tenants.A), fresh_address()
    for _ in range(FAILED_LOGINS_PER_ACCOUNT_AND_ADDRESS + 5):  # far more logins than failures allowed, all good
        assert (await burst(proxied_server, tenants.A, username, [(PASSWORD, address)]))[0][1] == 200


async def test_rotating_addresses_do_not_beat_the_receipt_limit(proxied_server, tenants):
    """Guesses at the last digits of one receipt, each from a new address, are counted together."""
    known = f"{random.randrange(10**12):012d}"
    tries = RECEIPT_ATTEMPTS_PER_PREFIX + 10
    async with httpx.AsyncClient(base_url=proxied_server, timeout=120) as api:
        responses = await asyncio.gather(*(
            api.post(f"/t/{tenants.A}/api/receipts/lookup", json={"receipt": f"{known}{i:04d}"}, headers={"X-Forwarded-For": fresh_address()})
            for i in range(tries)))
        counts = tally([(None, r.status_code) for r in responses])
        assert counts == {404: RECEIPT_ATTEMPTS_PER_PREFIX, 429: 10}, counts
        # The per-address limit still holds on its own, for receipts that share nothing.
        address = fresh_address()
        alone = [await api.post(f"/t/{tenants.A}/api/receipts/lookup", json={"receipt": f"{random.randrange(10**16):016d}"},
                                headers={"X-Forwarded-For": address}) for _ in range(RECEIPT_ATTEMPTS_PER_WINDOW + 1)]
        assert [r.status_code for r in alone] == [404] * RECEIPT_ATTEMPTS_PER_WINDOW + [429]
