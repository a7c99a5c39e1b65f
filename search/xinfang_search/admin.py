"""The tenant admin's page for the search dictionary, stop words and synonyms: list, add, remove, adopt the platform's
recommended synonyms, a preview of how a sentence is split into words with and without the tenant's own words, and
a try-it box saying what a search for a word also finds."""

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
from .analysis import fold, segment, stop_words
from .models import SearchDictionary
from .tasks import REBUILD

# ----------------------------------------------------------------------------- the configuration area "search_dictionary"


async def _apply_version(scope: TenantScope, content: dict, actor: ConfigActor, note: str) -> None:
    """Rollback and import: a version's whole dictionary, stop words and synonyms (none where the version has no
    "synonyms", as versions made before synonyms existed); the index is rebuilt only when the words changed."""
    before = await dictionary.stored_words(scope)
    row = await dictionary.do_set_dictionary(scope, list(content.get("words") or []), stop_words=list(content.get("stop_words") or []),
                                          synonyms=list(content.get("synonyms") or []), actor=actor, note=note)
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
    return {"search_dictionary": dictionary.dictionary_content(row)} if row else {}


def _check(scope: TenantScope, area: str, content: dict) -> dict:
    """What an import would refuse: words that are not lists of short words without spaces, synonym groups that
    ``dictionary.check_synonyms`` refuses (its message)."""
    problems = {}
    for key in ("words", "stop_words"):
        values = (content or {}).get(key, [])
        if not isinstance(values, list) or not all(isinstance(w, str) and w.strip() and len(w.strip()) <= dictionary.MAX_WORD
                                                   and not any(ch.isspace() for ch in w.strip()) for w in values):
            problems[key] = {"zh": "应为不含空格、不超过 20 个字的词语", "en": "words of at most 20 characters without spaces"}
    try:
        dictionary.check_synonyms((content or {}).get("synonyms", []))
    except InvalidInput as refused:
        problems["synonyms"] = refused.fields["synonyms"]
    return problems


def _path_label(path: str, lang: str) -> str | None:
    """A version diff's path in words: ``synonyms[3]`` is 第 3 组同义词."""
    names = {"words": ("本单位词语", "words of this body"), "stop_words": ("本单位停用词", "stop words of this body"),
             "synonyms": ("同义词", "synonyms")}
    key, _, rest = path.partition("[")
    if key not in names:
        return None
    zh, en = names[key]
    if rest.rstrip("]").isdigit():
        number = rest.rstrip("]")
        return f"第 {number} 组同义词" if lang == "zh" else f"synonym group {number}"
    return zh if lang == "zh" else en


register_config_area("search_dictionary", {"zh": "检索词典与停用词", "en": "Search dictionary and stop words"}, _apply_version,
                     check=_check, current=_current, path_label=_path_label)


dictionary_admin_bp = Blueprint("search_dictionary_admin", __name__, url_prefix="/t/<tenant_slug>/admin/search-dictionary")
MAX_SENTENCE = 500
MAX_WORD_TRIED = 100
EXAMPLE = "反映城关镇中心小学食堂违规收取伙食费的问题"

SAVED = {
    "word_added": {"zh": "已加入词典：{w}。检索索引正在按新词典重建，几分钟内生效。", "en": "Added to the dictionary: {w}. The search index is being rebuilt with it; this takes a few minutes."},
    "word_removed": {"zh": "已从词典删除：{w}。检索索引正在重建。", "en": "Removed from the dictionary: {w}. The search index is being rebuilt."},
    "stop_added": {"zh": "已加入停用词：{w}。频发词汇中不再显示它，检索时也不再用它查找。", "en": "Added to the stop words: {w}. It no longer shows among frequent words, nor is it looked for in searches."},
    "stop_removed": {"zh": "已从停用词删除：{w}。", "en": "Removed from the stop words: {w}."},
    "synonyms_added": {"zh": "已加入同义词：{w}。检索其中任一个词时也找其他词，立即生效。",
                       "en": "Synonyms added: {w}. A search for any of them also finds the others, from now on."},
    "synonym_added": {"zh": "已加入同义词：{w}。", "en": "Added to the synonyms: {w}."},
    "synonym_removed": {"zh": "已从同义词删除：{w}。", "en": "Removed from the synonyms: {w}."},
    "synonym_removed_group": {"zh": "已从同义词删除：{w}。这组只剩一个词，已一并删除。",
                              "en": "Removed from the synonyms: {w}. The group had one word left and is removed too."},
    "synonyms_removed": {"zh": "已删除这组同义词：{w}。", "en": "Synonym group removed: {w}."},
    "starter_adopted": {"zh": "已采用推荐同义词：新增或补充 {w} 组，检索时立即生效。",
                        "en": "Recommended synonyms adopted: {w} groups added or extended; searches use them from now on."},
}


def split_preview(sentence: str, own_words: frozenset[str], own_stops: frozenset[str]) -> dict:
    """How ``sentence`` is split into words, without and with the tenant's words; each word says whether it is one of
    the tenant's own and whether it is a stop word (the platform's or the tenant's)."""
    platform_stops = stop_words()

    def pieces(words: frozenset[str]) -> list[dict]:
        return [{"word": w, "own": w in words, "stop": w.lower() in platform_stops or w.lower() in own_stops,
                 "own_stop": w.lower() in own_stops} for w, _, _ in segment(sentence, words)]

    return {"without": pieces(frozenset()), "with": pieces(own_words)}


def synonym_tryout(typed: str, groups, own_words: frozenset[str]) -> list[dict]:
    """What a search for ``typed`` also finds: each of its words in a group, adjacent words joined where together
    they are a group's word (违章 建筑 -> 违章建筑), as a query takes them ({"word", "also": the group's other
    words}); empty when none of them has synonyms."""
    words = [w for w, _, _ in segment(typed, own_words)]
    found, seen, i = [], set(), 0
    while i < len(words):
        for j in range(min(len(words), i + 4), i, -1):
            word = "".join(words[i:j])
            group = dictionary.group_of(word, groups)
            if group:
                if fold(word) not in seen:
                    seen.add(fold(word))
                    found.append({"word": word, "also": [w for w in group if fold(w) != fold(word)]})
                i = j
                break
        else:
            i += 1
    return found


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
        saved = {lang: text.format(w=args.get("w")[:80]) for lang, text in SAVED[args["saved"]].items()}
    tried = (args.get("try_word") or "").strip()[:MAX_WORD_TRIED]
    tryout = synonym_tryout(tried, row.synonyms, frozenset(row.words)) if tried else None
    return await staff_page("admin/search_dictionary.html", status, words=row.words, stops=row.stop_words, platform_stops=sorted(stop_words()),
                            sentence=sentence, preview=preview, errors=errors or {}, values=values or {}, saved=saved,
                            synonyms=row.synonyms, starter=dictionary.starter_synonyms(), starter_left=dictionary.starter_not_adopted(row.synonyms),
                            tried=tried, tryout=tryout)


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


# ----------------------------------------------------------------------------- synonyms (applied to queries: no rebuild)


async def _save_synonyms(tenant_slug: str, change, saved: str, field: str, values: dict):
    """Apply ``change`` (the current groups -> (new groups, what to say, the version's note[, which ``saved`` message
    instead])) and record the version; a refusal re-shows the page with the message at ``field`` and what was typed."""
    row = await _row()
    try:
        groups, said, note, *instead = change([list(g) for g in row.synonyms])
        saved = instead[0] if instead else saved
        await dictionary.do_set_dictionary(current_tenant().scope, row.words, stop_words=row.stop_words, synonyms=groups,
                                           actor=ConfigActor.of(current_principal()), note=note)
    except InvalidInput as refused:
        fields = {(field if name == "synonyms" else name): message for name, message in refused.fields.items()}
        return await _page(refused.status, errors=fields, values=values)
    return redirect(url_for("search_dictionary_admin.dictionary_page", tenant_slug=tenant_slug, saved=saved, w=said) + "#synonyms", 303)


def _group_named(groups: list[list[str]], word: str, field: str) -> list[str]:
    """The group (of ``groups`` itself, to change in place) that has ``word``; else a message at ``field``."""
    wanted = fold((word or "").strip())
    for group in groups:
        if wanted and wanted in (fold(w) for w in group):
            return group
    raise InvalidInput(fields={field: {"zh": f"没有含“{(word or '').strip()[:20]}”的同义词组", "en": "no synonym group has this word"}})


@dictionary_admin_bp.post("/synonyms")
@requires(Permission.SEARCH_CONFIGURE)
async def add_synonyms(tenant_slug):
    """A new group, its words typed in one box separated by spaces, commas or 、."""
    typed = (await request.form).get("group") or ""

    def change(groups):
        words = dictionary.split_group(typed)
        if not words:
            raise InvalidInput(fields={"group": {"zh": "请填写两个或更多意思相同的词，用空格、逗号或顿号隔开",
                                                 "en": "enter two or more words of the same meaning, separated by spaces, commas or 、"}})
        if len(words) < dictionary.MIN_GROUP:
            raise InvalidInput(fields={"group": {"zh": "一组同义词至少要有两个不同的词，用空格、逗号或顿号隔开",
                                                 "en": "a synonym group has at least two different words, separated by spaces, commas or 、"}})
        shown = " = ".join(words)
        return groups + [words], shown, f"加入同义词：{shown}"

    return await _save_synonyms(tenant_slug, change, "synonyms_added", "group", {"group": typed})


@dictionary_admin_bp.post("/synonyms/words")
@requires(Permission.SEARCH_CONFIGURE)
async def add_synonym(tenant_slug):
    """One more word for the group that has the word ``in_group``."""
    form = await request.form
    in_group, typed = form.get("in_group") or "", form.get("synonym") or ""

    def change(groups):
        group = _group_named(groups, in_group, "synonym")
        words = [dictionary.check_word(w, "synonym", shortest=1) for w in dictionary.split_group(typed)] or [dictionary.check_word("", "synonym")]
        for word in words:  # one word, or a few typed as a group is
            if fold(word) in (fold(w) for w in group):
                raise InvalidInput(fields={"synonym": {"zh": f"“{word}”已在这组中", "en": f"“{word}” is already in this group"}})
            group.append(word)
        shown = "、".join(words)
        return groups, f"{shown}（{' = '.join(group)}）", f"加入同义词：{shown}（{group[0]}）"

    return await _save_synonyms(tenant_slug, change, "synonym_added", "synonym", {"in_group": in_group, "synonym": typed})


@dictionary_admin_bp.post("/synonyms/words/removed")
@requires(Permission.SEARCH_CONFIGURE)
async def remove_synonym(tenant_slug):
    """One word out of its group; a group left with one word is no group, and goes."""
    typed = (await request.form).get("synonym") or ""

    def change(groups):
        group = _group_named(groups, typed, "synonym")
        word = next(w for w in group if fold(w) == fold(typed.strip()))
        group.remove(word)
        if len(group) < dictionary.MIN_GROUP:  # one word is no group
            groups.remove(group)
            return groups, f"{word}（{group[0]}）", f"删除同义词：{word}，这组只剩“{group[0]}”，一并删除", "synonym_removed_group"
        return groups, word, f"删除同义词：{word}"

    return await _save_synonyms(tenant_slug, change, "synonym_removed", "synonym", {})


@dictionary_admin_bp.post("/synonyms/removed")
@requires(Permission.SEARCH_CONFIGURE)
async def remove_synonyms(tenant_slug):
    """The whole group that has the word ``in_group``."""
    in_group = (await request.form).get("in_group") or ""

    def change(groups):
        group = _group_named(groups, in_group, "synonyms")
        groups.remove(group)
        shown = " = ".join(group)
        return groups, shown, f"删除同义词组：{shown}"

    return await _save_synonyms(tenant_slug, change, "synonyms_removed", "synonyms", {})


@dictionary_admin_bp.post("/synonyms/starter")
@requires(Permission.SEARCH_CONFIGURE)
async def adopt_starter_synonyms(tenant_slug):
    """The recommended groups ticked on the page (all are, at first): words already in a group are skipped."""
    ticked = {tuple(dictionary.split_group(text)) for text in (await request.form).getlist("starter")}
    chosen = {group for group in dictionary.starter_synonyms() if group in ticked}

    def change(groups):
        if not chosen:
            raise InvalidInput(fields={"starter": {"zh": "请至少勾选一组推荐同义词", "en": "tick at least one recommended group"}})
        groups, added = dictionary.with_starter(groups, chosen)
        if not added:
            raise InvalidInput(fields={"starter": {"zh": "勾选的推荐同义词都已在本单位的同义词中", "en": "the ticked groups are all in this body's synonyms already"}})
        return groups, str(len(added)), f"采用推荐同义词 {len(added)} 组"

    return await _save_synonyms(tenant_slug, change, "starter_adopted", "starter", {})
