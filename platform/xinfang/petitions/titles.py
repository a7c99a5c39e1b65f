"""A petition's title when the citizen wrote none (the report form asks for a subject and the content only):
the content's first sentences up to a length, cut where a sentence ends, never inside quotation marks or
brackets. Where even the first sentence is too long, it is cut at a pause (，、：) outside any quotation,
and the cut is marked with an ellipsis."""

from __future__ import annotations

import re

TITLE_LENGTH = 40
SENTENCE_ENDS = "。！？!?；;"
PAUSES = "，、：,:"
OPENING = "“‘「『《（(【〔[\"'"
CLOSING = {"“": "”", "‘": "’", "「": "」", "『": "』", "《": "》", "（": "）", "(": ")", "【": "】", "〔": "〕", "[": "]", '"': '"', "'": "'"}
ELLIPSIS = "…"


def title_from_text(text: str, limit: int = TITLE_LENGTH) -> str:
    """The title for ``text``: whole sentences up to ``limit`` characters, else the first sentence cut at a
    pause outside quotation marks (with …); an opening quotation mark is never left without its closing one."""
    text = re.sub(r"\s+", " ", text or "").strip()
    if len(text) <= limit:
        return _tidy(text)
    sentence_end = pause = None
    open_at: list[str] = []  # the closing marks still awaited
    for i, ch in enumerate(text[:limit]):
        if open_at and ch == open_at[-1]:
            open_at.pop()
            if not open_at and text[i - 1] in SENTENCE_ENDS:  # 。” ends the sentence at the closing mark
                sentence_end = i
        elif ch in OPENING:
            open_at.append(CLOSING[ch])
        elif not open_at and ch in SENTENCE_ENDS:
            sentence_end = i
        elif not open_at and ch in PAUSES:
            pause = i
    if sentence_end is not None:
        return _tidy(text[:sentence_end + 1])
    if pause is not None and pause >= limit // 3:
        return text[:pause] + ELLIPSIS
    cut = limit - 1
    unclosed = _opening_before(text, cut)
    if unclosed is not None and unclosed >= limit // 3:
        cut = unclosed  # end before the quotation that would be cut in the middle
    return text[:cut].rstrip(" ，、：,:") + ELLIPSIS


def _opening_before(text: str, cut: int) -> int | None:
    """The position of the outermost quotation mark or bracket still open at ``cut``, if any."""
    open_at: list[tuple[str, int]] = []
    for i, ch in enumerate(text[:cut]):
        if open_at and ch == open_at[-1][0]:
            open_at.pop()
        elif ch in OPENING:
            open_at.append((CLOSING[ch], i))
    return open_at[0][1] if open_at else None


def _tidy(title: str) -> str:
    """A title does not end with a full stop or a semicolon (a question or exclamation mark stays)."""
    return title.rstrip("。；;，,、 ") or title
