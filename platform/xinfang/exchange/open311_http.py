"""The Open311 GeoReport v2 routes of a tenant: /t/<slug>/open311/v2/... (JSON; spec: wiki.open311.org/GeoReport_v2).

Public routes in the platform's sense (no staff login): services and their definitions are open to anyone, as the
spec says; filing and reading requests need a registered client's ``api_key`` (checked by ``client_for_key``), and
reading is ours to restrict further: a client reads only what it filed, since petitions are not potholes. Every
error, from any layer, answers in the spec's shape ``[{"code": 400, "description": "中文 / English"}]``.
"""

from __future__ import annotations

from quart import Blueprint, current_app, request, url_for
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import HTTPException

from ..auth.permissions import public
from ..errors import DomainError, NotFound
from ..forms.service import list_forms, require_form
from ..http import json_object_body
from ..petitions.service import SUBMISSION_KEY_FIELD
from ..ratelimit import TooManyRequests, hit
from ..tenancy.resolution import current_tenant
from . import open311
from .api_clients import client_for_key
from .intake import do_file_request, list_requests, show_request
from .models import SCOPE_OPEN311

open311_bp = Blueprint("open311", __name__, url_prefix="/t/<tenant_slug>/open311")

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
CALLS_PER_ADDRESS = 300  # a minute, per tenant, for the calls without a key
JSON_ONLY = ("只支持 JSON 格式：请把地址末尾的 .xml 改为 .json", "only JSON is supported here: use .json instead of .xml")
STATUS_OF = {401: 403, 403: 403, 404: 404, 405: 405, 413: 413, 429: 429}


def errors(status: int, items: list[tuple[str, str]], headers: dict | None = None):
    """The spec's error answer: an array of {code, description}; each description Chinese, then English."""
    body = [{"code": status, "description": f"{zh} / {en}"} for zh, en in items]
    return body, status, {"Cache-Control": "no-store", **(headers or {})}


@open311_bp.errorhandler(DomainError)
async def domain_error(error: DomainError):
    status = STATUS_OF.get(error.status, 400)
    items = [(m["zh"] + (f"（{path}）" if path not in ("body", "") else ""), m["en"] + (f" ({path})" if path not in ("body", "") else ""))
             for path, m in (error.fields or {}).items()] or [(error.message["zh"], error.message["en"])]
    retry = getattr(error, "retry_after", None)
    return errors(status, items, {"Retry-After": str(retry)} if retry else None)


@open311_bp.errorhandler(HTTPException)
async def http_error(error: HTTPException):
    status = STATUS_OF.get(error.code or 400, 400)
    return errors(status, [("请求无效，请检查地址和参数", f"the request is invalid ({error.code} {error.name}); check the URL and parameters")])


def _json_only(fmt: str) -> None:
    if fmt == "xml":
        raise _Refused(400, *JSON_ONLY)
    if fmt != "json":
        raise NotFound({"zh": "没有这种格式，请用 .json", "en": "no such format; use .json"})


class _Refused(DomainError):
    def __init__(self, status: int, zh: str, en: str):
        super().__init__({"zh": zh, "en": en})
        self.status = status


def _address() -> str:
    return request.remote_addr or "unknown"


async def _open_call(fmt: str) -> None:
    """Checks every call makes: JSON, the jurisdiction (this tenant's slug, when given), the per-address limit."""
    _json_only(fmt)
    ctx = current_tenant()
    jurisdiction = request.args.get("jurisdiction_id")
    if jurisdiction and jurisdiction != ctx.tenant.slug:
        raise NotFound({"zh": f"没有辖区 {jurisdiction[:60]}（本接口的 jurisdiction_id 是 {ctx.tenant.slug}）",
                        "en": f"jurisdiction_id not found (this endpoint's is {ctx.tenant.slug})"})
    await hit(f"open311:{ctx.tenant_id}:{_address()}", limit=CALLS_PER_ADDRESS, window_seconds=60)


async def _fields() -> MultiDict:
    """The POST's fields: form-encoded as the spec says, or a JSON object (ours)."""
    if request.mimetype == "application/json":
        return open311.json_fields(await json_object_body())
    return MultiDict((await request.form).items(multi=True))


async def _client(fields: MultiDict | None = None):
    key = (fields.get("api_key") if fields is not None else None) or request.args.get("api_key") or request.headers.get("X-Api-Key")
    return await client_for_key(current_tenant(), key, SCOPE_OPEN311, _address())


@open311_bp.get("/discovery.<fmt>")
@public("Open311 service discovery: where the GeoReport v2 endpoint is and what it speaks")
async def discovery(tenant_slug, fmt):
    await _open_call(fmt)
    ctx = current_tenant()
    url = url_for("open311.services", tenant_slug=ctx.tenant.slug, fmt="json", _external=True).rsplit("/", 1)[0]
    return {"changeset": "2026-12-06", "contact": f"{ctx.tenant.name.zh}（{ctx.tenant.name.en}）",
            "key_service": "请向本单位管理员申请接口客户端密钥 / ask this body's administrator for an API client key",
            "endpoints": [{"specification": SPECIFICATION, "url": url, "changeset": "2026-12-06", "type": "production",
                           "formats": ["application/json"]}]}


@open311_bp.get("/v2/services.<fmt>")
@public("Open311 GET Service List: the tenant's published forms, as public as its portal")
async def services(tenant_slug, fmt):
    await _open_call(fmt)
    return [open311.service_view(form) for form in await list_forms(current_tenant().scope)]


@open311_bp.get("/v2/services/<code>.<fmt>")
@public("Open311 GET Service Definition: a published form's fields, as public as its portal")
async def service_definition(tenant_slug, code, fmt):
    await _open_call(fmt)
    return open311.definition_view(await require_form(current_tenant().scope, code[:64]))


@open311_bp.post("/v2/requests.<fmt>")
@public("Open311 POST Service Request: a registered client's api_key is checked by the handler (client_for_key)")
async def file_request(tenant_slug, fmt):
    await _open_call(fmt)
    fields = await _fields()
    client = await _client(fields)
    code = (fields.get("service_code") or "").strip()
    if not code:
        raise _Refused(400, "缺少 service_code", "service_code was not provided")
    ctx = current_tenant()
    form = await require_form(ctx.scope, code[:64])
    petition, receipt = await do_file_request(ctx, current_app.extensions["xinfang.keyring"], client, form, fields,
                                              request.headers.get(SUBMISSION_KEY_FIELD))
    track = url_for("portal.track", tenant_slug=ctx.tenant.slug, _external=True)
    notice = (f"已受理登记，案件编号 {petition.number}。请把回执号 {receipt} 告知信访人并请其妥善保存（只显示这一次），"
              f"凭回执号可在 {track} 查询办理进展、补充材料。 / Registered as case {petition.number}. Give the petitioner the "
              f"receipt {receipt} (shown only this once): with it they follow the case and add material at {track}.")
    return [{"service_request_id": petition.number, "service_notice": notice, "account_id": None,
             "receipt": receipt, "track_url": track}], 201, {"Cache-Control": "no-store"}


@open311_bp.get("/v2/requests.<fmt>")
@public("Open311 GET Service Requests: a registered client's api_key is checked by the handler; it reads what it filed")
async def requests_list(tenant_slug, fmt):
    await _open_call(fmt)
    client = await _client()
    return await list_requests(current_tenant(), client, request.args), 200, {"Cache-Control": "no-store"}


@open311_bp.get("/v2/requests/<request_id>.<fmt>")
@public("Open311 GET Service Request: a registered client's api_key is checked by the handler; it reads what it filed")
async def request_one(tenant_slug, request_id, fmt):
    await _open_call(fmt)
    client = await _client()
    return [await show_request(current_tenant(), client, request_id)], 200, {"Cache-Control": "no-store"}


OTHER_METHODS = ["PUT", "PATCH", "DELETE"]


@open311_bp.route("/discovery.<fmt>", methods=OTHER_METHODS)
@open311_bp.route("/v2/services.<fmt>", methods=OTHER_METHODS + ["POST"])
@open311_bp.route("/v2/services/<code>.<fmt>", methods=OTHER_METHODS + ["POST"])
@open311_bp.route("/v2/requests.<fmt>", methods=OTHER_METHODS)
@open311_bp.route("/v2/requests/<request_id>.<fmt>", methods=OTHER_METHODS + ["POST"])
@public("a method GeoReport v2 does not have: answered 405 in the spec's error shape")
async def method_not_allowed(tenant_slug, fmt, **_):
    return errors(405, [("GeoReport v2 没有这种请求方法", f"GeoReport v2 has no {request.method} here")])


__all__ = ["open311_bp", "TooManyRequests"]
