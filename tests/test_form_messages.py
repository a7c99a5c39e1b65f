"""Every field kind the form builder offers, as a citizen gets it: rendered from the form's model with its
label, help, placeholder and required mark (Chinese and English), parsed back, and checked with messages that
name the field, and for a field asked only when another answer says so, the condition (JSON Schema if/then).
Region answers are GB/T 2260 codes from the shipped list. Every shipped schema renders and accepts an example.
Also: the names other modules import from ``xinfang.forms.schema_safety`` still import from there."""

from __future__ import annotations

import json

import pytest
from werkzeug.datastructures import MultiDict

from xinfang.forms import regions
from xinfang.forms.gate import SchemaRejected, check_tenant_schema, re2_search
from xinfang.forms.messages import FieldError, validate_submission
from xinfang.forms.model import Choice, Condition, Form, new_field
from xinfang.forms.reading import answer_rows, choice_labels, data_fields, read_form
from xinfang.forms.rendering import parse_form, render_form
from xinfang.forms.templates_library import FORM_SCHEMAS_DIR
from tests.conftest import REPO_ROOT
from tests.shipped_schemas import shipped_schemas
from tests.test_form_rendering import Tree, submit

DIALECT = "https://json-schema.org/draft/2020-12/schema"


def every_kind_schema() -> dict:
    """A report form with one field of every kind the builder offers, built with the model as the builder does."""
    form = Form(title_zh="问题线索反映表", title_en="Report form")
    form.extra = {"$schema": DIALECT, "type": "object", "additionalProperties": False}
    add = form.add_field
    add(new_field("section", "about_subject", "被反映人情况", "About the person reported",
                  help_zh="请尽量写清被反映人的姓名和职务。", help_en="Name and position, as far as you know them."))
    add(new_field("group", "subject", "被反映人", "Subject of the report", required=True))
    add(new_field("short_text", "name", "姓名", "Name", required=True, placeholder_zh="如：张某", placeholder_en="e.g. Zhang",
                  limits={"maxLength": 50}), parent="subject")
    add(new_field("short_text", "position", "职务", "Position", limits={"maxLength": 100}), parent="subject")
    add(new_field("section", "about_problem", "问题情况", "The problem"))
    add(new_field("single_choice", "category", "问题类别", "Category", required=True, choices=[
        Choice("integrity", "违反廉洁纪律", "Integrity discipline"), Choice("work", "违反工作纪律", "Work discipline"),
        Choice("other", "其他", "Other")]))
    add(new_field("short_text", "other_detail", "其他问题说明", "Other problem", required=True,
                  shown_when=Condition("category", "other"), limits={"maxLength": 200}))
    add(new_field("multiple_choice", "involves", "问题涉及", "The problem involves", choices=[
        Choice("money", "钱款", "Money"), Choice("land", "土地", "Land"), Choice("jobs", "人事", "Jobs")]))
    add(new_field("amount", "money_amount", "涉及金额", "Amount involved", limits={"minimum": 0},
                  shown_when=Condition("involves", "money", contains=True)))
    add(new_field("long_text", "content", "反映内容", "What happened", required=True, help_zh="时间、地点、经过。",
                  help_en="When, where, what.", placeholder_zh="请写明具体事实", placeholder_en="The facts", limits={"maxLength": 2000}))
    add(new_field("date", "occurred_on", "发生时间", "Date", help_zh="大致日期即可", help_en="Roughly is enough"))
    add(new_field("number", "people", "涉及人数", "People involved", limits={"minimum": 0}, extra={"x-unit": {"zh": "人", "en": "people"}}))
    add(new_field("region", "region_code", "发生地", "Where it happened", required=True))
    add(new_field("email", "reply_email", "接收答复的邮箱", "E-mail for the reply", placeholder_zh="name@example.cn", placeholder_en="name@example.cn"))
    add(new_field("file", "evidence_file", "证据材料", "Evidence"))
    add(new_field("checkbox", "truthful", "我承诺所反映情况属实", "I state that this is true", required=True, extra={"const": True}))
    schema = form.to_schema()
    # the identity group: the petitioner's fields, marked x-identity, together at the end (as the templates have them)
    schema["properties"] |= {
        "petitioner_name": {"type": "string", "title": "姓名", "x-en": {"title": "Your name"}, "maxLength": 50, "x-identity": True},
        "phone": {"type": "string", "title": "联系电话", "x-en": {"title": "Phone"}, "pattern": "^1[3-9][0-9]{9}$", "x-identity": True,
                  "x-placeholder": {"zh": "11 位手机号", "en": "11-digit mobile number"}},
        "id_number": {"type": "string", "title": "身份证号", "x-en": {"title": "ID number"}, "format": "cn-id-number", "x-identity": True},
    }
    schema["required"] += ["petitioner_name", "phone"]
    check_tenant_schema(schema)
    return schema


GOOD = {
    "subject": {"name": "张某", "position": "副局长"}, "category": "integrity", "involves": ["money", "land"],
    "money_amount": 5000, "content": "2024年3月收取审批费两千元。", "occurred_on": "2024-03-15", "people": 12,
    "region_code": "652801", "reply_email": "li@example.cn", "evidence_file": "收据.jpg", "truthful": True,
    "petitioner_name": "李明", "phone": "13912345678", "id_number": "11010519491231002X",
}


@pytest.fixture(scope="module")
def schema():
    return every_kind_schema()


# --------------------------------------------------------------------------- rendering


KINDS_SHOWN = {  # field path -> (control tag, type attribute or None, zh label, en label)
    "subject.name": ("input", "text", "姓名", "Name"),
    "category": ("input", "radio", "问题类别", "Category"),
    "other_detail": ("input", "text", "其他问题说明", "Other problem"),
    "involves": ("input", "checkbox", "问题涉及", "The problem involves"),
    "money_amount": ("input", "number", "涉及金额", "Amount involved"),
    "content": ("textarea", None, "反映内容", "What happened"),
    "occurred_on": ("input", "date", "发生时间", "Date"),
    "people": ("input", "number", "涉及人数", "People involved"),
    "region_code": ("select", None, "发生地", "Where it happened"),
    "reply_email": ("input", "email", "接收答复的邮箱", "E-mail for the reply"),
    "evidence_file": ("input", "file", "证据材料", "Evidence"),
    "truthful": ("input", "checkbox", "我承诺所反映情况属实", "I state that this is true"),
    "phone": ("input", "tel", "联系电话", "Phone"),
    "id_number": ("input", "text", "身份证号", "ID number"),
}


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_kind_renders_with_its_label_help_placeholder_and_mark(schema, lang):
    markup = str(render_form(schema, lang=lang))
    tree = Tree(markup)
    for path, (tag, kind, zh, en) in KINDS_SHOWN.items():
        wrapper = [e for e in tree.root.iter() if e.attrs.get("data-field") == path]
        assert len(wrapper) == 1, path
        heading = next(e for e in wrapper[0].iter() if e.tag in ("label", "legend"))
        assert heading.children[0].all_text() == (en if lang == "en" else zh), path
        controls = [e for e in wrapper[0].iter() if e.tag == tag and (kind is None or e.attrs.get("type") == kind)]
        assert controls, path
    wrapper = lambda path: next(e for e in tree.root.iter() if e.attrs.get("data-field") == path)  # noqa: E731
    # help texts (the builder's, and the kinds' own words for a region, a file and an identity number)
    assert ("When, where, what." if lang == "en" else "时间、地点、经过。") in wrapper("content").all_text()
    assert ("Choose the province" if lang == "en" else "依次选择省、市、县") in wrapper("region_code").all_text()
    assert ("PDF, JPEG or PNG" if lang == "en" else "PDF、JPEG 或 PNG") in wrapper("evidence_file").all_text()
    # placeholders, in the page's language
    assert tree.find_all("input", name="subject.name")[0].attrs["placeholder"] == ("e.g. Zhang" if lang == "en" else "如：张某")
    assert tree.find_all("textarea", name="content")[0].attrs["placeholder"] == ("The facts" if lang == "en" else "请写明具体事实")
    assert tree.find_all("input", name="phone")[0].attrs["placeholder"] == ("11-digit mobile number" if lang == "en" else "11 位手机号")
    # required marks: the required fields, not the optional ones; identity fields say "optional when anonymous"
    mark = "required" if lang == "en" else "必填"
    for path in ("subject.name", "category", "content", "region_code", "truthful", "other_detail"):
        assert mark in wrapper(path).all_text(), path
    for path in ("occurred_on", "people", "reply_email", "evidence_file", "subject.position"):
        assert mark not in wrapper(path).all_text().replace("required when", ""), path
    assert ("optional when anonymous" if lang == "en" else "匿名时可不填") in wrapper("phone").all_text()
    # sections are headings between the fields
    headings = [h.children[0].all_text() for h in tree.find_all("h2")]
    assert headings == (["About the person reported", "The problem"] if lang == "en" else ["被反映人情况", "问题情况"])
    # units after numbers; phone keyboard; the subject group is a fieldset with its fields inside
    assert ("yuan" if lang == "en" else "元") in wrapper("money_amount").all_text()
    assert ("people" if lang == "en" else "人") in wrapper("people").all_text()
    assert tree.find_all("input", name="phone")[0].attrs["inputmode"] == "tel"
    assert tree.find_all("input", name="money_amount")[0].attrs["inputmode"] == "decimal"
    assert tree.find_all("input", name="people")[0].attrs["inputmode"] == "numeric"
    subject = tree.by_id("xf-subject")
    assert subject.tag == "fieldset" and {c.attrs.get("name") for c in subject.iter() if c.tag == "input"} == {"subject.name", "subject.position"}
    identity = [e for e in tree.find_all("fieldset") if "identity" in e.classes()]
    assert len(identity) == 1 and {c.attrs["name"] for c in identity[0].iter() if c.tag == "input"} == {"petitioner_name", "phone", "id_number"}
    # the page needs the script only because of the condition and the region
    assert markup.count('<script src="/static/form-fields.js" defer></script>') == 1


def test_a_conditional_field_carries_its_condition_and_a_note_for_pages_without_javascript(schema):
    tree = Tree(str(render_form(schema)))
    other = next(e for e in tree.root.iter() if e.attrs.get("data-field") == "other_detail")
    assert (other.attrs["data-when-name"], other.attrs["data-when-value"]) == ("category", "other")
    assert "data-when-contains" not in other.attrs
    assert "仅当“问题类别”选择“其他”时填写（此时必填）" in other.all_text()
    assert "xf-when-required" in next(e for e in other.iter() if "xf-required" in e.classes()).classes()
    control = tree.find_all("input", name="other_detail")[0]
    assert "required" not in control.attrs  # in view without JavaScript whatever the answer: the server says when it is missing
    assert "xf-other_detail-when" in control.attrs["aria-describedby"]
    money = next(e for e in tree.root.iter() if e.attrs.get("data-field") == "money_amount")
    assert money.attrs["data-when-contains"] == "true" and "仅当“问题涉及”选中“钱款”时填写" in money.all_text()
    english = Tree(str(render_form(schema, lang="en")))
    assert "Fill in only when “Category” is “Other” (then required)" in english.root.all_text()


def test_forms_without_conditions_or_regions_carry_no_script():
    for path in FORM_SCHEMAS_DIR.glob("*.json"):
        assert "<script" not in str(render_form(json.loads(path.read_text(encoding="utf-8"))))


# --------------------------------------------------------------------------- conditions, server side


def test_the_condition_decides_what_is_required_and_the_message_names_it(schema):
    assert validate_submission(schema, GOOD, anonymous=False) == []
    missing = validate_submission(schema, {**GOOD, "category": "other"}, anonymous=False)
    assert [(e.path, e.zh, e.en) for e in missing] == [(
        "other_detail",
        "其他问题说明：必填（仅当“问题类别”选择“其他”时填写）",
        "Other problem: required (Fill in only when “Category” is “Other”)",
    )]
    assert validate_submission(schema, {**GOOD, "category": "other", "other_detail": "收受礼金"}, anonymous=False) == []
    not_asked = {e.path: e for e in validate_submission(schema, {**GOOD, "other_detail": "x"}, anonymous=False)}
    assert not_asked["other_detail"].zh == "其他问题说明：仅当“问题类别”选择“其他”时填写，现在请留空"
    assert not_asked["other_detail"].en.endswith("leave it empty now")
    # a multiple choice as the trigger ("contains"): the amount is not required, but only asked with money
    no_money = {**GOOD, "involves": ["land"]}
    no_money.pop("money_amount")
    assert validate_submission(schema, no_money, anonymous=False) == []
    stray = {e.path for e in validate_submission(schema, {**no_money, "money_amount": 3}, anonymous=False)}
    assert stray == {"money_amount"}


def test_parsing_keeps_a_conditional_answer_only_while_its_condition_holds(schema):
    form = MultiDict([("subject.name", "张某"), ("category", "work"), ("other_detail", "写了又改了主意"), ("involves", "land"),
                      ("money_amount", "300"), ("content", "事实"), ("region_code", "652801"), ("truthful", "true")])
    data = parse_form(schema, form)
    assert "other_detail" not in data and "money_amount" not in data
    form.setlist("category", ["other"])
    form.setlist("involves", ["land", "money"])
    data = parse_form(schema, form)
    assert data["other_detail"] == "写了又改了主意" and data["money_amount"] == 300


def test_a_round_trip_through_a_browser_without_javascript(schema):
    markup = str(render_form(schema, values=GOOD))
    data = parse_form(schema, submit(markup))
    assert data == {k: v for k, v in GOOD.items() if k != "evidence_file"}  # a browser cannot refill a file input
    assert validate_submission(schema, {**data, "evidence_file": "收据.jpg"}, anonymous=False) == []


def test_errors_sit_next_to_their_fields_in_both_languages(schema):
    errors = validate_submission(schema, {"category": "other", "region_code": "650000", "people": -1}, anonymous=False)
    paths = {e.path for e in errors}
    assert {"subject.name", "other_detail", "content", "region_code", "people", "truthful"} <= paths
    assert "subject" not in paths  # a group left empty: its required fields say so, each next to itself
    name = next(e for e in errors if e.path == "subject.name")
    assert (name.zh, name.en) == ("被反映人 · 姓名：必填", "Subject of the report · Name: required")
    for lang in ("zh", "en"):
        tree = Tree(str(render_form(schema, lang=lang, values={"category": "other"}, errors=errors)))
        for error in errors:
            wrapper = [e for e in tree.root.iter() if e.attrs.get("data-field") == error.path]
            assert len(wrapper) == 1, error.path
            alerts = [e for e in wrapper[0].iter() if "xf-error" in e.classes()]
            assert alerts[0].all_text() == error.message(lang)
    region = next(e for e in errors if e.path == "region_code")
    assert (region.zh, region.en) == ("发生地：请选择到区县一级", "Where it happened: choose down to the county or district")


# --------------------------------------------------------------------------- regions


def test_region_codes_are_checked_against_the_list(schema):
    check = lambda code: [e.zh for e in validate_submission(schema, {**GOOD, "region_code": code}, anonymous=False)]  # noqa: E731
    assert check("652801") == []  # 库尔勒市
    assert check("321323") == []  # 泗阳县
    assert check("441900") == []  # 东莞市: a city without counties is precise enough
    assert check("650000") == ["发生地：请选择到区县一级"]
    assert check("652800") == ["发生地：请选择到区县一级"]
    assert check("999999") == ["发生地：请从列表中选择行政区划"]
    assert check("320571") == ["发生地：请从列表中选择行政区划"]  # a statistics-only zone, not a GB/T 2260 code
    assert regions.full_name("652801") == "新疆维吾尔自治区 巴音郭楞蒙古自治州 库尔勒市"
    assert regions.full_name("110101") == "北京市 东城区"
    provinces = regions.children("")
    assert len(provinces) == 31 and ("650000", "新疆维吾尔自治区") in provinces


def test_region_selects_without_javascript(schema):
    blank = Tree(str(render_form(schema)))
    province, city, county = (blank.by_id(i) for i in ("xf-region_code", "xf-region_code-city", "xf-region_code-county"))
    assert (province.attrs["name"], city.attrs["name"], county.attrs["name"]) == ("region_code~province", "region_code~city", "region_code")
    assert len([o for o in province.iter() if o.tag == "option"]) == 32
    groups = [g for g in city.iter() if g.tag == "optgroup"]
    assert len(groups) == 31 and any(g.attrs["label"] == "新疆维吾尔自治区" for g in groups)  # every city, by province
    assert [o.all_text() for o in county.iter() if o.tag == "option"] == ["请先选择市"]
    assert blank.label_for("xf-region_code") and blank.label_for("xf-region_code-city") and blank.label_for("xf-region_code-county")
    # a city chosen without JavaScript: the answer is the city, the message asks for the county, the page then lists them
    data = parse_form(schema, MultiDict([("region_code~province", ""), ("region_code~city", "652800"), ("region_code", "")]))
    assert data["region_code"] == "652800"
    again = Tree(str(render_form(schema, values=data)))
    counties = [o for o in again.by_id("xf-region_code-county").iter() if o.tag == "option"]
    assert "库尔勒市" in [o.all_text() for o in counties]
    chosen = [o.attrs["value"] for o in again.by_id("xf-region_code").iter() if o.tag == "option" and "selected" in o.attrs]
    assert chosen == ["650000"]
    # a county left from an earlier city does not win over the city chosen since
    moved = parse_form(schema, MultiDict([("region_code~province", "320000"), ("region_code~city", "321300"), ("region_code", "652801")]))
    assert moved["region_code"] == "321300"
    kept = parse_form(schema, MultiDict([("region_code~province", "650000"), ("region_code~city", "652800"), ("region_code", "652801")]))
    assert kept["region_code"] == "652801"
    sticky = Tree(str(render_form(schema, values={"region_code": "652801"})))
    assert [o.attrs["value"] for o in sticky.by_id("xf-region_code-county").iter() if o.tag == "option" and "selected" in o.attrs] == ["652801"]


# --------------------------------------------------------------------------- the gate knows the builder's words


@pytest.mark.parametrize("change,where", [
    ({"x-kind": "colour"}, "/properties/f/x-kind"),
    ({"x-kind": "region", "type": "integer"}, "/properties/f/x-kind"),
    ({"x-placeholder": "写这里"}, "/properties/f/x-placeholder"),
    ({"x-placeholder": {"fr": "ici"}}, "/properties/f/x-placeholder"),
    ({"x-unit": {"zh": 1}}, "/properties/f/x-unit"),
])
def test_the_gate_refuses_builder_keywords_of_the_wrong_shape(change, where):
    schema = {"$schema": DIALECT, "type": "object", "additionalProperties": False,
              "properties": {"f": {"type": "string", "title": "字段", **change}}}
    with pytest.raises(SchemaRejected) as refused:
        check_tenant_schema(schema)
    assert where in [p["path"] for p in refused.value.problems]


def test_the_gate_refuses_malformed_sections():
    schema = {"$schema": DIALECT, "type": "object", "additionalProperties": False,
              "properties": {"f": {"type": "string"}}, "x-sections": [{"before": "f", "title": 3}]}
    with pytest.raises(SchemaRejected) as refused:
        check_tenant_schema(schema)
    assert "/x-sections" in [p["path"] for p in refused.value.problems]


# --------------------------------------------------------------------------- every shipped schema


SHIPPED = [(name, schema) for name, _, schema in shipped_schemas()] + [("every kind", every_kind_schema())]
_TEXT_CANDIDATES = ("示例内容，用于检查表单。", "13912345678", "2024", "A1", "示例")


def example(fields) -> dict:
    """A valid answer to every field, by its kind and limits (what a careful citizen would type)."""
    out: dict = {}
    answered = {}
    for f in data_fields(fields):
        if f.shown_when is not None:
            continue
        value = _example_value(f)
        if value is not None:
            out[f.key] = value
            answered[f.key] = value
    return out


def _example_value(f):
    limits = f.limits
    if f.kind == "group":
        return example(f.children)
    if f.kind in ("single_choice",):
        return f.choices[0].value
    if f.kind == "multiple_choice":
        return [f.choices[0].value]
    if f.kind == "checkbox":
        return True
    if f.kind in ("number", "amount"):
        low = limits.get("minimum", limits.get("exclusiveMinimum", 0) + 1 if "exclusiveMinimum" in limits else 1)
        return max(int(low), 1) if f.json_type == "integer" or f.kind == "number" else float(max(low, 1))
    if f.kind == "date":
        return "2024-05-01"
    if f.kind == "email":
        return "li@example.cn"
    if f.kind == "id_number":
        return "11010519491231002X"
    if f.kind == "region":
        return "652801"
    if f.kind == "file":
        return "材料.pdf"
    pattern = limits.get("pattern")
    for text in _TEXT_CANDIDATES:
        if (pattern is None or re2_search(pattern, text)) and len(text) >= limits.get("minLength", 0) \
                and len(text) <= limits.get("maxLength", 10**6):
            return text
    return "示例内容" * max(1, limits.get("minLength", 0) // 4 + 1)


def test_the_shipped_schemas_are_all_found():
    names = [name for name, _ in SHIPPED]
    assert {"petition.v1.json", "report.v1.json", "suggestion.v1.json", "bazhou/report"} <= set(names)
    assert any("/archive/" in n for n in names), "archive document types are included"


@pytest.mark.parametrize("name,schema", SHIPPED, ids=[name for name, _ in SHIPPED])
def test_every_shipped_schema_renders_and_accepts_an_example(name, schema):
    check_tenant_schema(schema)
    data = example(read_form(schema).fields)
    assert validate_submission(schema, data, anonymous=False) == [], data
    for lang in ("zh", "en"):
        markup = str(render_form(schema, lang=lang, values=data))
        assert 'class="xf-fields"' in markup
        parsed = parse_form(schema, submit(markup))
        files = {f.key for f in data_fields(read_form(schema).fields) if f.kind == "file"}
        assert parsed == {k: v for k, v in data.items() if k not in files}, lang
    empty = validate_submission(schema, {}, anonymous=False)
    assert all(isinstance(e, FieldError) and e.zh and e.en for e in empty)


def test_archive_answers_read_in_words():
    schema = every_kind_schema()
    rows = dict(answer_rows(schema, {"category": "other", "region_code": "652801", "money_amount": 5000, "truthful": True,
                                      "subject": {"name": "张某"}, "gone": "x"}, "zh"))
    assert rows["问题类别"] == "其他" and rows["发生地"] == "新疆维吾尔自治区 巴音郭楞蒙古自治州 库尔勒市"
    assert rows["涉及金额"] == "5000 元" and rows["我承诺所反映情况属实"] == "是" and rows["被反映人 · 姓名"] == "张某"
    assert rows["gone"] == "x"
    english = dict(answer_rows(schema, {"category": "other", "involves": ["money", "land"]}, "en"))
    assert english == {"Category": "Other", "The problem involves": "Money, Land"}
    assert choice_labels(schema, "involves")["land"] == {"zh": "土地", "en": "Land"}
    assert choice_labels(schema, "content") == {} and choice_labels(schema, "nothing") == {}


# --------------------------------------------------------------------------- the old module's names


def test_every_name_imported_from_schema_safety_still_imports():
    import subprocess

    from xinfang.forms import schema_safety
    found = subprocess.run(["grep", "-rhoE", r"from (xinfang|\.|\.\.)\.?forms?\.?schema_safety import \(?[A-Za-z_, ]+",
                            "platform", "search", "plugins", "tests"], capture_output=True, text=True, cwd=REPO_ROOT).stdout
    names = {n.strip() for line in found.splitlines() for n in line.split("import", 1)[1].strip(" (").split(",") if n.strip()}
    assert {"FieldError", "SchemaRejected", "check_tenant_schema", "validate_submission", "describe_failure"} <= names
    for name in names | {"identity_names", "compile_validator", "resolve_node", "field_kind", "choice_options",
                         "ordered_properties", "display_titles", "display_descriptions", "property_node", "re2_search",
                         "FORMAT_CHECKER", "TenantSchemaValidator", "Registry", "VALIDATOR_CACHE_SIZE", "_cache", "_kw_pattern",
                         "schema_digest", "canonical_json", "ANONYMOUS_IDENTITY_ZH", "ANONYMOUS_IDENTITY_EN"}:
        assert hasattr(schema_safety, name), name


def test_a_condition_and_a_region_inside_the_subject_group():
    form = Form(title_zh="检举", title_en="Report")
    form.extra = {"$schema": DIALECT, "type": "object", "additionalProperties": False}
    form.add_field(new_field("group", "subject", "被反映人", "Subject of the report", required=True))
    form.add_field(new_field("single_choice", "kind", "类型", "Kind", required=True, choices=[
        Choice("person", "个人", "Person"), Choice("unit", "单位", "Unit")]), parent="subject")
    form.add_field(new_field("short_text", "position", "职务", "Position", required=True,
                             shown_when=Condition("kind", "person")), parent="subject")
    form.add_field(new_field("region", "where", "所在地", "Where"), parent="subject")
    schema = form.to_schema()
    check_tenant_schema(schema)
    tree = Tree(str(render_form(schema)))
    position = next(e for e in tree.root.iter() if e.attrs.get("data-field") == "subject.position")
    assert position.attrs["data-when-name"] == "subject.kind" and "仅当“类型”选择“个人”时填写" in position.all_text()
    assert tree.find_all("select", name="subject.where~province") and tree.find_all("select", name="subject.where")
    submitted = MultiDict([("subject.kind", "unit"), ("subject.position", "局长"), ("subject.where~city", "441900"), ("subject.where", "")])
    data = parse_form(schema, submitted)
    assert data == {"subject": {"kind": "unit", "where": "441900"}}
    assert validate_submission(schema, data, anonymous=False) == []
    person = validate_submission(schema, {"subject": {"kind": "person"}}, anonymous=False)
    assert [(e.path, e.zh) for e in person] == [("subject.position", "被反映人 · 职务：必填（仅当“类型”选择“个人”时填写）")]
    assert [e.path for e in validate_submission(schema, {"subject": {"kind": "unit", "where": "440000"}}, anonymous=False)] == ["subject.where"]


def test_without_javascript_the_region_says_how_to_get_the_counties(schema):
    hint = "选好市后先提交一次"
    assert hint in str(render_form(schema))
    assert hint not in str(render_form(schema, values={"region_code": "652800"}))  # the counties are listed now
    assert hint not in str(render_form(schema, values={"region_code": "441900"}))  # 东莞市 has none to list
