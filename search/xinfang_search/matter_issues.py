"""What is wrong in a message, by kind of issue (油烟, 噪音, 收费 ...): the lines of issue_words.txt, each an issue
and the words that raise it, found inside the folded text (收费 in 乱收费, 收費 too).

Two messages naming one place are one matter only when they raise one issue there: at one estate, restaurant
fumes and a broken lift are two matters, however alike the rest of the wording (我们已经打了12345好几次...).
"""

from __future__ import annotations

from functools import cache
from importlib import resources

from .analysis import fold


@cache
def issue_words() -> dict[str, tuple[str, ...]]:
    text = resources.files("xinfang_search").joinpath("issue_words.txt").read_text(encoding="utf-8")
    table = {}
    for line in text.splitlines():
        if line.strip() and not line.startswith("#"):
            issue, _, words = line.partition(":")
            table[issue.strip()] = tuple(fold(w) for w in words.split())
    return table


def issues(text: str) -> frozenset[str]:
    """The issues ``text`` raises."""
    folded = fold(text)
    return frozenset(issue for issue, words in issue_words().items() if any(w in folded for w in words))
