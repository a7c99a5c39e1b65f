"""Highlights of a found petition: where the words searched for stand in its stored text, marked.

Found by comparing folded text (``analysis.fold``: one character for one, so offsets in it are offsets in
the text as written), not by segmenting the text again: cheap, and a word found as a substring (by the
n-gram field) is marked as well as one found as a word. Whoosh's pinpoint fragmenter cuts the fragments
and its HTML formatter escapes the citizen's words around the <mark>s."""

from __future__ import annotations

from whoosh.analysis import Token
from whoosh.highlight import FIRST, BasicFragmentScorer, HtmlFormatter, PinpointFragmenter, top_fragments

from .analysis import fold

FRAGMENT_CHARS, AROUND = 120, 30


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
    return HtmlFormatter(tagname="mark", between="…").format(fragments) or None
