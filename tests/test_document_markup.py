"""What tenant templates and citizens write reaches pages escaped, or through an allow-list; never as script.

The served HTML is checked: the staff document page and the public one-time answer
page, for a document rendered now (cleaned at render) and for one stored before the
allow-list existed (cleaned where it is output); and the staff search page, whose
highlights are citizens' words.
"""

from __future__ import annotations

import secrets

import pytest

from xinfang.cards.models import CardType, Subject, Supervision, SupervisionState
from xinfang.cards.service import token_hash
from xinfang.store.scoped import TenantScope
from xinfang.tenancy.models import Tenant
from tests.conftest import login_token
from tests.test_search import file, found, marker
from tests.test_supervision_config import PURPLE

HOSTILE = (
    '<script>alert("tpl-script")</script>'
    '<img src="x" onerror="alert(\'tpl-onerror\')">'
    '<a href="javascript:alert(\'tpl-link\')">tpl-link-text</a>'
    '<iframe src="https://attacker.example/tpl-frame"></iframe>'
    '<style>body { display: none }</style>'
    '<p class="lead" style="text-align: center; position: fixed; background-image: url(https://attacker.example/tpl-bg)" '
    'onclick="alert(\'tpl-click\')">{{ subject.name }}</p>'
    '<table><tr><td colspan="2"><strong>保留的格式</strong></td></tr></table>'
)
# What none of the served pages may contain.
FORBIDDEN = ("tpl-script", "tpl-onerror", "onerror", "javascript:", "<iframe", "tpl-frame", "tpl-click", "onclick",
             "tpl-bg", "background-image", "position: fixed", "position:fixed", "display: none", "<style")


def assert_clean(html: str) -> None:
    for needle in FORBIDDEN:
        assert needle not in html, (needle, html[:3000])


@pytest.fixture
async def hostile_card_type(app, tenants):
    yield "purple"
    scope = TenantScope((await Tenant.find_one({"slug": tenants.B})).id)
    if (row := await scope.repo(CardType).find_one({"key": "purple"})) is not None:
        await scope.repo(CardType).delete(row)


async def test_a_hostile_template_issues_a_document_without_script_on_either_page(app, client, tenants, hostile_card_type):
    admin, handler = await login_token(client, tenants.B, "admin"), await login_token(client, tenants.B, "handler")
    defined = await client.put(f"/t/{tenants.B}/api/card-types/purple", headers=admin,
                               json=dict(PURPLE, document_template=HOSTILE, needs_approval=False))
    assert defined.status_code == 200, await defined.get_data(as_text=True)
    created = await client.post(f"/t/{tenants.B}/api/supervisions", headers=handler, json={
        "kind": "card", "type_key": "purple", "subject": {"kind": "person", "name": '<script>alert("name")</script>王五'}})
    sid = (await created.get_json())["id"]
    issued = await client.post(f"/t/{tenants.B}/api/supervisions/{sid}/issue", headers=handler)
    assert issued.status_code == 200, await issued.get_data(as_text=True)

    staff_page = await client.get(f"/t/{tenants.B}/api/supervisions/{sid}/document", headers=handler)
    public_page = await app.test_client().get((await issued.get_json())["answer_link"])
    for page in (staff_page, public_page):
        assert page.status_code == 200
        html = await page.get_data(as_text=True)
        assert_clean(html)
        assert '<script>alert("name")' not in html and '&lt;script&gt;alert("name")&lt;/script&gt;王五' in html  # the name, as text
        assert '<p class="lead" style="text-align:center">' in html  # allowed markup and style stay
        assert '<td colspan="2"><strong>保留的格式</strong></td>' in html and "tpl-link-text" in html


async def test_a_document_stored_before_the_allow_list_is_cleaned_where_it_is_served(app, client, tenants):
    scope = TenantScope((await Tenant.find_one({"slug": tenants.B})).id)
    token = secrets.token_urlsafe(24)
    old = Supervision(tenant_id=scope.tenant_id, kind="card", type_key="blue", subject=Subject(kind="person", name="旧文书"),
                      subject_key="person:旧文书@", state=SupervisionState.ISSUED, issued_on="2026-01-05",
                      document_html=HOSTILE.replace("{{ subject.name }}", "旧文书正文"),
                      answer_token_hash=token_hash(token), answer_token_used=False)
    await scope.repo(Supervision).insert(old)
    try:
        handler = await login_token(client, tenants.B, "handler")
        staff_page = await client.get(f"/t/{tenants.B}/api/supervisions/{old.id}/document", headers=handler)
        public_page = await app.test_client().get(f"/t/{tenants.B}/answer/{token}")
        for page in (staff_page, public_page):
            assert page.status_code == 200
            html = await page.get_data(as_text=True)
            assert_clean(html)
            assert "旧文书正文" in html
    finally:
        await scope.repo(Supervision).delete(old)


async def test_search_highlights_show_a_citizens_markup_as_text(client, tenants, worker):
    word = marker()
    await file(client, tenants.A, title=f'{word}<script>alert("petition")</script><img src=x onerror=alert(1)>',
               content=f"{word} 学校收费 <b>加粗</b> <iframe src=https://attacker.example/></iframe>")
    handler = await login_token(client, tenants.A, "handler")
    await found(client, tenants.A, handler, 1, q=word)
    page = await client.get(f"/t/{tenants.A}/staff/search", headers=handler, query_string={"q": word})
    html = await page.get_data(as_text=True)
    assert page.status_code == 200 and "<mark" in html
    assert '<script>alert("petition")' not in html and "<img src=x" not in html
    assert "<iframe" not in html and "<b>加粗" not in html
    assert "&lt;script&gt;" in html  # shown, as text
