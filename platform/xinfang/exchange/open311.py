"""Open311 GeoReport v2 over a tenant's forms: services are its published forms, a service definition is the
form's fields as attributes, a service request is a petition filed through the citizens' own path
(``petitions.service.do_submit_petition``: the same validation, sealing, receipt and events).

Spec: https://wiki.open311.org/GeoReport_v2 (the answers are built here once and sent as JSON or, by open311_xml.py, as
the spec's XML). What is ours, not the spec's, is said where it is.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, time as dtime, timedelta
from zoneinfo import ZoneInfo

from werkzeug.datastructures import MultiDict

from ..errors import InvalidInput
from ..forms.model import Field
from ..forms.reading import condition_words, help_of, label_of, read_form, walk_fields
from ..petitions.models import Petition
from ..petitions.titles import title_from_text
from ..petitions.workflow import Workflow

GROUPS = {"petition": "信访", "report": "检举控告", "suggestion": "人民建议"}
KEYWORDS = {"petition": "信访,来信,投诉", "report": "检举,控告,举报", "suggestion": "建议,意见,人民建议征集"}
DATATYPES = {
    "short_text": "string", "phone": "string", "email": "string", "id_number": "string", "region": "string",
    "long_text": "text", "number": "number", "amount": "number", "date": "datetime",
    "single_choice": "singlevaluelist", "checkbox": "singlevaluelist", "multiple_choice": "multivaluelist",
}
DATATYPE_WORDS = {
    "date": "日期，如 2026-05-01（也可传完整的 ISO 8601 时间） / a date such as 2026-05-01 (a full ISO 8601 time is accepted)",
    "region": "GB/T 2260 行政区划代码，如 320000 / a GB/T 2260 division code such as 320000",
    "id_number": "18 位居民身份证号码 / 18-character resident ID number",
    "checkbox": "true 或 false / true or false",
    "amount": "金额（元） / an amount in yuan",
}
IDENTITY_NOTE = "信访人身份信息：实名反映时填写，匿名反映时留空 / the petitioner's identity: give it to file under a name, leave it out to file anonymously"
MAX_DESCRIPTION = 4000  # the spec's limit for a request's description
_ATTRIBUTE = re.compile(r"^attribute\[([^\[\]]{1,200})\](\[\])?$")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")


def attribute_fields(schema: dict) -> list[tuple[str, Field, bool]]:
    """(code, field, required) for every field a client can answer: dotted paths into groups; file fields left out
    (a request's one file is its ``media`` upload, or a ``media_url`` link, kept and never fetched)."""
    out = []
    required_groups: dict[str, bool] = {"": True}
    for path, f, _ in walk_fields(read_form(schema)):
        parent = path.rpartition(".")[0]
        parent_required = required_groups.get(parent, False)
        if f.kind == "group":
            required_groups[path] = parent_required and f.required
            continue
        if f.kind not in DATATYPES:
            continue
        out.append((path, f, parent_required and f.required and f.shown_when is None and not f.identity))
    return out


def service_view(form) -> dict:
    schema = form.json_schema
    description = schema.get("description") or ""
    return {
        "service_code": form.key,
        "service_name": form.title()["zh"],
        "description": description,
        "metadata": bool(attribute_fields(schema)),
        "type": "realtime",
        "keywords": KEYWORDS.get(form.kind, ""),
        "group": GROUPS.get(form.kind, "信访"),
    }


def definition_view(form) -> dict:
    schema = form.json_schema
    siblings = {path: fields for path, _, fields in walk_fields(read_form(schema))}
    attributes = []
    for order, (code, f, required) in enumerate(attribute_fields(schema), start=1):
        label, help_ = label_of(f), help_of(f)
        notes = [DATATYPE_WORDS.get(f.kind, "")]
        if f.identity:
            notes.append(IDENTITY_NOTE)
        cond = condition_words(f, siblings.get(code, []))
        if cond:
            notes.append(f"{cond['zh']} / {cond['en']}")
        attribute = {
            "variable": True,
            "code": code,
            "datatype": DATATYPES[f.kind],
            "required": required,
            "datatype_description": "；".join(n for n in notes if n) or None,
            "order": order,
            "description": label["zh"] + (f"：{help_['zh']}" if help_["zh"] else ""),
        }
        if f.kind == "checkbox":
            attribute["values"] = [{"key": "true", "name": "是"}, {"key": "false", "name": "否"}]
        elif f.choices is not None:
            attribute["values"] = [{"key": c.value, "name": c.label_zh if c.label_zh is not None else str(c.value)}
                                   for c in f.choices]
        attributes.append(attribute)
    return {"service_code": form.key, "attributes": attributes}


# -- a POST's fields -> the form's answers ---------------------------------------------------------------------


def attributes_of(fields: MultiDict) -> tuple[MultiDict, list[str]]:
    """``attribute[code]=v`` and ``attribute[code][]=v`` pairs as {code: [values]}, and the other field names."""
    answers: MultiDict = MultiDict()
    others = []
    for name, value in fields.items(multi=True):
        match = _ATTRIBUTE.match(name)
        if match:
            answers.add(match.group(1), value)
        else:
            others.append(name)
    return answers, others


def json_fields(body: dict) -> MultiDict:
    """A JSON body (ours, beside the spec's form encoding) as the same flat fields:
    ``{"service_code": ..., "attribute": {"code": value or [values]}}``."""
    flat: MultiDict = MultiDict()
    for name, value in body.items():
        if name == "attribute" and isinstance(value, dict):
            for code, given in value.items():
                for item in given if isinstance(given, list) else [given]:
                    flat.add(f"attribute[{code}]", _text(item))
        elif not isinstance(value, (dict, list)):
            flat.add(str(name), _text(value))
    return flat


def _text(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def unknown_attributes(schema: dict, given: MultiDict) -> InvalidInput | None:
    known = {code for code, _, _ in attribute_fields(schema)}
    unknown = sorted(code for code in given.keys() if code not in known)
    if not unknown:
        return None
    return InvalidInput(fields={f"attribute[{code[:40]}]": {
        "zh": "该服务没有这一属性（见服务定义 services/{code}.json）", "en": "this service has no such attribute (see its service definition)"}
        for code in unknown[:10]})


def standard_answers(schema: dict, fields: MultiDict, attributes: MultiDict) -> MultiDict:
    """Open311's own fields put where the form has a place for them, unless an attribute already answers it:
    ``description`` -> the content (and a title made of its first sentences when the form asks for one),
    ``address_string`` -> a text field named region; the requester's name, phone and e-mail -> the form's
    identity fields (family name first, as Chinese names are written)."""
    by_code = {code: f for code, f, _ in attribute_fields(schema)}
    merged = MultiDict(attributes)

    def put(code: str, value: str | None) -> None:
        if value and code in by_code and code not in merged:
            merged.add(code, value)

    description = (fields.get("description") or "").strip()[:MAX_DESCRIPTION]
    content = "content" if "content" in by_code else next((c for c, f in by_code.items() if f.kind == "long_text"), None)
    if content:
        put(content, description)
    if "title" in by_code and by_code["title"].kind == "short_text" and "title" not in merged and description:
        merged.add("title", title_from_text(description))
    if "region" in by_code and by_code["region"].kind == "short_text":
        put("region", (fields.get("address_string") or "").strip()[:100])
    first, last = (fields.get("first_name") or "").strip(), (fields.get("last_name") or "").strip()
    full = (last + first) if re.search(r"[\u4e00-\u9fff]", last + first) else " ".join(p for p in (first, last) if p)
    put("petitioner_name", full)
    put("phone", (fields.get("phone") or "").strip())
    put("email", (fields.get("email") or "").strip())
    for code, f in by_code.items():  # a date given as a full ISO 8601 time: its date
        if f.kind == "date" and code in merged:
            merged.setlist(code, [v[:10] if _ISO_DATE.match(v) else v for v in merged.getlist(code)])
    return merged


def identity_given(schema: dict, answers: dict) -> bool:
    identity = {code for code, f, _ in attribute_fields(schema) if f.identity}
    return any(answers.get(code) not in (None, "", False) for code in identity)


def location(fields: MultiDict) -> dict:
    """The location as sent (kept with the request; lat/long must be numbers in range, or it is a 400)."""
    out: dict = {}
    problems = {}
    for name, low, high in (("lat", -90, 90), ("long", -180, 180)):
        raw = (fields.get(name) or "").strip()
        if not raw:
            continue
        try:
            value = float(raw)
        except ValueError:
            value = None
        if value is None or not low <= value <= high or value != value:
            problems[name] = {"zh": f"应为 {low} 至 {high} 之间的数字（WGS84）", "en": f"must be a number from {low} to {high} (WGS84)"}
        else:
            out[name] = value
    if ("lat" in out) != ("long" in out) and not problems:
        problems["lat"] = {"zh": "lat 和 long 须同时提供", "en": "lat and long must be sent together"}
    media = (fields.get("media_url") or "").strip()
    if media and not re.match(r"^https?://", media):
        problems["media_url"] = {"zh": "应为 http 或 https 网址", "en": "must be an http or https URL"}
    if problems:
        raise InvalidInput(fields=problems)
    for name in ("address_string", "address_id"):
        value = (fields.get(name) or "").strip()
        if value:
            out[name] = value[:300]
    if media:
        out["media_url"] = media[:1000]
    return out


# -- a petition as a service request ---------------------------------------------------------------------------


def w3(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def request_view(petition: Petition, workflow: Workflow, row, *, service_name: str, agency: str | None, tenant_zone: str) -> dict:
    """What GET requests answers about one petition: its state in words, never who sent it."""
    state = next((s for s in workflow.states if s.key == petition.state), None)
    closed = bool(state and state.terminal)
    updated = max((s.at for s in petition.steps), default=petition.created_at)
    expected = None
    if petition.due_on and not closed:
        due = datetime.fromisoformat(petition.due_on).date()
        expected = w3(datetime.combine(due, dtime(23, 59, 59), ZoneInfo(tenant_zone)))
    content = petition.answers.get("content") if isinstance(petition.answers.get("content"), str) else ""
    return {
        "service_request_id": petition.number,
        "status": "closed" if closed else "open",
        "status_notes": f"{state.name.zh}（{state.name.en}）" if state else None,
        "service_name": service_name,
        "service_code": petition.form_key,
        "description": (content or petition.title)[:MAX_DESCRIPTION],
        "agency_responsible": agency,
        "service_notice": None,
        "requested_datetime": w3(petition.created_at),
        "updated_datetime": w3(updated),
        "expected_datetime": expected,
        "address": row.address_string if row else None,
        "address_id": row.address_id if row else None,
        "zipcode": None,
        "lat": row.lat if row else None,
        "long": row.long if row else None,
        "media_url": row.media_url if row else None,
    }


DEFAULT_SPAN = timedelta(days=90)
MAX_REQUESTS = 1000
