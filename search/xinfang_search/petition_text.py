"""What search reads of a petition: the index's fields, its text and categories, its day in China."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from xinfang.petitions.models import Petition

CHINA = ZoneInfo("Asia/Shanghai")


def petition_fields(petition: Petition) -> dict:
    """What the index holds of a petition: its public words and facets. Never the petitioner's identity
    (sealed apart in ``identity_sealed``; ``answers`` never contains it)."""
    answers = petition.answers or {}
    content = answers.get("content") if isinstance(answers.get("content"), str) else ""
    region = answers.get("region") if isinstance(answers.get("region"), str) else ""
    return dict(id=str(petition.id), tenant_id=petition.tenant_id, number=petition.number, title=petition.title or "",
                text=content or "", subject=petition.subject_name or "", category=",".join(categories_of(answers)), region=region,
                channel=str(getattr(petition.channel, "value", petition.channel)), status=petition.state, kind=petition.kind,
                received=petition.received_at.astimezone(UTC).replace(tzinfo=None))


def categories_of(answers: dict) -> list[str]:
    """The petition's categories: one (a string) or several (the report form's list), each indexed on its own."""
    value = answers.get("category")
    values = value if isinstance(value, list) else [value]
    return [v.replace(",", " ").strip() for v in values if isinstance(v, str) and v.strip()]


def china_day(moment: datetime) -> str:
    return moment.astimezone(CHINA).date().isoformat()


def content_of(petition: Petition) -> str:
    content = (petition.answers or {}).get("content")
    return content if isinstance(content, str) else ""
