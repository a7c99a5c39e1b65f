"""Highlights of a found petition: where the words searched for stand in its stored text, marked.

Found by comparing folded text (``analysis.fold``: one character for one, so offsets in it are offsets in
the text as written), not by segmenting the text again: cheap, and a word found as a substring (by the
n-gram field) is marked as well as one found as a word. Whoosh's pinpoint fragmenter chooses the fragments,
whose ends are then moved to a clause's punctuation nearby, else to a word's edge (jieba on a few characters
there), so a fragment neither starts with a comma nor cuts a word in two; its HTML formatter escapes the
citizen's words around the <mark>s."""

from __future__ import annotations

from whoosh.analysis import Token
from whoosh.highlight import FIRST, BasicFragmentScorer, Fragment, HtmlFormatter, PinpointFragmenter, top_fragments

from .analysis import fold, segment

FRAGMENT_CHARS, AROUND = 120, 30
SNAP = 12  # how far a fragment's end may move to reach a clause's punctuation
SENTENCE_ENDS = frozenset("。！？；!?;…")  # kept at a fragment's end; a comma there is left out
CLAUSE_ENDS = SENTENCE_ENDS | frozenset("，：、,.:")
NOT_A_START = CLAUSE_ENDS | frozenset(" \t\r\n\u3000）)」』】》”’")


def spans(text: str, needles: list[str]) -> list[tuple[int, int]]:
    """Where any of ``needles`` (folded) stands in ``text``, overlapping stretches joined, in order."""
    folded = fold(text)
    found = []
    for needle in needles:
        start = folded.find(needle)
        while start >= 0:
            found.append((start, start + len(needle)))
            start = folded.find(needle, start + len(needle))
    found.sort()
    joined: list[tuple[int, int]] = []
    for start, end in found:
        if joined and start <= joined[-1][1]:
            joined[-1] = (joined[-1][0], max(end, joined[-1][1]))
        else:
            joined.append((start, end))
    return joined


def highlight(text: str | None, needles: list[str], top: int = 3) -> str | None:
    """The fragments of ``text`` around the needles, escaped, the needles in <mark>; None when none is there."""
    if not text or not needles:
        return None
    tokens = [Token(text=text[s:e], startchar=s, endchar=e, matched=True) for s, e in spans(text, needles)]
    if not tokens:
        return None
    fragments = PinpointFragmenter(maxchars=FRAGMENT_CHARS, surround=AROUND).fragment_matches(text, tokens)
    fragments = top_fragments(fragments, top, BasicFragmentScorer(), FIRST, minscore=1)
    return HtmlFormatter(tagname="mark", between="…").format(_at_edges(text, fragments, tokens)) or None


def _at_edges(text: str, fragments: list[Fragment], tokens: list[Token]) -> list[Fragment]:
    """The fragments with their ends moved to clause or word edges (``snapped``), overlapping ones joined, and
    every needle inside a fragment marked."""
    ranges: list[tuple[int, int]] = []
    for fragment in sorted(fragments, key=lambda f: f.startchar):
        first, last = min(t.startchar for t in fragment.matches), max(t.endchar for t in fragment.matches)
        start, end = snapped(text, fragment.startchar, fragment.endchar, first, last)
        if ranges and start <= ranges[-1][1]:
            ranges[-1] = (ranges[-1][0], max(end, ranges[-1][1]))
        else:
            ranges.append((start, end))
    return [Fragment(text, [t for t in tokens if start <= t.startchar and t.endchar <= end], start, end) for start, end in ranges]


def snapped(text: str, start: int, end: int, first: int, last: int) -> tuple[int, int]:
    """A fragment [start, end) holding the needles from ``first`` to ``last``, its start just after a clause's
    punctuation (at most ``SNAP`` characters earlier, else before the first needle) or at a word's start, its end
    at punctuation (at most ``SNAP`` later, else after the last needle; a sentence's end kept, a comma not) or at
    a word's end; never starting with punctuation or a space."""
    if start > 0:
        before = next((i for i in range(start, max(0, start - SNAP) - 1, -1) if i == 0 or text[i - 1] in CLAUSE_ENDS), None)
        if before is None:
            before = next((i + 1 for i in range(start, first) if text[i] in CLAUSE_ENDS), None)
        start = before if before is not None else _word_edge(text, start, earlier=True)
    while start < first and text[start] in NOT_A_START:
        start += 1
    if end < len(text):
        after = next((i for i in range(end - 1, min(len(text), end + SNAP)) if text[i] in CLAUSE_ENDS), None)
        if after is None:
            after = next((i for i in range(end - 1, last - 1, -1) if text[i] in CLAUSE_ENDS), None)
        end = after + (text[after] in SENTENCE_ENDS) if after is not None else _word_edge(text, end, earlier=False)
    return start, max(end, last)


def _word_edge(text: str, at: int, *, earlier: bool) -> int:
    """The nearest edge of a word (jieba on the few characters around ``at``) at or before ``at`` (``earlier``),
    else at or after it."""
    low = max(0, at - SNAP)
    edges = {low, min(len(text), at + SNAP)}
    for _, s, e in segment(text[low:at + SNAP]):
        edges.update((low + s, low + e))
    return max(e for e in edges if e <= at) if earlier else min(e for e in edges if e >= at)
