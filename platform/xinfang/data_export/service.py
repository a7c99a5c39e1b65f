"""Export verbs: request an export (a worker makes it), make it, and hand it out; every request and every download is
appended to the audit chain before anything happens. Identity stays sealed unless the requester holds
``tenant.data_export.identity`` and asked for it."""

from __future__ import annotations

import hashlib
import io
import json
import tempfile
import time as clock
import zipfile
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from beanie.odm.utils.dump import get_dict
from bson import ObjectId

from ..archives.models import ArchiveEntry, Official
from ..audit.service import do_append_audit
from ..auth.permissions import Permission
from ..auth.principal import Principal
from ..cards.models import Supervision
from ..crypto import KeyRing, RecordKeyGone
from ..errors import Conflict, Forbidden, NotFound
from ..events import insert_new
from ..petitions.models import Petition
from ..store.documents import deterministic_id, utcnow
from ..tenancy.context import TenantContext
from .archive_format import FORMAT, FORMAT_VERSION, KINDS, clean, readme
from .models import DataExport, ExportChunk, ExportState

CHUNK = 4 * 1024 * 1024
STALE_SECONDS = 600
MODELS = {"cases": Petition, "cards": Supervision, "officials": Official, "archive_entries": ArchiveEntry}

Send = Callable[[str, str], Awaitable[None]]


async def access_export(ctx: TenantContext, export_id: str) -> DataExport:
    row = await ctx.scope.repo(DataExport).get(export_id)
    if row is None:
        raise NotFound({"zh": "没有这个导出文件", "en": "no such export"})
    return row


async def recent_exports(ctx: TenantContext, limit: int = 20) -> list[DataExport]:
    return await ctx.scope.repo(DataExport).find({}).sort("-created_at").limit(limit).to_list()


async def do_request_export(ctx: TenantContext, principal: Principal, *, with_identity: bool, purpose: str, send: Send) -> DataExport:
    if with_identity and not principal.can(Permission.DATA_EXPORT_IDENTITY, ctx.tenant_id):
        raise Forbidden({"zh": "无权导出信访人身份信息", "en": "you may not export petitioners' identities"}, field="with_identity")
    recent = utcnow() - timedelta(seconds=STALE_SECONDS)  # an older unfinished one lost its task: it no longer blocks
    running = await ctx.scope.repo(DataExport).count({"state": {"$in": [ExportState.QUEUED.value, ExportState.RUNNING.value]},
                                                      "created_at": {"$gt": recent}})
    if running:
        raise Conflict({"zh": "已有一个导出正在生成，请等它完成", "en": "an export is already being made; wait until it is done"})
    export = DataExport(id=ObjectId(), tenant_id=ctx.tenant_id, with_identity=with_identity, requested_by=principal.account_id,
                        requested_by_name=principal.display_name or principal.username)
    await do_append_audit(actor_id=principal.account_id, actor_username=principal.username, action="data_export.request",
                          purpose=(purpose or "数据导出 data export").strip()[:500], subject=str(export.id),
                          query={"with_identity": with_identity}, tenant_ids=[ctx.tenant_id])
    await ctx.scope.repo(DataExport).insert(export)
    await send(ctx.tenant_id, str(export.id))
    return export


async def do_download(ctx: TenantContext, principal: Principal, export_id: str) -> tuple[DataExport, bytes]:
    export = await access_export(ctx, export_id)
    if export.state != ExportState.DONE:
        raise Conflict({"zh": "导出文件还没有生成好", "en": "the export is not ready yet"})
    await do_append_audit(actor_id=principal.account_id, actor_username=principal.username, action="data_export.download",
                          purpose="下载数据导出 download of a data export", subject=str(export.id),
                          query={"with_identity": export.with_identity, "sha256": export.sha256}, tenant_ids=[ctx.tenant_id],
                          result_count=sum(export.counts.values()))
    chunks = await ctx.scope.repo(ExportChunk).find({"export_id": str(export.id)}).sort("n").to_list()
    data = b"".join(c.data for c in chunks[:export.chunks])
    if hashlib.sha256(data).hexdigest() != export.sha256:
        raise Conflict({"zh": "导出文件不完整，请重新生成", "en": "the export file is incomplete; make it again"})
    return export, data


# -- making it, in a worker ------------------------------------------------------------------------------------------


async def build_export(ctx: TenantContext, keyring: KeyRing, export_id: str) -> None:
    """Write the ZIP and keep it in chunks, once per export (a repeated message does nothing)."""
    export = await ctx.scope.repo(DataExport).get(export_id)
    if export is None:
        return
    started = clock.monotonic()
    # Taken once: a message the sweep sent again (or a repeated delivery) finds it taken and leaves it alone.
    if not await ctx.scope.repo(DataExport).update_one({"_id": export.id, "state": ExportState.QUEUED.value},
                                                        {"$set": {"state": ExportState.RUNNING.value}}):
        return
    try:
        data, counts = await _zip(ctx, keyring, export)
        await ctx.scope.repo(ExportChunk).delete_many({"export_id": export_id})
        pieces = [data[i:i + CHUNK] for i in range(0, len(data), CHUNK)] or [b""]
        for n, piece in enumerate(pieces):
            chunk = ExportChunk(id=deterministic_id(export_id, "chunk", str(n)), tenant_id=ctx.tenant_id, export_id=export_id, n=n, data=piece)
            await insert_new(ExportChunk.get_pymongo_collection(), [get_dict(chunk, to_db=True)])
        stamp = utcnow().astimezone(ZoneInfo(ctx.tenant.settings.time_zone)).strftime("%Y%m%d-%H%M")
        await ctx.scope.repo(DataExport).update_one({"_id": export.id}, {"$set": {
            "state": ExportState.DONE.value, "counts": counts, "size": len(data), "sha256": hashlib.sha256(data).hexdigest(),
            "chunks": len(pieces), "filename": f"{ctx.tenant.slug}-export-{stamp}.zip", "finished_at": utcnow(),
            "seconds": round(clock.monotonic() - started, 2)}})
    except Exception:
        await ctx.scope.repo(DataExport).update_one({"_id": export.id}, {"$set": {
            "state": ExportState.FAILED.value, "message": {"zh": "生成失败，请重新生成", "en": "it could not be made; make it again"}}})
        raise


async def _zip(ctx: TenantContext, keyring: KeyRing, export: DataExport) -> tuple[bytes, dict[str, int]]:
    zone = ctx.tenant.settings.time_zone
    exported_at = utcnow().astimezone(ZoneInfo(zone)).isoformat(timespec="seconds")
    files, counts = [], {}
    with tempfile.SpooledTemporaryFile(max_size=32 * 1024 * 1024) as spool:
        with zipfile.ZipFile(spool, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for kind in KINDS:
                name = f"{kind.key}.jsonl"
                digest, count, size = hashlib.sha256(), 0, 0
                with archive.open(name, "w", force_zip64=True) as out:
                    async for document in ctx.scope.repo(MODELS[kind.key]).find({}).sort("_id"):
                        record = clean(kind, document.model_dump(mode="json"))
                        if export.with_identity and kind.key == "cases" and document.identity_sealed:
                            try:
                                record["identity"] = await keyring.open(document.tenant_id, str(document.id), document.identity_sealed)
                            except RecordKeyGone:  # destroyed at the end of retention (retention/): nothing to open
                                record["identity"] = None
                        line = (json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n").encode()
                        out.write(line)
                        digest.update(line)
                        count += 1
                        size += len(line)
                files.append({"name": name, "kind": kind.key, "title": kind.title, "count": count, "bytes": size,
                              "sha256": digest.hexdigest()})
                counts[kind.key] = count
            text = readme(ctx.tenant.name.model_dump(), exported_at, zone, export.with_identity).encode()
            archive.writestr("README.txt", text)
            manifest = {"format": FORMAT, "format_version": FORMAT_VERSION, "tenant": {"slug": ctx.tenant.slug, "name": ctx.tenant.name.model_dump()},
                        "exported_at": exported_at, "time_zone": zone, "identity": "opened" if export.with_identity else "sealed",
                        "requested_by": export.requested_by_name, "export_id": str(export.id), "files": files,
                        "readme_sha256": hashlib.sha256(text).hexdigest()}
            archive.writestr("manifest.json", json.dumps(manifest, ensure_ascii=False, indent=2))
        spool.seek(0)
        return spool.read(), counts


async def lost_exports(now: datetime) -> list[tuple[str, str]]:
    """(tenant id, export id) of exports still queued a while after they were asked for (their message was lost);
    each is marked, so it is sent again once."""
    out = []
    cursor = DataExport.get_pymongo_collection().find(
        {"state": ExportState.QUEUED.value, "created_at": {"$lt": now - timedelta(seconds=120)}, "resent": {"$ne": True}},
        projection={"tenant_id": 1})
    async for doc in cursor:
        await DataExport.get_pymongo_collection().update_one({"_id": doc["_id"]}, {"$set": {"resent": True}})
        out.append((doc["tenant_id"], str(doc["_id"])))
    return out


def read_manifest(data: bytes) -> dict:
    """The manifest of an export file (tests, and anyone checking a file they were given)."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return json.loads(archive.read("manifest.json"))
