"""What every page template gets: the language (Simplified Chinese first, English on request with
``?lang=en``, kept in a cookie) and the session's CSRF token for forms and scripts."""

from __future__ import annotations

from quart import request, session

from .display_words import register_word_filters
from .timefmt import register_time_filters

LANGUAGES = ("zh", "en")
COOKIE = "lang"


def current_lang() -> str:
    asked = request.args.get("lang")
    if asked in LANGUAGES:
        return asked
    cookie = request.cookies.get(COOKIE)
    return cookie if cookie in LANGUAGES else "zh"


def register_i18n(app) -> None:
    register_time_filters(app, current_lang)
    register_word_filters(app, current_lang)

    @app.context_processor
    async def language_helpers():
        from .auth.access import SESSION_KEY

        lang = current_lang()
        return {
            "csrf_token": (session.get(SESSION_KEY) or {}).get("csrf", ""),
            "lang": lang,
            "T": lambda zh, en: zh if lang == "zh" else en,
            "L": lambda names: (names or {}).get(lang) or (names or {}).get("zh", ""),
        }

    @app.after_request
    async def remember_language(response):
        asked = request.args.get("lang")
        if asked in LANGUAGES and request.cookies.get(COOKIE) != asked:
            response.set_cookie(COOKIE, asked, max_age=365 * 24 * 3600, samesite="Lax", httponly=True)
        return response
