"""Likely duplicates and repeat petitions (判重, 重信重访): fingerprints, candidates, scores.

A petition's fingerprint holds what identifies its matter without keeping who
sent it: the petitioner's keyed hash (petitions.service.petitioner_key), the
subject in a normal form (县第五初级中学 and 县五中 are both "5初中"/"5中", which
``subject_relation`` treats as the same school, while 第一 and 第二 conflict), its
32 strongest words weighted by TF-IDF (jieba's IDF table), a MinHash signature
(datasketch) of its 16 strongest words for LSH, the places it names
(matter_places: 梅溪湖畔小区, 湘味烧烤店), the issues it raises (matter_issues:
fumes, fees, wages ...), its region, received date and state.

Candidates come from the lookups of the fingerprint store (SQLite, on the
indexer's disk beside the indexes): the same petitioner, the same subject, LSH
bands over the keyword signature, and around the received date each place named
and each issue raised in the region. Each is scored with ``pair_score``: the
cosine of the weighted words, more when the subject is the same or the petitioner
is, much less when the subjects conflict (the same complaint about another school
is another matter). Citizens' messages name no subject: there the place stands for
it (more for the same place and issue within MATTER_WINDOW_DAYS, less for another
place of the same kind, less for words with no anchor at all). The subject weights
and the threshold were chosen on tests/data/duplicates/pairs.dev.jsonl, the place
weights on the dev pairs of tests/data/search_corpus; bench/duplicates_quality.py
and bench/search_quality.py print the held-out figures too.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import struct
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cache, lru_cache

import numpy as np
from datasketch import MinHash

from .analysis import fold, normalise, words
from .matter_issues import issues
from .matter_places import place_keys, place_relation, places
from .sidestore import SideStore

NUM_PERM = 64
BANDS, ROWS = 16, 4  # LSH over the keyword signature: keyword sets above ~0.5 Jaccard share a band
KEYWORDS = 16  # words in the LSH signature
VECTOR_TERMS = 32  # weighted words kept for scoring
SHOW_SCORE = 0.30  # candidates at or above this are shown to staff, with their reasons
# Chosen on pairs.dev.jsonl only (bench/duplicates_quality.py --sweep): the middle of the settings tied best there.
LIKELY_SCORE = 0.50
SAME_SUBJECT_BONUS = 0.20
SAME_PETITIONER_BONUS = 0.10
SUBJECT_CONFLICT_PENALTY = 0.50
# Citizens name no subject but the place (estate, school, company, village): the same place is the same matter's
# strongest sign across people and wordings, another place of the same kind the other matter's (matter_places).
# Chosen on the dev pairs of tests/data/search_corpus (bench/search_quality.py).
SAME_PLACE_BONUS = 0.30
PLACE_CONFLICT_PENALTY = 0.30
# Citizens' messages of one topic share whole stock sentences (我们已经打了12345好几次...): with neither a subject nor
# a shared place the words alone must be closer.
UNANCHORED_PENALTY = 0.25
# Other people naming the same place and issue within this many days are on one matter (a cluster, 集体访);
# the same place a year later is as often a new occurrence, so beyond it the place adds nothing.
MATTER_WINDOW_DAYS = 90
# ... and only when they say the same is wrong there: at one company, unpaid wages and dumped sewage are two matters.
SAME_ISSUE_SIMILARITY = 0.30  # without an issue the lexicon knows: the cosine of the words that are not place names
PLACE_CANDIDATES = 50  # the most recent petitions per place key looked up
CANDIDATE_LIMIT = 200
# A band shared by more petitions than this says little (a frequent word was the minimum of all its
# rows): looking it up costs the tail of the check and finds nothing the other lookups would miss.
HUB_BAND_SIZE = 1000
_SEED = 20261127


@cache
def _idf() -> tuple[dict[str, float], float]:
    import jieba.analyse

    table = jieba.analyse.default_tfidf
    return table.idf_freq, table.median_idf


def weighted_terms(tokens: list[str], k: int = VECTOR_TERMS) -> dict[str, float]:
    """The k words that carry the matter, TF-IDF weighted; placeholders such as 某某 and single characters carry nothing."""
    idf, median = _idf()
    counts = Counter(t for t in tokens if len(t) > 1 and "某" not in t)
    weights = {w: (1 + math.log(n)) * idf.get(w, median) for w, n in counts.items()}
    return dict(sorted(weights.items(), key=lambda kv: (-kv[1], kv[0]))[:k])


def cosine(a: dict[str, float], b: dict[str, float]) -> float:
    dot = sum(a[w] * b[w] for w in a.keys() & b.keys())
    norms = math.sqrt(sum(x * x for x in a.values())) * math.sqrt(sum(x * x for x in b.values()))
    return dot / norms if norms else 0.0


_NUMERALS = {"零": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_UNIT = re.compile("[校学局会院所中小委办站厂司部科园]")
_SHORTER = (("初级中学", "初中"), ("高级中学", "高中"), ("中学", "中"), ("小学", "小"), ("学校", "校"), ("幼儿园", "园"),
            ("老师", ""), ("校长", ""), ("某某", ""), ("某", ""))


def _arabic(text: str) -> str:
    def convert(match):
        digits = match.group(0)
        if "十" not in digits:
            return "".join(str(_NUMERALS[d]) for d in digits)
        tens, _, ones = digits.partition("十")
        return str((_NUMERALS.get(tens, 1) if tens else 1) * 10 + (_NUMERALS.get(ones, 0) if ones else 0))
    return re.sub("[零一二两三四五六七八九十]+", convert, text)


def subject_key(name: str | None) -> str | None:
    """A subject in a normal form: 县第五初级中学 -> 5初中, 县二中 -> 2中, 包老师 -> 包 (None when empty)."""
    text = "".join(normalise(name or "").split()).lower()
    for long, short in _SHORTER:
        text = text.replace(long, short)
    # The place stays (泗阳县第五中学 -> 泗阳5中, not the same school as 沭阳's); a bare 县 says nothing.
    text = _arabic(text).replace("第", "").replace("县", "")
    return text or None


def subject_core(subject: str | None) -> str | None:
    """What abbreviations keep of a subject: 5初中 and 5中 are both "5中" (县五中 is usually 县第五中学 or 县第五初级中学)."""
    if not subject:
        return None
    return re.sub("[初高级]", "", subject) or subject


def _in_order(short: str, long: str) -> bool:
    rest = iter(long)
    return all(ch in rest for ch in short)


def subject_relation(a: str | None, b: str | None) -> str:
    """same | conflict | unknown, between two normalised subjects. An abbreviation is the same school;
    other numbers (第一/第二) or another name of the same kind (two schools, two people) conflict."""
    if not a or not b:
        return "unknown"
    if a == b:
        return "same"
    if _in_order(a, b) or _in_order(b, a):
        numbers_a, numbers_b = re.findall(r"\d+", a), re.findall(r"\d+", b)
        return "conflict" if numbers_a and numbers_b and numbers_a != numbers_b else "same"
    if bool(_UNIT.search(a)) == bool(_UNIT.search(b)):
        return "conflict"
    return "unknown"  # a person and a unit: perhaps a teacher of that school


@cache
def _minhash_blank() -> MinHash:
    return MinHash(num_perm=NUM_PERM, seed=_SEED)


def _minhash(items) -> np.ndarray:
    # The permutations drawn once per process: the same seed draws the same ones, and drawing them (a NumPy
    # RandomState seeded each time) was a fifth of a fingerprint's CPU.
    blank = _minhash_blank()
    signature = MinHash(num_perm=NUM_PERM, seed=_SEED, permutations=blank.permutations, scheme=blank.scheme)
    signature.update_batch([item.encode("utf-8") for item in items] or [b"\x00empty"])
    return signature.hashvalues.astype(np.uint64)


@dataclass
class Fingerprint:
    petition_id: str
    tenant_id: str
    number: str = ""
    title: str = ""
    created: str = ""
    petitioner: str | None = None
    subject: str | None = None  # subject_key(...)
    terms: dict[str, float] = field(default_factory=dict, repr=False)
    places: list[tuple[str, str]] = field(default_factory=list)  # matter_places.places(title + text)
    issues: frozenset[str] = frozenset()  # matter_issues.issues(title + text)
    region: str = ""  # the region the petition was filed for (its form's region answer)
    state: str = ""  # the petition's state, for the existence-only rows of other tenants (全系统判重)
    keyword_sig: np.ndarray = field(default=None, repr=False)

    def band_keys(self) -> list[int]:
        keys = []
        for band in range(BANDS):
            chunk = self.keyword_sig[band * ROWS:(band + 1) * ROWS].tobytes()
            keys.append(struct.unpack(">q", hashlib.blake2b(bytes([band]) + chunk, digest_size=8).digest())[0])
        return keys


def fingerprint(*, petition_id: str, tenant_id: str, title: str, content: str, subject_name: str | None,
                petitioner: str | None, number: str = "", created: str = "", tenant_words=frozenset(), state: str = "",
                region: str = "") -> Fingerprint:
    terms = weighted_terms(words(f"{title}\n{content}", frozenset(tenant_words)))
    # Numbers (years, amounts) stay in the weighted terms but not in the LSH signature: "2025" in
    # a hundred thousand petitions would put them all in one band.
    keywords = [t for t in terms if not any(ch.isdigit() for ch in t)][:KEYWORDS]
    named = places(f"{title}。{content}")
    return Fingerprint(petition_id=petition_id, tenant_id=tenant_id, number=number, title=title[:200], created=created,
                       petitioner=petitioner, subject=subject_key(subject_name), terms=terms, keyword_sig=_minhash(keywords),
                       places=named, issues=issues(_without(f"{title}。{content}", named)), state=state,
                       region=(region or "").strip())


def _without(text: str, named: list[tuple[str, str]]) -> str:
    """The text less the places' names: 恒盛物业公司 names a company, it raises no property issue."""
    text = fold(text)
    for _, name in sorted(named, key=lambda kn: -len(kn[1])):
        text = text.replace(name, "，")
    return text


def pair_score(new: Fingerprint, old: Fingerprint) -> tuple[float, float, list[str]]:
    """(score 0..1, text similarity 0..1, reasons) of ``old`` being the same matter as ``new``."""
    similarity = cosine(new.terms, old.terms)
    score, reasons = similarity, []
    if new.petitioner and new.petitioner == old.petitioner:
        reasons.append("same_petitioner")
        score += SAME_PETITIONER_BONUS
    relation = subject_relation(new.subject, old.subject)
    if relation == "same":
        reasons.append("same_subject")
        score += SAME_SUBJECT_BONUS
    elif relation == "conflict":
        score -= SUBJECT_CONFLICT_PENALTY  # the same complaint about another school or person is another matter
    else:  # no subject to go by (citizens' messages): the place they name stands for it
        where, _ = place_relation(new.places, old.places)
        apart = days_apart(new.created, old.created)
        near = apart is None or apart <= MATTER_WINDOW_DAYS
        elsewhere = bool(new.region and old.region and new.region != old.region)  # filed for two regions
        if where == "same" and near and not elsewhere and same_issue(new, old):
            reasons.append("same_place")
            score += SAME_PLACE_BONUS
        elif where == "conflict":
            score -= PLACE_CONFLICT_PENALTY
        elif where == "unknown" and not (new.places and old.places) and new.region and new.region == old.region and near \
                and new.issues & old.issues:
            pass  # one names no place: the same region and issue within the window stand in for it, the words decide
        elif not new.subject and not old.subject and "same_petitioner" not in reasons:
            score -= UNANCHORED_PENALTY  # no subject, no shared place, nobody in common: the words alone must say more
    if similarity >= SHOW_SCORE:
        reasons.append("similar_text")
    return max(0.0, min(1.0, score)), similarity, reasons


def same_issue(new: Fingerprint, old: Fingerprint) -> bool:
    """Whether the two raise one issue (matter_issues); when either raises none the lexicon knows, whether the
    words that are not the places' names are alike."""
    if new.issues and old.issues:
        return bool(new.issues & old.issues)
    return issue_similarity(new, old) >= SAME_ISSUE_SIMILARITY


def issue_similarity(new: Fingerprint, old: Fingerprint) -> float:
    """The cosine of the words that are not the places' names: what is wrong there (油烟, 拖欠工资), not where."""
    names = [name for _, name in new.places + old.places]
    # One search in the names joined by a character no word holds, instead of one per name (the same answer; the
    # check ran for every word of both petitions for each candidate pair).
    joined = "\x00".join(names)

    def named(w: str) -> bool:
        return (w in joined) if w and "\x00" not in w else any(w in name for name in names)

    def issue(terms):
        return {w: x for w, x in terms.items() if not named(w)}
    return cosine(issue(new.terms), issue(old.terms))


def days_apart(a: str, b: str) -> int | None:
    """Days between two received times (ISO dates or datetimes); None when either is unknown."""
    try:
        return abs((datetime.fromisoformat(a[:10]) - datetime.fromisoformat(b[:10])).days)
    except (TypeError, ValueError):
        return None


def is_likely_duplicate(score: float) -> bool:
    return score >= LIKELY_SCORE


class FingerprintStore(SideStore):
    """Fingerprints of every petition, platform-wide (hierarchies cross tenants), in one SQLite file.

    Written only by the indexer (one writer); an exact-key or band lookup is an indexed
    SQLite query, whatever the number of petitions.
    """

    SCHEMA = """
            CREATE TABLE IF NOT EXISTS docs (pid TEXT PRIMARY KEY, tenant TEXT NOT NULL, number TEXT, title TEXT, created TEXT,
                                             petitioner TEXT, subject TEXT, subject_core TEXT, terms TEXT NOT NULL);
            CREATE INDEX IF NOT EXISTS docs_petitioner ON docs(petitioner) WHERE petitioner IS NOT NULL;
            CREATE INDEX IF NOT EXISTS docs_subject_core ON docs(subject_core) WHERE subject_core IS NOT NULL;
            CREATE TABLE IF NOT EXISTS bands (key INTEGER NOT NULL, pid TEXT NOT NULL);
            CREATE INDEX IF NOT EXISTS bands_key ON bands(key);
            CREATE INDEX IF NOT EXISTS bands_pid ON bands(pid);
            CREATE TABLE IF NOT EXISTS places (key TEXT NOT NULL, created TEXT NOT NULL, pid TEXT NOT NULL);
            CREATE INDEX IF NOT EXISTS places_key ON places(key, created);
            CREATE INDEX IF NOT EXISTS places_pid ON places(pid);
    """
    # Columns added after the first stores were written (a store is derived data: added in place, filled as
    # petitions are indexed again or by ``xinfang search rebuild``).
    ADDED_COLUMNS = {"places": "TEXT", "state": "TEXT", "issues": "TEXT", "region": "TEXT"}

    def __init__(self, path):
        super().__init__(path)
        present = {row[1] for row in self._db.execute("PRAGMA table_info(docs)")}
        for name, kind in self.ADDED_COLUMNS.items():
            if name not in present:
                self._db.execute(f"ALTER TABLE docs ADD COLUMN {name} {kind}")

    def count(self, tenant_id: str | None = None) -> int:
        query, args = ("SELECT COUNT(*) FROM docs WHERE tenant = ?", (tenant_id,)) if tenant_id else ("SELECT COUNT(*) FROM docs", ())
        return self._db.execute(query, args).fetchone()[0]

    def petitioner_of(self, petition_id: str) -> str | None:
        row = self._db.execute("SELECT petitioner FROM docs WHERE pid = ?", (petition_id,)).fetchone()
        return row[0] if row else None

    def get(self, petition_id: str) -> Fingerprint | None:
        rows = self._db.execute(f"SELECT {_COLUMNS} FROM docs WHERE pid = ?", (petition_id,)).fetchall()
        return _row_fingerprint(rows[0]) if rows else None

    def get_many(self, petition_ids: list[str]) -> dict[str, Fingerprint]:
        found = {}
        for start in range(0, len(petition_ids), 500):
            chunk = petition_ids[start:start + 500]
            for row in self._db.execute(f"SELECT {_COLUMNS} FROM docs WHERE pid IN ({','.join('?' * len(chunk))})", chunk):
                found[row[0]] = _row_fingerprint(row)
        return found

    def contains(self, petition_id: str) -> bool:
        return self._db.execute("SELECT 1 FROM docs WHERE pid = ?", (petition_id,)).fetchone() is not None

    def put(self, fp: Fingerprint) -> None:
        self.put_many([fp])

    def put_many(self, fps: list[Fingerprint]) -> None:
        with self.transaction():
            for fp in fps:
                self._put(fp)

    def _put(self, fp: Fingerprint) -> None:
        self._db.execute("DELETE FROM bands WHERE pid = ?", (fp.petition_id,))
        self._db.execute("DELETE FROM places WHERE pid = ?", (fp.petition_id,))
        self._db.execute("INSERT OR REPLACE INTO docs (pid, tenant, number, title, created, petitioner, subject, subject_core, terms, places, state, issues, region) "
                         "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                         (fp.petition_id, fp.tenant_id, fp.number, fp.title, fp.created, fp.petitioner, fp.subject, subject_core(fp.subject),
                          json.dumps({w: round(x, 3) for w, x in fp.terms.items()}, ensure_ascii=False),
                          json.dumps(fp.places, ensure_ascii=False), fp.state, " ".join(sorted(fp.issues)), fp.region))
        self._db.executemany("INSERT INTO bands VALUES (?, ?)", [(key, fp.petition_id) for key in fp.band_keys()])
        self._db.executemany("INSERT INTO places VALUES (?, ?, ?)", [(key, fp.created or "", fp.petition_id) for key in lookup_keys(fp)])

    def remove(self, petition_id: str) -> None:
        with self.transaction():
            self._db.execute("DELETE FROM bands WHERE pid = ?", (petition_id,))
            self._db.execute("DELETE FROM places WHERE pid = ?", (petition_id,))
            self._db.execute("DELETE FROM docs WHERE pid = ?", (petition_id,))

    def remove_tenant(self, tenant_id: str) -> None:
        with self.transaction():
            self._db.execute("DELETE FROM bands WHERE pid IN (SELECT pid FROM docs WHERE tenant = ?)", (tenant_id,))
            self._db.execute("DELETE FROM places WHERE pid IN (SELECT pid FROM docs WHERE tenant = ?)", (tenant_id,))
            self._db.execute("DELETE FROM docs WHERE tenant = ?", (tenant_id,))

    def keep_only(self, tenant_id: str, petition_ids: set[str]) -> None:
        """After a rebuild fingerprinted every petition again in place: the tenant's others are gone."""
        with self.transaction():
            gone = [row[0] for row in self._db.execute("SELECT pid FROM docs WHERE tenant = ?", (tenant_id,)) if row[0] not in petition_ids]
            for pid in gone:
                self._db.execute("DELETE FROM bands WHERE pid = ?", (pid,))
                self._db.execute("DELETE FROM places WHERE pid = ?", (pid,))
                self._db.execute("DELETE FROM docs WHERE pid = ?", (pid,))

    def _useful_bands(self, keys: list[int]) -> list[int]:
        """The band keys shared by at most HUB_BAND_SIZE petitions (an index-only count per key)."""
        counts = dict(self._db.execute(
            f"SELECT key, COUNT(*) FROM bands WHERE key IN ({','.join('?' * len(keys))}) GROUP BY key", keys).fetchall())
        return [k for k in keys if counts.get(k, 0) <= HUB_BAND_SIZE]

    def candidates(self, fp: Fingerprint, tenant_ids: list[str], *, outside: bool = False) -> list[Fingerprint]:
        """Fingerprints in these tenants (``outside``: in every other tenant) that share the petitioner, the
        subject, a keyword band or, within MATTER_WINDOW_DAYS, a place or an issue in its region (lookup_keys; the most
        recent PLACE_CANDIDATES of each)."""
        marks = ",".join("?" * len(tenant_ids))
        keys = self._useful_bands(fp.band_keys())
        places_sql, places_args = self._place_lookup(fp)
        rows = self._db.execute(
            f"""SELECT {_COLUMNS} FROM docs
                WHERE tenant {"NOT IN" if outside else "IN"} ({marks}) AND pid != ? AND pid IN (
                    SELECT pid FROM bands WHERE key IN ({",".join("?" * len(keys))})
                    UNION SELECT pid FROM docs WHERE petitioner = ? UNION SELECT pid FROM docs WHERE subject_core = ?{places_sql})
                ORDER BY created DESC LIMIT {CANDIDATE_LIMIT}""",
            (*tenant_ids, fp.petition_id, *keys, fp.petitioner, subject_core(fp.subject), *places_args)).fetchall()
        return [_row_fingerprint(r) for r in rows]

    @staticmethod
    def _place_lookup(fp: Fingerprint) -> tuple[str, list]:
        """UNION branches finding the petitions that name one of fp's places around its received date."""
        keys = lookup_keys(fp)
        if not keys:
            return "", []
        try:
            day = date.fromisoformat(fp.created[:10])
            low, high = (day - timedelta(days=MATTER_WINDOW_DAYS)).isoformat(), (day + timedelta(days=MATTER_WINDOW_DAYS + 1)).isoformat()
        except ValueError:
            low, high = "", "9999"
        branch = " UNION SELECT pid FROM (SELECT pid FROM places WHERE key = ? AND created >= ? AND created < ? ORDER BY created DESC LIMIT ?)"
        return branch * len(keys), [arg for key in keys for arg in (key, low, high, PLACE_CANDIDATES)]


def lookup_keys(fp: Fingerprint) -> list[str]:
    """The keys the store finds a petition by around its received date: each place it names, and each issue it
    raises in its region (a message naming no place is found by the others of its region and issue)."""
    return place_keys(fp.places) + ([f"issue:{fp.region}:{issue}" for issue in sorted(fp.issues)] if fp.region else [])


_COLUMNS = "pid, tenant, number, title, created, petitioner, subject, terms, places, state, issues, region"


def _row_fingerprint(r) -> Fingerprint:
    # Each petition is a candidate of many later ones (about 19 rows read per petition indexed on the indexer's
    # bench): a row read again is decoded once. Keyed by every column, so a fingerprint stored anew is a new key;
    # nothing changes a Fingerprint once made, so one object serves every reader.
    return _decoded_row(tuple(r))


@lru_cache(maxsize=4096)
def _decoded_row(r: tuple) -> Fingerprint:
    return Fingerprint(petition_id=r[0], tenant_id=r[1], number=r[2], title=r[3], created=r[4], petitioner=r[5], subject=r[6],
                       terms=json.loads(r[7]), places=[tuple(p) for p in json.loads(r[8] or "[]")], state=r[9] or "",
                       issues=frozenset((r[10] or "").split()), region=r[11] or "")


def scored_candidates(store: FingerprintStore, fp: Fingerprint, tenant_ids: list[str]) -> list[tuple[Fingerprint, float, float, list[str]]]:
    """Candidates worth showing, best first: (fingerprint, score, similarity, reasons)."""
    found = []
    for other in store.candidates(fp, tenant_ids):
        score, similarity, reasons = pair_score(fp, other)
        if score >= SHOW_SCORE or {"same_petitioner", "same_subject"} & set(reasons):
            found.append((other, score, similarity, reasons))
    found.sort(key=lambda row: -row[1])
    return found


def systemwide_candidates(store: FingerprintStore, fp: Fingerprint, hierarchy: list[str]) -> list[tuple[Fingerprint, float, float, list[str]]]:
    """Likely repeats in tenants outside the hierarchy (全系统判重), best first: the same lookups, but only
    likely duplicates count (another body's petition is shown only as existing, so a weak one helps nobody)."""
    found = []
    for other in store.candidates(fp, hierarchy, outside=True):
        score, similarity, reasons = pair_score(fp, other)
        if is_likely_duplicate(score):
            found.append((other, score, similarity, reasons))
    found.sort(key=lambda row: -row[1])
    return found
