"""Matters (同一事项) and collective petitions (集体访): which earlier petition's matter a new one joins, the matters
those joins form, what they name (places, issue words) and how many different people wrote them.

A matter is a group, not a chain: a petition joins the matter of a likely-duplicate earlier petition only when it
agrees with every petition already in it (``compatible``: received within MATTER_WINDOW_DAYS of each, no other place
of the same kind, one issue, one region). Connected components of pairwise links chained one estate's noise to
another's restaurant fumes over ten months (bench/search_quality.py: group purity and completeness against the
corpus's labelled matters). Each petition joins matters through links to them (``matters_to_join``), so the
matters are the components of those links (``group``), whoever reads them: the indexer when it checks a petition,
the petition's panel, the matters page and the bench count the same way.

Pure functions over fingerprints and links.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from .duplicates import LIKELY_SCORE, MATTER_WINDOW_DAYS, SHOW_SCORE, Fingerprint, days_apart, same_issue, subject_relation
from .matter_issues import issue_words, issues
from .matter_places import place_relation

COLLECTIVE_MIN_PETITIONERS = 5  # 信访条例: five or more people on one matter is a collective petition (集体访)
MAX_CLUSTER = 500  # a walk stops here: a matter this large is shown as it is found


def compatible(a: Fingerprint, b: Fingerprint, window_days: int = MATTER_WINDOW_DAYS) -> bool:
    """Whether two petitions can be in one matter: received within ``window_days`` of each other, filed for one
    region, naming no other place of the same kind (another estate, school, company, village), no other subject,
    and raising one issue (duplicates.same_issue: fumes and noise at one estate are two matters)."""
    apart = days_apart(a.created, b.created)
    if apart is not None and apart > window_days:
        return False
    if a.region and b.region and a.region != b.region:
        return False
    if subject_relation(a.subject, b.subject) == "conflict":
        return False
    if place_relation(a.places, b.places)[0] == "conflict":
        return False
    first_a, first_b = headline_issues(a), headline_issues(b)
    if first_a and first_b:
        return bool(first_a & first_b)
    return same_issue(a, b)


def headline_issues(fp: Fingerprint) -> frozenset[str]:
    """The issues its title raises, of those its text does: what the petition is about. A complaint about a
    restaurant's fumes often mentions its noise too (油烟加上噪音), and one about a building site's noise the roadworks:
    with the titles', fumes and noise at one estate stay two matters."""
    return issues(f"{fp.title}。") & fp.issues


def matters_to_join(new: Fingerprint, links: Iterable[tuple[Fingerprint, float]], members_of: Callable[[str], list[Fingerprint]],
                    window_days: int = MATTER_WINDOW_DAYS) -> list[str]:
    """The earlier petitions through which ``new`` joins matters (none: it starts its own). A matter is joined when
    ``new`` is linked to it (``linked_to``) and agrees with every member (``compatible``), and with every member of the
    matters it joins before it, strongest link first: two matters ``new`` is linked to become one only when all their
    petitions agree (complete linkage), so another place or another issue never comes in through a chain."""
    by_matter: dict[frozenset[str], tuple[list[Fingerprint], list[tuple[Fingerprint, float]]]] = {}
    for other, score in links:
        if score < SHOW_SCORE or other.petition_id == new.petition_id:
            continue
        members = members_of(other.petition_id) or [other]
        key = frozenset(m.petition_id for m in members)
        by_matter.setdefault(key, (members, []))[1].append((other, score))
    joined, through = [new], []
    ranked = sorted(by_matter.values(), key=lambda ml: (-max(s for _, s in ml[1]), min(o.petition_id for o, _ in ml[1])))
    for members, scored in ranked:
        if len(joined) + len(members) > MAX_CLUSTER or not linked_to(members, scored):
            continue
        if all(compatible(m, j, window_days) for m in members for j in joined):
            joined.extend(members)
            through.append(max(scored, key=lambda os: (os[1], os[0].petition_id))[0].petition_id)
    return through


def linked_to(members: list[Fingerprint], scored: list[tuple[Fingerprint, float]]) -> bool:
    """Whether a petition with these links to a matter's members is linked to the matter: a likely duplicate of one
    of them, or alike in words (SHOW_SCORE) to at least two and half of them (a fifth parent who names no school
    is like each of the four who did, none of them enough alone)."""
    if max(score for _, score in scored) >= LIKELY_SCORE:
        return True
    alike = len({o.petition_id for o, score in scored if score >= SHOW_SCORE})
    return alike >= 2 and 2 * alike >= len(members)


def components(edges: Iterable[tuple[str, str]]) -> list[set[str]]:
    """The connected petitions of the matter links (each petition joined through one: the components are the matters)."""
    adjacent: dict[str, set[str]] = defaultdict(set)
    for a, b in edges:
        if a != b:
            adjacent[a].add(b)
            adjacent[b].add(a)
    seen: set[str] = set()
    found = []
    for start in sorted(adjacent):
        if start in seen:
            continue
        members, todo = {start}, [start]
        while todo:
            for other in adjacent[todo.pop()]:
                if other not in members:
                    members.add(other)
                    todo.append(other)
        seen |= members
        found.append(members)
    return found


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
    words: list[str] = field(default_factory=list)  # its issue words (whole words of issue_words.txt's issues)
    collective: bool = False


def group(fingerprints: dict[str, Fingerprint], edges: Iterable[tuple[str, str]], min_size: int = 2) -> list[Matter]:
    """The matters of these matter links (``matters_to_join``'s), the most people first, then the latest."""
    matters = []
    for members in components((a, b) for a, b in edges if a in fingerprints and b in fingerprints):
        if len(members) >= min_size:
            matters.append(describe([fingerprints[pid] for pid in members]))
    matters.sort(key=lambda m: (-m.petitioners, _negated(m.last), m.petition_ids[0]))
    return matters


def _negated(day: str) -> tuple[int, ...]:
    return tuple(-ord(ch) for ch in day)  # latest first in a sort that is otherwise ascending


def describe(members: list[Fingerprint], places: int = 3, words: int = 6) -> Matter:
    members = sorted(members, key=lambda fp: (fp.created, fp.petition_id))
    names = Counter(name for fp in members for name in {name for _, name in fp.places})
    shared_names = [name for name, n in names.most_common(places) if n > 1 or len(members) == 1]
    count = distinct_petitioners(fp.petitioner for fp in members)
    return Matter(petition_ids=[fp.petition_id for fp in members], petitioners=count, first=members[0].created, last=members[-1].created,
                  places=shared_names, words=issue_terms(members, words), collective=is_collective(count))


def issue_terms(members: list[Fingerprint], top: int = 6) -> list[str]:
    """What is wrong, in the members' own whole words: their weighted words that hold a word of an issue they raise
    (油烟, 乱收费, 净化器...), never a fragment of a sentence (底商开, 一大截) nor a place's name."""
    raised = Counter(issue for fp in members for issue in fp.issues)
    table = issue_words()
    # A one-character word (吵, 熏) raises an issue but is no key word: held in a longer one it is mostly a fragment (吵得).
    lexicon = [w for issue in (raised or table) for w in table.get(issue, ()) if len(w) > 1]
    names = [name for fp in members for _, name in fp.places]
    weights: Counter = Counter()
    for fp in members:
        for term, weight in fp.terms.items():
            if any(w in term for w in lexicon) and not any(term in name for name in names) and not any(ch.isdigit() for ch in term):
                weights[term] += weight
    return [w.upper() if w.isascii() else w for w, _ in weights.most_common(top)]  # KTV as written, not folded
