"""Domain errors. Each knows its HTTP status and says what went wrong in Chinese and English."""

from __future__ import annotations

Message = dict[str, str]  # {"zh": ..., "en": ...}


class DomainError(Exception):
    status = 400
    code = "bad_request"
    message: Message = {"zh": "请求有误", "en": "bad request"}

    def __init__(self, message: Message | None = None, *, fields: dict[str, Message] | None = None, field: str | None = None):
        super().__init__((message or self.message)["en"])
        self.message = message or self.message
        self.fields = dict(fields or {})
        if field:
            self.fields.setdefault(field, self.message)

    def to_json(self) -> dict:
        body = {"code": self.code, "message": self.message}
        if self.fields:
            body["fields"] = self.fields
        return {"error": body}


class InvalidInput(DomainError):
    status = 422
    code = "invalid_input"
    message = {"zh": "输入有误，请检查标出的字段", "en": "invalid input; see the fields listed"}


class NotAuthenticated(DomainError):
    status = 401
    code = "not_authenticated"
    message = {"zh": "请先登录", "en": "authentication required"}


class Forbidden(DomainError):
    status = 403
    code = "forbidden"
    message = {"zh": "无权执行此操作", "en": "you are not allowed to do this"}


class NotFound(DomainError):
    status = 404
    code = "not_found"
    message = {"zh": "未找到", "en": "not found"}


class Conflict(DomainError):
    status = 409
    code = "conflict"
    message = {"zh": "与现有数据冲突", "en": "conflicts with existing data"}


def changed_meanwhile(what_zh: str, what_en: str, kind: type[Conflict] = Conflict) -> Conflict:
    """409 for a record another request wrote between this one's read and its write (optimistic concurrency), naming it."""
    return kind({"zh": f"{what_zh}刚被其他人处理过，请刷新后再试", "en": f"someone else changed {what_en} meanwhile; reload and retry"})


class CsrfFailed(DomainError):
    status = 403
    code = "csrf_failed"
    message = {"zh": "页面已过期或请求来源不可信，请刷新后重试", "en": "CSRF token missing or wrong; reload and try again"}


class ServiceUnavailable(DomainError):
    status = 503
    code = "unavailable"
    message = {"zh": "服务暂不可用，请稍后再试", "en": "service temporarily unavailable; try again later"}
