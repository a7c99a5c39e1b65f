"""Clusters of one matter (同一事项) and collective petitions (集体访): petitions joined by likely-duplicate links
within a window of days, what they name (places, issue words), and how many different people wrote them.

Pure functions over fingerprints and links, so the indexer's collective flag (repeats.py), the staff's matters
page (matters_http.py) and the bench (bench/search_quality.py) count the same way.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from .duplicates import MATTER_WINDOW_DAYS, Fingerprint, days_apart

COLLECTIVE_MIN_PETITIONERS = 5  # 信访条例: five or more people on one matter is a collective petition (集体访)
MAX_CLUSTER = 500  # a walk stops here: a matter this large is shown as it is found


def matter_of(start: str, neighbours: Callable[[str], Iterable[str]], received: Callable[[str], str | None],
              window_days: int = MATTER_WINDOW_DAYS) -> set[str]:
    """The petitions connected to ``start`` by likely-duplicate links, each received within ``window_days`` of it
    (a chain of links does not carry a matter across years)."""
    origin = received(start)
    seen, todo = {start}, [start]
    while todo and len(seen) < MAX_CLUSTER:
        for other in neighbours(todo.pop()):
            if other in seen:
                continue
            apart = days_apart(origin or "", received(other) or "")
            if apart is not None and apart > window_days:
                continue
            seen.add(other)
            todo.append(other)
    return seen


def distinct_petitioners(petitioners: Iterable[str | None]) -> int:
    """People, not petitions: one person writing three times is one (anonymous petitions are not counted)."""
    return len({p for p in petitioners if p})


def is_collective(petitioner_count: int) -> bool:
    return petitioner_count >= COLLECTIVE_MIN_PETITIONERS


@dataclass
class Matter:
    petition_ids: list[str]  # oldest first
    petitioners: int
    first: str
    last: str
    places: list[str] = field(default_factory=list)  # the names most of its petitions share
    words: list[str] = field(default_factory=list)  # its strongest issue words
    collective: bool = False


def group(fingerprints: dict[str, Fingerprint], links: Iterable[tuple[str, str]], window_days: int = MATTER_WINDOW_DAYS,
          min_size: int = 2) -> list[Matter]:
    """Connected petitions (links between petitions at most ``window_days`` apart) as matters, the largest first."""
    adjacent: dict[str, set[str]] = defaultdict(set)
    for a, b in links:
        if a in fingerprints and b in fingerprints and a != b:
            apart = days_apart(fingerprints[a].created, fingerprints[b].created)
            if apart is None or apart <= window_days:
                adjacent[a].add(b)
                adjacent[b].add(a)
    seen: set[str] = set()
    matters = []
    for start in sorted(adjacent, key=lambda pid: (fingerprints[pid].created, pid)):
        if start in seen:
            continue
        members = {start}
        todo = [start]
        while todo:
            for other in adjacent[todo.pop()]:
                if other not in members:
                    members.add(other)
                    todo.append(other)
        seen |= members
        if len(members) >= min_size:
            matters.append(describe([fingerprints[pid] for pid in members]))
    matters.sort(key=lambda m: (-m.petitioners, -len(m.petition_ids), m.first))
    return matters


def describe(members: list[Fingerprint], places: int = 3, words: int = 6) -> Matter:
    members = sorted(members, key=lambda fp: (fp.created, fp.petition_id))
    names = Counter(name for fp in members for name in {name for _, name in fp.places})
    shared_names = [name for name, n in names.most_common(places) if n > 1 or len(members) == 1]
    weights: Counter = Counter()
    for fp in members:
        for word, weight in fp.terms.items():
            if not any(word in name for name in shared_names) and not any(ch.isdigit() for ch in word):
                weights[word] += weight
    count = distinct_petitioners(fp.petitioner for fp in members)
    return Matter(petition_ids=[fp.petition_id for fp in members], petitioners=count, first=members[0].created, last=members[-1].created,
                  places=shared_names, words=[w for w, _ in weights.most_common(words)], collective=is_collective(count))
