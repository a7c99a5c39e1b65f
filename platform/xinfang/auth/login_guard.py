"""What a login request must show before its password is looked at, and where a login may lead.

Login CSRF: a page elsewhere must not be able to log a visitor's browser in (as the attacker, so that
what the visitor then types lands in the attacker's account). So:

- login *forms* (the staff console's and the platform's) carry a pre-session token that the login page
  put both in the form and in the browser's signed cookie; a post without the pair is refused, and so is
  one whose ``Origin`` or ``Sec-Fetch-Site`` says it came from another site;
- the JSON login API (``/api/session``, ``/api/tokens``) takes ``application/json`` only, which a
  cross-site form cannot send and a cross-site script cannot send without a CORS preflight we never grant.
  API clients are unaffected.

After logging in, the browser goes to ``next`` only when it is a plain path on this site under the
places that page logs into; anything else (another host, ``//host``, a scheme, a backslash, control
characters such as CR/LF) goes home instead.
"""

from __future__ import annotations

import hmac
import posixpath
import secrets
from urllib.parse import quote, unquote, urlsplit

from quart import request, session

from ..errors import CsrfFailed, DomainError

LOGIN_CSRF_KEY = "login_csrf"
LOGIN_CSRF_FIELD = "csrf_token"
SAME_SITE_FETCHES = {"same-origin", "none"}  # "none": typed in, a bookmark; never another site's page


class NotJson(DomainError):
    status = 415
    code = "unsupported_media_type"
    message = {"zh": "请以 JSON 提交（Content-Type: application/json）", "en": "send JSON (Content-Type: application/json)"}


def require_json_login() -> None:
    """The JSON login API accepts JSON only: a cross-site form cannot send it."""
    if request.mimetype != "application/json":
        raise NotJson()


def login_form_token() -> str:
    """The token the login page puts in its form; the same value rides in the signed session cookie."""
    token = session.get(LOGIN_CSRF_KEY)
    if not isinstance(token, str) or not token:
        token = secrets.token_urlsafe(32)
        session[LOGIN_CSRF_KEY] = token
    return token


def check_login_form(form) -> None:
    """Refuse a login post that came from another site or without the login page's token (CsrfFailed)."""
    fetch_site = request.headers.get("Sec-Fetch-Site")
    if fetch_site is not None and fetch_site not in SAME_SITE_FETCHES:
        raise CsrfFailed()
    origin = request.headers.get("Origin")
    # "null" says nothing: under our own Referrer-Policy (no-referrer) browsers send exactly that on a form
    # post, ours included. The host is what matters: behind a TLS proxy not declared in
    # XINFANG_TRUSTED_PROXY_HOPS our own https page would otherwise look like another origin.
    if origin not in (None, "null") and urlsplit(origin).netloc.lower() != request.host.lower():
        raise CsrfFailed()
    expected = session.get(LOGIN_CSRF_KEY)
    sent = form.get(LOGIN_CSRF_FIELD, "")
    if not isinstance(expected, str) or not expected or not hmac.compare_digest(sent.encode(), expected.encode()):
        raise CsrfFailed()


def safe_next(target: str | None, allowed_prefixes: tuple[str, ...]) -> str | None:
    """``target`` if it is a same-site path under one of ``allowed_prefixes`` (ASCII-safe), else None."""
    if not target or not isinstance(target, str) or len(target) > 2000:
        return None
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F or ch == "\\" for ch in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    path = unquote(parts.path)
    if any(ord(ch) < 0x20 or ch == "\\" for ch in path) or posixpath.normpath(path) != path.rstrip("/") or path.startswith("//"):
        return None  # dot segments, doubled or encoded slashes: not a plain path
    if not path.startswith(allowed_prefixes):
        return None
    return quote(target, safe="!#$%&'()*+,/:;=?@[]~-._")
