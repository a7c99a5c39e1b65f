"""Words for the codes a report is keyed by: what a person reads instead of "visit", "652801" or "#ffcc00"."""

from __future__ import annotations

from datetime import date

from ..cards.models import ActionType, CardType, SupervisionState
from ..forms.models import FormVersion
from ..forms.regions import full_name, names as region_names
from ..petitions.models import CHANNEL_NAMES
from ..petitions.workflow import default_workflow
from ..petitions.workflow_versions import current_workflow
from ..store.scoped import TenantScope
from ..tenancy.models import Tenant

# The words for measures and dimensions everywhere (pages, exports, API messages).
MEASURE_NAMES: dict[str, dict[str, str]] = {
    "received": {"zh": "受理件数", "en": "Received"},
    "closed": {"zh": "办结件数", "en": "Closed"},
    # Past the time limit: still open after it, or closed after it (超期办结); the dashboard's 超期未办结 is open ones only.
    "overdue": {"zh": "超期件数（含超期办结）", "en": "Overdue (open past the limit or closed late)"},
    "open_now": {"zh": "在办件数", "en": "Open now"},
    "cards_issued": {"zh": "发出监督卡", "en": "Cards issued"},
    "actions_taken": {"zh": "监督措施", "en": "Supervision actions"},
    "repeats": {"zh": "重复信访", "en": "Repeat petitions"},
    "collective": {"zh": "集体访", "en": "Collective petitions"},
}
DIMENSION_NAMES: dict[str, dict[str, str]] = {
    "day": {"zh": "日", "en": "Day"},
    "week": {"zh": "周", "en": "Week"},
    "month": {"zh": "月", "en": "Month"},
    "tenant": {"zh": "单位", "en": "Body"},
    "channel": {"zh": "渠道", "en": "Channel"},
    "category": {"zh": "问题类别", "en": "Category"},
    "form": {"zh": "表单", "en": "Form"},
    "region": {"zh": "地区", "en": "Region"},
    "state": {"zh": "办理状态", "en": "Status"},
    "source": {"zh": "来源", "en": "Source"},
    "card_type": {"zh": "监督卡类型", "en": "Card type"},
    "colour": {"zh": "卡片颜色", "en": "Card colour"},
    "result": {"zh": "处理结果", "en": "Result"},
    "action_form": {"zh": "监督措施形式", "en": "Form of action"},
}
SOURCE_NAMES = {"citizen": {"zh": "群众网上提交", "en": "Filed online by the citizen"},
                "staff": {"zh": "工作人员登记", "en": "Registered by staff"},
                "imported": {"zh": "导入", "en": "Imported"},
                "supervisor": {"zh": "信访监督员代为反映", "en": "Relayed by a village supervisor"}}
ACTION_FORM_NAMES = {"talks": {"zh": "谈话", "en": "Talks"}, "notices": {"zh": "通知书", "en": "Notices"},
                     "meetings": {"zh": "会议", "en": "Meetings"}, "": {"zh": "其他", "en": "Other"}}
RESULT_NAMES = {
    SupervisionState.ISSUED.value: {"zh": "已发出待答复", "en": "Issued, awaiting the answer"},
    SupervisionState.ANSWERED.value: {"zh": "已答复", "en": "Answered"},
    SupervisionState.RECTIFYING.value: {"zh": "整改中", "en": "Rectifying"},
    SupervisionState.CLOSED.value: {"zh": "已办结", "en": "Closed"},
    SupervisionState.TRANSFERRED.value: {"zh": "已立案移送", "en": "Transferred for a case"},
    SupervisionState.PROPOSED.value: {"zh": "建议", "en": "Proposed"},
    SupervisionState.DRAFT.value: {"zh": "草稿", "en": "Draft"},
    SupervisionState.AWAITING_APPROVAL.value: {"zh": "待审批", "en": "Awaiting approval"},
    SupervisionState.DISMISSED.value: {"zh": "未采纳", "en": "Dismissed"},
}
NOT_GIVEN = {"zh": "未填写", "en": "Not given"}


def _same(text: str) -> dict[str, str]:
    return {"zh": text, "en": text}


class Labeller:
    """Words for every code of one report, loaded once for the viewer and the tenants counted."""

    def __init__(self):
        self.tenants: dict[str, dict[str, str]] = {}
        self.states: dict[str, dict[str, str]] = {}
        self.card_types: dict[str, dict[str, str]] = {}
        self.colours: dict[str, dict[str, str]] = {}
        self.forms: dict[str, dict[str, str]] = {}

    @classmethod
    async def for_tenants(cls, viewer_id: str, tenant_ids: list[str]) -> "Labeller":
        self = cls()
        for state in default_workflow().states:
            self.states[state.key] = state.name.model_dump()
        scope = TenantScope(viewer_id)
        _, workflow = await current_workflow(scope)
        for state in workflow.states:
            self.states[state.key] = state.name.model_dump()
        for card in await scope.repo(CardType).find({}).to_list():
            self.card_types[card.key] = card.name.model_dump()
            self.colours[card.colour.lower()] = card.colour_name.model_dump()
        for action in await scope.repo(ActionType).find({}).to_list():
            self.card_types.setdefault(action.key, action.name.model_dump())
        rows = await FormVersion.get_pymongo_collection().find(
            {"tenant_id": {"$eq": viewer_id}}, projection={"key": 1, "version": 1, "json_schema.title": 1, "json_schema.x-en": 1}).to_list(None)
        for row in sorted(rows, key=lambda r: r.get("version") or 0):  # the newest version's title that has one
            schema = row.get("json_schema") or {}
            zh = schema.get("title") if isinstance(schema.get("title"), str) and schema["title"].strip() else None
            en = (schema.get("x-en") or {}).get("title") if isinstance(schema.get("x-en"), dict) else None
            if zh or row["key"] not in self.forms:
                self.forms[row["key"]] = {"zh": zh or "未命名表单", "en": en or zh or "Untitled form"}
        from ..store.scoped import parse_object_id

        oids = [oid for oid in (parse_object_id(t) for t in tenant_ids[:5000]) if oid is not None]
        async for row in Tenant.get_pymongo_collection().find({"_id": {"$in": oids}}, projection={"name": 1}):
            self.tenants[str(row["_id"])] = row.get("name") or _same(str(row["_id"]))
        return self

    def label(self, dim: str, code: str) -> dict[str, str]:
        if dim in ("day", "month"):
            return _same(code)
        if dim == "week":
            d = date.fromisoformat(code)
            iso = d.isocalendar()
            return {"zh": f"{iso.year}年第{iso.week}周（{code}起）", "en": f"Week {iso.week} of {iso.year} (from {code})"}
        if code == "" and dim not in ("action_form",):
            return dict(NOT_GIVEN)
        if dim == "tenant":
            return dict(self.tenants.get(code) or {"zh": "其他单位", "en": "Another body"})
        if dim == "channel":
            return dict(CHANNEL_NAMES.get(code) or _same(code))
        if dim == "region":
            if code in region_names():
                return {"zh": full_name(code) or region_names()[code], "en": full_name(code) or region_names()[code]}
            if code.isdigit():
                return {"zh": "未知行政区划", "en": "Unknown division"}  # a code no longer listed
            return _same(code)  # a region written as text
        if dim == "state":
            return dict(self.states.get(code) or {"zh": "其他状态", "en": "Another state"})
        if dim == "source":
            return dict(SOURCE_NAMES.get(code) or _same(code))
        if dim == "card_type":
            return dict(self.card_types.get(code) or {"zh": "其他类型", "en": "Another type"})
        if dim == "colour":
            return dict(self.colours.get(code.lower()) or {"zh": "其他颜色", "en": "Another colour"})
        if dim == "result":
            return dict(RESULT_NAMES.get(code) or _same(code))
        if dim == "action_form":
            return dict(ACTION_FORM_NAMES.get(code) or _same(code))
        if dim == "form":
            return dict(self.forms.get(code) or {"zh": "其他表单", "en": "Another form"})
        return _same(code)  # category: the words the form offered
