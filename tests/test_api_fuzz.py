import time, asyncio
from tests.conftest import login_token

async def test_probe_speed(client, tenants, app):
    h = await login_token(client, tenants.A, "admin")
    for path, kw in [("/t/siyang-edu/api/tenant", {}), ("/t/siyang-edu/api/accounts", {"headers": h}), ("/openapi.json", {}), ("/t/siyang-edu/", {}), ("/t/siyang-edu/api/petitions/submit", {"method": "POST", "json": {"form": 1}})]:
        t = time.perf_counter()
        for _ in range(50):
            r = await client.open(path, **kw)
        print(path, r.status_code, (time.perf_counter() - t) / 50 * 1000, "ms")
        t = time.perf_counter()
        rs = await asyncio.gather(*[client.open(path, **kw) for _ in range(50)])
        print(" concurrent", (time.perf_counter() - t) / 50 * 1000, "ms")
