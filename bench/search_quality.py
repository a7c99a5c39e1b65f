"""Search quality on citizen text (issue 13, "Measure"): the labelled corpus in the platform's real index,
next to a plain substring scan in the same run.

    .venv/bin/python bench/search_quality.py                # the whole corpus (660 messages, 71 queries)
    .venv/bin/python bench/search_quality.py --size tiny    # the first 120 messages (what tests/test_benches.py runs)
    .venv/bin/python bench/make_search_corpus.py            # writes the corpus again (deterministic)

The corpus and labels are tests/data/search_corpus/ (written by bench/make_search_corpus.py: messages,
queries with their relevant messages, repeat pairs; every item is marked dev or held_out).

What it does, in this process, on a fresh temporary data directory (no store, no Redis):

* **Index**: one tenant's Whoosh index written as ``service.rebuild`` writes it (``TenantIndexDir``,
  ``writer_lock``, ``new_generation``, ``add_document`` of ``petition_fields``-shaped dicts, ``commit``,
  ``switch_to``), so analysis is the platform's own (jieba, domain words, stop words, normalise).
* **Queries** through ``service._search_sync`` (the function the API calls):
  - recall against the substring scan (of the raw query in title + text; goal 1.0 for word queries) and
    against the labels, for ours and for the scan;
  - precision@10 (relevant among the first 10 by relevance / min(10, relevant)); the scan ranks by
    occurrences, ties by id;
  - totals exactness: the reported total at page sizes 1, 5, 10, 20 against the exact number of documents
    the same parsed query matches (``searcher.docs_for_query``, the search's own semantics);
  - paging by relevance (page size 10, every page): documents shown twice, documents never shown.
* **Frequent words**: the indexer's own counting (``terms.petition_terms`` into a ``TermStore``) ranked by
  ``topics.topics_of`` (what ``topics.frequent_words`` calls, less the tenant's stop words from the store), next
  to the first release's ranking by count, over the whole corpus, the 30 days of the eight-person
  restaurant-fumes cluster, 365 days to the cluster's end (dev) and to the corpus's end (held out), every 30-day
  window (first year dev, second held out) and each category's 365 days; with the corpus's categories and
  without; every shown topic's search link against its count. Topic words: the corpus's topic vocabulary (a term
  holding one, or held in one, counts: coarse, read the printed top 30 too).
* **Repeat pairs**: ``duplicates.fingerprint`` + ``pair_score`` / ``is_likely_duplicate`` on the labelled
  pairs, and what the indexer's check finds (every message in received order through ``scored_candidates``
  against a ``FingerprintStore`` of the earlier ones), next to the baseline "same petitioner".
* **Matters** (同一事项): the groups the check forms (``clusters.matters_to_join`` as each message arrives), next to
  the first release's connected components of likely links (within 90 and 365 days, as the matters page drew them),
  against the corpus's labelled ``matter``: pairwise precision and recall, purity, completeness, groups mixing
  labelled matters or the corpus's topics (noise and fumes...), the longest group in days. An unlabelled message is a matter of its own, so one that names the
  same estate and issue in the same weeks as a labelled matter counts against purity (a ceiling, not noise).
* **Collective petitions**: matters of at least ``COLLECTIVE_MIN_PETITIONERS`` distinct petitioners (every message of
  one flagged) against the labelled matters written by that many people.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta
from pathlib import Path

from xinfang_search import clusters, duplicates
from xinfang_search.index import TenantIndexDir
from xinfang_search.querying import SearchRequest, _query, _search_sync
from xinfang_search.clusters import COLLECTIVE_MIN_PETITIONERS
from xinfang_search.analysis import words
from xinfang_search.terms import TermStore, petition_terms
from xinfang_search.topics import topics_of

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO / "tests" / "data" / "search_corpus"
TENANT = "bench-search-quality"
TENANTS = [(TENANT, "bench", {"zh": "基准", "en": "bench"})]
PAGE_SIZES = (1, 5, 10, 20)
SIZES = {"tiny": 120, "full": None}


def load(size: str) -> tuple[list[dict], list[dict], list[dict], dict]:
    messages = [json.loads(line) for line in (CORPUS / "messages.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]
    labels = json.loads((CORPUS / "queries.json").read_text(encoding="utf-8"))
    if SIZES[size]:
        messages = messages[:SIZES[size]]
    ids = {m["id"] for m in messages}
    queries = [dict(q, relevant=[i for i in q["relevant"] if i in ids]) for q in labels["queries"]]
    pairs = [p for p in labels["repeat_pairs"] if p["a"] in ids and p["b"] in ids]
    return messages, queries, pairs, labels["topic_words"]


def fields(message: dict, number: int) -> dict:
    """What ``service.petition_fields`` gives the index for a petition with these answers."""
    received = datetime.fromisoformat(message["received_on"]) + timedelta(hours=1)  # 09:00 China time, as UTC, naive
    return dict(id=message["id"], tenant_id=TENANT, number=f"XF{number:06d}", title=message["title"], text=message["text"],
                subject="", category=message["topic"], region=message["region"], channel="web", status="submitted",
                kind="petition", received=received)


def build_index(data_dir: Path, messages: list[dict]) -> float:
    index_dir = TenantIndexDir(data_dir, TENANT)
    started = time.perf_counter()
    with index_dir.writer_lock(wait=60):
        ix = index_dir.new_generation()
        writer = ix.writer(limitmb=256)
        for n, message in enumerate(messages, 1):
            writer.add_document(**fields(message, n))
        writer.commit()
        index_dir.switch_to(Path(ix.storage.folder))
    return time.perf_counter() - started


def search(data_dir: Path, q: str, page: int = 1, page_size: int = 10, synonyms: tuple = ()) -> dict:
    return _search_sync(data_dir, TENANTS, SearchRequest(q=q, page=page, page_size=page_size), {TENANT}, frozenset(), synonyms)


def exact_matches(searcher, q: str, synonyms: tuple = ()) -> set[str]:
    query = _query(searcher.schema, q, frozenset(), synonyms, searcher)
    return {searcher.stored_fields(n)["id"] for n in searcher.docs_for_query(query)}


def synonym_groups(queries: list[dict]) -> tuple[tuple[str, ...], ...]:
    """The tenant's synonym groups for the bench: the words each synonym query's label accepts (噪音/噪声, ...)."""
    return tuple(tuple(q["rule"]["any"]) for q in queries if q["kind"] == "synonym" and len(q["rule"].get("any", ())) > 1)


def substring_scan(messages: list[dict], q: str) -> list[str]:
    """The baseline: the query as typed, in title + text, ranked by occurrences then id."""
    counts = [(-(m["title"] + "\n" + m["text"]).count(q), m["id"]) for m in messages]
    return [i for c, i in sorted(counts) if c < 0]


def ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}" if b else "n/a"


def precision_at_10(ranked: list[str], relevant: set[str]) -> float | None:
    if not relevant:
        return None
    return len([i for i in ranked[:10] if i in relevant]) / min(10, len(relevant))


def mean(values) -> float:
    values = [v for v in values if v is not None]
    return statistics.fmean(values) if values else float("nan")


def run_queries(data_dir: Path, messages: list[dict], queries: list[dict]) -> list[dict]:
    searcher = TenantIndexDir(data_dir, TENANT).open().searcher()
    synonyms = synonym_groups(queries)
    rows = []
    for query in queries:
        q, relevant = query["q"], set(query["relevant"])
        found = exact_matches(searcher, q, synonyms)
        scan = substring_scan(messages, q)
        first = search(data_dir, q, 1, 10, synonyms)
        ranked = [h["id"] for h in first["items"]]
        totals = {size: search(data_dir, q, 1, size, synonyms)["total"] for size in PAGE_SIZES}
        shown: list[str] = []
        pages = max(1, -(-max(len(found), first["total"]) // 10))
        for page in range(1, min(pages, 1000) + 1):
            shown.extend(h["id"] for h in search(data_dir, q, page, 10, synonyms)["items"])
        rows.append(dict(query, found=found, scan=scan, ranked=ranked, totals=totals, exact=len(found), suggestion=first.get("suggestion"),
                         unmarked=sum(1 for h in first["items"] if not (h["highlights"]["title"] or h["highlights"]["text"])),
                         twice=len(shown) - len(set(shown)), never=len(found - set(shown)),
                         recall_scan=(len(found & set(scan)) / len(scan)) if scan else None,
                         recall_labels=(len(found & relevant) / len(relevant)) if relevant else None,
                         scan_recall_labels=(len(set(scan) & relevant) / len(relevant)) if relevant else None,
                         p10=precision_at_10(ranked, relevant), scan_p10=precision_at_10(scan, relevant)))
    searcher.close()
    return rows


def report_queries(rows: list[dict]) -> None:
    print("\n== queries: ours (the platform's index, the synonym queries' groups as the tenant's synonyms) next to the substring scan ==")
    print(f"{'kind':<26}{'n':>4}{'recall/scan':>13}{'recall ours':>13}{'recall scan':>13}{'ratio':>7}{'P@10 ours':>11}{'P@10 scan':>11}{'ratio':>7}{'zero hits':>11}")
    kinds = defaultdict(list)
    for row in rows:
        kinds[row["kind"]].append(row)
    for row in rows:
        kinds[f"{row['kind'][:18]} {'dev' if row['split'] == 'dev' else 'held'}"].append(row)
    for row in rows:
        kinds[f"all {row['split']}"].append(row)
    kinds["all"] = rows
    for kind, group in kinds.items():
        rs, rl, sl = mean(r["recall_scan"] for r in group), mean(r["recall_labels"] for r in group), mean(r["scan_recall_labels"] for r in group)
        p, sp = mean(r["p10"] for r in group), mean(r["scan_p10"] for r in group)
        zero = sum(1 for r in group if r["exact"] == 0 and r["relevant"])
        print(f"{kind:<26}{len(group):>4}{rs:>13.3f}{rl:>13.3f}{sl:>13.3f}{ratio(rl, sl):>7}{p:>11.3f}{sp:>11.3f}{ratio(p, sp):>7}{zero:>11}")
    every_found = sum(len(r["found"] & set(r["scan"])) for r in rows)
    every_scan = sum(len(r["scan"]) for r in rows)
    print(f"pooled: ours finds {every_found} of the {every_scan} (query, message) matches the substring scan finds "
          f"(ratio ours / baseline {ratio(every_found, every_scan)})")
    print("\nworst recall against the labels (query: ours found / relevant, scan found / relevant):")
    for row in sorted((r for r in rows if r["recall_labels"] is not None), key=lambda r: r["recall_labels"])[:15]:
        print(f"  {row['id']} [{row['kind']}] {row['q']}: {len(row['found'] & set(row['relevant']))}/{len(row['relevant'])}, "
              f"scan {len(set(row['scan']) & set(row['relevant']))}/{len(row['relevant'])}")

    print("\ndid you mean (您是不是要找), typo queries (query -> suggestion; right if it names the labelled place):")
    for row in rows:
        if row["kind"] == "typo in a place name":
            right = row["suggestion"] in [w for w in row["rule"].get("any", []) if w != row["q"]]
            print(f"  {row['id']} {row['split']} {row['q']} -> {row['suggestion']} ({'right' if right else 'wrong'})")
    wrongly = [r for r in rows if r["kind"] != "typo in a place name" and r["suggestion"]]
    print(f"suggestions on the other {sum(1 for r in rows if r['kind'] != 'typo in a place name')} queries: {len(wrongly)} "
          + " ".join(f"{r['q']}->{r['suggestion']}" for r in wrongly[:10]))
    print(f"first pages' hits with no highlight: {sum(r['unmarked'] for r in rows)} of {sum(len(r['ranked']) for r in rows)}")

    print("\nword and place queries missing what the substring scan finds (query: ours / scan):")
    for row in rows:
        if row["kind"] in ("word inside longer words", "place or name") and row["recall_scan"] is not None and row["recall_scan"] < 1:
            print(f"  {row['q']}: {len(row['found'] & set(row['scan']))}/{len(row['scan'])}", end="")
    print()

    print("\n== totals and paging (relevance, every page of 10) ==")
    wrong = [r for r in rows if any(t != r["exact"] for t in r["totals"].values())]
    unstable = [r for r in rows if len(set(r["totals"].values())) > 1]
    print(f"queries whose reported total is not the exact count at some page size: {len(wrong)} of {len(rows)} (goal 0)")
    print(f"queries whose total changes with the page size (1/5/10/20): {len(unstable)}")
    for row in wrong[:10]:
        print(f"  {row['q']}: exact {row['exact']}, reported " + ", ".join(f"{s}: {t}" for s, t in row["totals"].items()))
    twice, never = sum(r["twice"] for r in rows), sum(r["never"] for r in rows)
    print(f"paging: {twice} documents shown twice, {never} matching documents never shown, over {sum(r['exact'] for r in rows)} matches "
          f"({sum(1 for r in rows if r['twice'] or r['never'])} queries affected)")


def first_release_terms(title: str, text: str) -> list[str]:
    """What the first release counted of a petition (its words, no phrases, no topic stop list): the "before"."""
    seen: list[str] = []
    for word in words(f"{title}\n{text}"):
        if len(word) > 1 and not word.isdigit() and "某" not in word and word not in seen:
            seen.append(word)
    return seen


def frequent_words(data_dir: Path, messages: list[dict], topic_words: dict) -> None:
    """Topic precision of the top 30 (a term counts when it holds a labelled topic word or is held in one) and the
    rank of the fumes cluster's words: before (counts only) and after (``topics.topics_of`` on the indexer's
    ``TermStore``), with the corpus's categories and without any (a tenant whose petitions are not categorised).
    Windows: the whole corpus, the cluster's 30 days, and every 30-day window, the first year's called dev (what
    the constants were tuned on) and the second year's held out."""
    print("\n== frequent words (terms.petition_terms into a TermStore; before: counts; after: topics.topics_of) ==")
    vocabulary = {w for words_ in topic_words.values() for w in words_}

    def is_topic(term: str) -> bool:
        term = term.replace(" ", "")
        return len(term) >= 2 and any(word in term or term in word for word in vocabulary)

    started = time.perf_counter()
    rows = [(m["id"], TENANT, m["received_on"], m["region"], [m["topic"]], petition_terms(m["title"], m["text"])) for m in messages]
    counted = time.perf_counter() - started
    stores_ = {"after, with categories": TermStore(data_dir / "terms.sqlite3"),
               "after, no categories": TermStore(data_dir / "terms-uncategorised.sqlite3"),
               "before": TermStore(data_dir / "terms-before.sqlite3")}
    stores_["after, with categories"].put_many(rows)
    stores_["after, no categories"].put_many([(*r[:4], [], r[5]) for r in rows])
    stores_["before"].put_many([(m["id"], TENANT, m["received_on"], "", [], first_release_terms(m["title"], m["text"])) for m in messages])
    print(f"terms of {len(messages)} messages counted in {counted:.1f} s "
          f"({statistics.fmean(len(r[5]) for r in rows):.0f} terms a message, {sum(1 for r in rows for t in r[5] if ' ' in t) / len(rows):.0f} of them phrases)")

    def ranking(name: str, first: date, last: date) -> list[str]:
        store = stores_[name]
        if name == "before":
            counts = store.counts(TENANT, first.isoformat(), last.isoformat())
            return [t for t, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]
        found = topics_of(store, TENANT, end=last, days=(last - first).days + 1, top=300)
        return [t["term"] for t in found["top"]]

    days = sorted(date.fromisoformat(m["received_on"]) for m in messages)
    windows = [("whole corpus", days[0], days[-1])]
    cluster = sorted(m["received_on"] for m in messages if m["matter"] == "c01")
    if cluster:
        last = date.fromisoformat(cluster[-1])
        windows.append((f"30 days to {last} (the 8-person 湘味烧烤 fumes cluster)", last - timedelta(days=29), last))
        windows.append((f"365 days to {last} (dev)", last - timedelta(days=364), last))
    windows.append((f"365 days to {days[-1]} (held out)", days[-1] - timedelta(days=364), days[-1]))
    links = wrong = 0
    mismatched = []
    for title, first, last in windows:
        print(f"{title}: {stores_['before'].petitions(TENANT, first.isoformat(), last.isoformat())} messages")
        shown = topics_of(stores_["after, with categories"], TENANT, end=last, days=(last - first).days + 1, top=30)
        for topic in shown["top"] + shown["rising"]:  # what a topic's link finds: its count, else the page misleads
            request = SearchRequest(q=topic["query"], page=1, page_size=1, received_from=first, received_to=last)
            links += 1
            found = _search_sync(data_dir, TENANTS, request, {TENANT})["total"]
            if found != topic["count"]:
                wrong += 1
                mismatched.append(f"{topic['term']} {topic['count']} vs {found}")
        for name in stores_:
            ranked = ranking(name, first, last)
            tops = ranked[:30]
            topical = sum(1 for t in tops if is_topic(t))
            ranks = "  ".join(f"{w} {ranked.index(w) + 1 if w in ranked else '-'}" for w in ("油烟", "湘味烧烤", "梅溪湖畔小区"))
            print(f"  {name:<24} topic precision of the top 30 {topical / 30:.2f}; rank of {ranks}")
            print("    " + " ".join(f"{t.replace(' ', '')}{'*' if is_topic(t) else ''}" for t in tops))
    print(f"topics whose search link finds another number of petitions than the count shown: {wrong} of {links} (goal 0) "
          + " ".join(mismatched[:12]))
    by_category: dict[str, list[float]] = defaultdict(list)
    for split, last in (("dev", days[0] + timedelta(days=364)), ("held_out", days[-1])):
        for category in sorted({m["topic"] for m in messages}):  # one category's topics: its 365 days, the category's own words
            found = topics_of(stores_["after, with categories"], TENANT, end=last, days=365, top=30, category=category)["top"]
            if found:
                by_category[split].append(sum(1 for t in found if is_topic(t["term"])) / len(found))
            if category == "低保评定" and split == "dev":
                print(f"  category {category}, 365 days to {last}: " + " ".join(f"{t['term']}{'*' if is_topic(t['term']) else ''}" for t in found))
    print(f"one category's 365 days, mean topic precision of its top 30: dev {mean(by_category['dev']):.2f}, "
          f"held out {mean(by_category['held_out']):.2f} ({len(by_category['dev'])} categories)")
    month_precision: dict[tuple[str, str], list[float]] = defaultdict(list)
    year_two = days[0] + timedelta(days=365)
    last = days[-1]
    while last - timedelta(days=29) >= days[0]:
        split = "dev" if last < year_two else "held_out"
        for name in stores_:
            tops = ranking(name, last - timedelta(days=29), last)[:30]
            if tops:
                month_precision[(name, split)].append(sum(1 for t in tops if is_topic(t)) / len(tops))
        last -= timedelta(days=30)
    print("every 30-day window, mean topic precision of its top 30 (dev: the first year; held out: the second):")
    for name in stores_:
        print(f"  {name:<24} dev {mean(month_precision[(name, 'dev')]):.2f} ({len(month_precision[(name, 'dev')])} windows), "
              f"held out {mean(month_precision[(name, 'held_out')]):.2f} ({len(month_precision[(name, 'held_out')])} windows)")
    for store in stores_.values():
        store.close()


def fingerprint(message: dict) -> duplicates.Fingerprint:
    """As ``service._fingerprint_of`` makes it (no subject: citizens' messages name none)."""
    return duplicates.fingerprint(petition_id=message["id"], tenant_id=TENANT, title=message["title"], content=message["text"],
                                  subject_name=None, petitioner=message["petitioner"], created=message["received_on"], region=message["region"])


def duplicate_check(data_dir: Path, messages: list[dict]) -> tuple[dict[str, set[str]], list[tuple[str, str]], dict[str, duplicates.Fingerprint]]:
    """The indexer's check, message by message in received order (``repeats.check_new_petitions`` with its store
    rows kept in memory): each message's likely duplicates among the earlier ones (``scored_candidates`` +
    ``is_likely_duplicate``), and the link through which it joined a matter (``clusters.matters_to_join``)."""
    store = duplicates.FingerprintStore(data_dir / "fingerprints.sqlite3")
    likely: dict[str, set[str]] = {}
    joins: list[tuple[str, str]] = []
    matter_of: dict[str, set[str]] = {}
    prints: dict[str, duplicates.Fingerprint] = {}
    for message in sorted(messages, key=lambda m: (m["received_on"], m["id"])):
        fp = fingerprint(message)
        prints[fp.petition_id] = fp
        scored = duplicates.scored_candidates(store, fp, [TENANT])
        likely[message["id"]] = {other.petition_id for other, score, _, _ in scored if duplicates.is_likely_duplicate(score)}
        joined = clusters.matters_to_join(fp, [(other, score) for other, score, _, _ in scored],
                                          lambda pid: [prints[m] for m in matter_of.get(pid, {pid})])
        members = {fp.petition_id}
        for other in joined:
            joins.append((fp.petition_id, other))
            members |= matter_of.get(other, {other})
        for pid in members:
            matter_of[pid] = members
        store.put(fp)
    store.close()
    return likely, joins, prints


def chained_groups(likely: dict[str, set[str]], prints: dict[str, duplicates.Fingerprint], window_days: int) -> list[set[str]]:
    """The first release's matters ("before"): connected components of every likely link at most ``window_days`` apart."""
    edges = [(a, b) for a, found in likely.items() for b in found
             if (duplicates.days_apart(prints[a].created, prints[b].created) or 0) <= window_days]
    return clusters.components(edges)


def group_quality(messages: list[dict], groups: list[set[str]]) -> dict:
    """Groups (two or more petitions) against the labelled matters: pairwise precision and recall (two petitions in
    one group, two of one matter), purity (of each group's petitions, the share of its commonest matter; an
    unlabelled message is a matter of its own) and completeness (of each matter's petitions, the share in its
    largest group), groups mixing matters, and the longest span of a group in days."""
    label = {m["id"]: m["matter"] or m["id"] for m in messages}
    received = {m["id"]: m["received_on"] for m in messages}
    groups = [g for g in groups if len(g) >= 2]
    grouped = {pid: n for n, g in enumerate(groups) for pid in g}
    said = sum(len(g) * (len(g) - 1) // 2 for g in groups)
    right = sum(n * (n - 1) // 2 for g in groups for n in Counter(label[p] for p in g).values())
    matters: dict[str, list[str]] = defaultdict(list)
    for m in messages:
        if m["matter"]:
            matters[m["matter"]].append(m["id"])
    truth = sum(len(v) * (len(v) - 1) // 2 for v in matters.values())
    in_groups = sum(len(g) for g in groups)
    purity = sum(max(Counter(label[p] for p in g).values()) for g in groups) / in_groups if in_groups else float("nan")
    complete = sum(max(Counter(grouped.get(p, p) for p in ids).values()) for ids in matters.values()) / sum(len(v) for v in matters.values())
    mixed = sum(1 for g in groups if len({label[p] for p in g if label[p] in matters}) > 1)
    topic = {m["id"]: m["topic"] for m in messages}
    topics = sum(1 for g in groups if len({topic[p] for p in g}) > 1)
    span = max((duplicates.days_apart(min(received[p] for p in g), max(received[p] for p in g)) or 0 for g in groups), default=0)
    return {"groups": len(groups), "pairs P": right / said if said else float("nan"), "pairs R": right / truth if truth else float("nan"),
            "purity": purity, "completeness": complete, "mixing matters": mixed, "mixing topics": topics, "longest days": span}


def matters_report(messages: list[dict], likely: dict[str, set[str]], joins: list[tuple[str, str]],
                   prints: dict[str, duplicates.Fingerprint]) -> set[str]:
    """Groups before (connected likely links within 90 and 365 days, as the matters page drew them) and after
    (``clusters.matters_to_join``'s matters); returns the messages flagged collective (a matter of at least
    COLLECTIVE_MIN_PETITIONERS people flags every petition of it)."""
    print("\n== matters (同一事项) against the labelled matters ==")
    after = clusters.components(joins)
    rows = {"before: chained links, 90 days": chained_groups(likely, prints, 90),
            "before: chained links, 365 days": chained_groups(likely, prints, 365),
            "after: matters_to_join": after}
    print(f"{'grouping':<34}{'groups':>7}{'pairs P':>9}{'pairs R':>9}{'purity':>8}{'complete':>10}{'mixing':>8}{'topics':>8}{'longest':>9}")
    for name, groups in rows.items():
        q = group_quality(messages, groups)
        print(f"{name:<34}{q['groups']:>7}{q['pairs P']:>9.2f}{q['pairs R']:>9.2f}{q['purity']:>8.2f}{q['completeness']:>10.2f}"
              f"{q['mixing matters']:>8}{q['mixing topics']:>8}{q['longest days']:>8}d")
    return {pid for g in after if clusters.is_collective(clusters.distinct_petitioners(prints[p].petitioner for p in g)) for pid in g}


def group_truth(group: list[dict], kind: str) -> bool:
    """Whether the pairs of this kind are true repeats (a kind is all true or all false)."""
    return any(p["repeat"] for p in group if p["kind"] == kind)


def collective_report(messages: list[dict], collective: set[str]) -> None:
    print(f"\n== collective petitions (>= {COLLECTIVE_MIN_PETITIONERS} petitioners on one matter; the indexer's rule) ==")
    people: dict[str, set[str]] = defaultdict(set)
    for m in messages:
        if m["matter"]:
            people[m["matter"]].add(m["petitioner"])
    truly = {k for k, v in people.items() if len(v) >= COLLECTIVE_MIN_PETITIONERS}
    flagged_matters = {m["matter"] for m in messages if m["id"] in collective and m["matter"]}
    wrong = [m["id"] for m in messages if m["id"] in collective and m["matter"] not in truly]
    print(f"matters written by >= {COLLECTIVE_MIN_PETITIONERS} people: {len(truly)} ({', '.join(f'{k}: {len(people[k])}' for k in sorted(truly))}); "
          f"flagged: {len(truly & flagged_matters)} of {len(truly)}; messages flagged outside them: {len(wrong)}")


def repeat_pairs(messages: list[dict], pairs: list[dict], likely: dict[str, set[str]]) -> None:
    print("\n== repeat pairs (duplicates.fingerprint + pair_score; 'check' = found by the indexer's candidate lookup) "
          "next to the baseline 'same petitioner' ==")
    by_id = {m["id"]: m for m in messages}
    prints = {}

    def fp(message):
        if message["id"] not in prints:
            prints[message["id"]] = fingerprint(message)
        return prints[message["id"]]

    print(f"{'split':<10}{'pairs':>6}{'true':>6}{'P ours':>8}{'R ours':>8}{'P check':>9}{'R check':>9}{'P base':>8}{'R base':>8}"
          f"{'median score true':>19}{'reworded by others found':>26}")
    for split in ("dev", "held_out", "all"):
        group = [p for p in pairs if split == "all" or p["split"] == split]
        if not group:
            continue
        ours, check, base, true_scores, others = [], [], [], [], []
        for pair in group:
            a, b = by_id[pair["a"]], by_id[pair["b"]]
            score, _, _ = duplicates.pair_score(fp(b), fp(a))
            ours.append((duplicates.is_likely_duplicate(score), pair["repeat"]))
            base.append((a["petitioner"] == b["petitioner"], pair["repeat"]))
            check.append((a["id"] in likely.get(b["id"], ()) or b["id"] in likely.get(a["id"], ()), pair["repeat"]))
            if pair["repeat"]:
                true_scores.append(score)
                if pair["kind"] != "same person reworded":
                    others.append(duplicates.is_likely_duplicate(score))

        def pr(results):
            tp = sum(1 for said, truth in results if said and truth)
            said, truth = sum(1 for s, _ in results if s), sum(1 for _, t in results if t)
            return (tp / said if said else float("nan")), (tp / truth if truth else float("nan"))

        (po, ro), (pc, rc), (pb, rb) = pr(ours), pr(check), pr(base)
        median = statistics.median(true_scores) if true_scores else float("nan")
        print(f"{split:<10}{len(group):>6}{sum(1 for p in group if p['repeat']):>6}{po:>8.2f}{ro:>8.2f}{pc:>9.2f}{rc:>9.2f}{pb:>8.2f}{rb:>8.2f}{median:>19.2f}"
              f"{f'{sum(others)}/{len(others)}':>26}")
        kinds: dict[str, list[bool]] = defaultdict(list)
        for pair, (said, _) in zip(group, ours):
            kinds[pair["kind"]].append(said)
        print(" " * 10 + "  ".join(f"{kind}: {'found' if group_truth(group, kind) else 'linked'} {sum(v)}/{len(v)}"
                                   for kind, v in sorted(kinds.items())))

    # Every likely link the check made, not only the labelled pairs: a message linked to another of its matter, or
    # to one of another (the corpus's matters on one topic at one place are often worded alike: a ceiling, not noise).
    links = [(a, b) for a, found in likely.items() for b in found]
    same = sum(1 for a, b in links if by_id[a]["matter"] and by_id[a]["matter"] == by_id[b]["matter"])
    alike = sum(1 for a, b in links if by_id[a]["topic"] == by_id[b]["topic"])
    print(f"likely links made by the check over the whole corpus: {len(links)}; within one matter {same} ({ratio(same, len(links))}), "
          f"between matters of one topic {alike - same}, between topics {len(links) - alike}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", choices=sorted(SIZES), default="full")
    args = parser.parse_args()
    messages, queries, pairs, topic_words = load(args.size)
    with tempfile.TemporaryDirectory(prefix="xinfang-search-quality-") as tmp:
        data_dir = Path(tmp)
        seconds = build_index(data_dir, messages)
        print(f"search quality (issue 13), size {args.size}: {len(messages)} messages indexed in {seconds:.1f} s, "
              f"{len(queries)} queries ({sum(1 for q in queries if q['split'] == 'dev')} dev, "
              f"{sum(1 for q in queries if q['split'] == 'held_out')} held out), {len(pairs)} repeat pairs")
        started = time.perf_counter()
        rows = run_queries(data_dir, messages, queries)
        print(f"queries run in {time.perf_counter() - started:.1f} s")
        report_queries(rows)
        frequent_words(data_dir, messages, topic_words)
        likely, joins, prints = duplicate_check(data_dir, messages)
        repeat_pairs(messages, pairs, likely)
        collective = matters_report(messages, likely, joins, prints)
        collective_report(messages, collective)
    return 0


if __name__ == "__main__":
    sys.exit(main())
