"""Frequent words as topics (频发词汇): which words and phrases a window's petitions are about, and which rose.

A topic is a term many petitions of the window share that is not how every petition is written. Its score:

    count × general rarity × own rarity × (FLOOR + concentration over categories + over regions + over time)
          × VERB_WEIGHT for a verb alone

* count: in how many petitions of the window it appears (what the page shows);
* general rarity: its inverse document frequency in general Chinese (jieba's IDF table), so 希望, 工作 sink; a
  word jieba's HMM put together as rare as its rarest dictionary part (给钱, 说会 as common as 给, 说);
* own rarity: its inverse document frequency in the tenant's petitions of the window and the windows before;
* concentration: how far its petitions' spread over categories, over regions (both in the window and the windows
  before: a term's topicality is a property of the tenant's language, better measured on more petitions than a
  month's) and over the current window against the windows before differs from all petitions' (Kullback-Leibler,
  smoothed so a term of two petitions is not "concentrated"): 油烟 is mostly one category, 梅溪湖畔小区 one
  region and this month; 反映 is everywhere. With a category (region) filter, the spread over categories
  (regions) is read from all petitions, so a general word stays general inside one category;
* a verb alone (强制, 暗示) says less than a noun or an issue (拖欠 工资): ``VERB_WEIGHT``.

A phrase is shown only when it is a collocation: over the window and the windows before, it is in many more
petitions than its words' counts predict were they independent (the ratio at least ``MIN_LIFT`` and a Poisson
surprise of at least ``MIN_COLLOCATION_SURPRISE``), and in at least ``MIN_PHRASE_COUNT`` petitions of the window.

A term counted mostly as a fragment (``terms.FRAGMENT``: its edge cuts a word, 湖湾小区 of 洋湖湾小区, or its
words make no unit there, 寒假组织 of 寒假组织补课) is not shown.

Stop words (the standard list, the genre's words, the tenant's own) are never topics. A term mostly seen inside a
longer one (梅溪湖畔 inside 梅溪湖畔小区) is shown as the longer one.

Rising (burst detection), among the ``RISING_AMONG`` best topics: a term's count in the window against the mean of the ``PREVIOUS_WINDOWS`` windows of
equal length before it, as a Poisson surprise (P of at least this count if the past rate held), with a minimum
count: "本期 9 件，前 4 期平均 1.2 件".
"""

from __future__ import annotations

import asyncio
import math
from collections import Counter
from datetime import date, datetime, timedelta
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

from .dictionary import tenant_stop_words, tenant_words
from .side_stores import stores
from .terms import FRAGMENT, PLACE_ENDINGS, VERB, TermStore, domain_words, shown, topic_stop_words, word_class

CHINA = ZoneInfo("Asia/Shanghai")
MIN_COUNT = 2  # a topic is shared by petitions: one petition's word is not one
MIN_RISING_COUNT = 3
PREVIOUS_WINDOWS = 4  # the windows before the current one that set a term's expected count
CANDIDATES = 1500  # terms scored in full, the most frequent and generally rare first
SMOOTHING = 5.0  # pseudo-petitions spread like all petitions, added to each term's spread
FLOOR = 0.1  # what a term spread exactly like all petitions keeps of its weight
PHRASE_BONUS = 0.5
GENERAL_POWER = 1.0
VERB_WEIGHT = 0.7  # a phrase is rarer than its rarest word
ABSORBED = 0.8  # a term shown as a longer one when that many of its petitions have the longer one
RISING_SURPRISE = 2.0  # -log10 of the Poisson probability: rising when under 1 in 100
EXPECTED_FLOOR = 0.3  # the expected count of a term never seen before (so 3 new petitions are a burst, 1 or 2 not)
SERIES_BARS = 26
OWN_PRIOR = 20
MIN_PHRASE_COUNT = 3  # a phrase of two petitions is more often two people's wording than a matter
MIN_LIFT = 2.0  # a collocation is in twice the petitions its words would share by chance, at least
MIN_COLLOCATION_SURPRISE = 2.0  # -log10 of the Poisson probability of that many by chance
FRAGMENT_SHARE = 0.5  # a term not shown when at least this share of its petitions have it only as a fragment
RISING_AMONG = 100  # rising terms are looked for among the best topics (a burst of 不要 or 晚上 says nothing)


@cache
def _general_idf() -> tuple[dict[str, float], float]:
    import jieba.analyse

    table = jieba.analyse.default_tfidf
    return table.idf_freq, table.median_idf


@cache
def word_rarity(word: str) -> float:
    """A word's IDF in jieba's table. A word not in it: the median for a domain word; else the IDF of its
    rarest dictionary part, as its HMM put it together from them (说会, 给钱 are as common as 说, 给; 优亲厚友 is not)."""
    idf, median = _general_idf()
    if word in idf:
        return idf[word]
    if word in domain_words():
        return median
    import jieba

    return min(median, max((idf.get(part, median) for part in jieba.cut(word, HMM=False)), default=median))


def general_rarity(term: str) -> float:
    """How rare a term is in general Chinese (``word_rarity``); a phrase as rare as its rarest word and a little
    more."""
    parts = term.split(" ")
    return max(word_rarity(p) for p in parts) + PHRASE_BONUS * (len(parts) - 1)


def general_weight(term: str) -> float:
    """The general-vocabulary weight of the topic score: rarity relative to the median word, to the power
    ``GENERAL_POWER`` (so 给钱, 半路 sink below 油烟, 资料费)."""
    return (general_rarity(term) / _general_idf()[1]) ** GENERAL_POWER


def concentration(spread: Counter, base: Counter) -> float:
    """Kullback-Leibler divergence (nats) of a term's petitions over groups from all petitions' over the same
    groups, the term's spread smoothed toward the base by ``SMOOTHING`` petitions; 0 with fewer than two groups."""
    base_total = sum(base.values())
    if base_total <= 0 or sum(1 for n in base.values() if n > 0) < 2:
        return 0.0
    total = sum(spread.values())
    divergence = 0.0
    for group, n in base.items():
        if n <= 0:
            continue
        prior = n / base_total
        p = (spread.get(group, 0) + SMOOTHING * prior) / (total + SMOOTHING)
        divergence += p * math.log(p / prior)
    return max(0.0, divergence)


def is_collocation(term: str, count: int, counts: Counter, petitions: int) -> bool:
    """A phrase whose petitions (``count`` in the window; ``counts`` over the window and the windows before, of
    ``petitions``) are many more than its words' counts predict: independent words would share
    petitions × Π(word's petitions / petitions), and there are at least ``MIN_LIFT`` times that many, unlikely by
    chance (Poisson surprise). A word is always one; so is a place name of one word and its ending (金星 小区: 小区
    says what kind of place, not what the petitions are about); a word not counted alone (a stop word, the single
    character of 洋 湖湾 小区) predicts nothing against the phrase."""
    parts = term.split(" ")
    if len(parts) == 1:
        return True
    if count < MIN_PHRASE_COUNT or petitions <= 0:
        return False
    telling = [p for p in (parts[:-1] if parts[-1] in PLACE_ENDINGS else parts) if p in counts]
    if len(telling) <= 1:
        return True
    observed = counts.get(term, count)
    base = petitions + OWN_PRIOR  # a few petitions more with none of the words: a small tenant's phrase can be one
    expected = float(base)
    for part in telling:
        expected *= min(1.0, counts[part] / base)
    return observed >= MIN_LIFT * expected and poisson_surprise(observed, expected) >= MIN_COLLOCATION_SURPRISE


def topic_score(count: int, term: str, spreads: list[tuple[Counter, Counter]]) -> float:
    """count × general rarity × (FLOOR + the term's concentration in each (term spread, base spread) dimension)."""
    weight = VERB_WEIGHT if " " not in term and word_class(term) == VERB else 1.0  # 强制, 暗示: a verb alone says little
    return weight * count * general_weight(term) * (FLOOR + sum(concentration(spread, base) for spread, base in spreads))


def own_rarity(count: int, petitions: int) -> float:
    """How rare a term is in the tenant's own petitions of the window and the windows before (its inverse
    document frequency): a word in most petitions of this tenant sinks even when general Chinese has it rarely
    (a phrase of the tenant's own forms, a place everybody names). ``OWN_PRIOR`` petitions more than counted, so
    in a handful of petitions (a small tenant, a narrow filter) the one matter they share does not sink."""
    return math.log((petitions + OWN_PRIOR) / (count + 0.5))


def poisson_surprise(count: int, expected: float) -> float:
    """-log10 P(X >= count) for X ~ Poisson(expected): how unlikely this many, had the past rate held."""
    lam = max(expected, EXPECTED_FLOOR)
    if count <= 0:
        return 0.0
    term, below = math.exp(-lam), 0.0
    for k in range(count):  # P(X < count)
        below += term
        term *= lam / (k + 1)
    tail = max(1.0 - below, 0.0)
    if tail < 1e-12:  # past double precision: the log of the first term of the tail
        return -(count * math.log10(lam) - lam / math.log(10) - math.lgamma(count + 1) / math.log(10))
    return -math.log10(tail)


def burst(count: int, previous: list[int]) -> dict:
    """A term's count now against its counts in the windows before (newest first): rising or not, and why."""
    mean = sum(previous) / len(previous) if previous else 0.0
    surprise = poisson_surprise(count, mean)
    return {"previous_mean": round(mean, 2), "windows": len(previous), "surprise": round(surprise, 2),
            "rising": count >= MIN_RISING_COUNT and count > mean and surprise >= RISING_SURPRISE}


def absorb(ranked: list[str], counts: Counter, among: list[str], kept: frozenset[str] = frozenset()) -> list[str]:
    """The ranked terms, each mostly seen inside a longer term of ``among`` shown as that one (the widest such), once
    each: a fragment of a phrase (梅溪湖畔 of 梅溪湖畔小区) or a sub-word of a word (料费 of 资料费, 有偿 of 有偿补课);
    a word of ``kept`` (the platform's and the tenant's dictionary words) stays itself."""
    wider_of: dict[str, list[str]] = {}
    for longer in among:  # every shorter string inside a term (梅溪湖畔 in 梅溪湖畔小区, 料费 in 资料费) -> the term
        text = shown(longer)
        for size in range(2, len(text)):
            for start in range(len(text) - size + 1):
                wider_of.setdefault(text[start:start + size], []).append(longer)
    out: dict[str, None] = {}
    for term in ranked:
        current = term
        while current not in kept:
            wider = [u for u in wider_of.get(shown(current), ()) if counts[u] >= ABSORBED * counts[current]]
            if not wider:
                break
            current = max(wider, key=lambda u: (counts[u], len(u), u))
        out.setdefault(current)
    return list(out)


def diverse(ranked: list[str], counts: Counter) -> list[str]:
    """The ranked terms less a phrase that repeats a word already shown (alone or in a phrase above it) and has
    fewer than ``ABSORBED`` of that word's petitions (学习资料费 under 资料费); a place name keeps its place word
    (梅溪湖畔小区 under 小区)."""
    covered: set[str] = set()
    out = []
    for term in ranked:
        parts = term.split(" ")
        repeats = [p for p in parts if p in covered and not (p == parts[-1] and p in PLACE_ENDINGS and len(parts) > 1)]
        if len(parts) > 1 and any(counts[term] < ABSORBED * counts.get(p, counts[term]) for p in repeats):
            continue
        out.append(term)
        covered.update(parts)
    return out


def is_stopped(term: str, stops: frozenset[str]) -> bool:
    return shown(term) in stops or any(part in stops for part in term.split(" "))


def windows_of(end: date, days: int, count: int) -> list[tuple[date, date]]:
    """The current window (first) and ``count`` windows of equal length before it."""
    first = end - timedelta(days=days - 1)
    return [(first - timedelta(days=days * k), end - timedelta(days=days * k)) for k in range(count + 1)]


def series_bars(daily: Counter, first: date, end: date) -> list[dict]:
    """Counts by week (or longer equal bins, at most ``SERIES_BARS``) from ``first`` to ``end``, the last bin ending at ``end``."""
    span = (end - first).days + 1
    width = max(7, math.ceil(span / SERIES_BARS))
    bars, stop = [], end
    while stop >= first:
        start = max(first, stop - timedelta(days=width - 1))
        count = sum(n for day, n in daily.items() if start.isoformat() <= day <= stop.isoformat())
        bars.append({"from": start.isoformat(), "to": stop.isoformat(), "count": count})
        stop = start - timedelta(days=1)
    return bars[::-1]


def topics_of(store: TermStore, tenant_id: str, *, end: date, days: int = 30, top: int = 30, region: str | None = None,
              category: str | None = None, tenant_stops: frozenset[str] = frozenset(), tenant_words: frozenset[str] = frozenset()) -> dict:
    """Top topics and rising terms of the window of ``days`` ending ``end`` (of a region, of a category)."""
    windows = windows_of(end, days, PREVIOUS_WINDOWS)
    first = windows[0][0]
    span_first = windows[-1][0]
    where = dict(region=region or None, category=category or None)
    stops = topic_stop_words() | frozenset(tenant_stops)
    kept = domain_words() | frozenset(w.lower() for w in tenant_words)
    counted = store.counts(tenant_id, first.isoformat(), end.isoformat(), **where)
    current = Counter({t: c for t, c in counted.items() if not t.startswith(FRAGMENT) and not is_stopped(t, stops)})
    whole = {t for t, c in current.items() if counted.get(FRAGMENT + t, 0) < FRAGMENT_SHARE * c}  # 湖湾小区 of 洋湖湾小区 is not
    per_day_petitions = store.petitions_by_day(tenant_id, span_first.isoformat(), end.isoformat(), **where)
    # Whether a phrase is a collocation is a property of the tenant's language: judged on all its petitions of
    # these windows, not only a region's or a category's few.
    history = store.counts(tenant_id, span_first.isoformat(), end.isoformat())
    span_petitions = store.petitions(tenant_id, span_first.isoformat(), end.isoformat())
    candidates = sorted((t for t, c in current.items() if c >= MIN_COUNT and t in whole and is_collocation(t, c, history, span_petitions)),
                        key=lambda t: (-current[t] * general_rarity(t), t))[:CANDIDATES]
    daily = store.daily(tenant_id, span_first.isoformat(), end.isoformat(), candidates, **where)

    def by_window(days_counts: Counter) -> list[int]:
        return [sum(n for day, n in days_counts.items() if a.isoformat() <= day <= b.isoformat()) for a, b in windows]

    window_petitions = by_window(per_day_petitions)
    time_base = Counter({k: n for k, n in enumerate(window_petitions)})
    term_regions, term_categories = store.spread(tenant_id, span_first.isoformat(), end.isoformat(), candidates, **where)
    base_regions, base_categories = store.petition_spread(tenant_id, span_first.isoformat(), end.isoformat(), **where)
    # The petitions of one category (one region) all share it: how a term spreads over categories (regions) is
    # then read from all the region's (category's) petitions, so 意见 stays general inside 低保评定.
    category_spreads, category_base = term_categories, base_categories
    if category:
        _, category_spreads = store.spread(tenant_id, span_first.isoformat(), end.isoformat(), candidates, region=region or None)
        _, category_base = store.petition_spread(tenant_id, span_first.isoformat(), end.isoformat(), region=region or None)
    region_spreads, region_base = term_regions, base_regions
    if region:
        region_spreads, _ = store.spread(tenant_id, span_first.isoformat(), end.isoformat(), candidates, category=category or None)
        region_base, _ = store.petition_spread(tenant_id, span_first.isoformat(), end.isoformat(), category=category or None)

    # Trend bars from the first day with petitions (a whole-period window has only empty windows before it).
    series_first = max(span_first, date.fromisoformat(min(per_day_petitions))) if per_day_petitions else span_first
    scores, bursts = {}, {}
    for term in candidates:
        counts = by_window(daily[term])
        bursts[term] = burst(current[term], counts[1:])
        scores[term] = topic_score(current[term], term, [
            (category_spreads[term], category_base), (region_spreads[term], region_base),
            (Counter({k: n for k, n in enumerate(counts)}), time_base)]) * own_rarity(sum(counts), sum(window_petitions))

    def entry(term: str) -> dict:
        b = bursts[term]
        share = _mostly(term_regions[term], current[term])
        return {"term": shown(term), "count": current[term], "previous": by_window(daily[term])[1] if len(windows) > 1 else 0,
                "words": term.split(" "), "query": f'"{shown(term)}"' if " " in term else term, "score": round(scores[term], 1),
                "previous_mean": b["previous_mean"], "windows": b["windows"], "surprise": b["surprise"],
                "mostly_region": share, "series": series_bars(daily[term], series_first, end)}

    ranked = diverse(absorb(sorted(scores, key=lambda t: (-scores[t], t)), current, candidates, kept), current)
    tops = [entry(t) for t in ranked[:top]]
    telling = set(sorted(scores, key=lambda t: (-scores[t], t))[:RISING_AMONG])
    rising_terms = [t for t in telling if bursts[t]["rising"]]
    rising_terms.sort(key=lambda t: (-bursts[t]["surprise"], -scores[t], t))
    rising = []
    for term in diverse(absorb(rising_terms, current, candidates, kept), current):
        if term not in bursts or not bursts[term]["rising"]:
            continue
        row = entry(term)
        row["growth"] = round((row["count"] + 1) / (row["previous"] + 1), 2)
        rising.append(row)
        if len(rising) >= top:
            break
    previous_first, previous_last = windows[1]
    return {"window": {"from": first.isoformat(), "to": end.isoformat(), "days": days},
            "previous": {"from": previous_first.isoformat(), "to": previous_last.isoformat()},
            "history": {"from": span_first.isoformat(), "to": windows[1][1].isoformat(), "windows": PREVIOUS_WINDOWS,
                        "petitions": window_petitions[1:]},
            "filters": {"region": region or None, "category": category or None},
            "petitions": window_petitions[0], "top": tops, "rising": rising}


def _mostly(regions: Counter, count: int) -> dict | None:
    """The region most of a term's petitions come from (at least two thirds of them, and more than one petition)."""
    if not regions or count < 2:
        return None
    value, n = regions.most_common(1)[0]
    return {"value": value, "name": region_name(value)} if value and n >= 2 * count / 3 else None


def region_choices(values: list[str]) -> list[dict]:
    """What the region filter offers, in words: the regions petitions name and, for division codes, the prefectures
    and provinces above them (a filter by one counts the counties under it)."""
    from xinfang.forms.regions import path

    offered = set(values)
    for value in values:
        if value.isdigit():
            offered.update(path(value))
    return [{"value": v, "name": region_name(v)} for v in sorted(offered, key=lambda v: (not v.isdigit(), v))]


def region_name(value: str) -> str:
    """A region in words: the division's name for a GB/T 2260 code (the form's region field), else as written."""
    from xinfang.forms.regions import full_name

    return (full_name(value) if value.isdigit() else "") or value


MAX_DAYS = 3650  # the longest window (ten years): the whole period of a tenant's petitions, at most


async def whole_period(data_dir: Path, tenant_id: str, end: date) -> int:
    """The days from the tenant's earliest petition to ``end`` (at least 7, at most ``MAX_DAYS``): the window 全部."""
    first = await asyncio.to_thread(stores(data_dir).terms.first_day, tenant_id)
    days = (end - date.fromisoformat(first)).days + 1 if first else 7
    return min(MAX_DAYS, max(7, days))


async def frequent_words(data_dir: Path, tenant_id: str, *, days: int = 30, end: date | None = None, top: int = 30,
                         region: str | None = None, category: str | None = None) -> dict:
    end = end or datetime.now(CHINA).date()
    store = stores(data_dir).terms
    stops = await tenant_stop_words(tenant_id)  # counted when indexed, left out when shown: no rebuild needed
    words = await asyncio.to_thread(topics_of, store, tenant_id, end=end, days=days, top=top, region=region, category=category,
                                    tenant_stops=stops, tenant_words=await tenant_words(tenant_id))
    words["regions"] = region_choices(await asyncio.to_thread(store.regions, tenant_id))
    return words
