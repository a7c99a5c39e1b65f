"""Frequent words (频发词汇): per tenant and day, in how many petitions each word appeared.

Kept in SQLite beside the fingerprints (the indexer writes it as it indexes), so
a window of any length is one grouped, indexed query.
"""

from __future__ import annotations

import json
from collections import Counter

from .analysis import words
from .petition_text import china_day, content_of
from .sidestore import SideStore

MIN_RISING_COUNT = 3


def petition_terms(title: str, content: str, tenant_words=frozenset()) -> list[str]:
    """The distinct words a petition is counted under: no stop words, digits, single characters or placeholders."""
    seen = []
    for word in words(f"{title}\n{content}", frozenset(tenant_words)):
        if len(word) > 1 and not word.isdigit() and "某" not in word and word not in seen:
            seen.append(word)
    return seen


def petition_row(petition, tenant_words=frozenset()) -> tuple[str, str, str, list[str]]:
    """What ``TermStore.put_many`` takes for a petition: (id, tenant id, day received in China, its words)."""
    return (str(petition.id), petition.tenant_id, china_day(petition.received_at), petition_terms(petition.title, content_of(petition), tenant_words))


class TermStore(SideStore):
    SCHEMA = """
            CREATE TABLE IF NOT EXISTS petition_terms (pid TEXT PRIMARY KEY, tenant TEXT NOT NULL, day TEXT NOT NULL, terms TEXT NOT NULL);
            CREATE TABLE IF NOT EXISTS day_terms (tenant TEXT NOT NULL, day TEXT NOT NULL, term TEXT NOT NULL, df INTEGER NOT NULL,
                                                  PRIMARY KEY (tenant, day, term));
    """

    def put_many(self, rows: list[tuple[str, str, str, list[str]]]) -> None:
        """(petition id, tenant id, day, terms): counted once per petition, moved if it changed tenant or day."""
        with self.transaction():
            for pid, tenant, day, terms in rows:
                self._remove(pid)
                self._db.execute("INSERT INTO petition_terms VALUES (?, ?, ?, ?)", (pid, tenant, day, json.dumps(terms, ensure_ascii=False)))
                self._db.executemany(
                    "INSERT INTO day_terms VALUES (?, ?, ?, 1) ON CONFLICT (tenant, day, term) DO UPDATE SET df = df + 1",
                    [(tenant, day, term) for term in terms])

    def remove(self, pid: str) -> None:
        with self.transaction():
            self._remove(pid)

    def _remove(self, pid: str) -> None:
        row = self._db.execute("SELECT tenant, day, terms FROM petition_terms WHERE pid = ?", (pid,)).fetchone()
        if row is None:
            return
        tenant, day, terms = row[0], row[1], json.loads(row[2])
        self._db.executemany("UPDATE day_terms SET df = df - 1 WHERE tenant = ? AND day = ? AND term = ?", [(tenant, day, t) for t in terms])
        self._db.execute("DELETE FROM petition_terms WHERE pid = ?", (pid,))

    def remove_tenant(self, tenant_id: str) -> None:
        with self.transaction():
            self._db.execute("DELETE FROM petition_terms WHERE tenant = ?", (tenant_id,))
            self._db.execute("DELETE FROM day_terms WHERE tenant = ?", (tenant_id,))

    def counts(self, tenant_id: str, first_day: str, last_day: str) -> Counter:
        rows = self._db.execute("SELECT term, SUM(df) FROM day_terms WHERE tenant = ? AND day BETWEEN ? AND ? GROUP BY term HAVING SUM(df) > 0",
                                (tenant_id, first_day, last_day)).fetchall()
        return Counter(dict(rows))

    def petitions(self, tenant_id: str, first_day: str, last_day: str) -> int:
        return self._db.execute("SELECT COUNT(*) FROM petition_terms WHERE tenant = ? AND day BETWEEN ? AND ?",
                                (tenant_id, first_day, last_day)).fetchone()[0]


def top_and_rising(current: Counter, previous: Counter, top: int = 30) -> tuple[list[dict], list[dict]]:
    """The most frequent words now, and the words rising most against the previous window of equal length."""
    tops = [{"term": t, "count": c, "previous": previous.get(t, 0)} for t, c in sorted(current.items(), key=lambda kv: (-kv[1], kv[0]))[:top]]
    rising = [{"term": t, "count": c, "previous": previous.get(t, 0), "growth": round((c + 1) / (previous.get(t, 0) + 1), 2)}
              for t, c in current.items() if c >= MIN_RISING_COUNT and c > previous.get(t, 0)]
    rising.sort(key=lambda r: (-r["growth"], -r["count"], r["term"]))
    return tops, rising[:top]
