"""The Open311 GeoReport v2 routes of a tenant: /t/<slug>/open311/v2/... (XML and JSON; spec: wiki.open311.org/GeoReport_v2).

Public routes in the platform's sense (no staff login): services and their definitions are open to anyone, as the
spec says; filing and reading requests need a registered client's ``api_key`` (checked by ``client_for_key``), and
reading is ours to restrict further: a client reads only what it filed, since petitions are not potholes. Every
error, from any layer, answers in the spec's shape ``[{"code": 400, "description": "中文 / English"}]`` (JSON) or
``<errors><error><code>400</code><description>中文 / English</description></error></errors>`` (XML), in the format the
address asked for (``.xml`` / ``.json``; anything else is answered in JSON).
"""

from __future__ import annotations

from quart import Blueprint, Response, current_app, request, url_for
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import HTTPException

from ..auth.permissions import public
from ..errors import DomainError, InvalidInput, NotFound
from ..forms.service import list_forms, require_form
from ..http import json_object_body
from ..petitions.service import SUBMISSION_KEY_FIELD, Upload
from ..petitions.uploads import check_files
from ..ratelimit import TooManyRequests, hit
from ..tenancy.resolution import current_tenant
from . import open311, open311_xml
from .api_clients import client_for_key
from .intake import do_file_request, list_requests, show_request
from .models import SCOPE_OPEN311

open311_bp = Blueprint("open311", __name__, url_prefix="/t/<tenant_slug>/open311")

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
CALLS_PER_ADDRESS = 300  # a minute, per tenant, for the calls without a key
FORMATS = ("json", "xml")
STATUS_OF = {401: 403, 403: 403, 404: 404, 405: 405, 413: 413, 429: 429}


def _asked_format() -> str:
    fmt = (request.view_args or {}).get("fmt")
    return "xml" if fmt == "xml" else "json"


def answer(root: str, body, status: int = 200, headers: dict | None = None):
    """One answer in the format the address asked for: JSON as built, or the spec's XML under ``root``."""
    if _asked_format() == "xml":
        return Response(open311_xml.to_xml(root, body), status=status, headers=headers or {},
                        content_type=open311_xml.CONTENT_TYPE)
    return body, status, headers or {}


def errors(status: int, items: list[tuple[str, str]], headers: dict | None = None):
    """The spec's error answer: an array of {code, description}; each description Chinese, then English."""
    body = [{"code": status, "description": f"{zh} / {en}"} for zh, en in items]
    return answer("errors", body, status, {"Cache-Control": "no-store", **(headers or {})})


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


def _known_format(fmt: str) -> None:
    if fmt not in FORMATS:
        raise NotFound({"zh": "没有这种格式，请用 .xml 或 .json", "en": "no such format; use .xml or .json"})


class _Refused(DomainError):
    def __init__(self, status: int, zh: str, en: str):
        super().__init__({"zh": zh, "en": en})
        self.status = status


def _address() -> str:
    return request.remote_addr or "unknown"


async def _open_call(fmt: str) -> None:
    """Checks every call makes: a known format, the jurisdiction (this tenant's slug, when given), the per-address limit."""
    _known_format(fmt)
    ctx = current_tenant()
    jurisdiction = request.args.get("jurisdiction_id")
    if jurisdiction and jurisdiction != ctx.tenant.slug:
        raise NotFound({"zh": f"没有辖区 {jurisdiction[:60]}（本接口的 jurisdiction_id 是 {ctx.tenant.slug}）",
                        "en": f"jurisdiction_id not found (this endpoint's is {ctx.tenant.slug})"})
    await hit(f"open311:{ctx.tenant_id}:{_address()}", limit=CALLS_PER_ADDRESS, window_seconds=60)


async def _fields() -> MultiDict:
    """The POST's fields: form-encoded as the spec says (or multipart, with a ``media`` file), or a JSON object (ours)."""
    if request.mimetype == "application/json":
        return open311.json_fields(await json_object_body())
    return MultiDict((await request.form).items(multi=True))


MEDIA = "media"


async def media_upload() -> Upload | None:
    """The request's ``media`` file (multipart/form-data: ours, beside the spec's ``media_url`` link), checked by its
    bytes like the portal's attachments (PDF, JPEG or PNG, at most 5 MB, one file); refused as a 400 naming ``media``."""
    if not (request.mimetype or "").startswith("multipart/"):
        return None
    form, files = await request.form, await request.files
    present = [f for f in files.getlist(MEDIA) if f and f.filename]
    problem = None
    if form.getlist(MEDIA):
        problem = {"zh": "media 应以文件上传（multipart/form-data），文件名须可识别",
                   "en": "media must be sent as a file (multipart/form-data) with a readable file name"}
    elif len(present) > 1:
        problem = {"zh": "media 只能上传一个文件", "en": "send one media file only"}
    elif present and (form.get("media_url") or "").strip():
        problem = {"zh": "media 与 media_url 只能二选一", "en": "send either media or media_url, not both"}
    if problem is None and present:
        try:
            return check_files(present)[0]
        except InvalidInput as refused:
            problem = next(iter(refused.fields.values()))
    if problem is not None:
        raise InvalidInput({"zh": "附件不符合要求", "en": "media refused"}, fields={MEDIA: problem})
    return None


async def _client(fields: MultiDict | None = None):
    key = (fields.get("api_key") if fields is not None else None) or request.args.get("api_key") or request.headers.get("X-Api-Key")
    return await client_for_key(current_tenant(), key, SCOPE_OPEN311, _address())


@open311_bp.get("/discovery.<fmt>")
@public("Open311 service discovery: where the GeoReport v2 endpoint is and what it speaks")
async def discovery(tenant_slug, fmt):
    await _open_call(fmt)
    ctx = current_tenant()
    url = url_for("open311.services", tenant_slug=ctx.tenant.slug, fmt="json", _external=True).rsplit("/", 1)[0]
    return answer("discovery", {
        "changeset": "2026-12-06", "contact": f"{ctx.tenant.name.zh}（{ctx.tenant.name.en}）",
        "key_service": "请向本单位管理员申请接口客户端密钥 / ask this body's administrator for an API client key",
        "endpoints": [{"specification": SPECIFICATION, "url": url, "changeset": "2026-12-06", "type": "production",
                       "formats": ["text/xml", "application/json"]}]})


@open311_bp.get("/v2/services.<fmt>")
@public("Open311 GET Service List: the tenant's published forms, as public as its portal")
async def services(tenant_slug, fmt):
    await _open_call(fmt)
    return answer("services", [open311.service_view(form) for form in await list_forms(current_tenant().scope)])


@open311_bp.get("/v2/services/<code>.<fmt>")
@public("Open311 GET Service Definition: a published form's fields, as public as its portal")
async def service_definition(tenant_slug, code, fmt):
    await _open_call(fmt)
    return answer("service_definition", open311.definition_view(await require_form(current_tenant().scope, code[:64])))


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
                                              request.headers.get(SUBMISSION_KEY_FIELD), media=await media_upload())
    track = url_for("portal.track", tenant_slug=ctx.tenant.slug, _external=True)
    notice = (f"已受理登记，案件编号 {petition.number}。请把回执号 {receipt} 告知信访人并请其妥善保存（只显示这一次），"
              f"凭回执号可在 {track} 查询办理进展、补充材料。 / Registered as case {petition.number}. Give the petitioner the "
              f"receipt {receipt} (shown only this once): with it they follow the case and add material at {track}.")
    return answer("service_requests", [{"service_request_id": petition.number, "service_notice": notice, "account_id": None,
                                        "receipt": receipt, "track_url": track}], 201, {"Cache-Control": "no-store"})


@open311_bp.get("/v2/requests.<fmt>")
@public("Open311 GET Service Requests: a registered client's api_key is checked by the handler; it reads what it filed")
async def requests_list(tenant_slug, fmt):
    await _open_call(fmt)
    client = await _client()
    return answer("service_requests", await list_requests(current_tenant(), client, request.args), 200, {"Cache-Control": "no-store"})


@open311_bp.get("/v2/requests/<request_id>.<fmt>")
@public("Open311 GET Service Request: a registered client's api_key is checked by the handler; it reads what it filed")
async def request_one(tenant_slug, request_id, fmt):
    await _open_call(fmt)
    client = await _client()
    return answer("service_requests", [await show_request(current_tenant(), client, request_id)], 200, {"Cache-Control": "no-store"})


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
