"""One model of a form (xinfang.forms.model): every shipped schema opens and saves unchanged,
field kinds come out right, and edits made through the model give schemas the gate accepts
and the renderer shows."""

from __future__ import annotations

import json

import pytest

from xinfang.forms.model import IDENTITY_GROUP_KEY, KINDS, Choice, Condition, Field, Form, builder_problems, new_field
from xinfang.forms.rendering import render_form
from xinfang.forms.schema_safety import SchemaRejected, check_tenant_schema, validate_submission
from xinfang.forms.templates_library import load_templates
from tests.shipped_schemas import shipped_schemas


SHIPPED = [(name, schema) for name, area, schema in shipped_schemas() if area == "form"]


def test_the_shipped_schemas_are_all_found():
    names = [name for name, _ in SHIPPED]
    assert {"petition.v1.json", "report.v1.json", "suggestion.v1.json"} <= set(names)
    assert "bazhou/report" in names and "siyang-edu/suggestion" in names
    assert len(names) >= 3 + 7


@pytest.mark.parametrize("name,schema", SHIPPED, ids=[name for name, _ in SHIPPED])
def test_every_shipped_schema_opens_and_saves_unchanged(name, schema):
    original = json.loads(json.dumps(schema, ensure_ascii=False))
    form = Form.from_schema(original)
    assert form.raw is None, "the model understood the whole form"
    assert not [f.key for f in form.all_fields() if f.raw is not None], "no field kept whole"
    saved = json.loads(json.dumps(form.to_schema(), ensure_ascii=False))
    assert saved == original
    check_tenant_schema(saved)


def test_bazhou_extension_is_a_plain_short_text_at_the_end():
    schema = dict(SHIPPED)["bazhou/report"]
    form = Form.from_schema(schema)
    assert form.fields[-1].key == "township" and form.fields[-1].kind == "short_text"
    assert form.fields[-1].label == {"zh": "所涉乡镇（村）", "en": "Township or village concerned"}
    assert form.fields[-1].limits == {"maxLength": 100}


@pytest.fixture
def templates():
    return load_templates()  # a fresh copy for each test: some tests change it


def kinds(fields) -> dict:
    return {f.key: f.kind for f in fields}


def test_petition_kinds_labels_and_choices(templates):
    form = Form.from_schema(templates["petition"])
    assert (form.title_zh, form.title_en) == ("信访件登记", "Petition registration")
    assert form.description_zh.startswith("请如实反映问题") and form.description_en.startswith("Please describe")
    assert kinds(form.fields) == {
        "title": "short_text", "category": "single_choice", "content": "long_text", "region": "short_text",
        "occurred_on": "date", "involved_people": "number", "request": "long_text",
        "reported_elsewhere": "checkbox", IDENTITY_GROUP_KEY: "identity_group",
    }
    category = form.find("category")
    assert category.required and category.label == {"zh": "问题类别", "en": "Category"}
    assert [c.value for c in category.choices][:2] == ["political", "organizational"]
    assert (category.choices[-1].label_zh, category.choices[-1].label_en) == ("其他", "Other")
    assert len(category.choices) == 8
    title = form.find("title")
    assert title.limits == {"minLength": 2, "maxLength": 100} and title.required
    assert form.find("involved_people").limits == {"minimum": 1, "maximum": 100000}
    identity = form.find(IDENTITY_GROUP_KEY)
    assert kinds(identity.children) == {
        "petitioner_name": "short_text", "id_number": "id_number", "phone": "phone", "email": "email",
        "notify_progress": "checkbox", "address": "short_text",
    }
    assert all(c.identity for c in identity.children)
    assert [c.key for c in identity.children if c.required] == ["petitioner_name", "id_number", "phone"]
    assert form.find("id_number").help_en.startswith("18-character")


def test_report_subject_is_a_group_and_category_a_multiple_choice(templates):
    form = Form.from_schema(templates["report"])
    subject = form.fields[0]
    assert subject.key == "subject" and subject.kind == "group" and subject.required
    assert subject.label == {"zh": "被反映人", "en": "Subject of the report"}
    assert kinds(subject.children) == {"kind": "single_choice", "name": "short_text", "unit": "short_text",
                                      "position": "short_text", "rank": "single_choice"}
    assert [c.key for c in subject.children if c.required] == ["kind", "name"]
    assert [(c.value, c.label_zh, c.label_en) for c in subject.find("kind").choices] == [
        ("person", "个人", "Person"), ("unit", "单位", "Unit")]
    category = form.find("category")
    assert category.kind == "multiple_choice" and category.limits == {"minItems": 1, "maxItems": 8}
    assert category.choices[2].label_en == "Violation of integrity discipline"
    assert form.find("amount_involved").kind == "amount"
    assert form.find("id_number").kind == "id_number"


def test_suggestion_kinds(templates):
    form = Form.from_schema(templates["suggestion"])
    assert form.find("area").kind == "single_choice"
    assert form.find("content").kind == "long_text" and form.find("content").required
    identity = form.find(IDENTITY_GROUP_KEY)
    assert [c.key for c in identity.children] == ["petitioner_name", "phone", "email", "notify_progress"]
    assert not any(c.required for c in identity.children)


def test_an_unknown_keyword_is_kept_verbatim(templates):
    schema = templates["petition"]
    schema["x-tenant-note"] = {"a": [1, 2]}
    schema["properties"]["title"]["x-hint"] = "zz"
    schema["properties"]["category"]["oneOf"][0]["x-colour"] = "red"
    form = Form.from_schema(schema)
    assert form.raw is None and form.extra["x-tenant-note"] == {"a": [1, 2]}
    assert form.find("title").extra == {"x-hint": "zz"}
    assert form.find("category").choices[0].extra == {"x-colour": "red"}
    assert form.to_schema() == schema


def test_a_field_the_model_cannot_rebuild_is_kept_whole(templates):
    schema = templates["petition"]
    schema["$defs"] = {"short": {"type": "string", "maxLength": 10}}
    schema["properties"]["title"] = {"$ref": "#/$defs/short", "title": "标题"}
    check_tenant_schema(schema)
    form = Form.from_schema(schema)
    assert form.find("title").raw == {"$ref": "#/$defs/short", "title": "标题"}
    assert form.to_schema() == schema


def test_enum_choices_and_partial_x_order_round_trip():
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object", "title": "测试",
        "x-order": ["b"],
        "properties": {"a": {"type": "string"}, "b": {"type": "integer", "enum": [1, 2, 3]}, "c": {"type": "boolean"}},
        "additionalProperties": False,
    }
    check_tenant_schema(schema)
    form = Form.from_schema(schema)
    assert form.raw is None
    assert [f.key for f in form.fields] == ["b", "a", "c"]
    assert form.find("b").kind == "single_choice" and [c.value for c in form.find("b").choices] == [1, 2, 3]
    assert form.to_schema() == schema
    form.find("b").choices[0].label_zh = "一"
    assert form.to_schema()["properties"]["b"]["oneOf"][0] == {"const": 1, "title": "一"}


# --------------------------------------------------------------------------- editing


def edited_report(templates) -> Form:
    form = Form.from_schema(templates["report"])
    # add: where the money went, and a region by its GB/T 2260 code
    form.add_field(new_field("long_text", "money_trail", "资金去向", "Where the money went", limits={"maxLength": 2000}),
                   index=6)
    form.add_field(new_field("region", "region_code", "行政区划", "Administrative division",
                             limits={"pattern": "^[1-9][0-9]{5}$"}, help_zh="六位行政区划代码", help_en="Six-digit code"))
    # move: the date before the content
    form.move_field("occurred_on", 1)
    # duplicate a field of the subject group, remove another
    twin = form.duplicate_field("subject.position")
    twin.label_zh, twin.label_en = "曾任职务", "Former position"
    form.remove_field("subject.unit")
    # mark required; add a choice
    form.find("region").required = True
    form.find("subject.rank").choices.append(Choice("province", "省部级", "Province or ministry level"))
    # a field shown only when a category says so, required once shown
    form.add_field(new_field("short_text", "other_detail", "其他问题说明", "Other problem", required=True,
                             shown_when=Condition("category", "other", contains=True), limits={"maxLength": 200}),
                   index=2)
    return form


def test_edits_pass_the_gate_and_render(templates):
    form = edited_report(templates)
    schema = form.to_schema()
    check_tenant_schema(schema)
    order = schema["x-order"]
    assert order[:4] == ["subject", "occurred_on", "other_detail", "category"]
    assert order.index("money_trail") < order.index("evidence") and order[-1] == "region_code"
    assert schema["properties"]["region_code"]["x-kind"] == "region"
    assert "region" in schema["required"] and "other_detail" not in schema["required"]
    subject = schema["properties"]["subject"]
    assert subject["x-order"] == ["kind", "name", "position", "position_2", "rank"]
    assert "unit" not in subject["properties"]
    assert subject["properties"]["position_2"]["x-en"] == {"title": "Former position"}
    assert subject["properties"]["rank"]["oneOf"][-1] == {
        "const": "province", "title": "省部级", "x-en": {"title": "Province or ministry level"}}
    html = str(render_form(schema, lang="zh"))
    for text in ("资金去向", "行政区划", "曾任职务", "省部级", "其他问题说明", 'name="region_code"'):
        assert text in html
    assert 'name="subject.unit"' not in html
    english = str(render_form(schema, lang="en"))
    assert "Where the money went" in english and "Province or ministry level" in english
    # the edited schema opens again as the same model
    again = Form.from_schema(schema)
    assert again.raw is None and again.to_schema() == schema
    assert again.find("region_code").kind == "region"
    assert again.find("other_detail").shown_when == Condition("category", "other", contains=True)
    assert again.find("other_detail").required


def test_the_condition_is_enforced_by_validation(templates):
    schema = edited_report(templates).to_schema()
    base = {
        "subject": {"kind": "person", "name": "张某"}, "content": "具体事实" * 5, "region": "某县",
        "petitioner_name": "李四", "id_number": "11010519491231002X", "phone": "13912345678",
    }
    ok = validate_submission(schema, {**base, "category": ["integrity"]}, anonymous=False)
    assert ok == []
    shown_but_missing = validate_submission(schema, {**base, "category": ["other"]}, anonymous=False)
    assert [e.path for e in shown_but_missing] == ["other_detail"]
    answered = validate_submission(schema, {**base, "category": ["other"], "other_detail": "收受礼金"}, anonymous=False)
    assert answered == []
    hidden_but_given = validate_submission(schema, {**base, "category": ["integrity"], "other_detail": "x"}, anonymous=False)
    assert [e.path for e in hidden_but_given] == ["other_detail"]


def test_sections_and_placeholders_round_trip(templates):
    form = Form.from_schema(templates["petition"])
    form.add_field(new_field("section", "about_you", "关于您", "About you"), index=len(form.fields) - 1)
    form.find("title").placeholder_zh = "例如：某村违规收费"
    schema = form.to_schema()
    check_tenant_schema(schema)
    assert schema["x-sections"] == [
        {"key": "about_you", "before": "petitioner_name", "title": "关于您", "x-en": {"title": "About you"}}]
    assert schema["properties"]["title"]["x-placeholder"] == {"zh": "例如：某村违规收费"}
    render_form(schema)
    again = Form.from_schema(schema)
    assert again.to_schema() == schema
    assert [(f.key, f.kind) for f in again.fields][-2:] == [("about_you", "section"), (IDENTITY_GROUP_KEY, "identity_group")]
    # a section at the end, and one named by no key, round-trip too
    schema["x-sections"].append({"before": None, "title": "附注"})
    third = Form.from_schema(schema)
    assert third.raw is None and (third.fields[-1].kind, third.fields[-1].label_zh) == ("section", "附注")
    assert third.to_schema() == schema


def test_a_duplicate_key_or_unknown_kind_is_refused(templates):
    form = Form.from_schema(templates["petition"])
    with pytest.raises(ValueError):
        form.add_field(new_field("short_text", "title", "标题"))
    with pytest.raises(ValueError):
        form.add_field(Field(key="x", kind="hologram"))
    with pytest.raises(ValueError):
        form.duplicate_field("title", "content")
    assert "identity_group" in KINDS


def test_a_new_choice_field_needs_a_choice_before_the_gate_accepts_it(templates):
    form = Form.from_schema(templates["suggestion"])
    field = form.add_field(new_field("multiple_choice", "channels", "了解渠道", "How you heard of us"))
    with pytest.raises(SchemaRejected):
        check_tenant_schema(form.to_schema())
    field.choices.append(Choice("web", "网站", "Website"))
    schema = form.to_schema()
    check_tenant_schema(schema)
    assert schema["properties"]["channels"]["uniqueItems"] is True
    assert 'name="channels"' in str(render_form(schema))
    assert Form.from_schema(schema).find("channels").kind == "multiple_choice"


def test_fields_are_named_by_path_and_move_between_groups(templates):
    form = Form.from_schema(templates["report"])
    assert form.find("subject.name").label_zh == "姓名或单位名称"
    assert form.find("phone").identity and form.find("name") is None
    # out of the identity group: no longer identity; into the subject group; back to the form
    form.move_field("address", 3, parent=None)
    assert not form.find("address").identity and form.fields[3].key == "address"
    form.move_field("region", 0, parent="subject")
    assert form.find("subject.region").kind == "short_text"
    form.move_field("notify_progress", 0, parent=IDENTITY_GROUP_KEY)
    schema = form.to_schema()
    check_tenant_schema(schema)
    assert "x-identity" not in schema["properties"]["address"]
    assert schema["properties"]["subject"]["x-order"][0] == "region" and "region" not in schema["properties"]
    assert schema["properties"]["notify_progress"]["x-identity"] is True
    render_form(schema)
    # a name already in use where the field goes is refused; identity fields share the form's names
    form.add_field(new_field("short_text", "position", "职务"))
    with pytest.raises(ValueError):
        form.move_field("subject.position", 0, parent=None)
    with pytest.raises(ValueError):
        form.add_field(new_field("short_text", "phone", "电话"), parent=IDENTITY_GROUP_KEY)
    with pytest.raises(ValueError):
        form.add_field(new_field("short_text", "content", "内容"), parent=IDENTITY_GROUP_KEY)
    with pytest.raises(ValueError):
        form.add_field(new_field("group", "inner", "内层"), parent="subject")
    assert form.duplicate_field("phone").key == "phone_2" and form.find("phone_2").identity


def test_removing_the_answer_a_condition_names_drops_the_condition(templates):
    form = edited_report(templates)
    assert builder_problems(form) == []
    form.remove_field("category")
    assert form.find("other_detail").shown_when is None
    schema = form.to_schema()
    assert "allOf" not in schema and "other_detail" in schema["required"]
    check_tenant_schema(schema)


def test_builder_problems_name_the_field_in_both_languages(templates):
    form = Form.from_schema(templates["report"])
    form.add_field(new_field("single_choice", "severity", ""))
    form.add_field(new_field("short_text", "detail", "详情", shown_when=Condition("category", "nope", contains=True)))
    form.add_field(new_field("short_text", "detail2", "详情", shown_when=Condition("category", "other")))
    form.find("subject.rank").choices.append(Choice("other", "其他"))
    problems = {(p["path"], p["en"]) for p in builder_problems(form)}
    assert problems == {
        ("severity", "give the field a Chinese label"), ("severity", "add at least one choice"),
        ("detail", "the condition names a choice that is not there"),
        ("detail2", "the condition does not fit the kind of field it names"),
        ("subject.rank", "two choices have the same value"),
    }
    assert all(p["zh"] for p in builder_problems(form))


@pytest.mark.parametrize("kind", [k for k in KINDS if k != "identity_group"])
def test_every_kind_can_be_added_and_opens_again_as_itself(templates, kind):
    form = Form.from_schema(templates["suggestion"])
    key = f"new_{kind}"
    field = new_field(kind, key, "新字段", "New field", help_zh="说明", help_en="Help")
    if kind in ("single_choice", "multiple_choice"):
        field.choices.append(Choice("a", "甲", "A"))
    if kind == "group":
        field.children.append(new_field("short_text", "inner", "内层", "Inner", required=True))
    form.add_field(field, index=2)
    schema = form.to_schema()
    check_tenant_schema(schema)
    html = str(render_form(schema))
    again = Form.from_schema(schema)
    assert again.raw is None and again.to_schema() == schema
    if kind == "section":
        assert again.fields[2].kind == "section" and again.fields[2].key == key
        assert schema["x-sections"][0]["before"] == "content"
        return
    assert f'name="{key}' in html and "新字段" in html
    assert again.find(key).kind == kind and again.find(key).label == {"zh": "新字段", "en": "New field"}
    assert again.find(key).help == {"zh": "说明", "en": "Help"}
