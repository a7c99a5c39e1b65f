"""An archived case is closed for good (issue 17): after archiving, the case's page says 已归档 with its 归档号 and a
link to the record for those who may read records (not for those who may not); any further change to the case (a
workflow step, a citizen's supplement) or to an archived card is refused with a 409 in words, zh and en."""

from __future__ import annotations

from bson import ObjectId

from xinfang.cards import service as cards
from xinfang.cards.models import Supervision
from xinfang.errors import Conflict
from xinfang.petitions import service as petitions
from xinfang.petitions.models import Petition
from xinfang.store.scoped import TenantScope
from xinfang.tenancy.context import TenantContext
from xinfang.tenancy.models import Tenant
from tests.conftest import login_token
from tests.test_records import _close, _filed
from tests.test_supervision import staff


async def test_an_archived_case_and_card_refuse_further_changes_and_show_their_archive_number(client, tenants):
    a = tenants.A
    leader, deputy, handler = [await login_token(client, a, u) for u in ("leader", "deputy", "handler")]
    rows = (await (await client.get(f"/t/{a}/api/accounts", headers=leader)).get_json())["accounts"]
    accounts, names = {r["username"]: r["id"] for r in rows}, {r["username"]: r["display_name"] for r in rows}
    pid = await _filed(client, a, leader, f"归档后不再更改 {ObjectId()}")
    await _close(pid, accounts["handler"], names["handler"])
    tenant = await Tenant.find_one({"slug": a})
    ctx = TenantContext.of(tenant)

    # Closed but not archived: the workflow still answers for itself (its own words, not the archive's).
    before = await client.post(f"/t/{a}/api/petitions/{pid}/transitions/close", headers=leader, json={"fields": {}})
    assert "已归档" not in await before.get_data(as_text=True)

    archived = await client.post(f"/t/{a}/api/petitions/{pid}/archive-record", headers=deputy)
    assert archived.status_code == 201, await archived.get_data(as_text=True)
    number = (await archived.get_json())["number"]
    # The case took its workflow's own 归档 step (the default workflow's closed -> archived), by the archiver.
    moved = await ctx.scope.repo(Petition).get(pid)
    assert moved.state == "archived" and moved.steps[-1].action == "archive" and moved.steps[-1].actor == accounts["deputy"]

    # A workflow step on the archived case: 409 with the number and what to do instead, in both languages.
    for lang in ("zh", "en"):
        refused = await client.post(f"/t/{a}/api/petitions/{pid}/transitions/close?lang={lang}", headers=leader, json={"fields": {}})
        assert refused.status_code == 409, await refused.get_data(as_text=True)
        message = (await refused.get_json())["error"]["message"]
        assert number in message["zh"] and "已归档" in message["zh"] and "新的信访件" in message["zh"]
        assert "archived" in message["en"] and number in message["en"]
    # A citizen's supplement (补充材料) is refused the same way, and nothing is written.
    petition = await ctx.scope.repo(Petition).get(pid)
    steps = len(petition.steps)
    try:
        await petitions.do_add_supplement(ctx, petition, text="归档后的补充")
        raise AssertionError("a supplement to an archived case was accepted")
    except Conflict as refused:
        assert number in refused.message["zh"]
    assert len((await ctx.scope.repo(Petition).get(pid)).steps) == steps

    # The case's page: 已归档 with the number; the link to the record for a reader of records only.
    page = await (await client.get(f"/t/{a}/staff/petitions/{pid}?lang=zh", headers=deputy)).get_data(as_text=True)
    panel = page[page.index('id="archive-record"'):].split("</section>")[0]
    assert "已归档" in panel and number in panel and f"/t/{a}/staff/records/" in panel and "不能再更改" in panel
    page = await (await client.get(f"/t/{a}/staff/petitions/{pid}?lang=zh", headers=handler)).get_data(as_text=True)
    if 'id="archive-record"' in page:
        panel = page[page.index('id="archive-record"'):].split("</section>")[0]
        assert number in panel and f"/t/{a}/staff/records/" not in panel
    # Lists filter it: the inbox by the state 已归档, the archive's own list by kind (信访件 / 监督卡).
    inbox = await (await client.get(f"/t/{a}/api/petitions", headers=leader, query_string={"state": "archived", "page_size": "100"})).get_json()
    assert pid in [row["id"] for row in inbox["items"]], inbox
    assert all(row["state"] == "archived" for row in inbox["items"])
    listed = await (await client.get(f"/t/{a}/api/records", headers=leader, query_string={"kind": "petition", "q": number})).get_json()
    assert [r["number"] for r in listed["items"]] == [number]

    # A card archived: its next change (a talk recorded) is refused with the same words; the card stays as it was.
    scope = TenantScope(str(tenant.id))
    card = await client.post(f"/t/{a}/api/supervisions", headers=handler, json={
        "kind": "action", "type_key": "supervision_notice", "subject": {"kind": "person", "name": f"归档卡 {ObjectId()}", "unit": "某中学"}})
    assert card.status_code == 201, await card.get_data(as_text=True)
    sid = (await card.get_json())["id"]
    await Supervision.get_pymongo_collection().update_one({"_id": ObjectId(sid)}, {"$set": {"state": "closed", "outcome": "说明清楚，予以了结"}})
    # Closed, not yet archived: its page offers 归档并编归档号 to whoever may archive (a leader), not to a handler.
    page = await (await client.get(f"/t/{a}/staff/supervisions/{sid}?lang=zh", headers=leader)).get_data(as_text=True)
    panel = page[page.index('id="archive-record"'):].split("</section>")[0]
    assert f'action="/t/{a}/staff/supervisions/{sid}/archive-record"' in panel and "归档并编归档号" in panel and "办结" in panel
    page = await (await client.get(f"/t/{a}/staff/supervisions/{sid}?lang=zh", headers=handler)).get_data(as_text=True)
    assert "归档并编归档号" not in page
    card_record = await client.post(f"/t/{a}/api/supervisions/{sid}/archive-record", headers=leader)
    assert card_record.status_code == 201, await card_record.get_data(as_text=True)
    card_number = (await card_record.get_json())["number"]
    sup = await cards.access_supervision(scope, sid)
    revision = sup.revision
    try:
        await cards.do_record_talk(scope, sup, await staff(scope, "handler"), "归档后的谈话记录")
        raise AssertionError("a change to an archived card was accepted")
    except Conflict as refused:
        assert card_number in refused.message["zh"] and "archived" in refused.message["en"]
    assert (await cards.access_supervision(scope, sid)).revision == revision
    # The card's page: 已归档 with its number, the record's link for a reader of records, and no step offered.
    page = await (await client.get(f"/t/{a}/staff/supervisions/{sid}?lang=zh", headers=leader)).get_data(as_text=True)
    panel = page[page.index('id="archive-record"'):].split("</section>")[0]
    assert "已归档" in panel and card_number in panel and f"/t/{a}/staff/records/" in panel
    assert f"/staff/supervisions/{sid}/steps/" not in page
    page = await (await client.get(f"/t/{a}/staff/supervisions/{sid}?lang=zh", headers=handler)).get_data(as_text=True)
    panel = page[page.index('id="archive-record"'):].split("</section>")[0]
    assert card_number in panel and f"/t/{a}/staff/records/" not in panel  # a handler reads no record: no link


async def test_no_new_instruction_on_an_archived_case_and_an_open_one_no_longer_writes_to_it(client, tenants):
    """A leader's instruction (批示) is a step on the case's timeline: once the case is archived the page offers no 写批示,
    a new one is refused in words (409), and acting on one written before leaves the frozen case as it was."""
    a = tenants.A
    leader, deputy = [await login_token(client, a, u) for u in ("leader", "deputy")]
    rows = (await (await client.get(f"/t/{a}/api/accounts", headers=leader)).get_json())["accounts"]
    accounts, names = {r["username"]: r["id"] for r in rows}, {r["username"]: r["display_name"] for r in rows}
    pid = await _filed(client, a, leader, f"归档后不再批示 {ObjectId()}")
    written = await client.post(f"/t/{a}/api/petitions/{pid}/instructions", headers=leader,
                                json={"text": "请核实后报告", "assignee_ids": [accounts["handler"]], "due_working_days": 5})
    assert written.status_code == 201, await written.get_data(as_text=True)
    iid = (await written.get_json())["id"]
    page = await (await client.get(f"/t/{a}/staff/petitions/{pid}?lang=zh", headers=leader)).get_data(as_text=True)
    assert "写批示" in page  # before: offered
    await _close(pid, accounts["handler"], names["handler"])
    archived = await client.post(f"/t/{a}/api/petitions/{pid}/archive-record", headers=deputy)
    assert archived.status_code == 201, await archived.get_data(as_text=True)
    number = (await archived.get_json())["number"]

    page = await (await client.get(f"/t/{a}/staff/petitions/{pid}?lang=zh", headers=leader)).get_data(as_text=True)
    assert "写批示" not in page and "请核实后报告" in page  # the instructions written stay readable
    target = await (await client.get(f"/t/{a}/staff/petitions/{pid}/instructions?lang=zh", headers=leader)).get_data(as_text=True)
    assert 'data-action="instruct"' not in target and "请核实后报告" in target and f"已归档（归档号 {number}）" in target
    for lang in ("zh", "en"):
        refused = await client.post(f"/t/{a}/api/petitions/{pid}/instructions?lang={lang}", headers=leader,
                                    json={"text": "归档后再批", "assignee_ids": [accounts["handler"]], "due_working_days": 5})
        assert refused.status_code == 409, await refused.get_data(as_text=True)
        message = (await refused.get_json())["error"]["message"]
        assert number in message["zh"] and "已归档" in message["zh"] and number in message["en"]
    by_form = await client.post(f"/t/{a}/staff/petitions/{pid}/instructions?lang=zh", headers=leader,
                                form={"text": "归档后再批", "assignee_roles": "handler", "due_working_days": "5"})
    assert by_form.status_code == 409 and number in await by_form.get_data(as_text=True)
    listed = (await (await client.get(f"/t/{a}/api/petitions/{pid}/instructions", headers=leader)).get_json())
    assert [i["id"] for i in listed["items"]] == [iid], listed

    handler = await login_token(client, a, "handler")
    steps = len((await TenantScope(str((await Tenant.find_one({"slug": a})).id)).repo(Petition).get(pid)).steps)
    acted = await client.post(f"/t/{a}/api/instructions/{iid}/actions", headers=handler, json={"text": "已核实"})
    assert acted.status_code in (200, 201), await acted.get_data(as_text=True)
    assert len((await TenantScope(str((await Tenant.find_one({"slug": a})).id)).repo(Petition).get(pid)).steps) == steps
