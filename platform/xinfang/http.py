"""HTTP helpers shared by every blueprint: bodies in, errors out, in Chinese and English."""

from __future__ import annotations

import json
import logging
from typing import TypeVar

from pydantic import BaseModel, ValidationError
from pymongo.errors import ConnectionFailure
from quart import g, redirect, render_template, request, url_for
from werkzeug.exceptions import HTTPException

from .errors import DomainError, InvalidInput, Message, NotAuthenticated, NotFound, ServiceUnavailable
from .navigation import home_url_for, staff_home_url
from .observability.metrics import count_store_error

log = logging.getLogger(__name__)

M = TypeVar("M", bound=BaseModel)

# Pydantic error types -> Chinese wording; English comes from pydantic itself.
_ZH = {
    "missing": "必填",
    "extra_forbidden": "不允许的字段",
    "string_too_short": "太短",
    "string_too_long": "太长",
    "bool_type": "应为 true 或 false",
    "bool_parsing": "应为 true 或 false",
    "dict_type": "应为对象",
    "list_type": "应为列表",
    "string_type": "应为字符串",
    "int_type": "应为整数",
    "int_parsing": "应为整数",
    "enum": "不在可选值中",
    "literal_error": "不在可选值中",
    "string_pattern_mismatch": "格式不对",
}


def validation_fields(error: ValidationError) -> dict[str, dict[str, str]]:
    fields = {}
    for item in error.errors(include_url=False):
        path = ".".join(str(p) for p in item["loc"]) or "body"
        fields[path] = {"zh": _ZH.get(item["type"], "格式不对") + f"（{item['type']}）", "en": item["msg"]}
    return fields


NOT_JSON = {"zh": "请求体应为 JSON 对象", "en": "the request body must be a JSON object"}


def loads_untrusted(raw: bytes | str):
    """JSON from a client, or None: bad UTF-8, bad JSON and absurd nesting are all just 'not JSON'."""
    try:
        return json.loads(raw)
    except (ValueError, RecursionError, UnicodeDecodeError, TypeError):
        return None


async def json_object_body() -> dict:
    """The JSON body as a plain object (checked afterwards against its own JSON Schema), or a 422."""
    data = loads_untrusted(await request.get_data())  # None for anything that is not JSON
    if not isinstance(data, dict):
        raise InvalidInput(NOT_JSON, field="body")
    return data


async def parse_body(model: type[M]) -> M:
    """The JSON body as ``model``, or a 422 with one message per bad field."""
    data = await json_object_body()
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise InvalidInput(fields=validation_fields(exc)) from None
    except RecursionError:  # nesting deep enough to exhaust the validator: not a body anyone means
        raise InvalidInput(NOT_JSON, field="body") from None


_HTTP_ZH = {
    400: "请求有误", 401: "请先登录", 403: "无权访问", 404: "未找到", 405: "不支持此请求方法",
    413: "提交的内容太大", 415: "不支持的内容类型", 429: "请求太频繁，请稍后再试",
}
_HTTP_EN = {413: "What you sent is too large"}  # pages only: the protocol's own name ("Request Entity Too Large") is jargon


def path_number(value: str) -> int:
    """A version number taken from a URL path: a made-up one is a 404 like any unknown object.

    Routes take a plain ``<number>``, not ``<int:number>``: quart-schema's path regex mangles typed
    converters that follow other parameters (the OpenAPI document would miss the route)."""
    if not value.isdigit() or len(value) > 6 or int(value) < 1:
        raise NotFound()
    return int(value)


def wants_page() -> bool:
    """Pages (portal, console, admin) answer errors as pages; everything under /api/ answers JSON."""
    return "/api/" not in request.path and request.path not in ("/openapi.json", "/healthz", "/livez", "/readyz")


NO_STORE = {"Cache-Control": "no-store"}


def refusal_message(refused: DomainError) -> Message:
    """A refusal for a page: its message with each field's problem after it, in both languages."""
    zh = "; ".join(m["zh"] for m in refused.fields.values())
    en = "; ".join(m["en"] for m in refused.fields.values())
    return {"zh": refused.message["zh"] + (f"（{zh}）" if zh else ""), "en": refused.message["en"] + (f" ({en})" if en else "")}


async def staff_page(template: str, status: int = 200, **context):
    """A staff console page of the current tenant: its name, the signed-in person, the way to their role's home; never cached."""
    tenant = g.tenant_ctx.tenant
    context.setdefault("principal", g.get("principal"))
    html = await render_template(template, tenant=tenant, home_url=staff_home_url(context["principal"], tenant), **context)
    return html, status, NO_STORE


async def error_page(message: Message, status: int, headers: dict | None = None):
    tenant_ctx = g.get("tenant_ctx")
    tenant = tenant_ctx.tenant if tenant_ctx else None
    home_url = home_url_for(g.get("principal"), tenant)  # the role's home when signed in: never a page that answers 403
    home_name = None
    if tenant is not None and home_url == f"/t/{tenant.slug}/" and request.path.startswith(f"/t/{tenant.slug}/integrity/"):
        # A reader of the integrity portal (廉政监督网) goes back to it, not to the petition portal beside it.
        home_url, home_name = f"/t/{tenant.slug}/integrity/", {"zh": "返回廉政监督网首页", "en": "Back to the integrity portal"}
    try:
        html = await render_template("error.html", message=message, status=status, tenant=tenant, home_url=home_url, home_name=home_name)
    except Exception:  # a request too broken to render a page for (a bad Host, say): plain words will do
        log.warning("could not render the error page for %s", request.path, exc_info=True)
        html = f"{status} {message['zh']} / {message['en']}"
    return html, status, headers or {}


def register_error_handlers(app) -> None:
    @app.errorhandler(DomainError)
    async def domain_error(error: DomainError):
        retry_after = getattr(error, "retry_after", None)
        headers = {"Retry-After": str(retry_after)} if retry_after else {}
        if wants_page():
            if getattr(error, "redirect_to", None):  # e.g. a password to change first (auth/access.ActionRequired)
                return redirect(error.redirect_to)
            if isinstance(error, NotAuthenticated) and g.get("tenant_ctx") is not None:
                login = url_for("console.login_page", tenant_slug=g.tenant_ctx.tenant.slug, next=request.full_path.rstrip("?"))
                return redirect(login)
            if isinstance(error, NotAuthenticated) and request.path.startswith("/platform/"):
                return redirect(url_for("review_pages.login_page", next=request.full_path.rstrip("?")))
            return await error_page(error.message, error.status, headers)
        return error.to_json(), error.status, headers

    @app.errorhandler(HTTPException)
    async def http_error(error: HTTPException):
        code = error.code or 500
        zh = _HTTP_ZH.get(code, "请求失败")
        if wants_page():
            return await error_page({"zh": zh, "en": _HTTP_EN.get(code, error.name)}, code)
        return {"error": {"code": error.name.lower().replace(" ", "_"), "message": {"zh": zh, "en": error.description or error.name}}}, code

    @app.errorhandler(ConnectionFailure)
    async def store_unreachable(error: ConnectionFailure):
        # The store went away mid-request (a restart, a failover): say so and invite a retry. Nothing was
        # acknowledged, and no receipt was shown, so a citizen who retries loses nothing.
        log.warning("document store unreachable on %s %s: %s", request.method, request.path, error)
        count_store_error(error, "web")
        unavailable = ServiceUnavailable({"zh": "系统正忙，请稍后再试；未看到回执号的，请重新提交", "en": "temporarily unavailable; if you saw no receipt, please submit again"})
        if wants_page():
            return await error_page(unavailable.message, 503, {"Retry-After": "5"})
        return unavailable.to_json(), 503, {"Retry-After": "5"}

    @app.errorhandler(Exception)
    async def unexpected(error: Exception):
        log.exception("unhandled error on %s %s", request.method, request.path)
        return {"error": {"code": "internal", "message": {"zh": "服务器内部错误，已记录", "en": "internal error; it has been logged"}}}, 500
