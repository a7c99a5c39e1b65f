"""Chinese text as words: jieba with word positions (so phrase queries work), the platform's domain
words, a tenant's own dictionary, and stop words. Used by the index, duplicate detection and frequent words.

Folding (``normalise``): full-width letters and digits to half-width, traditional characters to simplified
(OpenCC's t2s), one character for one, so a word typed either way finds the other and character offsets
stay valid for highlights. The index holds, at each word's position, the word and the shorter dictionary
words inside it (收费 inside 乱收费, 物业 inside 物业公司: jieba's search mode), so a word is found inside
longer ones while a quoted phrase still matches word by word; the ``ngram`` field (``BigramTokenizer``)
holds every two characters of the folded text, for what no segmentation gives (a place split oddly, a
pasted fragment).

jieba's own ChineseAnalyzer puts character offsets where Whoosh expects word
positions, which breaks phrase queries; this tokenizer numbers words in order.
A tenant's dictionary is applied by merging adjacent jieba words that form one
of its words, so no tenant's words change another tenant's segmentation (jieba's
own dictionary is process-wide).
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import threading
import unicodedata
from collections.abc import Iterable, Iterator
from functools import cache
from importlib import resources

import jieba
import opencc
from whoosh.analysis import Filter, LowercaseFilter, Token, Tokenizer

MAX_MERGE = 4  # a tenant word may join up to this many jieba words
_init_lock = threading.Lock()
_initialised = False


def _lines(name: str) -> list[str]:
    text = resources.files("xinfang_search").joinpath(name).read_text(encoding="utf-8")
    return [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]


@cache
def stop_words() -> frozenset[str]:
    return frozenset(_lines("stopwords.txt"))


def _ensure_jieba() -> None:
    """Load jieba's dictionary once per process, with the platform's domain words."""
    global _initialised
    if _initialised:
        return
    with _init_lock:
        if not _initialised:
            jieba.setLogLevel(logging.WARNING)
            jieba.initialize()
            for word in _lines("domain_words.txt"):
                jieba.add_word(word, freq=200000)
            _initialised = True


_converters = threading.local()

# Texts segmented and folded in the current block of ``shared_segmentation`` (the indexer's batch): (text, tenant
# words) -> pieces, and text -> ``normalise(text)``. None outside such a block (queries, admin pages): each call works
# afresh and nothing is kept.
_shared: contextvars.ContextVar[dict | None] = contextvars.ContextVar("xinfang_search_shared_segments", default=None)


def _t2s(text: str) -> str:
    converter = getattr(_converters, "t2s", None)
    if converter is None:
        converter = _converters.t2s = opencc.OpenCC("t2s")
    return converter.convert(text)


# Han code points OpenCC knows (the unified blocks, compatibility ideographs, extensions B to F).
_HAN_BLOCKS = ((0x3400, 0x4DC0), (0x4E00, 0xA000), (0xF900, 0xFB00), (0x20000, 0x2A6E0), (0x2A700, 0x2EBF0))


@cache
def _t2s_characters() -> dict[int, str]:
    """Each traditional character's simplified one, as OpenCC's t2s converts it alone (one conversion of every
    Han character, a line each, once per process: about 20 ms)."""
    characters = [chr(code) for start, end in _HAN_BLOCKS for code in range(start, end)]
    converted = _t2s("\n".join(characters)).split("\n")
    return _Itself({ord(a): b for a, b in zip(characters, converted) if a != b and len(b) == 1})


class _Itself(dict):
    """A ``str.translate`` table that maps a character it lacks to itself (remembered), so translating text
    raises and catches no LookupError per character."""

    def __missing__(self, code: int) -> str:
        value = self[code] = chr(code)
        return value


class _NfkcTable(dict):
    """Each character's NFKC form when that is one character, else the character itself, worked out once per
    character (a ``str.translate`` table)."""

    def __missing__(self, code: int) -> str:
        ch = chr(code)
        folded = unicodedata.normalize("NFKC", ch)
        value = self[code] = folded if len(folded) == 1 else ch
        return value


_NFKC = _NfkcTable()


def normalise(text: str) -> str:
    """Full-width letters and digits to half-width and traditional characters to simplified, one character
    for one (offsets stay valid for highlights). Text with no traditional character never reaches OpenCC
    (a table of its characters says so); text with some is converted by OpenCC's phrases (乾隆 stays, 乾燥
    becomes 干燥), or character by character where a phrase would change the length."""
    memo = _shared.get()
    if memo is None:
        return _normalise(text)
    folded = memo.get(text)  # a text's key is itself (a segmentation's is a tuple)
    if folded is None:
        folded = memo[text] = _normalise(text)
    return folded


def _normalise(text: str) -> str:
    if not unicodedata.is_normalized("NFKC", text):  # most text has nothing to fold: no loop in Python
        text = text.translate(_NFKC)  # full-width punctuation (，。) is in nearly every petition: one C loop
    if text.isascii():
        return text
    by_character = text.translate(_t2s_characters())
    if by_character == text:
        return text
    by_phrase = _t2s(text)
    return by_phrase if len(by_phrase) == len(text) else by_character


def fold(text: str) -> str:
    """``normalise`` and lower case, one character for one: what the n-gram field and highlights compare."""
    text = normalise(text or "")
    lower = text.lower()
    if len(lower) == len(text):  # lower case never shortens a character: each became one
        return lower
    out = []
    for ch in text:
        lower = ch.lower()
        out.append(lower if len(lower) == 1 else ch)
    return "".join(out)


def _is_word(text: str) -> bool:
    return any(ch.isalnum() for ch in text)


@contextlib.contextmanager
def shared_segmentation():
    """Within this block each text is segmented (and folded by ``normalise``) once: the index's fields, the
    fingerprint and the word counts of one petition ask for the same texts (title, content, and title + newline +
    content), and jieba was the drain's biggest CPU cost. Kept for the block only (one batch: a few thousand texts)."""
    memo: dict = {}
    token = _shared.set(memo)
    try:
        yield memo  # the caller may clear it between batches
    finally:
        _shared.reset(token)


def segment(text: str, tenant_words: frozenset[str] = frozenset()) -> list[tuple[str, int, int]]:
    """(word, start, end) in order: punctuation and spaces dropped, a tenant's words joined up."""
    memo = _shared.get()
    if memo is None:
        return _segment(text, tenant_words)
    key = (text, tenant_words)
    pieces = memo.get(key)
    if pieces is None:
        pieces = memo[key] = _joined(text, tenant_words, memo) or _segment(text, tenant_words)
    return list(pieces)  # a copy: the caller may change its list


def _joined(text: str, tenant_words: frozenset[str], memo: dict) -> list[tuple[str, int, int]] | None:
    """The pieces of left, a newline and right, from those of left and right already segmented (title and content
    for the fingerprint and word counts, after the index segmented each field), or None.

    The same as segmenting the whole: jieba cuts each run of Han characters, letters and digits on its own, and a
    newline ends a run, so no word spans it; a tenant's word joins only touching pieces, so none spans it either.
    Folding (``normalise``) goes character for character except OpenCC's phrases, whose choice is made for the
    whole text: the folded whole is compared with the folded parts, and anything else is segmented afresh."""
    cut = text.find("\n")
    if cut < 0:
        return None
    left, right = (memo.get((part, tenant_words)) if part else [] for part in (text[:cut], text[cut + 1:]))
    if left is None or right is None or normalise(text) != normalise(text[:cut]) + "\n" + normalise(text[cut + 1:]):
        return None
    shift = cut + 1
    return left + [(w, s + shift, e + shift) for w, s, e in right]


def _segment(text: str, tenant_words: frozenset[str]) -> list[tuple[str, int, int]]:
    _ensure_jieba()
    raw = [(w, s, e) for w, s, e in jieba.tokenize(normalise(text or "")) if _is_word(w)]
    if not tenant_words:
        return raw
    merged, i = [], 0
    while i < len(raw):
        for j in range(min(len(raw), i + MAX_MERGE), i + 1, -1):
            word = "".join(w for w, _, _ in raw[i:j])
            touching = all(raw[k][2] == raw[k + 1][1] for k in range(i, j - 1))  # nothing between them
            if touching and word in tenant_words:
                merged.append((word, raw[i][1], raw[j - 1][2]))
                i = j
                break
        else:
            merged.append(raw[i])
            i += 1
    return merged


def with_sub_words(pieces: list[tuple[str, int, int]]) -> list[tuple[str, int, int, int]]:
    """(word, start, end, position): each word at its own position, then the dictionary words inside it
    (two and three characters, as jieba's search mode finds them) at the same position, so a search for the
    shorter word finds the longer one and a phrase of the longer words still has its words adjacent."""
    _ensure_jieba()
    known = jieba.dt.FREQ
    out = []
    for position, (word, start, end) in enumerate(pieces):
        out.append((word, start, end, position))
        if len(word) <= 2:
            continue
        inside = set()
        for size in (2, 3):
            if len(word) <= size:
                break
            for i in range(len(word) - size + 1):
                part = word[i:i + size]
                if part not in inside and known.get(part) and _is_word(part):
                    inside.add(part)
                    out.append((part, start + i, start + i + size, position))
    return out


def words(text: str, tenant_words: frozenset[str] = frozenset(), *, keep_stop_words: bool = False) -> list[str]:
    """The words of ``text``, lower-cased, stop words removed (for shingles and frequent words)."""
    stops = stop_words()
    out = [w.lower() for w, _, _ in segment(text, tenant_words)]
    return out if keep_stop_words else [w for w in out if w not in stops]


class JiebaTokenizer(Tokenizer):
    """Whoosh tokenizer: one token per word, positions counted in words, character offsets for highlights."""

    def __init__(self, tenant_words: Iterable[str] = ()):
        self.tenant_words = frozenset(tenant_words)

    def __eq__(self, other):
        return isinstance(other, JiebaTokenizer) and other.tenant_words == self.tenant_words

    def __call__(self, value: str, positions: bool = False, chars: bool = False, keeporiginal: bool = False,
                 removestops: bool = True, start_pos: int = 0, start_char: int = 0, tokenize: bool = True,
                 mode: str = "", **kwargs) -> Iterator[Token]:
        token = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        pieces = segment(value, self.tenant_words) if tokenize else [(value, 0, len(value))]
        # Indexing adds the words inside each word at its position; a query looks for the words as typed.
        numbered = with_sub_words(pieces) if mode == "index" and tokenize else [(w, s, e, p) for p, (w, s, e) in enumerate(pieces)]
        for word, start, end, pos in numbered:
            token.text, token.boost, token.stopped = word, 1.0, False
            if keeporiginal:
                token.original = word
            if positions:
                token.pos = start_pos + pos
            if chars:
                token.startchar, token.endchar = start_char + start, start_char + end
            yield token


class ChineseStopFilter(Filter):
    """Drops stop words and numbers the words left without gaps, in the index and in queries alike,
    so the quoted phrase "扣发的工资" finds 扣发的工资 (the query parser takes a phrase's words as adjacent)."""

    def __call__(self, tokens):
        stops = stop_words()
        position = None
        last = None  # the position as it came: the words inside a word share it, and share the new one too
        for token in tokens:
            if token.text in stops:
                continue
            if token.positions:
                if token.pos != last:
                    last = token.pos
                    position = token.pos if position is None else position + 1
                token.pos = position
            yield token


def _gram_char(ch: str) -> bool:
    return ch.isalnum()


def bigrams(folded: str) -> list[tuple[str, int]]:
    """Every two adjacent letters, digits or Han characters of folded text, with where they start; none
    across punctuation or space (so a phrase of them is a substring of one stretch of text)."""
    letter = [ch.isalnum() for ch in folded]  # _gram_char of each character, once
    return [(folded[i:i + 2], i) for i in range(len(folded) - 1) if letter[i] and letter[i + 1]]


class BigramTokenizer(Tokenizer):
    """The n-gram field: the folded text's bigrams, positioned at the character where they start (so a
    phrase of a word's bigrams matches the word as a substring, and a match's characters are its positions)."""

    def __eq__(self, other):
        return isinstance(other, BigramTokenizer)

    def __call__(self, value: str, positions: bool = False, chars: bool = False, keeporiginal: bool = False,
                 removestops: bool = True, start_pos: int = 0, start_char: int = 0, tokenize: bool = True,
                 mode: str = "", **kwargs) -> Iterator[Token]:
        token = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        grams = bigrams(fold(value)) if tokenize else [(value, 0)]
        for gram, start in grams:
            token.text, token.boost, token.stopped = gram, 1.0, False
            if keeporiginal:
                token.original = gram
            if positions:
                token.pos = start_pos + start
            if chars:
                token.startchar, token.endchar = start_char + start, start_char + start + len(gram)
            yield token


def chinese_analyzer(tenant_words: Iterable[str] = ()):
    return JiebaTokenizer(tenant_words) | LowercaseFilter() | ChineseStopFilter()
