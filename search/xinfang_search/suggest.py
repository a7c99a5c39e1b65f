"""Did you mean (您是不是要找): a place or name one character away from a query word that is rare in the
tenant's index while the close one is common (桐子坡 -> 桐梓坡, 万佳丽 -> 万家丽).

Looked at only when the search found few petitions (at most ``RARE_AT_MOST`` or a thousandth of the
index: a word with plenty of hits is never replaced, and a search that found plenty needs no other
spelling), and only words of Han characters, of at least two, typed in a piece (not quoted, not a prefix),
themselves rare. Candidates, same length, one character replaced (or two neighbours swapped), the first
character kept unless the word has two:
* the word fields' term lists, within edit distance 1 (Whoosh's Levenshtein automaton over the terms);
* the ``ngram`` field's bigrams, for a name no segmentation keeps whole: for each character after the first,
  the bigrams that begin with the character before it give the replacements, kept when the candidate's
  other bigrams exist too; for a two-character word, the bigrams one edit away.
Each candidate is counted as a substring (the n-gram phrase) and the commonest wins, if it is found in at
least ``MIN_HITS`` petitions and ``TIMES_MORE`` times as many as the word typed. A word with plenty of hits
is never replaced.
"""

from __future__ import annotations

from .analysis import fold
from .queries import ALL_REQUIRED_UP_TO, Plan
from .substrings import substring_query

RARE_AT_MOST = 5
MIN_HITS = 3
TIMES_MORE = 5
MAX_CANDIDATES = 30
MAX_LENGTH = 8  # longer is not a name typed


def _han(word: str) -> bool:
    return len(word) >= 2 and all("\u4e00" <= ch <= "\u9fff" for ch in word)


def _one_apart(a: str, b: str) -> bool:
    if len(a) != len(b) or a == b:
        return False
    differ = [i for i in range(len(a)) if a[i] != b[i]]
    if len(differ) == 1:
        return True
    return len(differ) == 2 and differ[1] == differ[0] + 1 and a[differ[0]] == b[differ[1]] and a[differ[1]] == b[differ[0]]


def _count(searchers, word: str) -> int:
    query = substring_query(word)
    if query is None:
        return 0
    return sum(sum(1 for _ in searcher.docs_for_query(query)) for searcher in searchers)


def _rarity(searchers, word: str) -> int:
    """At least as many petitions as hold ``word`` as a substring (the rarest of its bigrams; no postings read)."""
    grams = [word[i:i + 2] for i in range(len(word) - 1)]
    return sum(min(searcher.doc_frequency("ngram", g) for g in grams) for searcher in searchers)


def _candidates(searcher, word: str) -> set[str]:
    """Close spellings of ``word`` found in this index; the first character kept unless the word has two (a
    misspelling seldom starts a longer name, and replacing the first character is the costly walk)."""
    reader = searcher.reader()
    found = set()
    for leaf, _offset in searcher.leaf_searchers():  # a segment's reader walks its terms with the automaton
        for name in ("title", "text"):
            found.update(w for w in leaf.reader().terms_within(name, word, 1, prefix=1) if _one_apart(w, word) and _han(w))
        if len(word) == 2:
            found.update(g for g in leaf.reader().terms_within("ngram", word, 1)
                         if len(g) == 2 and g[1] == word[1] and g[0] != word[0] and _han(g))
    for i in range(1, len(word)):
        for btext in reader.expand_prefix("ngram", word[i - 1]):
            gram = btext.decode("utf-8") if isinstance(btext, bytes) else btext
            if len(gram) != 2 or gram[1] == word[i] or not _han(gram):
                continue
            candidate = word[:i] + gram[1] + word[i + 1:]
            if all(reader.doc_frequency("ngram", candidate[k:k + 2]) for k in range(len(candidate) - 1)):
                found.add(candidate)
    return found


def few(searchers) -> int:
    """Up to how many petitions a word (or a search) is rare enough to look for another spelling."""
    return max(RARE_AT_MOST, sum(s.doc_count() for s in searchers) // 1000)


def suggestion(searchers, text: str, plan: Plan) -> str | None:
    """The query with its rare name replaced by a common close one, or None. A piece of a few words is looked
    at whole (桐子坡, which jieba cuts 桐子 坡), then word by word; a sentence is not (its words are not names)."""
    if not searchers:
        return None
    rare_at_most = few(searchers)
    corrected, changed = text, False
    for piece in plan.pieces:
        if piece.prefix or len(piece.words) > ALL_REQUIRED_UP_TO:
            continue
        for word in [piece.text] + [w for w in piece.words if w != piece.text]:
            better = _closer(searchers, fold(word), rare_at_most)
            if better:
                replaced = _replace_once(corrected, fold(word), better)
                if replaced != corrected:
                    corrected, changed = replaced, True
                    break
    return corrected if changed else None


def _closer(searchers, word: str, rare_at_most: int) -> str | None:
    if not _han(word) or len(word) > MAX_LENGTH or _rarity(searchers, word) > rare_at_most:
        return None
    candidates = set()
    for searcher in searchers:
        candidates |= _candidates(searcher, word)
    if not candidates:
        return None
    ranked = sorted(candidates, key=lambda c: (-_rarity(searchers, c), c))[:MAX_CANDIDATES]
    best_hits, best = min((-_count(searchers, c), c) for c in ranked)
    return best if -best_hits >= max(MIN_HITS, TIMES_MORE * _count(searchers, word)) else None


def _replace_once(text: str, word: str, by: str) -> str:
    """``word`` (folded) replaced in the text as typed: where it stands in the folded text, same offsets."""
    at = fold(text).find(word)
    return text if at < 0 else text[:at] + by + text[at + len(word):]
