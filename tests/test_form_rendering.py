"""Server-side form rendering (no JavaScript) and parsing the submitted fields back to JSON.

The HTML is read back with the standard library's parser; a small "browser" turns the
rendered controls into the fields a real browser would submit, so the round trip
render -> submit -> parse_form -> validate_submission is checked end to end.
"""

from __future__ import annotations

import html.parser

import markupsafe
import pytest
from werkzeug.datastructures import MultiDict

from xinfang.forms.rendering import (
    ANONYMOUS_FIELD,
    is_anonymous,
    parse_form,
    render_anonymous_choice,
    render_form,
)
from xinfang.forms.schema_safety import FieldError, SchemaRejected, identity_names, validate_submission
from xinfang.forms.templates_library import load_templates

VOID = {"input", "br", "hr", "img", "meta", "link"}


@pytest.fixture(scope="module")
def templates():
    return load_templates()


class Element:
    def __init__(self, tag, attrs, parent):
        self.tag = tag
        self.attrs = dict(attrs)
        self.parent = parent
        self.children: list[Element] = []
        self.text = ""

    def ancestors(self):
        node = self.parent
        while node is not None:
            yield node
            node = node.parent

    def classes(self):
        return (self.attrs.get("class") or "").split()

    def all_text(self):
        return self.text + "".join(c.all_text() for c in self.children)

    def iter(self):
        yield self
        for child in self.children:
            yield from child.iter()


class Tree(html.parser.HTMLParser):
    def __init__(self, markup: str):
        super().__init__(convert_charrefs=True)
        self.root = Element("#root", [], None)
        self.current = self.root
        self.feed(markup)
        self.close()

    def handle_starttag(self, tag, attrs):
        element = Element(tag, attrs, self.current)
        self.current.children.append(element)
        if tag not in VOID:
            self.current = element

    def handle_endtag(self, tag):
        node = self.current
        while node is not self.root and node.tag != tag:
            node = node.parent
        if node is not self.root:
            self.current = node.parent

    def handle_data(self, data):
        self.current.text += data

    def find_all(self, tag=None, **attrs):
        return [
            e for e in self.root.iter()
            if (tag is None or e.tag == tag) and all(e.attrs.get(k.rstrip("_")) == v for k, v in attrs.items())
        ]

    def by_id(self, element_id):
        found = [e for e in self.root.iter() if e.attrs.get("id") == element_id]
        assert len(found) == 1, f"{element_id}: {len(found)} elements"
        return found[0]

    def controls(self):
        return [e for e in self.root.iter() if e.tag in ("input", "select", "textarea")]

    def label_for(self, element_id):
        labels = self.find_all("label", for_=element_id)
        assert len(labels) == 1, f"no single label for #{element_id}"
        return labels[0]


def submit(markup: str) -> MultiDict:
    """What a browser without JavaScript submits for these controls, as they are rendered."""
    tree = Tree(markup)
    fields = []
    for control in tree.controls():
        name = control.attrs.get("name")
        if not name or "disabled" in control.attrs:
            continue
        if control.tag == "textarea":
            value = control.text[1:] if control.text.startswith("\n") else control.text  # the parser drops one newline
            fields.append((name, value))
        elif control.tag == "select":
            options = [o for o in control.iter() if o.tag == "option"]
            chosen = [o for o in options if "selected" in o.attrs] or options[:1]
            fields.extend((name, o.attrs.get("value", o.all_text())) for o in chosen)
        elif control.attrs.get("type") in ("checkbox", "radio"):
            if "checked" in control.attrs:
                fields.append((name, control.attrs.get("value", "on")))
        else:
            fields.append((name, control.attrs.get("value", "")))
    return MultiDict(fields)


def petition_form() -> MultiDict:
    return MultiDict([
        ("title", "  某村村委会主任违规收取宅基地审批费用 "),
        ("category", "integrity"),
        ("content", "2024年3月以来，某村村委会主任张某在办理宅基地审批时，\r\n向多户村民每户收取“审批费”两千元，未开具任何票据。"),
        ("region", "江苏省宿迁市泗阳县某镇某村"),
        ("occurred_on", "2024-03-15"),
        ("involved_people", "12"),
        ("request", "请求核查并退还违规收取的费用。"),
        ("reported_elsewhere", "true"),
        ("petitioner_name", "李明"),
        ("id_number", "321323198001011231"),
        ("phone", "13912345678"),
        ("email", ""),
        ("address", "江苏省宿迁市泗阳县众兴镇人民路1号"),
        ("csrf_token", "abc"),  # the page's own fields are ignored
    ])


def report_form(anonymous: bool) -> MultiDict:
    fields = [
        ("subject.kind", "person"),
        ("subject.name", "王某"),
        ("subject.unit", "某县住房和城乡建设局"),
        ("subject.position", "副局长"),
        ("subject.rank", "township"),
        ("category", "integrity"),
        ("category", "work"),
        ("content", "王某在负责某安置小区工程验收期间，多次接受施工方宴请并收受购物卡，验收把关流于形式。"),
        ("occurred_on", "2023-11-20"),
        ("region", "某县城南新区"),
        ("amount_involved", "５００００"),  # full-width digits from a Chinese input method
        ("evidence", "有施工方内部账目复印件。"),
    ]
    if anonymous:
        fields.append((ANONYMOUS_FIELD, "true"))
    else:
        fields += [("petitioner_name", "赵强"), ("id_number", "320102199002283459"), ("phone", "0527-88881234")]
    return MultiDict(fields)


def suggestion_form() -> MultiDict:
    return MultiDict([
        ("topic", "建议公开村级财务"),
        ("area", "grassroots"),
        ("content", "建议每季度在村务公开栏和微信群同时公开村级财务收支明细，接受群众监督。"),
        ("expected_benefit", "减少群众对村级财务的疑虑，从源头上减少信访。"),
    ])


# --------------------------------------------------------------------------- rendering


@pytest.mark.parametrize("key", ["petition", "report", "suggestion"])
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_control_has_a_label_in_the_chosen_language(templates, key, lang):
    schema = templates[key]
    markup = render_form(schema, lang=lang)
    assert isinstance(markup, markupsafe.Markup)
    assert "<form" not in markup and "type=\"submit\"" not in markup
    tree = Tree(str(markup))
    assert tree.root.children[0].attrs["lang"] == ("zh-CN" if lang == "zh" else "en")
    ids = [c.attrs["id"] for c in tree.controls()]
    assert len(ids) == len(set(ids)) and ids
    for control in tree.controls():
        tree.label_for(control.attrs["id"])

    for name in schema["properties"]:
        node = schema["properties"][name]
        main = node["title"] if lang == "zh" else node["x-en"]["title"]
        other = node["x-en"]["title"] if lang == "zh" else node["title"]
        wrapper = [e for e in tree.root.iter() if e.attrs.get("data-field") == name]
        assert len(wrapper) == 1, name
        heading = next(e for e in wrapper[0].iter() if e.tag in ("label", "legend"))
        assert heading.children[0].all_text() == main
        if lang == "en":
            assert other in heading.all_text()  # the Chinese term, small, beside the English one
        else:
            assert other not in heading.all_text()  # a Chinese page carries no English sub-label (issue 11)
        if "description" in node:
            help_text = node["description"] if lang == "zh" else node["x-en"]["description"]
            assert help_text in wrapper[0].all_text()


@pytest.mark.parametrize("key", ["petition", "report"])
def test_required_attributes_and_the_identity_fieldset(templates, key):
    schema = templates[key]
    tree = Tree(str(render_form(schema)))
    identity = identity_names(schema)
    fieldsets = [e for e in tree.root.iter() if e.tag == "fieldset" and "identity" in e.classes()]
    assert len(fieldsets) == 1
    assert fieldsets[0].children[0].all_text() == "您的身份信息"  # no English sub-label on a Chinese page
    inside = {c.attrs["name"] for c in fieldsets[0].iter() if c.tag in ("input", "select", "textarea")}
    assert inside == set(identity)

    for control in tree.controls():
        name = control.attrs["name"]
        top = name.split(".")[0]
        if top in identity:
            assert "required" not in control.attrs, name
            assert control.attrs["data-identity"] == "true"
            if top in schema["required"]:
                assert control.attrs["data-required-unless-anonymous"] == "true"
                label = tree.label_for(control.attrs["id"])
                assert "匿名时可不填" in label.all_text() and "必填" not in label.all_text()
    required_controls = {c.attrs["name"] for c in tree.controls() if "required" in c.attrs}
    expected = {n for n in schema["required"] if n not in identity and schema["properties"][n].get("type") == "string"}
    assert expected <= required_controls
    assert not (required_controls & set(identity))
    # autocomplete and input modes for phones
    assert tree.find_all("input", name="phone")[0].attrs["type"] == "tel"
    assert tree.find_all("input", name="phone")[0].attrs["inputmode"] == "tel"
    assert tree.find_all("input", name="phone")[0].attrs["autocomplete"] == "tel"
    assert tree.find_all("input", name="petitioner_name")[0].attrs["autocomplete"] == "name"
    assert tree.find_all("input", name="address")[0].attrs["autocomplete"] == "street-address"
    assert tree.find_all("input", name="email")[0].attrs["type"] == "email"


def test_widgets_of_the_report(templates):
    tree = Tree(str(render_form(templates["report"], lang="en")))
    subject = tree.by_id("xf-subject")
    assert subject.tag == "fieldset" and subject.children[0].tag == "legend"
    assert "Subject of the report" in subject.children[0].all_text()
    kinds = tree.find_all("input", name="subject.kind")
    assert [k.attrs["type"] for k in kinds] == ["radio", "radio"] and all("required" in k.attrs for k in kinds)
    ranks = tree.find_all("input", name="subject.rank")
    assert [r.attrs["value"] for r in ranks] == ["", "village", "township", "county", "prefecture", "other"]
    assert "checked" in ranks[0].attrs  # optional radios can be left unanswered without JavaScript
    categories = tree.find_all("input", name="category")
    assert len(categories) == 8 and {c.attrs["type"] for c in categories} == {"checkbox"}
    assert tree.label_for(categories[0].attrs["id"]).children[0].all_text() == "Violation of political discipline"
    amount = tree.find_all("input", name="amount_involved")[0]
    assert (amount.attrs["type"], amount.attrs["inputmode"], amount.attrs["min"]) == ("number", "numeric", "0")
    assert tree.find_all("input", name="occurred_on")[0].attrs["type"] == "date"
    content = tree.find_all("textarea", name="content")[0]
    assert content.attrs["maxlength"] == "5000" and "required" in content.attrs


def test_petition_category_is_a_select_with_a_placeholder(templates):
    tree = Tree(str(render_form(templates["petition"])))
    select = tree.find_all("select", name="category")[0]
    options = [o for o in select.iter() if o.tag == "option"]
    assert [o.attrs["value"] for o in options][:2] == ["", "political"] and len(options) == 9
    assert options[0].all_text() == "请选择" and "selected" in options[0].attrs
    assert "required" in select.attrs
    assert tree.find_all("input", name="reported_elsewhere")[0].attrs["type"] == "checkbox"
    assert tree.find_all("input", name="involved_people")[0].attrs["inputmode"] == "numeric"


def test_identity_can_be_left_out(templates):
    markup = str(render_form(templates["petition"], include_identity=False))
    tree = Tree(markup)
    names = {c.attrs["name"] for c in tree.controls()}
    assert not names & set(identity_names(templates["petition"]))
    assert "identity" not in markup and "您的身份信息" not in markup


def test_name_prefix_is_applied_to_names_and_ids_and_parsed_back(templates):
    markup = str(render_form(templates["report"], name_prefix="draft."))
    tree = Tree(markup)
    assert tree.find_all("input", name="draft.subject.name")
    assert all(c.attrs["name"].startswith("draft.") for c in tree.controls())
    prefixed = MultiDict([("draft." + k, v) for k, v in report_form(anonymous=True).items(multi=True)])
    assert parse_form(templates["report"], prefixed, name_prefix="draft.") == parse_form(templates["report"], report_form(True))


# --------------------------------------------------------------------------- errors and sticky values


def test_sticky_values_and_errors_next_to_their_fields(templates):
    schema = templates["report"]
    form = MultiDict([
        ("subject.kind", "unit"), ("subject.name", ""), ("subject.rank", "county"),
        ("category", "work"), ("category", "life"),
        ("content", "举报" * 2501), ("amount_involved", "五万"), ("occurred_on", "2023-02-30"),
        ("phone", "12345"),
    ])
    data = parse_form(schema, form)
    errors = validate_submission(schema, data, anonymous=False)
    markup = str(render_form(schema, values=data, errors=errors))
    tree = Tree(markup)

    for error in errors:
        assert isinstance(error, FieldError)
        wrapper = [e for e in tree.root.iter() if e.attrs.get("data-field") == error.path]
        assert len(wrapper) == 1, error.path
        alerts = [e for e in wrapper[0].iter() if e.attrs.get("role") == "alert"]
        assert [a.all_text() for a in alerts] == [error.zh]
        described = [c for c in wrapper[0].iter() if c.tag in ("input", "select", "textarea")]
        assert described and all(alerts[0].attrs["id"] in c.attrs["aria-describedby"].split() for c in described)
        assert all(c.attrs.get("aria-invalid") == "true" for c in described)
    paths = {e.path for e in errors}
    assert {"subject.name", "content", "amount_involved", "occurred_on", "phone", "petitioner_name"} <= paths

    # what the citizen typed is still there
    assert "checked" in tree.find_all("input", name="subject.kind", value="unit")[0].attrs
    assert "checked" in tree.find_all("input", name="subject.rank", value="county")[0].attrs
    assert "checked" not in tree.find_all("input", name="subject.rank", value="")[0].attrs
    ticked = [c.attrs["value"] for c in tree.find_all("input", name="category") if "checked" in c.attrs]
    assert ticked == ["work", "life"]
    assert tree.find_all("textarea", name="content")[0].text == "\n" + "举报" * 2501
    amount = tree.find_all("input", name="amount_involved")[0]
    assert amount.attrs["value"] == "五万" and amount.attrs["type"] == "text"  # a number input would hide it
    assert tree.find_all("input", name="occurred_on")[0].attrs["value"] == "2023-02-30"
    assert tree.find_all("input", name="phone")[0].attrs["value"] == "12345"

    # a summary at the top links to each field
    summary = [e for e in tree.root.iter() if "xf-error-summary" in e.classes()][0]
    links = [a.attrs["href"] for a in summary.iter() if a.tag == "a"]
    assert "#xf-subject-name" in links and "#xf-content" in links and len(links) == len(errors)
    for link in links:
        tree.by_id(link[1:])

    english = Tree(str(render_form(schema, lang="en", values=data, errors=errors)))
    assert [e.all_text() for e in english.root.iter() if e.attrs.get("id") == "xf-content-error"] == [
        next(e.en for e in errors if e.path == "content")
    ]


def test_errors_without_a_field_are_shown_in_the_summary(templates):
    errors = validate_submission(templates["petition"], {"unknown": "x"}, anonymous=True)
    tree = Tree(str(render_form(templates["petition"], errors=errors, include_identity=False)))
    summary = [e for e in tree.root.iter() if "xf-error-summary" in e.classes()][0]
    assert "不允许的字段 'unknown'" in summary.all_text()


def test_the_anonymous_choice(templates):
    tree = Tree(str(render_anonymous_choice(lang="zh", checked=True)))
    box = tree.find_all("input", name=ANONYMOUS_FIELD)[0]
    assert box.attrs["type"] == "checkbox" and "checked" in box.attrs
    assert "我选择匿名反映" in tree.label_for(box.attrs["id"]).all_text()
    assert is_anonymous(MultiDict([(ANONYMOUS_FIELD, "true")]))
    assert not is_anonymous(MultiDict([("title", "x")]))
    assert not is_anonymous(None)


# --------------------------------------------------------------------------- escaping


def test_hostile_titles_values_and_messages_are_escaped():
    hostile = '<script>alert("t")</script>'
    attribute_breaker = '"><img src=x onerror=alert(1)>'
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": hostile,
        "type": "object",
        "properties": {
            "a": {"type": "string", "title": hostile, "description": attribute_breaker, "x-en": {"title": attribute_breaker}},
            "b": {"type": "string", "title": "选择", "oneOf": [
                {"const": attribute_breaker, "title": hostile, "x-en": {"title": hostile}},
                {"const": "ok", "title": "好"},
            ]},
            "c": {"type": "string", "title": "多", "oneOf": [{"const": f"v{i}", "title": hostile} for i in range(7)]},
            "d": {"type": "array", "title": hostile, "items": {"type": "string", "oneOf": [
                {"const": "</textarea><script>", "title": hostile},
            ]}},
            "e": {"type": "string", "x-widget": "textarea", "title": "文本"},
            "p": {"type": "string", "title": "电话", "x-identity": True},
        },
        "required": ["a", "p"],
        "additionalProperties": False,
    }
    values = {"a": attribute_breaker, "b": attribute_breaker, "d": ["</textarea><script>"], "e": "</textarea><script>alert(2)</script>", "p": hostile}
    errors = [FieldError("a", hostile, hostile), FieldError("", attribute_breaker, attribute_breaker)]
    for lang in ("zh", "en"):
        markup = str(render_form(schema, lang=lang, values=values, errors=errors))
        tree = Tree(markup)
        assert not tree.find_all("script") and not tree.find_all("img")
        assert "<script>" not in markup and "onerror=alert" not in markup.replace("onerror=alert(1)&gt;", "")
        assert "&lt;script&gt;" in markup
        # the values survive intact, as values
        assert tree.find_all("input", name="a")[0].attrs["value"] == attribute_breaker
        assert tree.find_all("textarea", name="e")[0].text == "\n</textarea><script>alert(2)</script>"
        assert "checked" in tree.find_all("input", name="b", value=attribute_breaker)[0].attrs
        assert tree.find_all("input", name="p")[0].attrs["value"] == hostile
    # and they parse back to exactly what was typed
    assert parse_form(schema, submit(str(render_form(schema, values=values))))["e"] == values["e"]


def test_a_schema_that_fails_the_gate_is_not_rendered_or_parsed():
    bad = {"type": "object", "properties": {"x": {"$ref": "https://evil.example/x.json"}}, "additionalProperties": False}
    with pytest.raises(SchemaRejected):
        render_form(bad)
    with pytest.raises(SchemaRejected):
        parse_form(bad, MultiDict())


# --------------------------------------------------------------------------- parsing


def test_parse_petition_types_every_field(templates):
    data = parse_form(templates["petition"], petition_form())
    assert data["involved_people"] == 12
    assert data["reported_elsewhere"] is True
    assert data["title"] == "某村村委会主任违规收取宅基地审批费用"
    assert "\r" not in data["content"] and "\n" in data["content"]
    assert data["occurred_on"] == "2024-03-15"
    assert "email" not in data and "csrf_token" not in data
    assert validate_submission(templates["petition"], data, anonymous=False) == []
    unticked = MultiDict([(k, v) for k, v in petition_form().items(multi=True) if k != "reported_elsewhere"])
    assert parse_form(templates["petition"], unticked)["reported_elsewhere"] is False


@pytest.mark.parametrize("anonymous", [False, True])
def test_parse_report_with_nested_subject_and_multiple_choice(templates, anonymous):
    form = report_form(anonymous)
    data = parse_form(templates["report"], form)
    assert data["subject"] == {"kind": "person", "name": "王某", "unit": "某县住房和城乡建设局", "position": "副局长", "rank": "township"}
    assert data["category"] == ["integrity", "work"]
    assert data["amount_involved"] == 50000
    assert is_anonymous(form) is anonymous
    assert validate_submission(templates["report"], data, anonymous=is_anonymous(form)) == []


def test_parse_suggestion_without_contact(templates):
    data = parse_form(templates["suggestion"], suggestion_form())
    assert data == {
        "topic": "建议公开村级财务", "area": "grassroots",
        "content": "建议每季度在村务公开栏和微信群同时公开村级财务收支明细，接受群众监督。",
        "expected_benefit": "减少群众对村级财务的疑虑，从源头上减少信访。",
    }
    assert validate_submission(templates["suggestion"], data, anonymous=False) == []
    assert validate_submission(templates["suggestion"], data, anonymous=True) == []


@pytest.mark.parametrize(
    ("key", "form"),
    [("petition", petition_form()), ("report", report_form(False)), ("suggestion", suggestion_form())],
)
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_round_trip_through_a_browser_without_javascript(templates, key, form, lang):
    schema = templates[key]
    data = parse_form(schema, form)
    assert validate_submission(schema, data, anonymous=False) == []
    markup = str(render_form(schema, lang=lang, values=data))
    resubmitted = submit(markup)
    assert parse_form(schema, resubmitted) == data
    # an empty form submits nothing but blanks, and parses to the missing required fields
    blank = parse_form(schema, submit(str(render_form(schema, lang=lang))))
    errors = validate_submission(schema, blank, anonymous=False)
    required = set()
    for name in schema["required"]:  # a required group left empty: its required fields say so, each next to itself
        node = schema["properties"][name]
        inner = node.get("required", []) if node.get("type") == "object" else []
        required |= {f"{name}.{child}" for child in inner} if inner else {name}
    assert {e.path for e in errors} == required
    assert all(e.zh.endswith("：必填") and e.en.endswith(": required") for e in errors)


def test_garbage_becomes_validation_errors_not_exceptions(templates):
    garbage = MultiDict([
        ("involved_people", "十二"), ("involved_people", "13"),
        ("occurred_on", "昨天"), ("category", "bribery"), ("category", "other"),
        ("reported_elsewhere", "maybe"), ("title", "\x00\x00"), ("content", "x" * 200_000),
        ("tenant_id", "other-tenant"), ("channel", "online"), ("subject.name", "x"), ("__proto__", "1"),
        ("phone", "\u202e13912345678"), ("id_number", "１１０１０５１９４９１２３１００２Ｘ"),
    ])
    data = parse_form(templates["petition"], garbage)
    assert data["involved_people"] == "十二"  # kept as typed, so validation can say why
    assert data["reported_elsewhere"] is False
    assert "title" not in data  # NUL characters only: blank
    assert not {"tenant_id", "channel", "subject", "__proto__"} & set(data)
    errors = {e.path: e for e in validate_submission(templates["petition"], data, anonymous=False)}
    assert errors["involved_people"].zh == "涉及人数：应填写整数"
    assert errors["occurred_on"].zh.startswith("发生时间：请填写有效日期")
    assert errors["category"].zh == "问题类别：请从选项中选择"
    assert errors["content"].zh.startswith("反映内容：最多 5000 个字")
    assert errors["title"].zh == "标题：必填"
    assert errors["phone"].zh == "联系电话：格式不正确"
    assert errors["id_number"].zh.startswith("身份证号码：号码不正确")  # full-width digits are not a resident ID number

    report = parse_form(templates["report"], MultiDict([
        ("subject", "王某"), ("subject.kind", "alien"), ("subject.name.first", "x"), ("category", ""),
        ("amount_involved", "1e400"), ("amount_involved", "NaN"),
    ]))
    errors = {e.path: e for e in validate_submission(templates["report"], report, anonymous=True)}
    assert errors["subject.kind"].zh == "被反映人 · 类型：请从选项中选择"
    assert errors["subject.name"].zh == "被反映人 · 姓名或单位名称：必填"
    assert errors["category"].zh == "问题类别：必填"
    assert errors["amount_involved"].zh == "涉及金额（元）：应填写整数"


def test_integer_choices_round_trip():
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "满意度评价", "x-en": {"title": "Satisfaction"},
        "type": "object",
        "properties": {
            "score": {"type": "integer", "title": "满意度", "x-en": {"title": "Satisfaction"}, "oneOf": [
                {"const": 1, "title": "不满意", "x-en": {"title": "Dissatisfied"}},
                {"const": 2, "title": "基本满意", "x-en": {"title": "Fairly satisfied"}},
                {"const": 3, "title": "满意", "x-en": {"title": "Satisfied"}},
            ]},
        },
        "required": ["score"],
        "additionalProperties": False,
    }
    tree = Tree(str(render_form(schema)))
    assert [r.attrs["value"] for r in tree.find_all("input", name="score")] == ["1", "2", "3"]
    data = parse_form(schema, MultiDict([("score", "2")]))
    assert data == {"score": 2} and validate_submission(schema, data, anonymous=False) == []
    assert parse_form(schema, submit(str(render_form(schema, values=data)))) == data
    errors = validate_submission(schema, parse_form(schema, MultiDict([("score", "7")])), anonymous=False)
    assert [(e.path, e.zh) for e in errors] == [("score", "满意度：请从选项中选择")]


@pytest.mark.parametrize(
    "form",
    [None, 42, "title=x", [("title", "x")], {"title": ["x", "y"], "involved_people": 12}, {"category": b"other"},
     MultiDict(), object()],
)
def test_parse_form_never_raises(templates, form):
    for schema in templates.values():
        data = parse_form(schema, form)
        assert isinstance(data, dict)
        assert isinstance(validate_submission(schema, data, anonymous=False), list)
