"""Likely duplicates and repeat petitions (判重, 重信重访): fingerprints, candidates, scores.

A petition's fingerprint holds what identifies its matter without keeping who
sent it: the petitioner's keyed hash (petitions.service.petitioner_key), the
normalised subject, and two MinHash signatures (datasketch) over its words: one
of its keywords (TF-IDF with jieba's IDF table: the names, places, amounts and
terms that carry the matter) and one of its word bigrams (the wording).

Candidates come from three lookups in the fingerprint store (SQLite, on the
indexer's disk beside the indexes): the same petitioner, the same subject, and
LSH bands over the keyword signature. Each is scored with ``pair_score``; the
same function is measured against the labelled pairs in tests/data/duplicates
(bench/duplicates_quality.py prints precision and recall).
"""

from __future__ import annotations

import hashlib
import sqlite3
import struct
import threading
from collections import Counter
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import numpy as np
from datasketch import MinHash

from .analysis import words

NUM_PERM = 64
BANDS, ROWS = 16, 4  # LSH over the keyword signature: pairs above ~0.5 estimated Jaccard collide in some band
KEYWORDS = 16
SHOW_SCORE = 0.30  # candidates at or above this are shown to staff, with their reasons
LIKELY_SCORE = 0.50  # "likely the same matter": tuned on tests/data/duplicates/pairs.dev.jsonl only
CANDIDATE_LIMIT = 200
_SEED = 20261127


@cache
def _idf() -> tuple[dict[str, float], float]:
    import jieba.analyse

    table = jieba.analyse.default_tfidf
    return table.idf_freq, table.median_idf


def keywords(tokens: list[str], k: int = KEYWORDS) -> list[str]:
    """The k words that carry the matter (TF-IDF); placeholders such as 某某 and single characters carry nothing."""
    idf, median = _idf()
    counts = Counter(t for t in tokens if len(t) > 1 and "某" not in t)
    ranked = sorted(counts, key=lambda w: (-counts[w] * idf.get(w, median), w))
    return ranked[:k]


def _minhash(items) -> MinHash:
    signature = MinHash(num_perm=NUM_PERM, seed=_SEED)
    signature.update_batch([item.encode("utf-8") for item in items] or [b"\x00empty"])
    return signature


@dataclass
class Fingerprint:
    petition_id: str
    tenant_id: str
    number: str = ""
    title: str = ""
    created: str = ""
    petitioner: str | None = None
    subject: str | None = None
    keyword_sig: np.ndarray = field(default=None, repr=False)
    bigram_sig: np.ndarray = field(default=None, repr=False)

    def band_keys(self) -> list[int]:
        keys = []
        for band in range(BANDS):
            chunk = self.keyword_sig[band * ROWS:(band + 1) * ROWS].tobytes()
            keys.append(struct.unpack(">q", hashlib.blake2b(bytes([band]) + chunk, digest_size=8).digest())[0])
        return keys


def subject_key(name: str | None) -> str | None:
    from .analysis import normalise

    key = "".join(normalise(name or "").split()).lower()
    return key or None


def fingerprint(*, petition_id: str, tenant_id: str, title: str, content: str, subject_name: str | None,
                petitioner: str | None, number: str = "", created: str = "", tenant_words=frozenset()) -> Fingerprint:
    tokens = words(f"{title}\n{content}", frozenset(tenant_words))
    bigrams = [f"{a}\u0001{b}" for a, b in zip(tokens, tokens[1:])]
    return Fingerprint(petition_id=petition_id, tenant_id=tenant_id, number=number, title=title[:200], created=created,
                       petitioner=petitioner, subject=subject_key(subject_name),
                       keyword_sig=_minhash(keywords(tokens)).hashvalues.astype(np.uint64),
                       bigram_sig=_minhash(bigrams).hashvalues.astype(np.uint64))


def estimated_jaccard(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.count_nonzero(a == b)) / len(a)


def pair_score(new: Fingerprint, old: Fingerprint) -> tuple[float, float, list[str]]:
    """(score 0..1, text similarity, reasons) of ``old`` being the same matter as ``new``."""
    keyword_similarity = estimated_jaccard(new.keyword_sig, old.keyword_sig)
    wording_similarity = estimated_jaccard(new.bigram_sig, old.bigram_sig)
    similarity = max(wording_similarity, keyword_similarity)
    reasons = []
    score = max(wording_similarity, 0.9 * keyword_similarity)
    if new.petitioner and new.petitioner == old.petitioner:
        reasons.append("same_petitioner")
        score += 0.10
    if new.subject and old.subject:
        if new.subject == old.subject:
            reasons.append("same_subject")
            score += 0.15
        else:
            score -= 0.25  # about someone else: the same complaint pattern is not the same matter
    if similarity >= SHOW_SCORE:
        reasons.append("similar_text")
    return max(0.0, min(1.0, score)), similarity, reasons


def is_likely_duplicate(score: float) -> bool:
    return score >= LIKELY_SCORE


class FingerprintStore:
    """Fingerprints of every petition, platform-wide (hierarchies cross tenants), in one SQLite file.

    Written only by the indexer (one writer); an exact-key or band lookup is an indexed
    SQLite query, whatever the number of petitions.
    """

    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._lock = threading.Lock()
        self._db.executescript("""
            PRAGMA journal_mode=WAL;
            PRAGMA synchronous=NORMAL;
            CREATE TABLE IF NOT EXISTS docs (pid TEXT PRIMARY KEY, tenant TEXT NOT NULL, number TEXT, title TEXT, created TEXT,
                                             petitioner TEXT, subject TEXT, keyword_sig BLOB NOT NULL, bigram_sig BLOB NOT NULL);
            CREATE INDEX IF NOT EXISTS docs_petitioner ON docs(petitioner) WHERE petitioner IS NOT NULL;
            CREATE INDEX IF NOT EXISTS docs_subject ON docs(subject) WHERE subject IS NOT NULL;
            CREATE TABLE IF NOT EXISTS bands (key INTEGER NOT NULL, pid TEXT NOT NULL);
            CREATE INDEX IF NOT EXISTS bands_key ON bands(key);
            CREATE INDEX IF NOT EXISTS bands_pid ON bands(pid);
        """)

    def close(self) -> None:
        self._db.close()

    def count(self, tenant_id: str | None = None) -> int:
        query, args = ("SELECT COUNT(*) FROM docs WHERE tenant = ?", (tenant_id,)) if tenant_id else ("SELECT COUNT(*) FROM docs", ())
        return self._db.execute(query, args).fetchone()[0]

    def contains(self, petition_id: str) -> bool:
        return self._db.execute("SELECT 1 FROM docs WHERE pid = ?", (petition_id,)).fetchone() is not None

    def put(self, fp: Fingerprint) -> None:
        with self._lock:
            self._db.execute("BEGIN")
            try:
                self._put(fp)
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def put_many(self, fps: list[Fingerprint]) -> None:
        with self._lock:
            self._db.execute("BEGIN")
            try:
                for fp in fps:
                    self._put(fp)
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def _put(self, fp: Fingerprint) -> None:
        self._db.execute("DELETE FROM bands WHERE pid = ?", (fp.petition_id,))
        self._db.execute("INSERT OR REPLACE INTO docs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                         (fp.petition_id, fp.tenant_id, fp.number, fp.title, fp.created, fp.petitioner, fp.subject,
                          fp.keyword_sig.tobytes(), fp.bigram_sig.tobytes()))
        self._db.executemany("INSERT INTO bands VALUES (?, ?)", [(key, fp.petition_id) for key in fp.band_keys()])

    def remove(self, petition_id: str) -> None:
        with self._lock:
            self._db.execute("DELETE FROM bands WHERE pid = ?", (petition_id,))
            self._db.execute("DELETE FROM docs WHERE pid = ?", (petition_id,))

    def remove_tenant(self, tenant_id: str) -> None:
        with self._lock:
            self._db.execute("DELETE FROM bands WHERE pid IN (SELECT pid FROM docs WHERE tenant = ?)", (tenant_id,))
            self._db.execute("DELETE FROM docs WHERE tenant = ?", (tenant_id,))

    def candidates(self, fp: Fingerprint, tenant_ids: list[str]) -> list[Fingerprint]:
        """Earlier fingerprints in these tenants that share the petitioner, the subject or a keyword band."""
        marks = ",".join("?" * len(tenant_ids))
        keys = fp.band_keys()
        rows = self._db.execute(
            f"""SELECT * FROM docs WHERE tenant IN ({marks}) AND pid != ? AND pid IN (
                    SELECT pid FROM bands WHERE key IN ({",".join("?" * len(keys))})
                    UNION SELECT pid FROM docs WHERE petitioner = ? UNION SELECT pid FROM docs WHERE subject = ?)
                ORDER BY created DESC LIMIT {CANDIDATE_LIMIT}""",
            (*tenant_ids, fp.petition_id, *keys, fp.petitioner, fp.subject)).fetchall()
        return [Fingerprint(petition_id=r[0], tenant_id=r[1], number=r[2], title=r[3], created=r[4], petitioner=r[5], subject=r[6],
                            keyword_sig=np.frombuffer(r[7], dtype=np.uint64), bigram_sig=np.frombuffer(r[8], dtype=np.uint64))
                for r in rows]


def scored_candidates(store: FingerprintStore, fp: Fingerprint, tenant_ids: list[str]) -> list[tuple[Fingerprint, float, float, list[str]]]:
    """Candidates worth showing, best first: (fingerprint, score, similarity, reasons)."""
    found = []
    for other in store.candidates(fp, tenant_ids):
        score, similarity, reasons = pair_score(fp, other)
        if score >= SHOW_SCORE or {"same_petitioner", "same_subject"} & set(reasons):
            found.append((other, score, similarity, reasons))
    found.sort(key=lambda row: -row[1])
    return found
