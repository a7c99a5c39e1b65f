"""The one registry of display words: every internal code a page, a document or a PDF can show, in
Simplified Chinese and English.

Codes (``awaiting_approval``, ``online``, ``archive.opinion.pdf``) are for programs; people read the
words here. Templates say ``{{ value|word("review_state") }}``; Python says ``word("review_state", value, lang)``.
An unknown code never raises: it reads ``未知（code）`` / ``unknown (code)``, so a clerk sees that
something is missing and the page crawler (tests/test_page_crawl.py) fails on it.

Pure data, no imports from the rest of the platform: any module may read it. Where a tenant names
things itself (its workflow's states, its card types, its forms), the tenant's own words win and
these are the defaults.
"""

from __future__ import annotations

Words = dict[str, dict[str, str]]  # code -> {"zh": ..., "en": ...}


def _w(zh: str, en: str) -> dict[str, str]:
    return {"zh": zh, "en": en}


# ---------------------------------------------------------------- petitions
CHANNEL: Words = {
    "online": _w("网上信访", "Online"), "letter": _w("来信", "Letter"), "visit": _w("来访", "Visit"), "phone": _w("来电", "Phone call"),
}
FORM_KIND: Words = {"petition": _w("信访件", "Petition"), "report": _w("检举控告", "Report"), "suggestion": _w("意见建议", "Suggestion")}
# The default workflow's states (petitions/default_workflow.toml); a tenant's own workflow names its own.
PETITION_STATE: Words = {
    "registered": _w("已登记，待受理", "Registered, awaiting acceptance"),
    "accepted": _w("已受理，待分办", "Accepted, awaiting assignment"),
    "not_accepted": _w("不予受理", "Not accepted"),
    "handling": _w("办理中", "Being handled"),
    "replied": _w("已答复", "Replied"),
    "review": _w("复查中", "Under review (复查)"),
    "reviewed": _w("已复查", "Reviewed"),
    "re_review": _w("复核中", "Under re-review (复核)"),
    "closed": _w("已办结", "Closed"),
    "archived": _w("已归档", "Archived"),
}
# The steps of a petition's timeline: the default workflow's transitions and the steps the platform writes itself.
PETITION_ACTION: Words = {
    "submitted": _w("网上提交", "Filed online"),
    "registered": _w("登记", "Registered"),
    "supplement": _w("信访人补充材料", "Petitioner added information"),
    "overdue": _w("已逾期", "Overdue"),
    "repeat_confirmed": _w("确认为重复信访", "Confirmed as a repeat petition"),
    "repeat_withdrawn": _w("撤销重复信访认定", "Repeat petition finding withdrawn"),
    "result_reported": _w("报送办理结果", "Result of handling reported"),
    "result_accepted": _w("上级采纳办理结果", "Upper body accepted the result"),
    "result_returned": _w("上级退回办理结果", "Upper body returned the result"),
    "upper_reminder": _w("上级督办", "Reminder from the upper body"),
    "instruction_written": _w("领导批示", "Leader's instruction"),
    "instruction_acted": _w("报告批示落实情况", "Action on the instruction reported"),
    "instruction_fulfilled": _w("批示落实到位", "Instruction fulfilled"),
    "instruction_asked_again": _w("批示要求继续落实", "Asked again to act on the instruction"),
    "document_issued": _w("发文（公文签发）", "Document issued"),
    "document_received": _w("收文（公文登记）", "Document received"),
    "imported_state": _w("按原系统登记簿办结（批量导入）", "Closed as the old register says (bulk import)"),
    "import_updated": _w("按导入文件更新", "Updated from an import file"),
    "accept": _w("受理", "Accept"),
    "reject": _w("不予受理", "Do not accept"),
    "transfer": _w("转送有权处理单位", "Transfer to the competent body"),
    "assign_down": _w("交办下级", "Assign to a lower body"),
    "assign": _w("分办给承办人", "Assign to a handler"),
    "extend": _w("延期办理", "Extend the time limit"),
    "reply": _w("答复信访人", "Reply to the petitioner"),
    "request_review": _w("申请复查", "Request a review"),
    "review_reply": _w("出具复查意见", "Issue the review opinion"),
    "request_re_review": _w("申请复核", "Request a re-review"),
    "re_review_reply": _w("出具复核意见（终结）", "Issue the re-review opinion (final)"),
    "close": _w("办结", "Close"),
    "archive": _w("归档", "Archive"),
}
# Fields a workflow step records (petitions/workflow.py FIELD_TITLES), plus the ones the submission step writes.
STEP_FIELD: Words = {
    "opinion": _w("意见", "Opinion"), "reason": _w("理由", "Reason"), "reply": _w("答复内容", "Reply"),
    "assignee": _w("承办人", "Handler"), "target_tenant": _w("接收单位", "Receiving body"), "channel": _w("渠道", "Channel"),
    "text": _w("内容", "Text"), "report": _w("办理结果", "Result of handling"), "message": _w("督办意见", "Reminder"),
    "report_due_on": _w("结果报送期限", "Result report due"), "received_on": _w("收到日期", "Date received"),
    "repeat_of": _w("重复于", "Repeat of"),
    "relay_consent": _w("村民同意代为反映", "Villager's consent to relay"), "document": _w("公文", "Document"),
    "state_in_source": _w("原系统办理状态", "State in the old system"), "closed_on": _w("办结日期", "Date closed"),
    "changed": _w("更新的内容", "What changed"), "previous": _w("更新前", "Before the update"),
}
# ---------------------------------------------------------------- cards and supervision actions
SUPERVISION_KIND: Words = {"card": _w("监督卡", "Card"), "action": _w("监督措施", "Supervision action")}
SUPERVISION_STATE: Words = {
    "proposed": _w("系统建议", "Proposed"), "draft": _w("草稿", "Draft"),
    "awaiting_approval": _w("待审批", "Awaiting approval"), "issued": _w("已发出", "Issued"),
    "answered": _w("已说明，待处理", "Answered, to decide"), "rectifying": _w("整改中", "Rectifying"),
    "closed": _w("已办结", "Closed"), "transferred": _w("已移送立案", "Transferred to investigation"),
    "dismissed": _w("未采纳/撤回", "Dismissed"),
}
# An issued card or action awaits the written answer when its type sets an answer deadline, else the decision only.
ISSUED_AWAITING_ANSWER = _w("已发出，待说明", "Issued, awaiting answer")
ISSUED_WITHOUT_ANSWER = _w("已发出，待处理", "Issued, to decide")
SUPERVISION_VERB: Words = {
    "adopt": _w("采纳建议", "Adopt the proposal"), "dismiss": _w("不采纳/撤回", "Dismiss"),
    "submit": _w("报领导审批", "Submit for approval"), "approve": _w("批准", "Approve"),
    "return": _w("退回修改", "Return for revision"), "issue": _w("发出", "Issue"),
    "answer": _w("录入书面说明/整改报告", "File the written answer or report"),
    "decide": _w("处理决定", "Decide"), "rectified": _w("整改到位，办结", "Rectified: close"),
    "talk_record": _w("录入谈话记录", "File the talk's written record"),
    "follow_up": _w("记录回访", "Record a follow-up visit"),
    "official": _w("归入干部廉政档案", "File in an official's integrity archive"),
}
# The timeline notes of a card or action (cards/service.py _note); "decided:<outcome>" reads as the outcome.
SUPERVISION_NOTE: Words = {
    "created": _w("创建", "Created"), "submitted_for_approval": SUPERVISION_VERB["submit"], "approved": SUPERVISION_VERB["approve"],
    "self_approved": _w("本人审批（一人单位）", "Self-approved (one-person office)"), "returned": SUPERVISION_VERB["return"],
    "issued": SUPERVISION_VERB["issue"], "answered": _w("已说明", "Answered"), "talk_recorded": SUPERVISION_VERB["talk_record"],
    "rectified": _w("整改到位", "Rectified"), "adopted": SUPERVISION_VERB["adopt"], "dismissed": SUPERVISION_VERB["dismiss"],
    "proposed": _w("建议", "Proposed"), "followed_up": _w("已回访", "Followed up"), "linked_official": _w("归入廉政档案", "Filed in the archive"),
}
SUPERVISION_OUTCOME: Words = {
    "close": _w("说明清楚，予以了结", "Explained: close"),
    "must_explain": _w("责令重新说明", "Must explain again"),
    "rectify": _w("限期整改", "Rectify by a deadline"),
    "verify_further": _w("再次反映，进一步核实", "Reported again: verify further"),
    "escalate": _w("拒不说明或态度不端正，升级处理", "Refused or evasive: escalate"),
    "transfer": _w("移送立案调查（须领导批准）", "Transfer to case investigation (leader)"),
}
SUBJECT_KIND: Words = {"person": _w("个人", "person"), "unit": _w("单位", "unit")}
ACTION_KIND: Words = {
    "notice": _w("通知书（限期书面说明）", "Notice (explain in writing)"),
    "rectification": _w("整改通知书", "Rectification notice"),
    "talk": _w("谈话（须有书面记录）", "Talk (needs its written record)"),
    "meeting": _w("专题民主生活会", "Special democratic-life meeting"),
    "briefing": _w("通报会", "Briefing meeting"),
}
PERIOD_UNIT: Words = {
    "working_days": _w("个工作日", "working days"), "calendar_days": _w("天", "calendar days"),
    "calendar_months": _w("个月", "months"), "years": _w("年", "years"),
}
COPY_KIND: Words = {"department": _w("部门", "department"), "role": _w("本单位角色", "role here"), "tenant": _w("其他单位", "another body")}
RULE_CONDITION: Words = {
    "not_rectified_after": _w("发出后超过期限仍未整改", "not rectified after the period"),
    "repeat_within": _w("期限内对同一对象再次发出", "again to the same subject within the period"),
}
RULE_ACTION: Words = {"propose_card": _w("建议发卡", "propose a card"), "treat_as": _w("按更重的卡处理", "treat as a heavier card")}
# What the supervision admin page edits, for "已保存：…" (cards/admin.py saves as what:key).
DEFINITION_KIND: Words = {"card": _w("监督卡", "Card type"), "action": _w("监督措施", "Action type"), "rule": _w("升级规则", "Escalation rule")}
# ---------------------------------------------------------------- archives and promotion reviews
ENTRY_KIND: Words = {"petition": _w("信访件", "Petition"), "card": _w("监督卡", "Card"), "action": _w("监督措施", "Action"),
                     "document": _w("档案材料", "Document")}
DOCUMENT_STATUS: Words = {"filed": _w("已归档", "Filed")}
REVIEW_STATE: Words = {
    "awaiting_approval": _w("待批准", "Awaiting approval"), "active": _w("已批准，可查阅", "Approved: open for reading"),
    "rejected": _w("未批准", "Rejected"), "closed": _w("已结束", "Closed"),
}
REVIEW_PURPOSE: Words = {"promotion": _w("干部选拔任用", "promotion"), "transfer": _w("干部调动", "transfer")}
# ---------------------------------------------------------------- accounts, audit, platform
ROLE: Words = {
    "registrar": _w("登记员", "Registrar"), "handler": _w("承办人", "Handler"), "leader": _w("领导", "Leader"),
    "tenant_admin": _w("单位管理员", "Administrator"), "auditor": _w("审计员", "Auditor"), "citizen": _w("信访人", "Petitioner"),
    "village_supervisor": _w("信访监督员", "Village supervisor"),
}
GRANT_STATE: Words = {"pending": _w("待批准", "Awaiting approval"), "approved": _w("已批准", "Approved"), "rejected": _w("未批准", "Rejected")}
AUDIT_ACTION: Words = {
    "archive.read": _w("查阅廉政档案", "Read an integrity archive"),
    "petitions.export": _w("导出信访件清单", "Exported the case list"),
    "repeats.existence_check": _w("登记时全系统判重", "System-wide repeat check at registration"),
    "archive.opinion.page": _w("查阅廉政综合意见（网页）", "Read the consolidated opinion (page)"),
    "archive.opinion.pdf": _w("下载廉政综合意见（PDF）", "Downloaded the consolidated opinion (PDF)"),
    "archive.opinion.json": _w("通过接口读取廉政综合意见", "Read the consolidated opinion (API)"),
    "archive.link": _w("认定为同一人", "Linked as the same person"),
    "archive.unlink": _w("撤销同一人认定", "Removed a same-person link"),
    "review.opened": _w("发起廉政意见征求", "Opened a promotion review"),
    "review.approved": _w("批准廉政意见征求", "Approved a promotion review"),
    "review.rejected": _w("不批准廉政意见征求", "Rejected a promotion review"),
    "review.closed": _w("结束廉政意见征求", "Closed a promotion review"),
    "review.official_search": _w("按姓名跨单位查找干部", "Searched officials by name across bodies"),
    "cross_tenant.search": _w("跨单位检索", "Searched across bodies"),
    "cross_tenant.accounts.search": _w("跨单位查找账号", "Looked up accounts across bodies"),
    "account.roles.granted": _w("授予角色", "Roles granted"), "account.roles.revoked": _w("撤销角色", "Roles revoked"),
    "account.roles.requested": _w("申请授予角色", "Roles requested"), "account.roles.rejected": _w("拒绝授予角色", "Roles refused"),
    "exchange.client.created": _w("登记接口客户端", "Registered an API client"),
    "exchange.client.revoked": _w("吊销接口客户端密钥", "Revoked an API client's key"),
    "exchange.webhook.created": _w("添加事件推送地址", "Added a webhook endpoint"),
    "exchange.webhook.removed": _w("停用事件推送地址", "Disabled a webhook endpoint"),
    "sso.login": _w("经统一身份认证登录", "Signed in through single sign-on"),
    "sso.config.changed": _w("修改统一身份认证设置", "Changed the single sign-on settings"),
    "sso.rules.approved": _w("批准统一身份认证角色规则", "Approved single sign-on role rules"),
    "sso.passwords.restored": _w("恢复密码登录", "Switched password sign-in back on"),
    "records.archived": _w("归档", "Archived a closed case"),
    "records.read": _w("查阅归档记录", "Read an archived record"),
    "records.export": _w("导出归档记录", "Exported an archived record"),
}
SEARCH_CANDIDATE: Words = {"open": _w("待核实", "To check"), "confirmed": _w("确认为重复信访", "Confirmed repeat"),
                           "dismissed": _w("不是同一事项", "Not the same matter")}
EVENT_STATUS: Words = {"pending": _w("待处理", "Pending"), "done": _w("已完成", "Done"), "failed": _w("失败", "Failed")}
NOTIFICATION_KIND: Words = {
    "reminder": _w("到期提醒", "Reminder"), "overdue": _w("已逾期", "Overdue"), "follow_up": _w("回访提醒", "Follow-up visit due"),
    "assigned": _w("交办", "Assigned"), "proposal": _w("建议升级", "Proposal"), "copied": _w("抄送", "Copied"),
    "copy_due": _w("待抄送", "Copy to send"),
    "approval": _w("待审批", "To approve"), "approved": _w("已批准", "Approved"), "returned": _w("退回修改", "Returned"),
    "answered": _w("被监督对象已答复", "Answered"), "citizen": _w("信访人", "Petitioner"),
    "result_report": _w("结果报送", "Result report"), "result_decided": _w("结果审核", "Result decision"),
    "upper_reminder": _w("上级督办", "Reminder from above"),
    "analytics_alert": _w("预警", "Early warning"),
    "instruction": _w("领导批示", "Instruction"), "instruction_overdue": _w("批示逾期", "Instruction overdue"),
    "document": _w("公文", "Official document"),
    "campaign": _w("排查", "Screening campaign"),
    "oversight": _w("上级督办", "Oversight from above"), "oversight_overdue": _w("督办逾期", "Oversight overdue"),
    "oversight_report": _w("督办结果报送", "Oversight report"), "oversight_decided": _w("督办结果审核", "Oversight decision"),
}
TENANT_LEVEL: Words = {"national": _w("全国", "national"), "provincial": _w("省级", "provincial"), "prefecture": _w("地级", "prefecture"),
                       "county": _w("县级", "county"), "township": _w("乡镇", "township"),
                       "village": _w("村（社区）", "village")}
TENANT_KIND: Words = {"commission": _w("纪委监委", "Discipline commission"), "education_bureau": _w("教育局纪委", "Education bureau discipline office")}

REGISTRY: dict[str, Words] = {
    "channel": CHANNEL, "form_kind": FORM_KIND, "petition_state": PETITION_STATE, "petition_action": PETITION_ACTION,
    "step_field": STEP_FIELD,
    "supervision_kind": SUPERVISION_KIND, "supervision_state": SUPERVISION_STATE, "supervision_verb": SUPERVISION_VERB,
    "supervision_outcome": SUPERVISION_OUTCOME, "supervision_note": SUPERVISION_NOTE, "subject_kind": SUBJECT_KIND, "action_kind": ACTION_KIND,
    "period_unit": PERIOD_UNIT, "copy_kind": COPY_KIND, "rule_condition": RULE_CONDITION, "rule_action": RULE_ACTION,
    "definition_kind": DEFINITION_KIND,
    "entry_kind": ENTRY_KIND, "document_status": DOCUMENT_STATUS, "review_state": REVIEW_STATE, "review_purpose": REVIEW_PURPOSE,
    "role": ROLE, "grant_state": GRANT_STATE, "audit_action": AUDIT_ACTION, "search_candidate": SEARCH_CANDIDATE,
    "event_status": EVENT_STATUS, "notification_kind": NOTIFICATION_KIND, "tenant_level": TENANT_LEVEL, "tenant_kind": TENANT_KIND,
}


def _code(value) -> str:
    return str(getattr(value, "value", value))  # a StrEnum member or its value


def unknown(code: str, lang: str) -> str:
    return f"未知（{code}）" if lang == "zh" else f"unknown ({code})"


def word(group: str, value, lang: str = "zh") -> str:
    """``value``'s word in ``lang``; "—" for nothing; ``未知（code）`` for a code the group does not know. Never raises."""
    if value is None or value == "":
        return "—"
    code = _code(value)
    names = REGISTRY.get(group, {}).get(code)
    if names is None:
        return unknown(code, lang)
    return names.get(lang) or names["zh"]


def words(group: str) -> Words:
    """The whole group, for choices (select options) and for modules that keep their own lookups."""
    return REGISTRY[group]


def supervision_state_names(supervision) -> dict[str, str]:
    """A card or action's state in both languages as its reader means it: "issued" awaits a written answer only when
    there is an answer deadline."""
    code = _code(supervision.state)
    if code == "issued":
        return ISSUED_AWAITING_ANSWER if supervision.response_due else ISSUED_WITHOUT_ANSWER
    return SUPERVISION_STATE.get(code) or {"zh": unknown(code, "zh"), "en": unknown(code, "en")}


# Steps taken by no person keep a fixed name in both languages in the data ("系统 system" for a sweep, "信访人
# Petitioner" for the citizen); a page shows the reader's language only.
ACTOR_NAMES: Words = {"系统 system": _w("系统", "System"), "信访人 Petitioner": _w("信访人", "Petitioner")}


def actor_name(stored: str | None, lang: str = "zh") -> str:
    """A step's actor as a page shows it: a person's name as written, the system or the citizen in ``lang``."""
    names = ACTOR_NAMES.get(stored or "")
    return (names.get(lang) or names["zh"]) if names else (stored or "—")


def entry_status(kind, status, lang: str = "zh") -> str:
    """An archive entry's status as the reader says it: a card or action's state, a petition's state
    (the default workflow's words: the opinion spans tenants, the meaning is the same), a document's status."""
    if status is None or status == "":
        return "—"
    group = {"card": "supervision_state", "action": "supervision_state", "petition": "petition_state"}.get(_code(kind), "document_status")
    return word(group, status, lang)


def all_codes() -> set[str]:
    """Every code the registry knows (the page crawler looks for them in visible text)."""
    return {code for group in REGISTRY.values() for code in group}


def register_word_filters(app, current_lang) -> None:
    """``{{ code|word("group") }}``, ``{{ status|entry_status(kind) }}`` and ``words("group")`` in every template."""

    @app.template_filter("word")
    def word_filter(value, group: str) -> str:
        return word(group, value, current_lang())

    @app.template_filter("supervision_state")
    def supervision_state_filter(supervision) -> str:
        names = supervision_state_names(supervision)
        return names.get(current_lang()) or names["zh"]

    @app.template_filter("actor")
    def actor_filter(stored) -> str:
        return actor_name(stored, current_lang())

    @app.template_filter("entry_status")
    def entry_status_filter(status, kind) -> str:
        return entry_status(kind, status, current_lang())

    app.jinja_env.globals["words"] = words

