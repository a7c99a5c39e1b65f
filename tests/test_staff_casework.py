"""Staff casework pages: registration with the date received and scans, the printable receipt and notices,
the inbox's "my cases", bulk assignment and exports, and the case page's cards and confirmed repeats."""

from __future__ import annotations

import csv
import html
import io
import re
from datetime import timedelta
from urllib.parse import urlencode

from openpyxl import load_workbook
from pymongo.errors import DuplicateKeyError
from werkzeug.datastructures import FileStorage

from xinfang.petitions import service
from xinfang.petitions.models import Petition
from xinfang.store.documents import utcnow
from xinfang.store.scoped import TenantScope
from xinfang.tenancy.models import Tenant
from xinfang.timefmt import zone
from xinfang_search.models import DuplicateCandidate
from tests.conftest import login_token
from tests.login_pages import TOKEN, staff_login
from tests.test_petitions import ANONYMOUS, PNG

# Checked by tests/test_isolation.py like its own cases: another tenant's staff get 401/403 on these URLs, and a 404
# (the same as for an id that never existed) for another tenant's case; an export holds nothing of another tenant.
ISOLATION_CASES = {
    "console.notice_page": dict(method="GET", path="/staff/petitions/{id}/notice", kind="object", owner_object="petition"),
    "console.export_inbox": dict(method="GET", path="/staff/export.csv", kind="collection"),
    # an empty form: the page says what is missing (the cases of the other tenant are refused one by one: see the bulk test)
    "console.bulk_assign_submit": dict(method="POST", path="/staff/bulk-assign", kind="collection", form=True, expect=(422,)),
}
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
SCAN = PNG + b"\x00" * 3000
NAMED = {"title": "反映学校食堂问题", "content": "来信反映某中学食堂卫生差。", "category": "integrity",
         "petitioner_name": "李四", "id_number": "321323198001011231", "phone": "13900139000"}


def chinese(day) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


async def _tenant(slug: str) -> Tenant:
    return await Tenant.find_one({"slug": slug})


async def _today(slug: str):
    tenant = await _tenant(slug)
    return utcnow().astimezone(zone(tenant.settings.time_zone)).date()


async def _petition(slug: str, pid: str) -> Petition:
    return await TenantScope((await _tenant(slug)).id).repo(Petition).get(pid)


async def _csrf(browser, path: str) -> tuple[str, str]:
    text = await (await browser.get(path)).get_data(as_text=True)
    return TOKEN.search(text).group(1), text


async def _register(browser, slug: str, *, received_on: str, answers: dict = NAMED, channel: str = "letter", files=(), key: str | None = None,
                    query: str = ""):
    token, page = await _csrf(browser, f"/t/{slug}/staff/register")
    submission_key = key or re.search(r'name="_submission_key" value="([^"]+)"', page).group(1)
    form = {"csrf_token": token, "_form": "petition", "_channel": channel, "received_on": received_on, "_submission_key": submission_key, **answers}
    uploads = {"files": FileStorage(io.BytesIO(data), filename=name, content_type="image/png") for name, data in files} or None
    response = await browser.post(f"/t/{slug}/staff/register{query}", form=form, files=uploads)
    return response, await response.get_data(as_text=True), submission_key


def _petition_path(page: str, slug: str) -> str:
    return re.search(rf'href="(/t/{slug}/staff/petitions/[0-9a-f]{{24}})"', page).group(1)


async def test_registration_with_a_past_date_received_and_scans(app, tenants):
    browser = app.test_client()
    await staff_login(browser, tenants.A, "registrar")
    received = await _today(tenants.A) - timedelta(days=10)
    response, page, key = await _register(browser, tenants.A, received_on=received.isoformat(), files=[("来信扫描.png", SCAN)])
    assert response.status_code == 201, page
    number = re.search(r'class="case-number">([A-Z0-9-]+)<', page).group(1)
    pid = _petition_path(page, tenants.A).rsplit("/", 1)[1]
    petition = await _petition(tenants.A, pid)
    assert petition.received_on == received.isoformat() and petition.channel == "letter"
    # The 15-day acceptance limit counts from the day received, not from today.
    calendar = await service.tenant_calendar(TenantScope(petition.tenant_id))
    assert petition.due_on == calendar.due_date(received, 15, "calendar_days").isoformat()
    assert petition.due_on != calendar.due_date(await _today(tenants.A), 15, "calendar_days").isoformat()
    assert len(petition.attachment_ids) == 1
    # The printable visitor receipt: tenant, case number, receipt, Chinese dates, a print button (no inline script).
    tenant = await _tenant(tenants.A)
    assert tenant.name.zh in page and number in page and "data-print" in page and "/static/print.js" in page
    assert chinese(received) in page and re.search(r'class="receipt-number" data-receipt="\d{16}"', page)
    # The case page shows the scan and the date received.
    case = await (await browser.get(f"/t/{tenants.A}/staff/petitions/{pid}")).get_data(as_text=True)
    assert "来信扫描.png" in case and f'<dd class="received">{chinese(received)}</dd>' in case
    assert f"收到日期：</em>{chinese(received)}" in case  # the registration step, in words
    # The same form sent again (double click, lost answer): the same petition, not a second one.
    again, again_page, _ = await _register(browser, tenants.A, received_on=received.isoformat(), files=[("来信扫描.png", SCAN)], key=key)
    assert again.status_code == 201 and number in again_page


async def test_a_date_received_in_the_future_is_refused_with_a_field_message(app, tenants):
    browser = app.test_client()
    await staff_login(browser, tenants.A, "registrar")
    tomorrow = (await _today(tenants.A) + timedelta(days=1)).isoformat()
    response, page, _ = await _register(browser, tenants.A, received_on=tomorrow)
    assert response.status_code == 422 and "收到日期不能晚于今天" in page and 'id="received_on-error"' in page
    assert 'value="反映学校食堂问题"' in page  # what was typed stays
    response, page, _ = await _register(browser, tenants.A, received_on=tomorrow, query="?lang=en")
    assert response.status_code == 422 and "the date received cannot be in the future" in page
    response, page, _ = await _register(browser, tenants.A, received_on="", query="?lang=zh")
    assert response.status_code == 422 and "请填写收到日期" in page
    response, page, _ = await _register(browser, tenants.A, received_on="2026-13-45")
    assert response.status_code == 422 and "日期格式不对" in page


REGISTRAR = {"siyang-edu": "registrar", "bazhou": "handler"}  # 巴州's handler also registers


async def _registered_by_api(client, slug: str, title: str, **answers) -> str:
    registrar = await login_token(client, slug, REGISTRAR[slug])
    created = await client.post(f"/t/{slug}/api/petitions", headers=registrar, json={
        "form": "petition", "anonymous": not answers, "channel": "visit", "answers": {**ANONYMOUS, "title": title, **answers}})
    assert created.status_code == 201, await created.get_data(as_text=True)
    return (await created.get_json())["id"]


async def _act(client, slug: str, user: str, pid: str, key: str, **fields):
    acted = await client.post(f"/t/{slug}/api/petitions/{pid}/transitions/{key}", headers=await login_token(client, slug, user), json={"fields": fields})
    assert acted.status_code == 200, await acted.get_data(as_text=True)


async def test_acceptance_and_refusal_notices_are_printable(app, tenants):
    client, browser = app.test_client(), app.test_client()
    accepted = await _registered_by_api(client, tenants.A, "告知书测试：受理", petitioner_name="王小二", id_number="321323198501011238", phone="13700137000")
    refused = await _registered_by_api(client, tenants.A, "告知书测试：不予受理")
    await staff_login(browser, tenants.A, "leader")
    # No decision yet: no notice.
    assert (await browser.get(f"/t/{tenants.A}/staff/petitions/{accepted}/notice")).status_code == 404
    await _act(client, tenants.A, "registrar", accepted, "accept", opinion="属本单位职责")
    await _act(client, tenants.A, "leader", refused, "reject", reason="已经依法作出处理决定，不属于受理范围")
    tenant, today = await _tenant(tenants.A), await _today(tenants.A)

    case = await (await browser.get(f"/t/{tenants.A}/staff/petitions/{accepted}")).get_data(as_text=True)
    assert f"/staff/petitions/{accepted}/notice" in case and "打印受理告知书" in case
    notice = await browser.get(f"/t/{tenants.A}/staff/petitions/{accepted}/notice")
    text = await notice.get_data(as_text=True)
    number = (await _petition(tenants.A, accepted)).number
    assert notice.status_code == 200 and "信访事项受理告知书" in text and number in text and tenant.name.zh in text
    assert "王小二：" in text and f'<span class="doc-date">{chinese(today)}</span>' in text and "data-print" in text

    text = await (await browser.get(f"/t/{tenants.A}/staff/petitions/{refused}/notice")).get_data(as_text=True)
    assert "信访事项不予受理告知书" in text and "已经依法作出处理决定，不属于受理范围" in text and "信访人：" in text
    assert (await _petition(tenants.A, refused)).number in text and chinese(today) in text
    english = await (await browser.get(f"/t/{tenants.A}/staff/petitions/{refused}/notice?lang=en")).get_data(as_text=True)
    assert "Notice of non-acceptance" in english

    # Isolation: tenant B's staff get 404 for tenant A's notice.
    stranger = app.test_client()
    await staff_login(stranger, tenants.B, "leader")
    assert (await stranger.get(f"/t/{tenants.B}/staff/petitions/{accepted}/notice")).status_code == 404


async def _handler_id(client, slug: str, username: str = "handler") -> str:
    leader = await login_token(client, slug, "leader")
    accounts = (await (await client.get(f"/t/{slug}/api/accounts", headers=leader)).get_json())["accounts"]
    return next(a["id"] for a in accounts if a["username"] == username)


async def test_bulk_assign_reports_each_case_and_my_cases_lists_mine(app, tenants):
    client, browser = app.test_client(), app.test_client()
    ready = [await _registered_by_api(client, tenants.A, f"批量分办测试 {i}") for i in range(2)]
    not_ready = await _registered_by_api(client, tenants.A, "批量分办测试 未受理")
    foreign = await _registered_by_api(client, tenants.B, "批量分办测试 他单位")
    for pid in ready:
        await _act(client, tenants.A, "registrar", pid, "accept")
    handler = await _handler_id(client, tenants.A)

    await staff_login(browser, tenants.A, "leader")
    token, inbox = await _csrf(browser, f"/t/{tenants.A}/staff/")
    assert 'id="bulk-assign"' in inbox and 'name="petition"' in inbox
    response = await browser.post(f"/t/{tenants.A}/staff/bulk-assign", data=urlencode({
        "csrf_token": token, "assignee": handler, "petition": [*ready, not_ready, foreign]}, doseq=True), headers=FORM)
    page = await response.get_data(as_text=True)
    assert response.status_code == 200, page
    assert "2 件成功，2 件未分办" in page
    assert page.count("已分办") == 2 and "当前状态（已登记，待受理）下您不能分办" in page and "没有这件信访件" in page
    for pid in ready:
        petition = await _petition(tenants.A, pid)
        assert petition.state == "handling" and petition.assignee_id == handler
    assert (await _petition(tenants.A, not_ready)).state == "registered"
    assert (await _petition(tenants.B, foreign)).assignee_id is None  # the other tenant's case is untouched

    # A handler's "my cases": the two assigned to them, not the one still waiting.
    mine = app.test_client()
    await staff_login(mine, tenants.A, "handler")
    text = await (await mine.get(f"/t/{tenants.A}/staff/?mine=1")).get_data(as_text=True)
    numbers = [(await _petition(tenants.A, pid)).number for pid in (*ready, not_ready)]
    assert numbers[0] in text and numbers[1] in text and numbers[2] not in text
    assert 'name="mine" value="1" checked' in text and 'id="bulk-assign"' not in text  # a handler does not assign

    # A bulk assignment without the session's CSRF token is refused.
    without_csrf = await browser.post(f"/t/{tenants.A}/staff/bulk-assign", data=urlencode({"assignee": handler, "petition": ready}, doseq=True),
                                      headers=FORM)
    assert without_csrf.status_code == 403


async def test_exports_in_words_with_formulas_guarded(app, tenants):
    client, browser = app.test_client(), app.test_client()
    subject = "导出测试对象"
    registrar = await login_token(client, tenants.A, "registrar")
    created = await client.post(f"/t/{tenants.A}/api/petitions", headers=registrar, json={
        "form": "report", "anonymous": True, "channel": "letter",
        "answers": {"content": "=HYPERLINK(\"http://example.com\",\"点我\")", "category": ["integrity"],
                    "subject": {"kind": "person", "name": subject, "position": "校长", "unit": "某中学"}}})
    assert created.status_code == 201, await created.get_data(as_text=True)
    number = (await created.get_json())["number"]
    await staff_login(browser, tenants.A, "leader")

    exported = await browser.get(f"/t/{tenants.A}/staff/export.csv", query_string={"subject": subject})
    assert exported.status_code == 200 and exported.headers["Content-Type"].startswith("text/csv")
    assert "attachment" in exported.headers["Content-Disposition"]
    body = (await exported.get_data()).decode("utf-8-sig")
    table = list(csv.reader(io.StringIO(body)))
    assert table[0][:6] == ["编号", "标题", "被反映人", "渠道", "状态", "收到日期"] and "北京时间" in table[0][6]
    [row] = table[1:]
    assert row[0] == number and row[2] == subject and row[3] == "来信" and row[4] == "已登记，待受理" and row[8] == "否"
    assert row[1].startswith("'=HYPERLINK")  # a formula stays text
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}", row[6])

    exported = await browser.get(f"/t/{tenants.A}/staff/export.xlsx", query_string={"subject": subject, "lang": "en"})
    assert exported.status_code == 200 and "spreadsheetml" in exported.headers["Content-Type"]
    sheet = load_workbook(io.BytesIO(await exported.get_data())).active
    rows = [[cell.value for cell in r] for r in sheet.iter_rows()]
    assert rows[0][:5] == ["Number", "Title", "Subject", "Channel", "Status"]
    assert rows[1][0] == number and rows[1][3] == "Letter" and rows[1][4] == "Registered, awaiting acceptance"
    assert rows[1][1].startswith("'=") and sheet.cell(row=2, column=2).data_type == "s"
    assert len(rows) == 2

    assert (await browser.get(f"/t/{tenants.A}/staff/export.pdf")).status_code == 404
    # Isolation: tenant B's export of the same filter has none of tenant A's cases.
    stranger = app.test_client()
    await staff_login(stranger, tenants.B, "leader")
    other = (await (await stranger.get(f"/t/{tenants.B}/staff/export.csv", query_string={"subject": subject})).get_data()).decode("utf-8-sig")
    assert number not in other and len(list(csv.reader(io.StringIO(other)))) == 1


async def test_the_case_page_shows_its_cards_its_confirmed_repeat_and_next_steps_in_words(app, tenants):
    client, browser = app.test_client(), app.test_client()
    earlier = await _registered_by_api(client, tenants.A, "重复信访测试 第一次")
    later = await _registered_by_api(client, tenants.A, "重复信访测试 第二次")
    handler = await login_token(client, tenants.A, "handler")
    card = await client.post(f"/t/{tenants.A}/api/supervisions", headers=handler, json={
        "kind": "card", "type_key": "yellow", "subject": {"kind": "person", "name": "卡片测试人", "unit": "某小学"}, "petition_ids": [later]})
    assert card.status_code == 201, await card.get_data(as_text=True)
    # A duplicate candidate as the indexer finds one; staff confirm it on the page's route.
    tenant = await _tenant(tenants.A)
    earlier_number = (await _petition(tenants.A, earlier)).number
    repo = TenantScope(tenant.id).repo(DuplicateCandidate)
    candidate = DuplicateCandidate(tenant_id=str(tenant.id), petition_id=later, other_id=earlier, other_tenant_id=str(tenant.id),
                                   other_number=earlier_number, other_title="重复信访测试 第一次", reasons=["similar_text"], similarity=0.9, score=0.9)
    try:
        await repo.insert(candidate)
    except DuplicateKeyError:  # the indexer, running beside the tests, found the pair first
        candidate = await repo.find_one({"petition_id": later, "other_id": earlier})
    confirmed = await client.post(f"/t/{tenants.A}/api/duplicates/{candidate.id}/confirm", headers=handler)
    assert confirmed.status_code == 200, await confirmed.get_data(as_text=True)

    await staff_login(browser, tenants.A, "handler")
    text = await (await browser.get(f"/t/{tenants.A}/staff/petitions/{later}")).get_data(as_text=True)
    issued = text[text.index('class="issued"'):]
    assert "卡片测试人" in issued and "/staff/supervisions/" in issued and "草稿" in issued
    timeline = text[text.index('class="timeline"'):]
    assert 'class="repeat"' in timeline and "确认为重复信访" in timeline and f"重复于：</em>{html.escape(earlier_number)}" in timeline
    # The steps offered now, each with a sentence of what it does; no internal codes in the words.
    assert "下一步可以做的" in text and "受理后开始计算办理时限" in text and "repeat_confirmed" not in timeline.replace('data-', '')
    # Nothing is issued from a settled case.
    await _act(client, tenants.A, "leader", earlier, "reject", reason="重复")
    leader = app.test_client()
    await staff_login(leader, tenants.A, "leader")
    settled = await (await leader.get(f"/t/{tenants.A}/staff/petitions/{earlier}")).get_data(as_text=True)
    assert "/staff/supervisions/new" not in settled

    # Isolation: tenant B's staff get 404 for the case page and nothing from confirming A's candidate.
    stranger = app.test_client()
    await staff_login(stranger, tenants.B, "handler")
    assert (await stranger.get(f"/t/{tenants.B}/staff/petitions/{later}")).status_code == 404
    handler_b = await login_token(client, tenants.B, "handler")
    assert (await client.post(f"/t/{tenants.B}/api/duplicates/{candidate.id}/dismiss", headers=handler_b)).status_code == 404


async def test_staff_pages_are_wide_and_the_portal_stays_narrow(client):
    css = await (await client.get("/static/xinfang.css")).get_data(as_text=True)
    assert "main:has(nav.staff) { max-width: 80rem; }" in css and "@media print" in css
    assert "main { max-width: 52rem;" in css


async def test_the_api_registers_the_date_received_too(client, tenants):
    registrar = await login_token(client, tenants.A, "registrar")
    received = await _today(tenants.A) - timedelta(days=20)
    body = {"form": "petition", "anonymous": True, "channel": "phone", "answers": {**ANONYMOUS, "title": "接口登记收到日期"}}
    created = await client.post(f"/t/{tenants.A}/api/petitions", headers=registrar, json={**body, "received_on": received.isoformat()})
    assert created.status_code == 201, await created.get_data(as_text=True)
    petition = await _petition(tenants.A, (await created.get_json())["id"])
    calendar = await service.tenant_calendar(TenantScope(petition.tenant_id))
    assert petition.received_on == received.isoformat() and petition.due_on == calendar.due_date(received, 15, "calendar_days").isoformat()
    summary = await (await client.get(f"/t/{tenants.A}/api/petitions/{petition.id}", headers=registrar)).get_json()
    assert summary["received_at"].startswith((received - timedelta(days=1)).isoformat())  # midnight in China is 16:00 UTC the day before

    future = await client.post(f"/t/{tenants.A}/api/petitions", headers=registrar,
                               json={**body, "received_on": (await _today(tenants.A) + timedelta(days=2)).isoformat()})
    assert future.status_code == 422
    assert (await future.get_json())["error"]["fields"]["received_on"] == {"zh": "收到日期不能晚于今天", "en": "the date received cannot be in the future"}
    garbled = await client.post(f"/t/{tenants.A}/api/petitions", headers=registrar, json={**body, "received_on": "yesterday"})
    assert garbled.status_code == 422


async def test_hostile_input_on_the_casework_pages_is_4xx_never_5xx(app, tenants):
    browser = app.test_client()
    await staff_login(browser, tenants.A, "leader")
    token, _ = await _csrf(browser, f"/t/{tenants.A}/staff/")
    junk_ids = ["..", "%00", "x" * 5000, "6" * 24, "null", "\u202e"]
    for ids, assignee in ((junk_ids, "x"), ([], "x"), (["6" * 24], ""), (["a"] * 500, "6" * 24)):
        response = await browser.post(f"/t/{tenants.A}/staff/bulk-assign", headers=FORM,
                                      data=urlencode({"csrf_token": token, "assignee": assignee, "petition": ids}, doseq=True))
        assert response.status_code in (200, 422), (ids[:2], assignee, response.status_code)
    for query in ({"due_before": "\x00" * 3, "page": "-1", "state": "$where"}, {"overdue": "maybe", "subject": "长" * 10_000, "mine": "yes"}):
        for kind in ("csv", "xlsx"):
            assert (await browser.get(f"/t/{tenants.A}/staff/export.{kind}", query_string=query)).status_code == 200
        assert (await browser.get(f"/t/{tenants.A}/staff/", query_string=query)).status_code == 200
    for junk in ("..", "6" * 24, "%00"):
        assert (await browser.get(f"/t/{tenants.A}/staff/petitions/{junk}/notice")).status_code == 404
    registrar = app.test_client()
    await staff_login(registrar, tenants.A, "registrar")
    for received in ("0001-01-01", "9999-12-31", "\x00", "2026-02-30", "1" * 500):
        response, page, _ = await _register(registrar, tenants.A, received_on=received)
        assert response.status_code == 422, (received, response.status_code)
    response, page, _ = await _register(registrar, tenants.A, received_on="2025-01-01", files=[("not-a-scan.exe", b"MZ" + b"\x00" * 100)])
    assert response.status_code == 422 and "只接受 PDF, JPEG, PNG 文件" in page
    response, page, _ = await _register(registrar, tenants.A, received_on="2025-01-01", channel="online")
    assert response.status_code == 422 and "请选择来信、来访或来电" in page


async def test_an_export_is_audited_and_says_when_it_was_cut(app, tenants, monkeypatch):
    from xinfang.audit.models import AuditRecord
    from xinfang.petitions import exports

    client, browser = app.test_client(), app.test_client()
    registrar = await login_token(client, tenants.A, "registrar")
    subject = "导出上限测试对象"
    for n in range(2):
        created = await client.post(f"/t/{tenants.A}/api/petitions", headers=registrar, json={
            "form": "report", "anonymous": True, "channel": "letter",
            "answers": {"content": f"第 {n + 1} 封来信", "category": ["integrity"],
                        "subject": {"kind": "person", "name": subject, "position": "校长", "unit": "某中学"}}})
        assert created.status_code == 201, await created.get_data(as_text=True)
    await staff_login(browser, tenants.A, "leader")
    monkeypatch.setattr(exports, "EXPORT_MAX", 1)
    exported = await browser.get(f"/t/{tenants.A}/staff/export.csv", query_string={"subject": subject})
    table = list(csv.reader(io.StringIO((await exported.get_data()).decode("utf-8-sig"))))
    assert len(table) == 3 and table[-1][0].startswith("仅导出前 1 条，共 2 条")
    record = await AuditRecord.find_one({"action": "petitions.export", "query.subject": subject})
    assert record is not None and record.actor_username == "leader" and record.result_count == 1
