"""The tenant admin's page for the search dictionary and stop words: list, add, remove, and a preview of how a
sentence is split into words with and without the tenant's own words."""

from __future__ import annotations

from quart import Blueprint, current_app, has_app_context, redirect, request, url_for

from xinfang.auth.access import current_principal
from xinfang.auth.permissions import Permission, requires
from xinfang.errors import InvalidInput
from xinfang.http import staff_page
from xinfang.store.scoped import TenantScope
from xinfang.tenancy.config_versions import ConfigActor, register_config_area
from xinfang.tenancy.resolution import current_tenant
from xinfang.worker import current_runtime, send_task_async

from . import dictionary
from .analysis import segment, stop_words
from .models import SearchDictionary
from .tasks import REBUILD

# ----------------------------------------------------------------------------- the configuration area "search_dictionary"


async def _apply_version(scope: TenantScope, content: dict, actor: ConfigActor, note: str) -> None:
    """Rollback and import: a version's whole dictionary and stop words; the index is rebuilt for the words."""
    before = await dictionary.tenant_words(scope.tenant_id)
    row = await dictionary.do_set_dictionary(scope, list(content.get("words") or []), stop_words=list(content.get("stop_words") or []),
                                          actor=actor, note=note)
    if frozenset(row.words) != before:
        await send_rebuild(scope.tenant_id)


async def send_rebuild(tenant_id: str) -> None:
    """Ask the indexer to rebuild a tenant's index (its words changed): from a web request through its app's broker,
    from a worker through the worker's runtime; a no-op where neither is at hand."""
    if has_app_context() and "xinfang.celery" in current_app.extensions:
        await send_task_async(current_app.extensions["xinfang.celery"], REBUILD, [tenant_id],
                              current_app.extensions["xinfang.settings"].search_queue)
        return
    runtime = current_runtime()
    if runtime is not None:
        await runtime.send(REBUILD, [tenant_id], queue=runtime.settings.search_queue)


async def _current(scope: TenantScope) -> dict:
    row = await scope.repo(SearchDictionary).find_one({})
    return {"search_dictionary": {"words": row.words, "stop_words": row.stop_words}} if row else {}


def _check(scope: TenantScope, area: str, content: dict) -> dict:
    """What an import would refuse: words that are not lists of short words without spaces."""
    problems = {}
    for key in ("words", "stop_words"):
        values = (content or {}).get(key, [])
        if not isinstance(values, list) or not all(isinstance(w, str) and w.strip() and len(w.strip()) <= dictionary.MAX_WORD
                                                   and not any(ch.isspace() for ch in w.strip()) for w in values):
            problems[key] = {"zh": "应为不含空格、不超过 20 个字的词语", "en": "words of at most 20 characters without spaces"}
    return problems


register_config_area("search_dictionary", {"zh": "检索词典与停用词", "en": "Search dictionary and stop words"}, _apply_version,
                     check=_check, current=_current)


dictionary_admin_bp = Blueprint("search_dictionary_admin", __name__, url_prefix="/t/<tenant_slug>/admin/search-dictionary")
MAX_SENTENCE = 500
EXAMPLE = "反映城关镇中心小学食堂违规收取伙食费的问题"

SAVED = {
    "word_added": {"zh": "已加入词典：{w}。检索索引正在按新词典重建，几分钟内生效。", "en": "Added to the dictionary: {w}. The search index is being rebuilt with it; this takes a few minutes."},
    "word_removed": {"zh": "已从词典删除：{w}。检索索引正在重建。", "en": "Removed from the dictionary: {w}. The search index is being rebuilt."},
    "stop_added": {"zh": "已加入停用词：{w}。频发词汇中不再显示它，检索时也不再用它查找。", "en": "Added to the stop words: {w}. It no longer shows among frequent words, nor is it looked for in searches."},
    "stop_removed": {"zh": "已从停用词删除：{w}。", "en": "Removed from the stop words: {w}."},
}


def split_preview(sentence: str, own_words: frozenset[str], own_stops: frozenset[str]) -> dict:
    """How ``sentence`` is split into words, without and with the tenant's words; each word says whether it is one of
    the tenant's own and whether it is a stop word (the platform's or the tenant's)."""
    platform_stops = stop_words()

    def pieces(words: frozenset[str]) -> list[dict]:
        return [{"word": w, "own": w in words, "stop": w.lower() in platform_stops or w.lower() in own_stops,
                 "own_stop": w.lower() in own_stops} for w, _, _ in segment(sentence, words)]

    return {"without": pieces(frozenset()), "with": pieces(own_words)}


async def _row() -> SearchDictionary:
    scope = current_tenant().scope
    return await scope.repo(SearchDictionary).find_one({}) or SearchDictionary(tenant_id=scope.tenant_id)


async def _page(status: int = 200, *, errors: dict | None = None, values: dict | None = None):
    row = await _row()
    args = request.args
    sentence = (args.get("sentence") or "").strip()[:MAX_SENTENCE] or EXAMPLE
    preview = split_preview(sentence, frozenset(row.words), frozenset(w.lower() for w in row.stop_words))
    saved = None
    if args.get("saved") in SAVED and args.get("w"):
        saved = {lang: text.format(w=args.get("w")[:40]) for lang, text in SAVED[args["saved"]].items()}
    return await staff_page("admin/search_dictionary.html", status, words=row.words, stops=row.stop_words, platform_stops=sorted(stop_words()),
                            sentence=sentence, preview=preview, errors=errors or {}, values=values or {}, saved=saved)


@dictionary_admin_bp.get("")
@requires(Permission.SEARCH_CONFIGURE)
async def dictionary_page(tenant_slug):
    """The tenant's own words and stop words, and how a sentence is split with them."""
    return await _page()


async def _change(tenant_slug: str, field: str, kind: str):
    """Add or remove one word (``kind``: word_added, word_removed, stop_added, stop_removed) and record the version."""
    form = await request.form
    typed = form.get(field) or ""
    row = await _row()
    words, stops = list(row.words), list(row.stop_words)
    try:
        word = dictionary.check_word(typed, field, shortest=2 if field == "word" else 1)
        target = words if kind.startswith("word") else stops
        if kind.endswith("added"):
            if word in target:
                raise InvalidInput(fields={field: {"zh": f"“{word}”已在列表中", "en": f"“{word}” is already listed"}})
            target.append(word)
        elif word in target:
            target.remove(word)
        else:
            raise InvalidInput(fields={field: {"zh": f"列表中没有“{word}”", "en": f"“{word}” is not listed"}})
        what = {"word_added": "加入词典", "word_removed": "从词典删除", "stop_added": "加入停用词", "stop_removed": "删除停用词"}[kind]
        await dictionary.do_set_dictionary(current_tenant().scope, words, stop_words=stops, actor=ConfigActor.of(current_principal()),
                                        note=f"{what}：{word}")
    except InvalidInput as refused:
        return await _page(refused.status, errors=refused.fields, values={field: typed})
    if kind.startswith("word"):
        await send_rebuild(current_tenant().tenant_id)  # segmentation changed; stop words need no rebuild
    return redirect(url_for("search_dictionary_admin.dictionary_page", tenant_slug=tenant_slug, saved=kind, w=word), 303)


@dictionary_admin_bp.post("/words")
@requires(Permission.SEARCH_CONFIGURE)
async def add_word(tenant_slug):
    return await _change(tenant_slug, "word", "word_added")


@dictionary_admin_bp.post("/words/removed")
@requires(Permission.SEARCH_CONFIGURE)
async def remove_word(tenant_slug):
    return await _change(tenant_slug, "word", "word_removed")


@dictionary_admin_bp.post("/stop-words")
@requires(Permission.SEARCH_CONFIGURE)
async def add_stop_word(tenant_slug):
    return await _change(tenant_slug, "stop_word", "stop_added")


@dictionary_admin_bp.post("/stop-words/removed")
@requires(Permission.SEARCH_CONFIGURE)
async def remove_stop_word(tenant_slug):
    return await _change(tenant_slug, "stop_word", "stop_removed")
