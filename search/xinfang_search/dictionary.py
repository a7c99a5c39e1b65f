"""A tenant's search dictionary: its own words (segmentation), stop words and synonym groups, as the indexer and
the query read them (cached a few seconds per process) and as the studio and the API change them; and the platform's
starter list of synonyms (synonyms.txt), which applies to a tenant only once its admin adopts it."""

from __future__ import annotations

import re
from functools import cache
from importlib import resources

from xinfang.errors import InvalidInput
from xinfang.store.cache import TtlCache
from xinfang.store.scoped import TenantScope
from xinfang.tenancy.config_versions import BUNDLE_ACTOR, ConfigActor, do_record_config_version

from .analysis import fold
from .models import SearchDictionary

MAX_WORD, MIN_WORD = 20, 2
MAX_STOP_WORDS = 500
MAX_SYNONYM_GROUPS, MIN_GROUP, MAX_GROUP = 500, 2, 10
# What separates the words of a group as a person types them: spaces, commas (either width), 、, semicolons, =.
GROUP_SEPARATORS = re.compile(r"[\s,，、;；=＝]+")
_words_cache = TtlCache(ttl=10.0)


async def tenant_words(tenant_id: str) -> frozenset[str]:
    async def load():
        row = await TenantScope(tenant_id).repo(SearchDictionary).find_one({})
        return frozenset(row.words) if row else frozenset()

    return await _words_cache.get(tenant_id, load)


async def stored_words(scope: TenantScope) -> frozenset[str]:
    """The tenant's words as stored now (not cached): what a writer compares with to know whether to rebuild."""
    row = await scope.repo(SearchDictionary).find_one({})
    return frozenset(row.words) if row else frozenset()


async def tenant_stop_words(tenant_id: str) -> frozenset[str]:
    """The tenant's own stop words (lower-cased, as the index's words are)."""
    async def load():
        row = await TenantScope(tenant_id).repo(SearchDictionary).find_one({})
        return frozenset(w.lower() for w in row.stop_words) if row else frozenset()

    return await _words_cache.get(("stop", tenant_id), load)


async def tenant_synonyms(tenant_id: str) -> tuple[tuple[str, ...], ...]:
    """The tenant's synonym groups (each word lower-cased), as a query expands its words with them."""
    async def load():
        row = await TenantScope(tenant_id).repo(SearchDictionary).find_one({})
        return tuple(tuple(w.lower() for w in group) for group in row.synonyms) if row else ()

    return await _words_cache.get(("synonyms", tenant_id), load)


def check_word(word: str, field: str = "word", *, shortest: int = MIN_WORD) -> str:
    """One dictionary or stop word as typed: ``shortest``..20 characters, no spaces; else a message at ``field``."""
    word = (word or "").strip()
    if not word:
        raise InvalidInput(fields={field: {"zh": "请填写词语", "en": "enter a word"}})
    if any(ch.isspace() for ch in word):
        raise InvalidInput(fields={field: {"zh": "词语中不能有空格", "en": "a word has no spaces"}})
    if not shortest <= len(word) <= MAX_WORD:
        raise InvalidInput(fields={field: {"zh": f"词语应为 {shortest} 到 {MAX_WORD} 个字", "en": f"a word has {shortest} to {MAX_WORD} characters"}})
    return word


def split_group(typed: str) -> list[str]:
    """A group as typed (``噪音 噪声、扰民``) as its words, in order, repeats left out."""
    words: list[str] = []
    for word in GROUP_SEPARATORS.split(typed or ""):
        if word and word not in words:
            words.append(word)
    return words


def _group_text(group: list[str]) -> str:
    return " = ".join(group)


def check_synonyms(groups: list, field: str = "synonyms") -> list[list[str]]:
    """Synonym groups as stored: each 2..10 distinct words of 1..20 characters without spaces, no word in two groups
    (compared folded: case, width and traditional characters, as a query compares them), at most 500 groups; else a
    message at ``field`` naming the group."""
    if not isinstance(groups, list):
        raise InvalidInput(fields={field: {"zh": "同义词应为若干组词语", "en": "synonyms are groups of words"}})
    cleaned: list[list[str]] = []
    owner: dict[str, list[str]] = {}  # folded word -> the group it is in
    for group in groups:
        if not isinstance(group, list) or not all(isinstance(w, str) for w in group):
            raise InvalidInput(fields={field: {"zh": "每组同义词应为若干词语", "en": "each synonym group is a list of words"}})
        words: list[str] = []
        for word in group:
            word = word.strip()
            if word and fold(word) not in {fold(w) for w in words}:
                words.append(word)
        shown = _group_text(words) or "（空）"
        for word in words:
            if any(ch.isspace() for ch in word):
                raise InvalidInput(fields={field: {"zh": f"词语中不能有空格：{word[:20]}", "en": f"a word has no spaces: {word[:20]}"}})
            if len(word) > MAX_WORD:
                raise InvalidInput(fields={field: {"zh": f"词语过长（最多 {MAX_WORD} 个字）：{word[:20]}…",
                                                   "en": f"a word has {MAX_WORD} characters at most: {word[:20]}…"}})
        if not MIN_GROUP <= len(words) <= MAX_GROUP:
            raise InvalidInput(fields={field: {"zh": f"每组同义词应有 {MIN_GROUP} 到 {MAX_GROUP} 个不同的词：{shown}",
                                               "en": f"a synonym group has {MIN_GROUP} to {MAX_GROUP} different words: {shown}"}})
        for word in words:
            other = owner.get(fold(word))
            if other is not None:
                raise InvalidInput(fields={field: {"zh": f"“{word}”已在另一组同义词中（{_group_text(other)}），一个词只能在一组里",
                                                   "en": f"“{word}” is already in another group ({_group_text(other)}); a word is in one group only"}})
        for word in words:
            owner[fold(word)] = words
        cleaned.append(words)
    if len(cleaned) > MAX_SYNONYM_GROUPS:
        raise InvalidInput(fields={field: {"zh": f"同义词最多 {MAX_SYNONYM_GROUPS} 组", "en": f"{MAX_SYNONYM_GROUPS} synonym groups at most"}})
    return cleaned


def group_of(word: str, groups) -> list[str] | None:
    """The group ``word`` is in (compared folded, as a query compares), or None."""
    wanted = fold((word or "").strip())
    for group in groups:
        if wanted in (fold(w) for w in group):
            return list(group)
    return None


@cache
def starter_synonyms() -> tuple[tuple[str, ...], ...]:
    """The platform's recommended groups (synonyms.txt: one group a line, words separated by spaces; # comments)."""
    text = resources.files("xinfang_search").joinpath("synonyms.txt").read_text(encoding="utf-8")
    groups = [split_group(line) for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    return tuple(tuple(group) for group in check_synonyms(groups, "starter"))


def with_starter(groups: list[list[str]], chosen=None) -> tuple[list[list[str]], list[list[str]]]:
    """``groups`` with the starter groups (all, or those in ``chosen``) adopted: a starter group's words not yet in any
    group join the one tenant group it overlaps, or make a new group (when two or more are new and it overlaps
    none); words already in a group are skipped, so adopting twice adds nothing. Returns (all groups, what was added:
    one list per group changed or made)."""
    result = [list(g) for g in groups]
    added: list[list[str]] = []
    for starter in starter_synonyms():
        if chosen is not None and starter not in chosen:
            continue
        placed = {fold(w) for g in result for w in g}
        new = [w for w in starter if fold(w) not in placed]
        if not new:
            continue
        starter_words = {fold(w) for w in starter}
        overlapping = [g for g in result if any(fold(w) in starter_words for w in g)]
        if len(overlapping) == 1:
            target = overlapping[0]
            room = MAX_GROUP - len(target)
            if room > 0:
                target.extend(new[:room])
                added.append(new[:room])
        elif not overlapping and len(new) >= MIN_GROUP and len(result) < MAX_SYNONYM_GROUPS:
            result.append(new)
            added.append(new)
    return result, added


def starter_not_adopted(groups: list[list[str]]) -> list[tuple[str, ...]]:
    """The starter groups adopting would still change something in (all of them for a tenant with no synonyms)."""
    return [starter for starter in starter_synonyms() if with_starter(groups, {starter})[1]]


def dictionary_content(row: SearchDictionary) -> dict:
    """The "search_dictionary" area's content: ``synonyms`` only when there are any, so the versions of a tenant
    without synonyms read as before they existed (and rolling back to one of those clears the synonyms)."""
    content = {"words": list(row.words), "stop_words": list(row.stop_words)}
    if row.synonyms:
        content["synonyms"] = [list(g) for g in row.synonyms]
    return content


async def do_set_dictionary(scope: TenantScope, words: list[str], *, stop_words: list[str] | None = None,
                            synonyms: list[list[str]] | None = None, actor: ConfigActor | None = None,
                            note: str = "") -> SearchDictionary:
    """The tenant's own words and (when given; else kept) its stop words and synonym groups; a change is a version of
    "search_dictionary". Only a change of ``words`` changes segmentation (the caller rebuilds the index then): stop
    words and synonyms apply to queries and frequent words as they are read."""
    cleaned = []
    for word in words:
        word = "".join((word or "").split())
        if word and word not in cleaned:
            if len(word) > MAX_WORD:
                raise InvalidInput(fields={"words": {"zh": f"词语过长：{word[:20]}…", "en": "a word is longer than 20 characters"}})
            cleaned.append(word)
    if len(cleaned) > 2000:
        raise InvalidInput(fields={"words": {"zh": "最多 2000 个词", "en": "2000 words at most"}})
    repo = scope.repo(SearchDictionary)
    row = await repo.find_one({}) or SearchDictionary(tenant_id=scope.tenant_id)
    stops = row.stop_words
    if stop_words is not None:
        stops = []
        for word in stop_words:
            word = "".join((word or "").split())
            if word and word not in stops:
                if len(word) > MAX_WORD:
                    raise InvalidInput(fields={"stop_words": {"zh": f"停用词过长：{word[:20]}…", "en": "a stop word is longer than 20 characters"}})
                stops.append(word)
        if len(stops) > MAX_STOP_WORDS:
            raise InvalidInput(fields={"stop_words": {"zh": f"停用词最多 {MAX_STOP_WORDS} 个", "en": f"{MAX_STOP_WORDS} stop words at most"}})
    groups = check_synonyms(synonyms) if synonyms is not None else row.synonyms
    row.words, row.stop_words, row.synonyms, row.revision = cleaned, stops, groups, row.revision + 1
    await repo.save(row)
    _words_cache.drop(scope.tenant_id)
    _words_cache.drop(("stop", scope.tenant_id))
    _words_cache.drop(("synonyms", scope.tenant_id))
    await do_record_config_version(scope, "search_dictionary", dictionary_content(row), actor=actor or BUNDLE_ACTOR, note=note)
    return row
