"""The export file's format, version 1: which files it holds, what each record keeps and leaves out, and the README
that says so in Chinese and English. ``FORMAT_VERSION`` changes whenever a reader would have to change."""

from __future__ import annotations

import dataclasses

FORMAT = "xinfang-tenant-export"
FORMAT_VERSION = 1


@dataclasses.dataclass(frozen=True)
class Kind:
    key: str  # the file is <key>.jsonl
    title: dict
    dropped: tuple[str, ...]  # internal fields never written (hashes of secrets, pending events)
    fields: tuple[tuple[str, str, str], ...]  # (name, zh, en) described in the README


COMMON_DROPPED = ("outbox", "outbox_pending", "revision")

KINDS: tuple[Kind, ...] = (
    Kind("cases", {"zh": "信访件", "en": "Cases (petitions)"},
         COMMON_DROPPED + ("receipt_hash", "submission_key_hash", "submission_content_hash", "petitioner_key"), (
             ("id", "信访件内部编号", "internal id"),
             ("number", "案件编号", "case number"),
             ("form_key / form_version", "所用表单及其版本", "form and version it was filed on"),
             ("kind / channel", "类别（信访、举报、建议）与渠道（online 网上、letter 来信、visit 来访、phone 来电）",
              "kind and channel (online, letter, visit, phone)"),
             ("anonymous", "是否匿名", "filed anonymously"),
             ("answers", "表单中除身份信息以外的全部内容", "everything on the form except identity"),
             ("identity_sealed", "身份信息密文（本单位密钥加密，文件中不解密）", "identity, encrypted with this body's key (never decrypted here)"),
             ("identity", "身份信息明文：仅当导出时选择并有权限“导出信访人身份”", "identity in clear: only when chosen by someone allowed to"),
             ("received_on / received_zone", "收到日期及其时区", "date received and its time zone"),
             ("state / due_on / overdue", "当前状态、办理时限、是否超期", "state, due date, overdue"),
             ("steps", "办理经过（时间、操作人、动作、状态变化）", "history: when, who, what, which state"),
             ("attachment_ids", "附件编号（附件本身不在本文件中）", "attachment ids (the files are not included)"),
             ("created_at", "登记时间（UTC）", "registered at (UTC)"),
         )),
    Kind("cards", {"zh": "监督卡与监督措施", "en": "Cards and supervision actions"},
         COMMON_DROPPED + ("answer_token_hash",), (
             ("id", "内部编号", "internal id"),
             ("kind / type_key", "card 监督卡 或 action 监督措施，及其类型", "card or action, and its type"),
             ("subject", "对象（个人或单位）", "who it is about (person or unit)"),
             ("petition_ids", "来源信访件", "the petitions it came from"),
             ("state / issued_on / response_due / rectify_due", "状态、发出日期、答复期限、整改期限", "state, issued, answer due, rectify by"),
             ("follow_ups / copies / notes", "回访、抄送、记录", "follow-up visits, copies, notes"),
             ("document_html / document_no", "发出的文书及文号", "the document as issued and its number"),
         )),
    Kind("officials", {"zh": "廉政档案：干部", "en": "Archives: officials"},
         COMMON_DROPPED + ("id_hash", "person_key", "name_key"), (
             ("id", "内部编号", "internal id"),
             ("name / position / unit / rank_level", "姓名、职务、单位、职级", "name, position, unit, rank"),
             ("has_id_number", "是否登记了身份证号（号码本身从不保存）", "whether an ID number was given (never stored)"),
         )),
    Kind("archive_entries", {"zh": "廉政档案：档案条目", "en": "Archives: entries"},
         COMMON_DROPPED + ("person_key",), (
             ("official_id", "所属干部", "the official"),
             ("kind / source_id", "petition 信访件、card 监督卡、action 措施、document 档案材料，及其来源编号",
              "petition, card, action or document, and what it stands for"),
             ("on / title / status / result", "日期、标题、状态、结果", "date, title, state, result"),
             ("data", "档案材料的内容", "a document's contents"),
         )),
)


def clean(kind: Kind, record: dict) -> dict:
    """One record as written: internal fields dropped, ``_id`` as ``id``."""
    out = {"id": str(record.pop("id", record.pop("_id", "")))}
    for key, value in record.items():
        if key not in kind.dropped:
            out[key] = value
    if kind.key == "officials":
        out["has_id_number"] = bool(record.get("id_hash"))
    return out


def readme(tenant_name: dict, exported_at: str, zone: str, with_identity: bool) -> str:
    lines = [
        f"{tenant_name.get('zh', '')} 数据导出 / {tenant_name.get('en', '')} data export",
        f"格式 Format: {FORMAT} v{FORMAT_VERSION}",
        f"导出时间 Exported at: {exported_at} ({zone})",
        "",
        "本文件是一个 ZIP 包，每类数据一个 JSON Lines 文件（每行一条记录，UTF-8）。",
        "This ZIP holds one JSON Lines file per kind of data (one record per line, UTF-8).",
        "manifest.json 列出每个文件的记录数和 SHA-256，可用 sha256sum 核对。",
        "manifest.json lists each file's record count and SHA-256; check them with sha256sum.",
        "时间字段为 UTC（ISO 8601）；日期字段（如 received_on、due_on）为本单位时区的日历日期。",
        "Times are UTC (ISO 8601); dates (received_on, due_on) are calendar days in this body's time zone.",
        "",
    ]
    if with_identity:
        lines += ["注意：本导出包含信访人身份信息明文（identity 字段），须按涉密要求保管。",
                  "CAUTION: this export holds petitioners' identities in clear (the identity field). Keep it as confidential.", ""]
    else:
        lines += ["信访人身份信息保持加密（identity_sealed 字段），本文件中没有明文。",
                  "Petitioners' identities stay encrypted (identity_sealed); nothing in this file holds them in clear.", ""]
    for kind in KINDS:
        lines.append(f"{kind.key}.jsonl — {kind.title['zh']} / {kind.title['en']}")
        for name, zh, en in kind.fields:
            lines.append(f"  {name}: {zh} / {en}")
        lines.append(f"  不导出 Not exported: {', '.join(kind.dropped)}")
        lines.append("")
    return "\n".join(lines) + "\n"
