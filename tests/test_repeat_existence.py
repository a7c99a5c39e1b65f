"""The system-wide repeat check at registration (全系统判重，登记时提示), issue 15: staff registering a case at one body
learn whether an unrelated body (outside its line) already holds a petition on the same matter, as a count and
nothing else: never the other petition's id, number, title, text or the other body's name. Bodies in the line are
not "other bodies" (their repeats are the indexer's own check). Each check is audited and rate-limited."""

from __future__ import annotations

import uuid

from tests.conftest import eventually, login_token
from tests.test_search import file, person

ISOLATION_CASES = {
    "search.repeat_existence": dict(method="POST", path="/api/repeat-existence", kind="collection",
                                    body={"content": "隔离测试：村里的路灯坏了三个月没人修，晚上出行很不安全。"}),
}

# A matter nobody else's test writes: 鸭嘴湾 fish ponds poisoned by a pig farm's sewage.
TITLE = "鸭嘴湾养猪场污水直排"
TEXT = "鸭嘴湾村东头的宏发养猪场每天夜里把猪粪污水直接排进鸭嘴湾水库，水库的鱼大面积死亡，全村饮用水井发臭，多次向镇里反映无人处理。"


async def check(client, slug, headers, content, title=""):
    return await client.post(f"/t/{slug}/api/repeat-existence", headers=headers, json={"title": title, "content": content})


async def test_another_body_learns_only_that_a_similar_petition_exists(client, tenants, settings, monkeypatch):
    from xinfang.audit.models import AuditRecord
    from xinfang.petitions.models import Petition
    from xinfang.store.scoped import TenantScope
    from xinfang.tenancy.models import Tenant
    from xinfang_search import repeat_existence
    from xinfang_search.side_stores import stores

    # 巴州 (tenant B) receives the petition; 泗阳 (tenant A) is no part of 巴州's line.
    pid = await file(client, tenants.B, title=TITLE, content=TEXT, identity=person())
    async def fingerprinted():
        return stores(settings.data_dir).fingerprints.contains(pid)

    # The worker is shared with the rest of the suite (a bulk import may have queued a few hundred events).
    await eventually(fingerprinted, timeout=180, message="巴州's petition fingerprinted")
    bazhou = await Tenant.find_one({"slug": tenants.B})
    number = (await TenantScope(bazhou.id).repo(Petition).get(pid)).number

    registrar = await login_token(client, tenants.A, "registrar")
    before = await AuditRecord.find({"action": "repeats.existence_check"}).count()
    found = await check(client, tenants.A, registrar, "村民反映：" + TEXT, title="养猪场污水排进水库")
    assert found.status_code == 200, await found.get_data(as_text=True)
    answer = await found.get_json()
    assert answer["other_bodies_petitions"] == 1 and answer["message"]["zh"].startswith("其他单位已有相似信访 1 件")
    raw = await found.get_data(as_text=True)
    for secret in (pid, number, TITLE, "宏发", tenants.B, str(bazhou.id), bazhou.name.zh, bazhou.name.en):
        assert secret not in raw, secret  # a count, nothing that points into 巴州's petition or names 巴州
    assert set(answer) == {"other_bodies_petitions", "message"}

    # Every check is in the audit chain: who asked, how many were found, never the text itself.
    records = await AuditRecord.find({"action": "repeats.existence_check"}).sort("-seq").to_list()
    assert len(records) == before + 1 and records[0].result_count == 1 and records[0].actor_username == "registrar"
    assert "鸭嘴湾" not in str(records[0].model_dump())

    # Another matter: nothing elsewhere. 库尔勒 is in 巴州's line: 巴州's petition is not "another body's" there.
    other = await check(client, tenants.A, registrar, "学校食堂的饭菜价格比去年涨了一倍，分量却少了，学生吃不饱，家长意见很大。")
    assert (await other.get_json())["other_bodies_petitions"] == 0 and (await other.get_json())["message"]["zh"] == "其他单位暂无相似信访"
    korla = await check(client, tenants.CHILD_OF_B, await login_token(client, tenants.CHILD_OF_B, "handler"), TEXT)
    assert (await korla.get_json())["other_bodies_petitions"] == 0

    # Too little text to name a matter is refused (it would only probe); registering needs the register permission.
    short = await check(client, tenants.A, registrar, "养猪场")
    assert short.status_code == 422 and "content" in (await short.get_json())["error"]["fields"]
    auditor = await login_token(client, tenants.A, "auditor")
    assert (await check(client, tenants.A, auditor, TEXT)).status_code == 403

    # Rate-limited per person: a crawl of other bodies' matters stops at the limit, with a Retry-After.
    monkeypatch.setattr(repeat_existence, "CHECKS_PER_MINUTE", 3)
    leader = await login_token(client, tenants.A, "leader")
    statuses = [(await check(client, tenants.A, leader, TEXT + uuid.uuid4().hex[:4])) for _ in range(7)]
    limited = [r for r in statuses if r.status_code == 429]
    assert limited and limited[0].headers["Retry-After"]

    # The registration page offers the check next to the form (a count shown in words, by static/repeat-existence.js).
    page = await (await client.get(f"/t/{tenants.A}/staff/register", headers=registrar)).get_data(as_text=True)
    assert 'id="repeat-existence"' in page and "repeat-existence.js" in page and "全系统判重" in page
