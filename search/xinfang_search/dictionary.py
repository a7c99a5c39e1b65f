"""A tenant's search dictionary: its own words (segmentation) and stop words, as the indexer and the query
read them (cached a few seconds per process) and as the studio and the API change them."""

from __future__ import annotations

from xinfang.errors import InvalidInput
from xinfang.store.cache import TtlCache
from xinfang.store.scoped import TenantScope
from xinfang.tenancy.config_versions import BUNDLE_ACTOR, ConfigActor, do_record_config_version

from .models import SearchDictionary

MAX_WORD, MIN_WORD = 20, 2
MAX_STOP_WORDS = 500
_words_cache = TtlCache(ttl=10.0)


async def tenant_words(tenant_id: str) -> frozenset[str]:
    async def load():
        row = await TenantScope(tenant_id).repo(SearchDictionary).find_one({})
        return frozenset(row.words) if row else frozenset()

    return await _words_cache.get(tenant_id, load)


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


async def do_set_dictionary(scope: TenantScope, words: list[str], *, stop_words: list[str] | None = None, actor: ConfigActor | None = None,
                            note: str = "") -> SearchDictionary:
    """The tenant's own words and (when given; else kept) its stop words; a change is a version of "search_dictionary".
    Only a change of ``words`` changes segmentation (the caller rebuilds the index then)."""
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
    row.words, row.stop_words, row.revision = cleaned, stops, row.revision + 1
    await repo.save(row)
    _words_cache.drop(scope.tenant_id)
    _words_cache.drop(("stop", scope.tenant_id))
    _words_cache.drop(("synonyms", scope.tenant_id))
    await do_record_config_version(scope, "search_dictionary", {"words": row.words, "stop_words": row.stop_words},
                                   actor=actor or BUNDLE_ACTOR, note=note)
    return row
