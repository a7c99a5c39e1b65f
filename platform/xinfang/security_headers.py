"""Security headers on every response, whatever produced it (a page, the API, a static file, an error).

Applied as ASGI middleware rather than ``after_request`` so that nothing escapes it: routing
errors, error pages and anything answered below Quart get the same headers. It sits inside the
trusted-proxy middleware, so ``scope["scheme"]`` is already what the client used (X-Forwarded-Proto
counts only behind ``XINFANG_TRUSTED_PROXY_HOPS`` proxies).

No page carries inline script (scripts live in ``static/*.js``), so ``script-src 'self'`` holds
everywhere, for citizens and staff alike. Inline ``style="..."`` attributes are allowed (card colours
and chart bars are set that way); ``<style>`` elements are not.
"""

from __future__ import annotations

CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "style-src-attr 'unsafe-inline'",
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])

PERMISSIONS_POLICY = ", ".join(f"{feature}=()" for feature in (
    "camera", "microphone", "geolocation", "payment", "usb", "serial", "midi", "magnetometer",
    "gyroscope", "accelerometer", "display-capture", "browsing-topics", "interest-cohort",
))

HSTS = "max-age=31536000; includeSubDomains"

ALWAYS: tuple[tuple[bytes, bytes], ...] = (
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    # Answer tokens and receipts travel in URLs: never hand them to another site in a Referer.
    (b"referrer-policy", b"no-referrer"),
    (b"permissions-policy", PERMISSIONS_POLICY.encode()),
    (b"cross-origin-opener-policy", b"same-origin"),
)


def headers_for(scheme: str) -> list[tuple[bytes, bytes]]:
    extra = [(b"strict-transport-security", HSTS.encode())] if scheme == "https" else []
    return list(ALWAYS) + extra


class SecurityHeadersMiddleware:
    def __init__(self, asgi_app):
        self.asgi_app = asgi_app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.asgi_app(scope, receive, send)
        scheme = scope.get("scheme", "http")
        over_tls = scheme == "https"
        ours = headers_for(scheme)

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                headers = [(n, secure_cookie(v) if over_tls and n.lower() == b"set-cookie" else v) for n, v in message.get("headers", [])]
                present = {name.lower() for name, _ in headers}
                message = dict(message, headers=headers + [(n, v) for n, v in ours if n not in present])
            await send(message)

        return await self.asgi_app(scope, receive, send_with_headers)


def secure_cookie(set_cookie: bytes) -> bytes:
    """A cookie set over TLS is marked Secure (the session cookie, the language choice, any other), so a
    browser never sends it over plain HTTP. Over plain HTTP (local use) it could not be, or it would never
    come back."""
    attributes = [part.strip().lower() for part in set_cookie.split(b";")[1:]]
    return set_cookie if b"secure" in attributes else set_cookie + b"; Secure"
