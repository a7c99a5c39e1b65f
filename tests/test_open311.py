"""Open311 GeoReport v2 conformance (issue 15), called over HTTP against a real server as a civic app would:
services, a service definition, POST a request with a key (201, an id and the citizen's receipt), keys refused
the spec's way (403), invalid attributes (400), GET requests (open/closed, never the petitioner), rate limits (429),
JSON only, and isolation between bodies and between clients."""

from __future__ import annotations

import re
import uuid

import httpx
import pytest

from tests.conftest import in_one_window, login_token
from xinfang.exchange import open311
from xinfang.forms.service import require_form
from xinfang.petitions.models import Petition
from tests.staffing import tenant_scope

ISOLATION_CASES = {
    "open311.discovery": dict(method="GET", path="/open311/discovery.json", kind="public"),
    "open311.services": dict(method="GET", path="/open311/v2/services.json", kind="public"),
    "open311.service_definition": dict(method="GET", path="/open311/v2/services/petition.json", kind="public"),
    "open311.file_request": dict(method="POST", path="/open311/v2/requests.json", kind="public"),
    "open311.requests_list": dict(method="GET", path="/open311/v2/requests.json", kind="public"),
    "open311.request_one": dict(method="GET", path="/open311/v2/requests/x.json", kind="public"),
    "open311.method_not_allowed": dict(method="DELETE", path="/open311/v2/requests.json", kind="public"),
}
ID_NUMBER = "110101199003078515"  # a valid check digit


async def new_key(client, slug: str, name: str, rate: int = 1000) -> str:
    admin = await login_token(client, slug, "admin")
    made = await client.post(f"/t/{slug}/api/exchange/clients", headers=admin,
                             json={"name": name, "scopes": ["open311"], "rate_limit_per_minute": rate})
    assert made.status_code == 201, await made.get_data(as_text=True)
    return (await made.get_json())["api_key"]


@pytest.fixture(scope="module")
async def keys(app, tenants):
    client = app.test_client()
    return {"A": await new_key(client, tenants.A, "市长信箱（Open311 测试）"), "A2": await new_key(client, tenants.A, "另一个应用"),
            "B": await new_key(client, tenants.B, "巴州城市服务")}


@pytest.fixture
async def http(live_server):
    async with httpx.AsyncClient(base_url=live_server, timeout=30) as session:
        yield session


def v2(slug: str, rest: str) -> str:
    return f"/t/{slug}/open311/v2/{rest}"


def assert_open311_error(response, status: int, *words: str) -> list[dict]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert isinstance(body, list) and body and all(e["code"] == status and isinstance(e["description"], str) for e in body), body
    text = " ".join(e["description"] for e in body)
    assert " / " in text  # Chinese, then English
    for word in words:
        assert word in text, text
    return body


async def file(http, slug: str, key: str, **fields) -> httpx.Response:
    data = {"api_key": key, "service_code": "petition", "description": f"小区门口的排水沟堵塞多日，无人处理。{uuid.uuid4().hex[:6]}",
            "address_string": "泗阳县众兴镇某小区", "lat": "33.72", "long": "118.70", "attribute[category]": "other", **fields}
    return await http.post(v2(slug, "requests.json"), data=data)


async def test_services_are_the_published_forms(http, tenants):
    listed = await http.get(v2(tenants.A, "services.json"))
    assert listed.status_code == 200 and listed.headers["content-type"].startswith("application/json")
    services = {s["service_code"]: s for s in listed.json()}
    assert services["petition"]["service_name"] == "信访件登记"
    assert services["petition"]["metadata"] is True and services["petition"]["type"] == "realtime"
    assert services["report"]["group"] == "检举控告"
    assert set(services["petition"]) >= {"service_code", "service_name", "description", "metadata", "type", "keywords", "group"}


async def test_a_service_definition_maps_the_form_fields(http, tenants):
    definition = (await http.get(v2(tenants.A, "services/petition.json"))).json()
    assert definition["service_code"] == "petition"
    attrs = {a["code"]: a for a in definition["attributes"]}
    assert attrs["title"]["datatype"] == "string" and attrs["title"]["required"] is True and attrs["title"]["variable"] is True
    assert attrs["content"]["datatype"] == "text"
    assert attrs["occurred_on"]["datatype"] == "datetime"
    assert attrs["involved_people"]["datatype"] == "number"
    assert attrs["category"]["datatype"] == "singlevaluelist"
    assert {"key": "other", "name": "其他"} in attrs["category"]["values"]
    assert attrs["reported_elsewhere"]["datatype"] == "singlevaluelist"  # a yes/no box
    assert attrs["petitioner_name"]["required"] is False and "实名" in attrs["petitioner_name"]["datatype_description"]
    assert sorted(a["order"] for a in definition["attributes"]) == list(range(1, len(attrs) + 1))
    report = {a["code"]: a for a in (await http.get(v2(tenants.A, "services/report.json"))).json()["attributes"]}
    assert report["subject.name"]["required"] is True and report["subject.kind"]["datatype"] == "singlevaluelist"
    assert_open311_error(await http.get(v2(tenants.A, "services/no_such_form.json")), 404)


async def test_formats_and_the_jurisdiction_are_checked(http, tenants):
    assert_open311_error(await http.get(v2(tenants.A, "services.yaml")), 404, ".xml")
    assert_open311_error(await http.get(v2(tenants.A, "services.json"), params={"jurisdiction_id": tenants.B}), 404)
    assert (await http.get(v2(tenants.A, "services.json"), params={"jurisdiction_id": tenants.A})).status_code == 200
    discovery = (await http.get(f"/t/{tenants.A}/open311/discovery.json")).json()
    assert discovery["endpoints"][0]["url"].endswith(f"/t/{tenants.A}/open311/v2")


async def test_a_request_becomes_a_petition_with_the_citizens_receipt(http, tenants, keys):
    filed = await file(http, tenants.A, keys["A"])
    assert filed.status_code == 201, filed.text
    answer = filed.json()
    assert isinstance(answer, list) and len(answer) == 1
    number, receipt = answer[0]["service_request_id"], answer[0]["receipt"]
    assert number.startswith("SIYANG-EDU-") and re.fullmatch(r"\d{16}", receipt)
    assert receipt in answer[0]["service_notice"] and "token" not in answer[0]
    # the receipt works at the citizens' portal, like one given on the web form
    followed = await http.post(f"/t/{tenants.A}/api/receipts/lookup", json={"receipt": receipt})
    assert followed.status_code == 200 and followed.json()["number"] == number
    petition = await Petition.find_one({"number": number, "tenant_id": (await tenant_scope(tenants.A)).tenant_id})
    assert petition.channel == "online" and petition.anonymous is True
    assert petition.title.startswith("小区门口的排水沟堵塞多日") and petition.answers["region"] == "泗阳县众兴镇某小区"
    one = await http.get(v2(tenants.A, f"requests/{number}.json"), params={"api_key": keys["A"]})
    assert one.status_code == 200, one.text
    view = one.json()[0]
    assert view["service_request_id"] == number and view["status"] == "open" and view["service_code"] == "petition"
    assert view["service_name"] == "信访件登记" and view["lat"] == 33.72 and view["address"] == "泗阳县众兴镇某小区"
    assert view["requested_datetime"].endswith("Z") and "已登记" in view["status_notes"]
    assert view["expected_datetime"].endswith("Z") and view["expected_datetime"][:10] >= petition.due_on  # the acceptance time limit
    assert view["agency_responsible"] == "泗阳县教育局纪委"


async def test_a_named_request_seals_the_identity_and_never_shows_it(http, client, tenants, keys):
    filed = await file(http, tenants.A, keys["A"], first_name="小明", last_name="王", phone="13912345678",
                       **{"attribute[id_number]": ID_NUMBER, "attribute[title]": "排水沟堵塞（实名）"})
    assert filed.status_code == 201, filed.text
    number = filed.json()[0]["service_request_id"]
    petition = await Petition.find_one({"number": number, "tenant_id": (await tenant_scope(tenants.A)).tenant_id})
    assert petition.anonymous is False and petition.identity_sealed and petition.petitioner_key
    assert "王小明" not in str(petition.answers) and ID_NUMBER not in str(petition.model_dump())
    listed = await http.get(v2(tenants.A, "requests.json"), params={"api_key": keys["A"]})
    assert number in listed.text
    for secret in ("王小明", "13912345678", ID_NUMBER):
        assert secret not in listed.text
    # the registrar sees who it is, as for any named petition
    registrar = await login_token(client, tenants.A, "registrar")
    staff = await (await client.get(f"/t/{tenants.A}/api/petitions/{petition.id}", headers=registrar)).get_data(as_text=True)
    assert "王小明" in staff


async def test_a_named_request_without_the_forms_required_identity_is_a_400(http, tenants, keys):
    refused = await file(http, tenants.A, keys["A"], first_name="小红", last_name="李")
    body = assert_open311_error(refused, 400, "身份证")
    assert any("id_number" in e["description"] for e in body)


async def test_keys_are_refused_the_open311_way(http, tenants, keys):
    assert_open311_error(await file(http, tenants.A, ""), 403, "api_key")
    assert_open311_error(await file(http, tenants.A, "xf_00000000_" + "a" * 43), 403, "api_key")
    assert_open311_error(await file(http, tenants.A, keys["B"]), 403)  # another body's key
    assert_open311_error(await http.get(v2(tenants.A, "requests.json")), 403)
    assert_open311_error(await http.get(v2(tenants.A, "requests.json"), params={"api_key": keys["B"]}), 403)


async def test_invalid_attributes_are_400s_naming_the_field(http, tenants, keys):
    bad_choice = await file(http, tenants.A, keys["A"], **{"attribute[category]": "not-a-category"})
    assert_open311_error(bad_choice, 400, "问题类别", "category")
    unknown = await file(http, tenants.A, keys["A"], **{"attribute[shoe_size]": "42"})
    assert_open311_error(unknown, 400, "attribute[shoe_size]")
    no_code = await http.post(v2(tenants.A, "requests.json"), data={"api_key": keys["A"], "description": "x"})
    assert_open311_error(no_code, 400, "service_code")
    assert_open311_error(await file(http, tenants.A, keys["A"], service_code="no_such_form"), 404)
    assert_open311_error(await file(http, tenants.A, keys["A"], lat="91"), 400, "lat")
    missing = await http.post(v2(tenants.A, "requests.json"), data={"api_key": keys["A"], "service_code": "petition"})
    assert_open311_error(missing, 400, "必填")


async def test_a_json_body_works_too_with_an_idempotency_key(http, tenants, keys):
    body = {"api_key": keys["A"], "service_code": "petition", "description": "路灯损坏三个月没人修。",
            "attribute": {"category": "other", "involved_people": 3}}
    key = {"Idempotency-Key": "open311-test-" + uuid.uuid4().hex}
    first = await http.post(v2(tenants.A, "requests.json"), json=body, headers=key)
    again = await http.post(v2(tenants.A, "requests.json"), json=body, headers=key)
    assert first.status_code == again.status_code == 201, (first.text, again.text)
    assert first.json()[0]["service_request_id"] == again.json()[0]["service_request_id"]
    assert first.json()[0]["receipt"] == again.json()[0]["receipt"]


async def test_two_clients_choosing_the_same_idempotency_key_file_two_requests(http, tenants, keys):
    """Each client's keys are its own: another app of the body using the same key (its own request ids, say) files its
    own request, never gets the first app's case and receipt back, and is not refused because of it."""
    body = {"service_code": "petition", "description": f"同一个键，两个应用。{uuid.uuid4().hex[:6]}", "attribute": {"category": "other"}}
    key = {"Idempotency-Key": "shared-id-" + uuid.uuid4().hex}
    first = await http.post(v2(tenants.A, "requests.json"), json={**body, "api_key": keys["A"]}, headers=key)
    other = await http.post(v2(tenants.A, "requests.json"), json={**body, "api_key": keys["A2"]}, headers=key)
    assert first.status_code == other.status_code == 201, (first.text, other.text)
    assert first.json()[0]["service_request_id"] != other.json()[0]["service_request_id"]
    assert first.json()[0]["receipt"] != other.json()[0]["receipt"]
    changed = await http.post(v2(tenants.A, "requests.json"), json={**body, "description": "另一件事。", "api_key": keys["A2"]},
                              headers={"Idempotency-Key": "shared-id-" + uuid.uuid4().hex})
    again = await http.post(v2(tenants.A, "requests.json"), json={**body, "api_key": keys["A2"]}, headers=key)
    assert changed.status_code == again.status_code == 201
    assert again.json()[0]["service_request_id"] == other.json()[0]["service_request_id"]  # a retry of its own: the same
    bad = await http.post(v2(tenants.A, "requests.json"), json={**body, "api_key": keys["A2"]}, headers={"Idempotency-Key": "short"})
    assert_open311_error(bad, 400, "Idempotency-Key")


async def test_get_requests_lists_only_this_clients_and_follows_the_state(http, client, tenants, keys):
    numbers = [(await file(http, tenants.A, keys["A"])).json()[0]["service_request_id"] for _ in range(2)]
    mine = (await http.get(v2(tenants.A, "requests.json"), params={"api_key": keys["A"]})).json()
    assert set(numbers) <= {r["service_request_id"] for r in mine}
    other_client = await http.get(v2(tenants.A, "requests.json"), params={"api_key": keys["A2"]})
    assert other_client.status_code == 200 and not set(numbers) & {r["service_request_id"] for r in other_client.json()}
    assert_open311_error(await http.get(v2(tenants.A, f"requests/{numbers[0]}.json"), params={"api_key": keys["A2"]}), 404)
    picked = await http.get(v2(tenants.A, "requests.json"), params={"api_key": keys["A"], "service_request_id": numbers[1]})
    assert [r["service_request_id"] for r in picked.json()] == [numbers[1]]
    # close the first one through the staff workflow: accept, assign, reply, close
    scope = await tenant_scope(tenants.A)
    petition = await Petition.find_one({"number": numbers[0], "tenant_id": scope.tenant_id})
    leader, handler = await login_token(client, tenants.A, "leader"), await login_token(client, tenants.A, "handler")
    accounts = (await (await client.get(f"/t/{tenants.A}/api/accounts", headers=leader)).get_json())["accounts"]
    handler_id = next(a["id"] for a in accounts if a["username"] == "handler")
    for headers, step, fields in ((leader, "accept", {}), (leader, "assign", {"assignee": handler_id}),
                                  (handler, "reply", {"reply": "已疏通。"}), (handler, "close", {})):
        moved = await client.post(f"/t/{tenants.A}/api/petitions/{petition.id}/transitions/{step}", headers=headers, json={"fields": fields})
        assert moved.status_code == 200, await moved.get_data(as_text=True)
    closed = await http.get(v2(tenants.A, "requests.json"), params={"api_key": keys["A"], "status": "closed"})
    assert numbers[0] in {r["service_request_id"] for r in closed.json()} and numbers[1] not in closed.text
    view = (await http.get(v2(tenants.A, f"requests/{numbers[0]}.json"), params={"api_key": keys["A"]})).json()[0]
    assert view["status"] == "closed" and view["expected_datetime"] is None and "已办结" in view["status_notes"]
    assert_open311_error(await http.get(v2(tenants.A, "requests.json"), params={"api_key": keys["A"], "status": "lost"}), 400, "status")
    assert_open311_error(await http.get(v2(tenants.A, "requests.json"),
                                        params={"api_key": keys["A"], "start_date": "2026-01-01T00:00:00Z", "end_date": "2026-12-01T00:00:00Z"}),
                         400, "90")


async def test_one_body_cannot_read_anothers_requests(http, tenants, keys):
    number = (await file(http, tenants.A, keys["A"])).json()[0]["service_request_id"]
    assert_open311_error(await http.get(v2(tenants.B, f"requests/{number}.json"), params={"api_key": keys["B"]}), 404)
    assert number not in (await http.get(v2(tenants.B, "requests.json"), params={"api_key": keys["B"]})).text
    assert_open311_error(await http.get(v2(tenants.B, f"requests/{number}.json"), params={"api_key": keys["A"]}), 403)


async def test_a_clients_own_rate_limit_answers_429(http, client, tenants):
    slow = await new_key(client, tenants.B, "限速测试客户端", rate=3)
    await in_one_window(60)  # a client's calls are counted a minute at a time
    answers = [await http.get(v2(tenants.B, "requests.json"), params={"api_key": slow}) for _ in range(4)]
    assert [a.status_code for a in answers[:3]] == [200, 200, 200]
    assert_open311_error(answers[3], 429)
    assert int(answers[3].headers["Retry-After"]) >= 1


async def test_the_definition_round_trips_every_shipped_form(tenants):
    """Every attribute a definition offers is one the POST accepts (no unknown-attribute 400 for what we offer)."""
    scope = await tenant_scope(tenants.A)
    for key in ("petition", "report", "suggestion"):
        form = await require_form(scope, key)
        codes = [a["code"] for a in open311.definition_view(form)["attributes"]]
        given = open311.MultiDict({code: "x" for code in codes})
        assert open311.unknown_attributes(form.json_schema, given) is None, key


async def test_odd_input_gets_an_open311_error_never_a_5xx(client, tenants, keys):
    base = f"/t/{tenants.A}/open311/v2"
    key = keys["A"]
    odd = [
        ("POST", "/requests.json", dict(data=b"\xff\xfe not utf-8", headers={"Content-Type": "application/x-www-form-urlencoded"})),
        ("POST", "/requests.json", dict(data=b"{not json", headers={"Content-Type": "application/json"})),
        ("POST", "/requests.json", dict(json=[1, 2, 3])),
        ("POST", "/requests.json", dict(json={"api_key": key, "service_code": "petition", "attribute": {"category": {"deep": [1, {"x": None}]}}})),
        ("POST", "/requests.json", dict(json={"api_key": key, "service_code": "petition", "attribute": "not an object", "lat": "nan", "long": "inf"})),
        ("POST", "/requests.json", dict(form={"api_key": key, "service_code": "petition\x00", "description": "x" * 100_000})),
        ("POST", "/requests.json", dict(form={"api_key": key, "service_code": "report", "attribute[subject.kind]": "alien",
                                              "attribute[subject]": "flat", "attribute[involved_people]": "1e999", "description": "\x00\x01\u202e"})),
        ("POST", "/requests.json", dict(form={"api_key": key, "service_code": "petition", "attribute[occurred_on]": "2026-13-45T99:99:99Z",
                                              "attribute[category]": "other", "description": "日期不对"})),
        ("POST", "/requests.json", dict(form={"api_key": key * 50, "service_code": "petition"})),
        ("GET", "/requests.json?api_key=" + key + "&start_date=yesterday&end_date=2026-01-01", {}),
        ("GET", "/requests.json?api_key=" + key + "&start_date=2026-01-01T00:00:00", {}),
        ("GET", "/requests.json?api_key=" + key + "&service_request_id=" + ",".join(["x"] * 3000), {}),
        ("GET", "/requests/" + "9" * 500 + ".json?api_key=" + key, {}),
        ("GET", "/services/" + "a" * 300 + ".json", {}),
        ("GET", "/services.yaml", {}),
        ("DELETE", "/requests.json", {}),
        ("PUT", "/services/petition.json", {}),
        ("POST", "/services.json", {}),
        ("POST", "/requests.json", dict(form={"api_key": key, "service_code": "petition", "description": "x", "media": "not a file"},
                                        headers={"Content-Type": "multipart/form-data; boundary=zzz"})),
        ("POST", "/requests.json", dict(data=b"--zzz\r\nContent-Disposition: form-data; name=\"media\"; filename=\"a.png\"\r\n\r\n\x89PNG",
                                        headers={"Content-Type": "multipart/form-data; boundary=zzz"})),
        ("POST", "/requests.json", dict(data=b"junk", headers={"Content-Type": "multipart/form-data"})),
    ]
    for method, path, options in odd:
        answer = await client.open(base + path, method=method, **options)
        text = await answer.get_data(as_text=True)
        assert answer.status_code < 500, (method, path, answer.status_code, text[:300])
        body = await answer.get_json()
        assert isinstance(body, list), (method, path, answer.status_code, answer.mimetype, text[:300])
        if answer.status_code != 200:  # only the long id list is a plain (empty) answer
            assert body[0]["code"] == answer.status_code and body[0]["code"] in (400, 403, 404, 405, 413), (path, body)
        else:
            assert "service_request_id=" in path and body == []


# -- XML, the spec's required format (GeoReport v2 "Format Support") ------------------------------------------------

def parse_xml(response: httpx.Response, status: int, root: str):
    """A civic app's reading: the status, the declared type, UTF-8 with the declaration, and the spec's root element."""
    from xml.etree import ElementTree

    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("text/xml") and "utf-8" in response.headers["content-type"].lower()
    assert response.content.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    tree = ElementTree.fromstring(response.content)
    assert tree.tag == root, response.text
    return tree


def assert_xml_error(response: httpx.Response, status: int, *words: str) -> None:
    tree = parse_xml(response, status, "errors")
    errors = tree.findall("error")
    assert errors and all(e.findtext("code") == str(status) and " / " in e.findtext("description") for e in errors), response.text
    text = " ".join(e.findtext("description") for e in errors)
    for word in words:
        assert word in text, text


async def test_every_call_answers_xml_in_the_specs_shape(http, tenants, keys):
    services = parse_xml(await http.get(v2(tenants.A, "services.xml")), 200, "services")
    listed = {s.findtext("service_code"): s for s in services.findall("service")}
    assert listed["petition"].findtext("service_name") == "信访件登记" and listed["petition"].findtext("metadata") == "true"
    assert listed["petition"].findtext("type") == "realtime" and listed["report"].findtext("group") == "检举控告"
    assert [c.tag for c in listed["petition"]] == ["service_code", "service_name", "description", "metadata", "type", "keywords", "group"]

    definition = parse_xml(await http.get(v2(tenants.A, "services/petition.xml")), 200, "service_definition")
    assert definition.findtext("service_code") == "petition"
    attributes = {a.findtext("code"): a for a in definition.find("attributes").findall("attribute")}
    category = attributes["category"]
    assert category.findtext("variable") == "true" and category.findtext("datatype") == "singlevaluelist"
    assert {"key": "other", "name": "其他"} in [{"key": v.findtext("key"), "name": v.findtext("name")}
                                               for v in category.find("values").findall("value")]
    assert attributes["title"].findtext("required") == "true" and attributes["petitioner_name"].findtext("required") == "false"
    assert sorted(int(a.findtext("order")) for a in attributes.values()) == list(range(1, len(attributes) + 1))

    discovery = parse_xml(await http.get(f"/t/{tenants.A}/open311/discovery.xml"), 200, "discovery")
    formats = [f.text for f in discovery.find("endpoints").find("endpoint").find("formats").findall("format")]
    assert formats == ["text/xml", "application/json"]

    text = f"排水沟 <b>堵塞</b> & \"漏水\" 'x' {uuid.uuid4().hex[:6]}"  # markup and quotes must come back as text
    posted = await http.post(v2(tenants.A, "requests.xml"), data={
        "api_key": keys["A"], "service_code": "petition", "description": text, "attribute[category]": "other",
        "address_string": "众兴镇 <小区>"})
    created = parse_xml(posted, 201, "service_requests").findall("request")
    assert len(created) == 1
    number = created[0].findtext("service_request_id")
    assert number.startswith("SIYANG-EDU-") and re.fullmatch(r"\d{16}", created[0].findtext("receipt"))
    assert created[0].find("account_id") is not None and not created[0].findtext("account_id")  # the spec's <account_id/>

    one = parse_xml(await http.get(v2(tenants.A, f"requests/{number}.xml"), params={"api_key": keys["A"]}), 200, "service_requests")
    request_ = one.find("request")
    assert request_.findtext("service_request_id") == number and request_.findtext("status") == "open"
    assert request_.findtext("description") == text and request_.findtext("address") == "众兴镇 <小区>"
    assert request_.findtext("requested_datetime").endswith("Z") and request_.find("zipcode") is not None
    many = parse_xml(await http.get(v2(tenants.A, "requests.xml"), params={"api_key": keys["A"], "status": "open"}), 200,
                     "service_requests")
    assert number in [r.findtext("service_request_id") for r in many.findall("request")]


async def test_errors_answer_in_xml_when_xml_was_asked(http, tenants, keys):
    assert_xml_error(await http.post(v2(tenants.A, "requests.xml"), data={"service_code": "petition"}), 403, "api_key")
    assert_xml_error(await http.get(v2(tenants.A, "services/no_such_form.xml")), 404)
    assert_xml_error(await http.post(v2(tenants.A, "requests.xml"), data={
        "api_key": keys["A"], "service_code": "petition", "description": "x", "attribute[category]": "not-a-category"}),
        400, "问题类别", "category")
    assert_xml_error(await http.get(v2(tenants.A, "requests.xml"), params={"api_key": keys["A"], "status": "lost"}), 400, "status")
    assert_xml_error(await http.get(v2(tenants.A, "requests/NO-SUCH.xml"), params={"api_key": keys["A"]}), 404)
    assert_xml_error(await http.delete(v2(tenants.A, "requests.xml")), 405)
    assert_xml_error(await http.get(v2(tenants.A, "services.xml"), params={"jurisdiction_id": tenants.B}), 404)


def test_xml_text_is_escaped_and_characters_xml_cannot_hold_are_dropped():
    from xml.etree import ElementTree

    from xinfang.exchange.open311_xml import to_xml

    raw = to_xml("service_requests", [{"description": "a<b>&\"'\x00\x01\x1b\ud800\ufffe c", "lat": 33.5, "done": False, "account_id": None}])
    parsed = ElementTree.fromstring(raw).find("request")
    assert parsed.findtext("description") == "a<b>&\"' c" and b"<b>" not in raw
    assert parsed.findtext("lat") == "33.5" and parsed.findtext("done") == "false" and parsed.find("account_id").text is None


# -- media sent with a request (multipart/form-data) ----------------------------------------------------------------

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


async def test_a_media_file_becomes_an_attachment_only_staff_can_open(http, client, tenants, keys):
    fields = {"api_key": keys["A"], "service_code": "petition", "description": f"排水沟照片一张。{uuid.uuid4().hex[:6]}",
              "attribute[category]": "other"}
    filed = await http.post(v2(tenants.A, "requests.json"), data=fields, files={"media": ("现场.png", PNG, "image/png")})
    assert filed.status_code == 201, filed.text
    number = filed.json()[0]["service_request_id"]
    petition = await Petition.find_one({"number": number, "tenant_id": (await tenant_scope(tenants.A)).tenant_id})
    assert len(petition.attachment_ids) == 1
    view = (await http.get(v2(tenants.A, f"requests/{number}.json"), params={"api_key": keys["A"]})).json()[0]
    assert view["media_url"].endswith(f"/t/{tenants.A}/api/petitions/{petition.id}/attachments/{petition.attachment_ids[0]}")
    path = httpx.URL(view["media_url"]).path
    outsider = await http.get(path)  # the client, the public: no staff login, no file
    assert outsider.status_code in (401, 403) and PNG not in outsider.content
    assert (await http.get(path, params={"api_key": keys["A"]})).status_code in (401, 403)
    other_body = await http.get(path.replace(f"/t/{tenants.A}/", f"/t/{tenants.B}/"),
                                headers=await login_token(client, tenants.B, "handler"))
    assert other_body.status_code in (403, 404) and PNG not in other_body.content
    registrar = await login_token(client, tenants.A, "registrar")
    opened = await http.get(path, headers=registrar)
    assert opened.status_code == 200 and opened.content == PNG and opened.headers["content-type"] == "image/png"


async def test_media_is_checked_by_its_bytes_and_refused_the_specs_way(http, tenants, keys):
    fields = {"api_key": keys["A"], "service_code": "petition", "description": "附件不合要求。", "attribute[category]": "other"}
    script = await http.post(v2(tenants.A, "requests.json"), data=fields, files={"media": ("photo.png", b"<script>alert(1)</script>", "image/png")})
    assert_open311_error(script, 400, "只接受", "media")
    big = await http.post(v2(tenants.A, "requests.json"), data=fields,
                          files={"media": ("big.jpg", b"\xff\xd8\xff" + b"\x00" * (5 * 1024 * 1024 + 10), "image/jpeg")})
    assert_open311_error(big, 400, "5 MB", "media")
    both = await http.post(v2(tenants.A, "requests.json"), data={**fields, "media_url": "https://example.org/p.png"},
                           files={"media": ("a.png", PNG, "image/png")})
    assert_open311_error(both, 400, "media_url")
    two = await http.post(v2(tenants.A, "requests.json"), data=fields,
                          files=[("media", ("a.png", PNG, "image/png")), ("media", ("b.png", PNG, "image/png"))])
    assert_open311_error(two, 400, "一个")
    assert_xml_error(await http.post(v2(tenants.A, "requests.xml"), data=fields,
                                     files={"media": ("x.gif", b"GIF89a....", "image/gif")}), 400, "PDF, JPEG, PNG")
    no_key = await http.post(v2(tenants.A, "requests.json"), data={**fields, "api_key": ""}, files={"media": ("a.png", PNG, "image/png")})
    assert_open311_error(no_key, 403)
