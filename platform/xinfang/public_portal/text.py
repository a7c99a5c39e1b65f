"""Published text as plain paragraphs, and the policy library's search terms.

Staff write plain text; the public pages show it as paragraphs (jinja escapes every character), so no HTML a
staff member types ever reaches a citizen's browser as markup.

Search: every character and every two adjacent characters (letters, digits, Han) of the folded text are the
document's terms, kept in an indexed list. A query's pieces need all their two-character terms (one
character: the character itself); the store finds the candidates by the index, and the folded text is then
checked for each piece as a substring, so what is found is exactly what contains the words, however jieba
would have cut them (no dictionary: 住建局 or a new term needs no word list).
"""

from __future__ import annotations

import unicodedata

MAX_QUERY_PIECES = 5
MAX_PIECE_CHARS = 30


def paragraphs(text: str) -> list[str]:
    """The text's non-empty lines, each a paragraph."""
    return [line.strip() for line in (text or "").replace("\r\n", "\n").replace("\r", "\n").split("\n") if line.strip()]


def fold(text: str) -> str:
    """Full-width to half-width (NFKC) and lower case: what terms and queries compare."""
    return unicodedata.normalize("NFKC", text or "").lower()


def _grams(folded: str) -> set[str]:
    letter = [ch.isalnum() for ch in folded]
    terms = {ch for ch, ok in zip(folded, letter) if ok}
    terms |= {folded[i:i + 2] for i in range(len(folded) - 1) if letter[i] and letter[i + 1]}
    return terms


def search_terms(*texts: str) -> list[str]:
    """The terms a document is found by (sorted, for a stable stored list)."""
    terms: set[str] = set()
    for text in texts:
        terms |= _grams(fold(text))
    return sorted(terms)


def query_pieces(query: str) -> list[str]:
    """The query's pieces (split at spaces), folded, each cut to MAX_PIECE_CHARS, at most MAX_QUERY_PIECES."""
    pieces = [p for p in fold(query).split() if any(ch.isalnum() for ch in p)]
    return [p[:MAX_PIECE_CHARS] for p in pieces[:MAX_QUERY_PIECES]]


def required_terms(pieces: list[str]) -> list[str]:
    """Terms every match must hold: each piece's two-character terms (or its one character)."""
    needed: set[str] = set()
    for piece in pieces:
        grams = {piece[i:i + 2] for i in range(len(piece) - 1) if piece[i].isalnum() and piece[i + 1].isalnum()}
        needed |= grams or {ch for ch in piece if ch.isalnum()}
    return sorted(needed)


def excerpt(text: str, pieces: list[str], width: int = 60) -> list[tuple[str, bool]]:
    """A stretch of ``text`` around the first piece found, as (text, is_match) parts for the page to mark."""
    folded = fold(text)
    if len(folded) != len(text):  # NFKC changed the length: offsets would not line up, show the start unmarked
        return [(text[: width * 2], False)]
    hits = sorted((folded.find(p), len(p)) for p in pieces if p and folded.find(p) >= 0)
    if not hits:
        return [(text[: width * 2] + ("…" if len(text) > width * 2 else ""), False)]
    start = max(0, hits[0][0] - width)
    end = min(len(text), hits[0][0] + width)
    parts: list[tuple[str, bool]] = []
    at = start
    window = folded[start:end]
    while at < end:
        found = [(window.find(p, at - start) + start, len(p)) for p in pieces if window.find(p, at - start) >= 0]
        if not found:
            parts.append((text[at:end], False))
            break
        where, size = min(found)
        if where > at:
            parts.append((text[at:where], False))
        stop = min(where + size, end)
        parts.append((text[where:stop], True))
        at = stop
    if start > 0:
        parts.insert(0, ("…", False))
    if end < len(text):
        parts.append(("…", False))
    return parts


def score(pieces: list[str], title: str, body: str) -> int | None:
    """How well a candidate matches (title hits count ten), or None when a piece is not in it."""
    folded_title, folded_body = fold(title), fold(body)
    total = 0
    for piece in pieces:
        in_title, in_body = folded_title.count(piece), folded_body.count(piece)
        if not in_title and not in_body:
            return None
        total += 10 * in_title + in_body
    return total
