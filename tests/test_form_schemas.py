"""Tenant form schemas: the built-in templates, the safety gate and citizen-facing validation.

Pure functions, no fixtures: tenant schemas are untrusted input and every refusal rule
has a case that names the JSON pointer of the problem.
"""

from __future__ import annotations

import copy
import http.server
import json
import re
import threading
import time

import pytest
import referencing.exceptions
from jsonschema import Draft202012Validator

from xinfang.forms import schema_safety
from xinfang.forms.schema_safety import (
    ANONYMOUS_IDENTITY_EN,
    ANONYMOUS_IDENTITY_ZH,
    FieldError,
    SchemaRejected,
    check_tenant_schema,
    compile_validator,
    identity_names,
    validate_submission,
)
from xinfang.forms.templates_library import FORM_SCHEMAS_DIR, load_templates
from tests.conftest import REPO_ROOT

DIALECT = "https://json-schema.org/draft/2020-12/schema"
CATEGORIES = ["political", "organizational", "integrity", "mass", "work", "life", "legal", "other"]


@pytest.fixture(scope="module")
def templates():
    return load_templates()


def form(properties: dict, required: list | None = None, **extra) -> dict:
    schema = {
        "$schema": DIALECT,
        "title": "测试表单",
        "x-en": {"title": "Test form"},
        "type": "object",
        "properties": properties,
        "required": required or [],
        "additionalProperties": False,
    }
    schema.update(extra)
    return schema


def text(title="名称", **extra) -> dict:
    return {"type": "string", "title": title, "x-en": {"title": "Name"}, **extra}


def rejected(schema) -> list[dict]:
    with pytest.raises(SchemaRejected) as caught:
        check_tenant_schema(schema)
    problems = caught.value.problems
    for problem in problems:
        assert set(problem) == {"path", "zh", "en"}
        assert problem["zh"].strip() and problem["en"].strip()
        assert isinstance(problem["path"], str)
    return problems


def paths(problems) -> list[str]:
    return [p["path"] for p in problems]


def filled_petition() -> dict:
    return {
        "title": "某村村委会主任违规收取宅基地审批费用",
        "category": "integrity",
        "content": "2024年3月以来，某村村委会主任张某在办理宅基地审批时，向多户村民每户收取“审批费”两千元，未开具任何票据。",
        "region": "江苏省宿迁市泗阳县某镇某村",
        "occurred_on": "2024-03-15",
        "involved_people": 12,
        "request": "请求核查并退还违规收取的费用。",
        "reported_elsewhere": False,
        "petitioner_name": "李明",
        "id_number": "321323198001011231",
        "phone": "13912345678",
        "email": "liming@example.cn",
        "address": "江苏省宿迁市泗阳县众兴镇人民路1号",
    }


def filled_report() -> dict:
    return {
        "subject": {"kind": "person", "name": "王某", "unit": "某县住建局", "position": "副局长", "rank": "township"},
        "category": ["integrity", "work"],
        "content": "王某在负责某安置小区工程验收期间，多次接受施工方宴请并收受购物卡，验收把关流于形式。",
        "occurred_on": "2023-11-20",
        "region": "某县城南新区",
        "amount_involved": 50000,
        "evidence": "有施工方内部账目复印件，可提供知情人联系方式。",
        "petitioner_name": "赵强",
        "id_number": "320102199002283459",
        "phone": "0527-88881234",
    }


# --------------------------------------------------------------------------- templates


def test_templates_are_loaded_from_the_repository_folder(templates):
    assert FORM_SCHEMAS_DIR == REPO_ROOT / "form_schemas"
    assert set(templates) == {"petition", "report", "suggestion"}
    for key, schema in templates.items():
        assert schema["x-form"] == {"key": key, "version": 1, "kind": key}
    assert load_templates() is not load_templates()  # callers get their own copies
    assert load_templates() == templates


@pytest.mark.parametrize("key", ["petition", "report", "suggestion"])
def test_every_template_passes_the_gate_and_the_metaschema(templates, key):
    schema = templates[key]
    check_tenant_schema(schema)
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == DIALECT
    assert schema["type"] == "object" and schema["additionalProperties"] is False
    assert set(schema["x-order"]) == set(schema["properties"])
    assert "channel" not in schema["properties"]


def _bilingual_nodes(schema):
    """(pointer, node) for the root, every property and every choice, recursively."""
    yield "", schema

    def walk(node, pointer):
        for name, sub in node.get("properties", {}).items():
            yield f"{pointer}/properties/{name}", sub
            yield from walk(sub, f"{pointer}/properties/{name}")
        choices = node.get("oneOf") or node.get("items", {}).get("oneOf") or []
        for i, choice in enumerate(choices):
            yield f"{pointer}/oneOf/{i}", choice

    yield from walk(schema, "")


@pytest.mark.parametrize("key", ["petition", "report", "suggestion"])
def test_every_title_and_description_is_bilingual(templates, key):
    han = re.compile(r"[\u4e00-\u9fff]")
    seen = 0
    for pointer, node in _bilingual_nodes(templates[key]):
        seen += 1
        assert han.search(node["title"]), f"{pointer}: Chinese title"
        assert node["x-en"]["title"] and not han.search(node["x-en"]["title"]), f"{pointer}: English title"
        if "description" in node:
            assert han.search(node["description"]), pointer
            assert node["x-en"].get("description") and not han.search(node["x-en"]["description"]), pointer
    assert seen > 10


def test_template_fields_and_required_sets(templates):
    petition, report, suggestion = templates["petition"], templates["report"], templates["suggestion"]
    identity = ["petitioner_name", "id_number", "phone", "email", "notify_progress", "address"]
    assert identity_names(petition) == identity
    assert identity_names(report) == identity
    assert identity_names(suggestion) == ["petitioner_name", "phone", "email", "notify_progress"]
    assert petition["required"] == ["title", "category", "content", "petitioner_name", "id_number", "phone"]
    assert report["required"] == ["subject", "category", "content", "petitioner_name", "id_number", "phone"]
    assert suggestion["required"] == ["topic", "content"]
    assert petition["properties"]["content"]["maxLength"] == 5000
    assert petition["properties"]["content"]["x-widget"] == "textarea"
    assert petition["properties"]["occurred_on"]["format"] == "date"
    assert [c["title"] for c in petition["properties"]["category"]["oneOf"]] == [
        "违反政治纪律", "违反组织纪律", "违反廉洁纪律", "违反群众纪律", "违反工作纪律", "违反生活纪律", "涉法涉诉", "其他",
    ]
    subject = report["properties"]["subject"]
    assert subject["type"] == "object" and subject["required"] == ["kind", "name"]
    assert [c["const"] for c in subject["properties"]["kind"]["oneOf"]] == ["person", "unit"]
    assert [c["title"] for c in subject["properties"]["rank"]["oneOf"]] == ["村(社区)干部", "乡科级", "县处级", "厅局级", "其他"]
    assert report["properties"]["category"]["items"]["oneOf"][2]["const"] == "integrity"
    assert report["properties"]["category"]["uniqueItems"] is True


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        ("11010519491231002X", True),
        ("110105194912310021", True),
        ("32132319800101123x", True),
        ("01010519491231002X", False),  # area code cannot start with 0
        ("110105194913310021", False),  # month 13
        ("110105194912320021", False),  # day 32
        ("11010519491231002", False),  # 17 characters
        ("1101051949123100211", False),  # 19 characters
        ("11010516491231002X", False),  # year 1649
    ],
)
def test_id_number_pattern(templates, value, valid):
    pattern = templates["petition"]["properties"]["id_number"]["pattern"]
    assert schema_safety.re2_search(pattern, value) is valid
    assert (re.search(pattern, value) is not None) is valid  # same answer in Python's dialect


@pytest.mark.parametrize(
    ("value", "valid"),
    [("13912345678", True), ("+8613912345678", True), ("0527-88881234", True), ("01088881234", True),
     ("12912345678", False), ("1391234567", False), ("phone", False)],
)
def test_phone_pattern(templates, value, valid):
    assert schema_safety.re2_search(templates["petition"]["properties"]["phone"]["pattern"], value) is valid


# --------------------------------------------------------------------------- the gate, rule by rule


def deep_dict(levels: int) -> dict:
    node: dict = {"leaf": True}
    for _ in range(levels):
        node = {"x": node}
    return node


REFUSALS = {
    "root type is not object": (form({"name": text()}) | {"type": "array"}, "/type"),
    "schema nested more than 8 levels": (form({"name": text()}, **{"$defs": deep_dict(10)}), "/$defs/x/x/x/x/x/x/x/x"),
    "enum longer than 200": (form({"c": {"type": "string", "enum": [f"v{i}" for i in range(201)]}}), "/properties/c/enum"),
    "oneOf longer than 200": (
        form({"c": {"type": "string", "oneOf": [{"const": f"v{i}", "title": f"选项{i}"} for i in range(201)]}}),
        "/properties/c/oneOf",
    ),
    "remote $ref": (form({"r": {"$ref": "https://evil.example/schema.json"}}), "/properties/r/$ref"),
    "remote $ref with a local-looking fragment": (
        form({"r": {"$ref": "https://evil.example/s.json#/$defs/x"}}), "/properties/r/$ref",
    ),
    "relative $ref": (form({"r": {"$ref": "other.json#/x"}}), "/properties/r/$ref"),
    "anchor $ref": (form({"r": {"$ref": "#anchor"}}), "/properties/r/$ref"),
    "unresolvable local $ref": (form({"r": {"$ref": "#/$defs/missing"}}), "/properties/r/$ref"),
    "$id": (form({"name": text()}, **{"$id": "https://evil.example/root"}), "/$id"),
    "nested $id": (form({"name": text(**{"$id": "https://evil.example/name"})}), "/properties/name/$id"),
    "$dynamicRef": (form({"name": text(**{"$dynamicRef": "#meta"})}), "/properties/name/$dynamicRef"),
    "$recursiveRef": (form({"name": text(**{"$recursiveRef": "#"})}), "/properties/name/$recursiveRef"),
    "foreign $schema": (form({"name": text()}) | {"$schema": "http://json-schema.org/draft-04/schema#"}, "/$schema"),
    "backreference in pattern": (form({"p": text(pattern=r"^(a)\1$")}), "/properties/p/pattern"),
    "lookahead in pattern": (form({"p": text(pattern=r"^(?=.*\d)\w+$")}), "/properties/p/pattern"),
    "lookbehind in patternProperties": (
        form({"name": text()}, patternProperties={"(?<=x)y": {"type": "string"}}), "/patternProperties/(?<=x)y",
    ),
    "format outside the allow-list": (form({"f": text(format="hostname")}), "/properties/f/format"),
    "format regex (would run Python re)": (form({"f": text(format="regex")}), "/properties/f/format"),
    "not valid under the metaschema": (form({"m": text(minLength=-1)}), "/properties/m/minLength"),
    "required is not a list": (form({"name": text()}) | {"required": "name"}, "/required"),
    "maxLength over 100000": (form({"t": text(maxLength=100_001)}), "/properties/t/maxLength"),
    "identity mark below the top level": (
        form({"subject": {
            "type": "object", "title": "被反映人", "additionalProperties": False,
            "properties": {"name": text(**{"x-identity": True})},
        }}),
        "/properties/subject/properties/name/x-identity",
    ),
    "platform field tenant_id": (form({"tenant_id": text()}), "/properties/tenant_id"),
    "platform field _id": (form({"_id": text()}), "/properties/_id"),
    "platform field channel": (form({"channel": text()}), "/properties/channel"),
    "platform field receipt": (form({"receipt": text()}), "/properties/receipt"),
    "platform field spelled tenantId": (form({"tenantId": text()}), "/properties/tenantId"),
    "platform field in a fieldset": (
        form({"subject": {"type": "object", "title": "组", "additionalProperties": False, "properties": {"Channel": text()}}}),
        "/properties/subject/properties/Channel",
    ),
    "field name with a dot": (form({"a.b": text()}), "/properties/a.b"),
    "recursive $ref": (
        form({"r": {"$ref": "#/$defs/a"}}, **{"$defs": {"a": {"$ref": "#/$defs/b"}, "b": {"$ref": "#/$defs/a"}}}),
        "/$defs/a",
    ),
    "unevaluatedProperties": (form({"name": text()}, unevaluatedProperties=False), "/unevaluatedProperties"),
    "additionalProperties not false": (form({"name": text()}) | {"additionalProperties": True}, "/additionalProperties"),
    "required names an undefined field": (form({"name": text()}, ["nmae"]), "/required/0"),
    "field type a form cannot show": (form({"list": {"type": "array", "items": {"type": "object"}}}), "/properties/list"),
    "unknown widget": (form({"w": text(**{"x-widget": "wysiwyg"})}), "/properties/w/x-widget"),
    "x-order names an undefined field": (form({"name": text()}, **{"x-order": ["ghost"]}), "/x-order/0"),
    "NaN is not JSON": (form({"n": {"type": "number", "title": "数", "maximum": float("nan")}}), "/properties/n/maximum"),
    "non-string key": (form({"name": text()}) | {1: "x"}, ""),
}


@pytest.mark.parametrize("case", list(REFUSALS))
def test_each_refusal_names_the_path(case):
    schema, path = REFUSALS[case]
    problems = rejected(schema)
    assert path in paths(problems), problems


def test_non_dict_schemas_are_refused():
    for value in (None, [], "{}", 42, True):
        assert paths(rejected(value)) == [""]


def test_oversized_schema_is_refused_before_anything_else():
    problems = rejected(form({"name": text(description="说明" * 40_000)}))
    assert paths(problems) == [""]
    assert "64" in problems[0]["zh"] or "65536" in problems[0]["zh"]


def test_absurdly_deep_or_self_referencing_schemas_do_not_crash_the_gate():
    deep = deep_dict(100_000)  # recursion would blow the stack
    assert rejected(form({"name": text()}, **{"$defs": deep}))
    looping: dict = form({"name": text()})
    looping["$defs"] = {"me": looping}  # a Python cycle, not JSON
    assert rejected(looping)


def test_problems_are_explained_in_both_languages():
    problems = rejected(form({"p": text(pattern=r"(a)\1")}))
    assert "正则" in problems[0]["zh"] and "RE2" in problems[0]["en"]


def test_every_problem_is_reported_at_once():
    schema = form({"a": text(format="hostname"), "b": text(pattern="(?=x)"), "channel": text()}, **{"$id": "urn:x"})
    assert {"/properties/a/format", "/properties/b/pattern", "/properties/channel", "/$id"} <= set(paths(rejected(schema)))


def test_the_limits_themselves_are_accepted():
    check_tenant_schema(form({"c": {"type": "string", "enum": [f"v{i}" for i in range(200)]}, "t": text(maxLength=100_000)}))
    # the deepest structure the conventions use: a multiple choice inside a fieldset
    check_tenant_schema(form({"group": {
        "type": "object", "title": "组", "additionalProperties": False,
        "properties": {"pick": {"type": "array", "uniqueItems": True, "items": {"type": "string", "oneOf": [
            {"const": "a", "title": "甲", "x-en": {"title": "A"}},
        ]}}},
    }}))
    # local references, RE2-only syntax, \\u escapes and an allowed format all pass
    check_tenant_schema(form(
        {"r": {"$ref": "#/$defs/name", "title": "引用"}, "han": text(pattern=r"^\p{Han}{2,4}$"),
         "u": text(pattern=r"^[\u4e00-\u9fa5]+$"), "when": text(format="date-time")},
        **{"$defs": {"name": {"type": "string", "maxLength": 10}}},
    ))


def test_a_remote_ref_is_refused_and_never_fetched():
    hits = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            hits.append(self.path)
            body = json.dumps({"type": "string"}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/schema+json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/schema.json"
        schema = form({"r": {"$ref": url}})
        assert "/properties/r/$ref" in paths(rejected(schema))
        with pytest.raises(SchemaRejected):
            compile_validator(schema)
        with pytest.raises(SchemaRejected):
            validate_submission(schema, {"r": "x"}, anonymous=False)
        # even a validator built by hand with the platform's class has nothing to fetch with
        validator = schema_safety.TenantSchemaValidator(
            {"properties": {"r": {"$ref": url}}}, registry=schema_safety.Registry(),
        )
        with pytest.raises(referencing.exceptions.Unresolvable):
            list(validator.iter_errors({"r": "x"}))
    finally:
        server.shutdown()
        server.server_close()
    assert hits == []


# --------------------------------------------------------------------------- RE2: no catastrophic backtracking


def test_catastrophic_regex_is_validated_in_linear_time_with_re2(capsys):
    schema = form({"word": text(pattern="^(a+)+$")}, patternProperties={"^(a+)+$": {"type": "string"}})
    adversarial = "a" * 5000 + "!"
    start = time.perf_counter()
    compile_validator(schema)
    compiled_in = time.perf_counter() - start

    start = time.perf_counter()
    errors = validate_submission(schema, {"word": adversarial}, anonymous=False)
    field_elapsed = time.perf_counter() - start
    assert [e.path for e in errors] == ["word"] and errors[0].zh == "名称：格式不正确"

    start = time.perf_counter()
    errors = validate_submission(schema, {adversarial: "x"}, anonymous=False)  # property names go through RE2 too
    key_elapsed = time.perf_counter() - start
    assert [e.path for e in errors] == [""] and "is not allowed" in errors[0].en

    assert validate_submission(schema, {"word": "a" * 5000}, anonymous=False) == []
    # a name the pattern matches is validated by the patternProperties subschema
    assert validate_submission(schema, {"a" * 5000: "ok"}, anonymous=False) == []
    assert [(e.path, e.en) for e in validate_submission(schema, {"aaa": 5}, anonymous=False)] == [("aaa", "aaa: must be text")]
    assert [(e.path, e.en) for e in validate_submission(schema, {"b": 5}, anonymous=False)] == [("", "field 'b' is not allowed")]
    assert field_elapsed < 0.5 and key_elapsed < 0.5  # backtracking would take years; RE2 takes milliseconds (0.5 s: a loaded machine)

    start = time.perf_counter()
    assert re.search("^(a+)+$", "a" * 26 + "!") is None
    python_re = time.perf_counter() - start
    with capsys.disabled():
        print(
            f"\n[RE2] ^(a+)+$ on 5,001 chars: field {field_elapsed * 1000:.2f} ms, property name "
            f"{key_elapsed * 1000:.2f} ms (first compile incl. gate {compiled_in * 1000:.1f} ms); "
            f"Python re on 27 chars ('a'*26+'!'), for information: {python_re * 1000:.0f} ms"
        )


# --------------------------------------------------------------------------- citizen-facing errors


def by_path(errors: list[FieldError]) -> dict[str, FieldError]:
    result = {}
    for error in errors:
        assert isinstance(error, FieldError)
        result.setdefault(error.path, error)
    return result


def test_complete_templates_validate_cleanly(templates):
    assert validate_submission(templates["petition"], filled_petition(), anonymous=False) == []
    assert validate_submission(templates["report"], filled_report(), anonymous=False) == []
    suggestion = {"topic": "建议公开村级财务", "area": "grassroots", "content": "建议每季度在村务公开栏公开村级财务收支明细。"}
    assert validate_submission(templates["suggestion"], suggestion, anonymous=False) == []


def test_petition_errors_are_bilingual_and_name_the_field(templates):
    data = filled_petition() | {
        "content": "字" * 5001,
        "category": "bribery",
        "occurred_on": "2024-02-30",
        "involved_people": "十二",
        "id_number": "11010519491231002",
        "email": "liming.example.cn",
        "reported_elsewhere": "yes",
        "secret": "x",
    }
    del data["title"]
    errors = by_path(validate_submission(templates["petition"], data, anonymous=False))
    assert (errors["title"].zh, errors["title"].en) == ("标题：必填", "Title: required")
    assert (errors["content"].zh, errors["content"].en) == (
        "反映内容：最多 5000 个字（现有 5001 个字）", "Content: at most 5000 characters (now 5001)",
    )
    assert (errors["category"].zh, errors["category"].en) == ("问题类别：请从选项中选择", "Category: choose one of the options")
    assert (errors["occurred_on"].zh, errors["occurred_on"].en) == (
        "发生时间：请填写有效日期（如 2024-05-01）", "Date it happened: enter a valid date (e.g. 2024-05-01)",
    )
    assert (errors["involved_people"].zh, errors["involved_people"].en) == (
        "涉及人数：应填写整数", "Number of people involved: must be a whole number",
    )
    assert (errors["id_number"].zh, errors["id_number"].en) == (
        "身份证号码：号码不正确，请核对（18 位，最后一位是校验位，可为 X）",
        "ID card number: not a valid resident ID number; please check it (18 characters, the last is a check digit or X)",
    )
    assert errors["email"].zh == "电子邮箱：请填写有效的电子邮箱地址"
    assert errors["reported_elsewhere"].en.endswith("must be yes or no")
    assert errors[""].zh == "不允许的字段 'secret'" and errors[""].en == "field 'secret' is not allowed"
    # no raw jsonschema text reaches a citizen
    for error in errors.values():
        assert "is not valid" not in error.en and "does not match" not in error.en


def test_report_errors_for_the_subject_and_the_multiple_choice(templates):
    data = filled_report()
    data["subject"] = {"kind": "official", "position": "x" * 101}
    data["category"] = ["integrity", "bribery"]
    data["amount_involved"] = -5
    errors = by_path(validate_submission(templates["report"], data, anonymous=False))
    assert errors["subject.kind"].zh == "被反映人 · 类型：请从选项中选择"
    assert errors["subject.kind"].en == "Subject of the report · Kind: choose one of the options"
    assert errors["subject.name"].zh == "被反映人 · 姓名或单位名称：必填"
    assert errors["subject.position"].zh.endswith("最多 100 个字（现有 101 个字）")
    assert errors["category"].zh == "问题类别：请从选项中选择"
    assert errors["amount_involved"].zh == "涉及金额（元）：不能小于 0"
    assert errors["amount_involved"].en == "Amount involved (yuan): must be at least 0"

    data = filled_report() | {"category": [], "subject": "王某"}
    errors = by_path(validate_submission(templates["report"], data, anonymous=False))
    assert errors["category"].zh == "问题类别：必填"  # an empty list is a blank answer
    assert errors["subject"].zh == "被反映人：应为一组字段"
    data = filled_report() | {"category": ["work", "work"]}
    assert by_path(validate_submission(templates["report"], data, anonymous=False))["category"].zh == "问题类别：选项不能重复"


def test_blank_answers_count_as_missing(templates):
    data = filled_petition() | {"title": "   ", "content": None, "category": ""}
    errors = by_path(validate_submission(templates["petition"], data, anonymous=False))
    assert {p: e.zh for p, e in errors.items()} == {"title": "标题：必填", "content": "反映内容：必填", "category": "问题类别：必填"}


def test_named_and_anonymous_petitions(templates):
    petition = templates["petition"]
    without_identity = {k: v for k, v in filled_petition().items() if k not in identity_names(petition)}

    named = by_path(validate_submission(petition, without_identity, anonymous=False))
    assert set(named) == {"petitioner_name", "id_number", "phone"}
    assert named["phone"].zh == "联系电话：必填" and named["phone"].en == "Phone: required"

    assert validate_submission(petition, without_identity, anonymous=True) == []
    assert validate_submission(petition, without_identity | {"phone": "", "email": None}, anonymous=True) == []

    anonymous = by_path(validate_submission(petition, without_identity | {"phone": "13912345678"}, anonymous=True))
    assert set(anonymous) == {"phone"}
    assert anonymous["phone"].zh == f"联系电话：{ANONYMOUS_IDENTITY_ZH}"
    assert anonymous["phone"].en == f"Phone: {ANONYMOUS_IDENTITY_EN}"
    assert ANONYMOUS_IDENTITY_ZH == "匿名信访时请不要填写身份信息"

    # the same identity value is fine when named, and the anonymous schema variant did not leak
    assert validate_submission(petition, filled_petition(), anonymous=False) == []
    assert petition["required"][-3:] == ["petitioner_name", "id_number", "phone"]


def test_suggestion_contact_details_are_optional_either_way(templates):
    suggestion = {"topic": "建议公开村级财务", "content": "建议每季度在村务公开栏公开村级财务收支明细。"}
    assert validate_submission(templates["suggestion"], suggestion, anonymous=False) == []
    assert validate_submission(templates["suggestion"], suggestion, anonymous=True) == []
    assert by_path(validate_submission(templates["suggestion"], suggestion | {"email": "a@b.cn"}, anonymous=True))["email"]


def test_other_keywords_get_plain_messages():
    schema = form({
        "age": {"type": "integer", "title": "年龄", "x-en": {"title": "Age"}, "maximum": 150},
        "score": {"type": "number", "title": "评分", "x-en": {"title": "Score"}, "exclusiveMinimum": 0},
        "code": text(title="编号", minLength=3),
        "pledge": {"type": "boolean", "title": "本人承诺所反映情况属实", "x-en": {"title": "I confirm this is true"}, "const": True},
        "web": text(title="网址", format="uri"),
        "at": text(title="时间", format="date-time"),
    }, ["pledge"])
    errors = by_path(validate_submission(
        schema, {"age": 200, "score": 0, "code": "ab", "pledge": False, "web": "not a url", "at": "2024-05-01 09:00"},
        anonymous=False,
    ))
    assert errors["age"].zh == "年龄：不能大于 150" and errors["age"].en == "Age: must be at most 150"
    assert errors["score"].zh == "评分：必须大于 0"
    assert errors["code"].zh == "编号：至少 3 个字"
    assert errors["pledge"].zh == "本人承诺所反映情况属实：请勾选" and errors["pledge"].en.endswith("please tick this box")
    assert errors["web"].zh == "网址：请填写有效的网址"
    assert errors["at"].zh.startswith("时间：请填写有效的日期和时间")
    assert validate_submission(
        schema, {"pledge": True, "web": "https://www.12388.gov.cn/", "at": "2024-05-01T09:00:00+08:00"}, anonymous=False,
    ) == []


def test_local_references_are_followed_for_validation_and_titles():
    schema = form(
        {"nickname": {"$ref": "#/$defs/short", "title": "昵称", "x-en": {"title": "Nickname"}},
         "area": {"$ref": "#/$defs/area"}},
        **{"$defs": {
            "short": {"type": "string", "maxLength": 4},
            "area": {"type": "string", "title": "地区", "x-en": {"title": "Area"}, "oneOf": [
                {"const": "north", "title": "北片", "x-en": {"title": "North"}},
            ]},
        }},
    )
    errors = by_path(validate_submission(schema, {"nickname": "五个字太长", "area": "south"}, anonymous=False))
    assert errors["nickname"].zh == "昵称：最多 4 个字（现有 5 个字）" and errors["nickname"].en.startswith("Nickname: ")
    assert errors["area"].en == "Area: choose one of the options"
    assert validate_submission(schema, {"nickname": "小李", "area": "north"}, anonymous=False) == []


# --------------------------------------------------------------------------- compiled validators


def test_validators_are_cached_by_content(templates):
    schema = templates["petition"]
    first = compile_validator(schema)
    assert compile_validator(copy.deepcopy(schema)) is first
    reordered = dict(reversed(list(copy.deepcopy(schema).items())))
    assert compile_validator(reordered) is first
    changed = copy.deepcopy(schema)
    changed["properties"]["title"]["maxLength"] = 80
    assert compile_validator(changed) is not first
    # the cached validator holds its own copy: changing the caller's dict changes nothing
    mutable = copy.deepcopy(templates["suggestion"])
    validator = compile_validator(mutable)
    mutable["properties"]["topic"]["maxLength"] = 1
    assert validator.schema["properties"]["topic"]["maxLength"] == 100


def test_validator_cache_is_bounded():
    first = compile_validator(form({"f0": text()}))
    for i in range(1, schema_safety.VALIDATOR_CACHE_SIZE + 10):
        compile_validator(form({f"f{i}": text()}))
    assert len(schema_safety._cache) == schema_safety.VALIDATOR_CACHE_SIZE
    assert compile_validator(form({"f0": text()})) is not first  # evicted, rebuilt


def test_compiled_validator_checks_formats_and_uses_re2(templates):
    validator = compile_validator(templates["petition"])
    assert validator.format_checker is schema_safety.FORMAT_CHECKER
    assert not validator.is_valid({"occurred_on": "2024-02-30"} | filled_petition() | {"occurred_on": "2024-02-30"})
    assert validator.is_valid(filled_petition())
    assert type(validator).VALIDATORS["pattern"] is schema_safety._kw_pattern


# --------------------------------------------------------------------------- odd input never raises


class Opaque:
    pass


def odd_inputs() -> list:
    deep: dict = {}
    for _ in range(50_000):
        deep = {"name": deep}
    return [
        {},
        {"title": None, "content": None, "category": None},
        {"subject": ["王某"], "category": {"a": 1}},
        {"subject": {"kind": {"nested": [1, 2, {"x": None}]}, "name": ["a"] * 10}},
        {"content": "举" * 2_000_000, "title": "a" * 100_000},
        {"subject": deep},
        {"subject": {"name": deep}},
        {1: "x", None: "y", (1, 2): "z"},
        {"title": "\ud800\udfff\ud800", "content": "\x00" * 20},
        {"involved_people": float("nan"), "amount_involved": float("inf")},
        {"involved_people": 10**5000},
        {"involved_people": True, "reported_elsewhere": 1},
        {"category": {"political"}, "title": b"bytes", "content": Opaque()},
        {"category": [[["x"]]] * 3000},
        {f"k{i}": i for i in range(6000)},
        {"category": [{"a": i} for i in range(4000)]},
        {"phone": "1" * 10_000, "id_number": "\u0661" * 18, "email": "@" * 5000},
    ]


@pytest.mark.parametrize("key", ["petition", "report", "suggestion"])
def test_validate_submission_never_raises_on_odd_input(templates, key):
    schema = templates[key]
    for data in odd_inputs():
        for anonymous in (False, True):
            start = time.perf_counter()
            errors = validate_submission(schema, data, anonymous=anonymous)
            assert time.perf_counter() - start < 2.0
            assert isinstance(errors, list) and errors, (key, anonymous, repr(data)[:80])
            assert all(isinstance(e, FieldError) and e.zh and e.en for e in errors)
            assert not any(e.zh.startswith("无法校验") for e in errors), errors  # explained, not the catch-all
    for data in (None, [], "text", 42, [{"title": "x"}]):
        errors = validate_submission(schema, data, anonymous=False)  # not even a dict
        assert [e.path for e in errors] == [""]
