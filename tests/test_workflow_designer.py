"""The workflow designer (issue 12): versions, the publishing writer, its API and its page.

- Every shipped workflow goes through the designer's draft and the page's form unchanged.
- Publishing checks first: each problem a zh/en message at its path (``states.2.name.zh``), 422.
- Publishing makes an immutable numbered version; a case keeps the version it started on, new cases take the newest.
- The page keeps a draft between clicks; add, remove, check and publish are buttons; problems stand next to their field.

The tests that publish run in a tenant of their own (a bundle loaded here), so the shared tenants keep the default.
"""

from __future__ import annotations

import copy
from datetime import date
import re
import uuid
from html.parser import HTMLParser
from urllib.parse import urlencode

import pytest
from werkzeug.datastructures import MultiDict

from xinfang.petitions import workflow_designer as designer
from xinfang.petitions.workflow import Workflow, default_workflow_data
from xinfang.petitions.workflow_versions import canonical
from xinfang.tenancy.bundles import BundleLoader, discover
from tests.conftest import PASSWORD, REPO_ROOT, login_token
from tests.login_pages import staff_login

ISOLATION_CASES = {
    "workflow.publish_workflow": dict(method="PUT", path="/api/workflow", kind="collection", body={}, expect=(422,)),
    "workflow.list_workflow_versions": dict(method="GET", path="/api/workflow/versions", kind="collection"),
    "workflow.show_workflow_version": dict(method="GET", path="/api/workflow/versions/1", kind="collection"),
    "workflow_admin.workflow_designer_page": dict(method="GET", path="/admin/workflow", kind="collection"),
    # an empty form is no designer form: refused, nothing kept
    "workflow_admin.workflow_designer_submit": dict(method="POST", path="/admin/workflow", kind="collection", form=True, expect=(422,)),
}


def shipped_workflows() -> list[tuple[str, dict]]:
    _, bundles = discover(REPO_ROOT / "tenants")
    found = [("default_workflow.toml", default_workflow_data())]
    found += [(str(b.path), b.data["workflow"]) for b in bundles if b.data.get("workflow")]
    return found


@pytest.mark.parametrize("name, data", shipped_workflows())
def test_every_shipped_workflow_goes_through_the_draft_and_its_form_unchanged(name, data):
    expected = canonical(Workflow.model_validate(data))
    draft = copy.deepcopy(expected)
    read_back = designer.draft_from_form(MultiDict(designer.form_pairs(draft)))
    assert read_back == expected, name
    assert canonical(Workflow.model_validate(designer.definition_of(read_back))) == expected


# -- a tenant of our own ------------------------------------------------------------------------------------


def _bundle_text(slug: str) -> str:
    accounts = [("admin", "管理员", "tenant_admin"), ("leader", "分管领导", "leader"), ("handler", "承办人", "handler"),
                ("registrar", "登记员", "registrar")]
    text = f'''[tenant]
slug = "{slug}"
name = {{ zh = "流程设计测试单位", en = "Workflow designer test body" }}
level = "county"
region_code = "659900"
'''
    for username, display, role in accounts:
        text += f'\n[[accounts]]\nusername = "{username}"\ndisplay_name = "{display}"\nroles = ["{role}"]\n'
    return text + '\n[[forms]]\nkey = "petition"\ntemplate = "petition"\n'


async def own_tenant(tmp_path) -> str:
    slug = f"wfd-{uuid.uuid4().hex[:8]}"
    (tmp_path / slug).mkdir(parents=True)
    (tmp_path / slug / "bundle.toml").write_text(_bundle_text(slug), encoding="utf-8")
    _, bundles = discover(tmp_path)
    await BundleLoader(PASSWORD).load(None, [b for b in bundles if b.slug == slug])
    return slug


async def new_case(client, slug: str, registrar: dict, title: str) -> str:
    filed = await client.post(f"/t/{slug}/api/petitions", headers=registrar, json={
        "form": "petition", "channel": "letter", "anonymous": True,
        "answers": {"title": title, "content": f"{title}：来信反映学校收费问题。", "category": "other"}})
    assert filed.status_code == 201, await filed.get_data(as_text=True)
    return (await filed.get_json())["id"]


async def to_handling(client, slug: str, petition_id: str, leader: dict, handler_id: str) -> dict:
    for key, fields in (("accept", {}), ("assign", {"assignee": handler_id})):
        moved = await client.post(f"/t/{slug}/api/petitions/{petition_id}/transitions/{key}", headers=leader, json={"fields": fields})
        assert moved.status_code == 200, await moved.get_data(as_text=True)
    return await moved.get_json()


def new_version_data() -> dict:
    """The default workflow with the extension step removed, the reply and the handling state renamed, a
    further-inquiry step added and the handling time limit shortened."""
    d = canonical(Workflow.model_validate(default_workflow_data()))
    d["transitions"] = [t for t in d["transitions"] if t["key"] != "extend"]
    reply = next(t for t in d["transitions"] if t["key"] == "reply")
    reply["name"] = {"zh": "书面答复信访人", "en": "Answer the petitioner in writing"}
    d["transitions"].append({"key": "inquire", "name": {"zh": "补充调查", "en": "Inquire further"}, "from": ["handling"], "to": "handling",
                             "roles": ["handler"], "fields": ["opinion"], "required": ["opinion"], "public_fields": []})
    d["time_limits"]["handling"] = {"amount": 45, "unit": "calendar_days"}
    next(s for s in d["states"] if s["key"] == "handling")["name"] = {"zh": "承办中", "en": "With the handler"}
    return d


async def test_a_case_keeps_its_version_and_a_new_case_takes_the_new_one(client, tmp_path):
    slug = await own_tenant(tmp_path)
    admin, leader = await login_token(client, slug, "admin"), await login_token(client, slug, "leader")
    registrar, handler = await login_token(client, slug, "registrar"), await login_token(client, slug, "handler")
    handler_id = (await (await client.get(f"/t/{slug}/api/me", headers=handler)).get_json())["account"]["id"]
    answer = await client.get(f"/t/{slug}/api/workflow/versions", headers=admin)
    versions = await answer.get_json()
    assert answer.status_code == 200, versions
    assert versions["current"] == 1 and [v["number"] for v in versions["versions"]] == [1]

    older = await new_case(client, slug, registrar, "旧流程中的事项")
    await to_handling(client, slug, older, leader, handler_id)

    published = await client.put(f"/t/{slug}/api/workflow", headers=admin, json=dict(new_version_data(), note="增加补充调查"))
    assert published.status_code == 200, await published.get_data(as_text=True)
    body = await published.get_json()
    assert body["version"] == 2 and body["published"] is True
    again = await (await client.put(f"/t/{slug}/api/workflow", headers=admin, json=new_version_data())).get_json()
    assert again == dict(body, published=False)  # the same content is no new version

    newer = await new_case(client, slug, registrar, "新流程中的事项")
    shown_new = await to_handling(client, slug, newer, leader, handler_id)
    assert shown_new["due_on"] is not None
    old_view = await (await client.get(f"/t/{slug}/api/petitions/{older}", headers=handler)).get_json()
    new_view = await (await client.get(f"/t/{slug}/api/petitions/{newer}", headers=handler)).get_json()
    old_actions = {a["key"]: a["name"]["zh"] for a in old_view["actions"]}
    new_actions = {a["key"]: a["name"]["zh"] for a in new_view["actions"]}
    assert old_actions == {"reply": "答复信访人"}
    assert new_actions == {"reply": "书面答复信访人", "inquire": "补充调查"}
    # the leader may still extend the old case (its version has the step), not the new one
    old_leader = {a["key"] for a in (await (await client.get(f"/t/{slug}/api/petitions/{older}", headers=leader)).get_json())["actions"]}
    new_leader = {a["key"] for a in (await (await client.get(f"/t/{slug}/api/petitions/{newer}", headers=leader)).get_json())["actions"]}
    assert "extend" in old_leader and "extend" not in new_leader
    extended = await client.post(f"/t/{slug}/api/petitions/{older}/transitions/extend", headers=leader, json={"fields": {"reason": "案情复杂"}})
    assert extended.status_code == 200, await extended.get_data(as_text=True)
    refused = await client.post(f"/t/{slug}/api/petitions/{newer}/transitions/extend", headers=leader, json={"fields": {"reason": "案情复杂"}})
    assert refused.status_code == 404
    listed = {item["id"]: item["state_name"]["zh"] for item in (await (await client.get(f"/t/{slug}/api/petitions", headers=leader)).get_json())["items"]}
    assert (listed[older], listed[newer]) == ("办理中", "承办中")  # the list too: each case in its own version's words
    inquired = await client.post(f"/t/{slug}/api/petitions/{newer}/transitions/inquire", headers=handler, json={"fields": {"opinion": "再调查"}})
    assert inquired.status_code == 200, await inquired.get_data(as_text=True)

    listed = await (await client.get(f"/t/{slug}/api/workflow/versions", headers=admin)).get_json()
    assert listed["current"] == 2 and [v["number"] for v in listed["versions"]] == [2, 1]
    assert listed["versions"][0]["note"] == "增加补充调查" and listed["versions"][0]["author"]
    first = await (await client.get(f"/t/{slug}/api/workflow/versions/1", headers=admin)).get_json()
    assert any(t["key"] == "extend" for t in first["workflow"]["transitions"])
    assert (await client.get(f"/t/{slug}/api/workflow/versions/9", headers=admin)).status_code == 404
    # the configuration area "workflow" recorded the change too (rollback goes through the same writer)
    from xinfang.tenancy.config_versions import list_config_versions
    from tests.staffing import tenant_scope
    recorded = await list_config_versions(await tenant_scope(slug), "workflow")
    assert recorded[0].content == canonical(Workflow.model_validate(new_version_data())) and recorded[0].note == "增加补充调查"


async def test_publishing_is_refused_with_each_problem_at_its_path(client, tmp_path):
    slug = await own_tenant(tmp_path)
    admin = await login_token(client, slug, "admin")
    d = canonical(Workflow.model_validate(default_workflow_data()))
    d["states"][2]["name"]["zh"] = ""
    accept = next(i for i, t in enumerate(d["transitions"]) if t["key"] == "accept")
    d["transitions"][accept]["required"] = ["reason"]
    refused = await client.put(f"/t/{slug}/api/workflow", headers=admin, json=d)
    assert refused.status_code == 422
    fields = (await refused.get_json())["error"]["fields"]
    assert fields["states.2.name.zh"] == {"zh": "请填写状态的中文名称", "en": "enter the state's Chinese name"}
    assert fields[f"transitions.{accept}.required"]["zh"] == "必填项须先勾选为填写项"

    d = canonical(Workflow.model_validate(default_workflow_data()))
    d["states"].append({"key": "limbo", "name": {"zh": "搁置", "en": "Set aside"}, "terminal": True})
    d["transitions"][accept]["roles"] = []
    d["time_limits"]["handling"] = {"amount": 400, "unit": "working_days"}
    fields = (await (await client.put(f"/t/{slug}/api/workflow", headers=admin, json=d)).get_json())["error"]["fields"]
    assert "从初始状态出发无法到达" in fields[f"states.{len(d['states']) - 1}"]["zh"]
    assert "cannot be reached" in fields[f"states.{len(d['states']) - 1}"]["en"]
    assert "无人能办理" in fields[f"transitions.{accept}.roles"]["zh"]
    assert "办理期限" in fields["time_limits.handling"]["zh"] and "holidays" in fields["time_limits.handling"]["en"]
    versions = await (await client.get(f"/t/{slug}/api/workflow/versions", headers=admin)).get_json()
    assert versions["current"] == 1  # nothing was published
    # only a tenant admin designs the workflow
    leader = await login_token(client, slug, "leader")
    assert (await client.put(f"/t/{slug}/api/workflow", headers=leader, json=d)).status_code == 403
    assert (await client.get(f"/t/{slug}/admin/workflow", headers=leader)).status_code == 403


# -- the page ---------------------------------------------------------------------------------------------


class FormControls(HTMLParser):
    """What a browser would submit from ``<form id=designer>`` (without pressing a button)."""

    def __init__(self):
        super().__init__()
        self.pairs: list[tuple[str, str]] = []
        self.inside = False
        self.select: str | None = None
        self.options: list[tuple[str, bool]] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form" and a.get("id") == "designer":
            self.inside = True
        if not self.inside:
            return
        if tag == "input" and a.get("name"):
            kind = a.get("type", "text")
            if kind == "checkbox":
                if "checked" in a:
                    self.pairs.append((a["name"], a.get("value", "on")))
            elif kind != "submit":
                self.pairs.append((a["name"], a.get("value", "")))
        elif tag == "select":
            self.select, self.options = a.get("name"), []
        elif tag == "option" and self.select:
            self.options.append((a.get("value", ""), "selected" in a))

    def handle_endtag(self, tag):
        if tag == "form":
            self.inside = False
        if tag == "select" and self.select:
            chosen = next((v for v, on in self.options if on), self.options[0][0] if self.options else "")
            self.pairs.append((self.select, chosen))
            self.select = None


def page_form(html: str) -> MultiDict:
    parser = FormControls()
    parser.feed(html)
    return MultiDict(parser.pairs)


async def admin_browser(client, slug: str):
    browser = client
    answer = await staff_login(browser, slug, "admin")
    assert answer.status_code == 302, await answer.get_data(as_text=True)
    page = await browser.get(f"/t/{slug}/admin/workflow")
    assert page.status_code == 200
    return browser, await page.get_data(as_text=True)


async def post_form(browser, url: str, form: MultiDict):
    return await browser.post(url, data=urlencode(list(form.items(multi=True))),
                              headers={"Content-Type": "application/x-www-form-urlencoded"})


def setall(form: MultiDict, values: dict) -> None:
    for name, value in values.items():
        form[name] = value  # replaces (MultiDict.update would add a second value)


def csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


async def test_the_page_shows_the_workflow_as_forms_that_read_back_unchanged(app, tmp_path):
    slug = await own_tenant(tmp_path)
    browser, html = await admin_browser(app.test_client(), slug)
    expected = canonical(Workflow.model_validate(default_workflow_data()))
    assert designer.draft_from_form(page_form(html)) == expected
    assert "<svg" in html and html.count('class="state') >= len(expected["states"])
    for words in ("办理流程设计", "受理期限", "已登记，待受理", "分办给承办人", "登记员", "承办人", "答复内容", "第 1 版", "正在使用"):
        assert words in html, words
    assert "tenant_admin" not in re.sub(r"<[^>]+>", "", html)  # role words, not codes, in what people read
    assert "名称（英文）" in html and "(English)" not in html  # each box named in the page's language


async def test_the_draft_is_kept_between_clicks_and_problems_stand_next_to_their_field(app, tmp_path):
    slug = await own_tenant(tmp_path)
    browser, html = await admin_browser(app.test_client(), slug)
    form = page_form(html)
    form["csrf_token"] = csrf(html)
    form["tl-1-amount"] = "45"  # handling, 60 -> 45
    form["op"] = "add_step"
    added = await post_form(browser, f"/t/{slug}/admin/workflow", form)
    assert added.status_code == 302 and added.headers["Location"].endswith(f"#step-{13}")
    html = await (await browser.get(f"/t/{slug}/admin/workflow")).get_data(as_text=True)
    draft = designer.draft_from_form(page_form(html))
    assert draft["time_limits"]["handling"]["amount"] == 45 and len(draft["transitions"]) == 14
    assert "尚未发布的草稿" in html

    form = page_form(html)
    setall(form, {"csrf_token": csrf(html), "op": "check"})
    checked = await post_form(browser, f"/t/{slug}/admin/workflow", form)
    text = await checked.get_data(as_text=True)
    assert checked.status_code == 200
    step = re.search(r'<details id="step-13".*?</details>', text, re.S)
    assert 'open' in step.group(0).split(">")[0]  # a step with a problem is open
    assert "请填写步骤的中文名称" in step.group(0) and "请选择办理后进入的状态" in step.group(0)

    form = page_form(text)
    setall(form, {"csrf_token": csrf(text), "tr-13-name_zh": "补充调查", "tr-13-name_en": "Inquire further", "tr-13-to": "handling"})
    form.setlist("tr-13-from", ["handling"])
    form.setlist("tr-13-roles", ["handler"])
    form["op"] = "publish"
    published = await post_form(browser, f"/t/{slug}/admin/workflow", form)
    assert published.status_code == 302, await published.get_data(as_text=True)
    assert published.headers["Location"].endswith("?published=2")
    html = await (await browser.get(published.headers["Location"])).get_data(as_text=True)
    assert "已发布为第 2 版" in html and "尚未发布的草稿" not in html
    assert "补充调查" in html and designer.draft_from_form(page_form(html))["time_limits"]["handling"]["amount"] == 45

    # publishing a broken draft: 422, the draft kept, nothing published
    form = page_form(html)
    setall(form, {"csrf_token": csrf(html), "st-2-name_zh": "", "op": "publish"})
    refused = await post_form(browser, f"/t/{slug}/admin/workflow", form)
    text = await refused.get_data(as_text=True)
    assert refused.status_code == 422 and "请填写状态的中文名称" in re.search(r'<fieldset id="state-2".*?</fieldset>', text, re.S).group(0)
    form = page_form(text)
    setall(form, {"csrf_token": csrf(text), "op": "discard"})
    await post_form(browser, f"/t/{slug}/admin/workflow", form)
    html = await (await browser.get(f"/t/{slug}/admin/workflow")).get_data(as_text=True)
    assert "不予受理" in html and "尚未发布的草稿" not in html and "正在使用：第 2 版" in html


async def test_reloading_the_bundle_keeps_what_the_admin_published_and_a_changed_bundle_is_a_new_version(client, tmp_path):
    from tests.test_workflow_checks import _workflow_toml

    slug = await own_tenant(tmp_path)
    admin = await login_token(client, slug, "admin")
    assert (await client.put(f"/t/{slug}/api/workflow", headers=admin, json=new_version_data())).status_code == 200
    _, bundles = discover(tmp_path)
    mine = [b for b in bundles if b.slug == slug]
    report = await BundleLoader(PASSWORD).load(None, mine)
    assert report.counts.get("workflows.unchanged") == 1
    versions = await (await client.get(f"/t/{slug}/api/workflow/versions", headers=admin)).get_json()
    assert versions["current"] == 2  # the designer's version stays: the bundle did not change

    changed = Workflow.model_validate(default_workflow_data()).model_dump(mode="json", by_alias=True, exclude_none=True)
    changed["time_limits"]["acceptance"] = {"amount": 10, "unit": "calendar_days"}
    path = tmp_path / slug / "bundle.toml"
    path.write_text(_bundle_text(slug) + "\n" + _workflow_toml(changed), encoding="utf-8")
    _, bundles = discover(tmp_path)
    report = await BundleLoader(PASSWORD).load(None, [b for b in bundles if b.slug == slug])
    assert report.counts.get("workflows.updated") == 1
    versions = await (await client.get(f"/t/{slug}/api/workflow/versions", headers=admin)).get_json()
    assert versions["current"] == 3 and versions["versions"][0]["author"] == "运维配置包 / operator bundle"
    shown = await (await client.get(f"/t/{slug}/api/workflow", headers=admin)).get_json()
    assert shown["time_limits"]["acceptance"]["amount"] == 10


def test_removing_a_state_or_a_time_limit_takes_it_out_of_every_step():
    draft = canonical(Workflow.model_validate(default_workflow_data()))
    handling = next(i for i, s in enumerate(draft["states"]) if s["key"] == "handling")
    designer.remove_state(draft, handling)
    assert all("handling" not in t["from"] for t in draft["transitions"])
    assert next(t for t in draft["transitions"] if t["key"] == "assign")["to"] == ""  # the check then asks where it leads
    designer.remove_time_limit(draft, "review")
    assert all(s["deadline"] != "review" for s in draft["states"]) and "review" not in draft["time_limits"]
    designer.remove_step(draft, next(i for i, t in enumerate(draft["transitions"]) if t["key"] == "reply"))
    assert all("reply" not in t["not_by"] for t in draft["transitions"])
    key = designer.add_time_limit(draft)
    assert key == "limit_1" and draft["time_limits"][key] == {"amount": 15, "unit": "working_days"}
    problems = designer_problems(draft)
    assert set(problems) == {"transitions.4.to", "transitions.5.to"}  # 分办 and 延期 led to the state removed
    assert problems["transitions.4.to"] == {"zh": "请选择办理后进入的状态", "en": "choose the state it leads to"}


def designer_problems(draft: dict) -> dict:
    from xinfang.petitions.workflow_checks import publish_problems
    from xinfang.petitions.workflow_versions import dotted

    return dotted(publish_problems(designer.definition_of(draft), set(), date(2026, 3, 2)))
