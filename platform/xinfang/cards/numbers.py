"""Document numbers (文号) of issued cards and supervision actions: the issuing body's code, the year in
full in 〔〕 brackets, the serial within that year, 号 (GB/T 9704: 泗教纪〔2026〕3号). One counter per tenant
and year, taken atomically; a number once given stays with the document (a re-render keeps it)."""

from __future__ import annotations

from datetime import date

from pymongo.errors import DuplicateKeyError

from ..store.scoped import TenantScope
from ..tenancy.models import Tenant
from .models import DocumentSerial


async def next_document_no(scope: TenantScope, tenant: Tenant, day: date) -> str:
    year = str(day.year)
    try:
        serial = await scope.repo(DocumentSerial).increment({"year": year}, "n")
    except DuplicateKeyError:  # two first numbers of the year at once: the other one created the counter
        serial = await scope.repo(DocumentSerial).increment({"year": year}, "n")
    prefix = (tenant.settings.document_prefix or tenant.name.zh).strip()
    return f"{prefix}〔{year}〕{serial}号"
