"""What names a matter's place in citizen text: estates, schools, companies, shops, villages and roads found
by their suffixes (梅溪湖畔小区, 麓山外国语学校, 鑫达建筑劳务公司, 湘味烧烤店, 白箬铺镇光明村, 金星北路), and how
close two such names are.

Citizens rarely fill a "subject" field, but they name where the matter is; two messages about one estate's
restaurant fumes share the estate's name however they word the rest, while the same complaint about another
estate names another. Names are compared by character bigrams, so a wrong character (梅西湖畔小区) or a
shortened form (区第三中学 for 雨花区第三中学) still matches.

Rules, not a model: a suffix, then the name is the run of characters before it that are not function words
(我是梅溪湖畔小区的住户 -> 梅溪湖畔小区), cut at the previous name; a generic word before the suffix (物业公司,
隔壁村, 修路) names nothing.
"""

from __future__ import annotations

import re

from .analysis import fold  # traditional to simplified, full-width to half-width: 梅溪湖畔小區 is 梅溪湖畔小区

# kind -> suffixes; longer suffixes are tried first (幼儿园 before 园, 大道 before 道...)
SUFFIXES: dict[str, tuple[str, ...]] = {
    "estate": ("小区", "花园", "家园", "新村", "公寓", "大厦", "苑", "园", "城"),
    "school": ("幼儿园", "学校", "小学", "中学", "大学", "学院", "一中", "二中", "三中", "四中", "五中", "六中", "七中", "八中", "九中"),
    "organisation": ("公司", "集团", "工厂", "厂", "站点", "医院", "保健院", "卫生院", "超市", "酒店", "饭店", "餐馆", "店", "大排档"),
    "village": ("街道", "社区", "村", "镇", "乡"),
    "road": ("大道", "路", "街"),
}
_KIND_OF = {suffix: kind for kind, suffixes in SUFFIXES.items() for suffix in suffixes}
# 城 is a suffix (湘江世纪城) except in 城管, 城市...; a numbered 中 (星沙二中) except before 学 (第三中学 is 中学's).
_NOT_AFTER = {"城": "管市区乡里镇", **{f"{n}中": "学" for n in "一二三四五六七八九"}}
_SUFFIX_RE = re.compile("|".join(re.escape(s) + (f"(?![{_NOT_AFTER[s]}])" if s in _NOT_AFTER else "")
                                 for s in sorted(_KIND_OF, key=len, reverse=True)))
# Characters that end a name on its left: function words and the verbs citizens put before a place.
_BOUNDARY = set("的是在了把被给对向从到和与及或也都还就又很说让找去来这那个有没不要会能我你他她它们诉报映比绕修走跑半沿往离近旁隔边里上下对面楼趟前请求督促管查问进过由各全每所用年月天为插家几两该")
_LEADING_WORDS = ("投诉", "举报", "反映", "关于", "位于", "就在", "我们", "我家", "家住", "之前", "一趟")
# Words that, before a suffix, make a generic noun rather than a name (物业公司, 施工路段, 隔壁村...).
_GENERIC = {"物业", "施工", "隔壁", "附近", "周边", "农村", "乡村", "城乡", "道路", "马路", "公路", "网约", "约车", "快递", "外卖", "培训",
            "补习", "家常", "中心", "县中", "镇中心", "民办", "实验", "寄宿", "寄宿制", "薄弱", "城区", "商业保险", "保险", "村卫生", "这家", "那家", "一家", "每家", "装修", "建筑", "劳务", "工程", "黑", "小", "大", "老", "新", "本", "该", "某", "某某"}
MAX_NAME = 8  # characters before the suffix
MIN_NAME = 2


def _han(ch: str) -> bool:
    return "\u4e00" <= ch <= "\u9fff"


def places(text: str) -> list[tuple[str, str]]:
    """(kind, name) of the places named in ``text``, in order, each once."""
    text = fold(text)
    found: list[tuple[str, str]] = []
    floor = 0  # a name never reaches back into the previous one
    for match in _SUFFIX_RE.finditer(text):
        start = match.start()
        left = start
        while left > floor and start - left < MAX_NAME and _han(text[left - 1]) and (text[left - 1] not in _BOUNDARY or _inside_name(text, left - 1)):
            left -= 1
        prefix = text[left:start]
        for word in _LEADING_WORDS:
            if prefix.startswith(word):
                prefix = prefix[len(word):]
        # A masked name (某乡, 王某某的公司) identifies nothing: two masked villages need not be one.
        if len(prefix) >= MIN_NAME and prefix not in _GENERIC and "某" not in prefix:
            name = prefix + match.group(0)
            item = (_KIND_OF[match.group(0)], name)
            if item not in found:
                found.append(item)
            floor = match.end()
        elif len(prefix) >= MIN_NAME:
            floor = match.end()
    return found


# 家 ends a name after a person (我家梅溪湖畔小区) but is inside one after another character (万家丽苑, 星沙嘉园 is not 家).
_PERSON_BEFORE_家 = set("我你他她们大回老自住在到的")


def _inside_name(text: str, at: int) -> bool:
    return text[at] == "家" and at > 0 and _han(text[at - 1]) and text[at - 1] not in _PERSON_BEFORE_家 and text[at - 1] not in _BOUNDARY


def bigrams(name: str) -> frozenset[str]:
    return frozenset(name[i:i + 2] for i in range(len(name) - 1)) or frozenset([name])


def name_similarity(a: str, b: str) -> float:
    """Dice of character bigrams, 0..1; a name inside the other counts as the same (区第三中学, 雨花区第三中学)."""
    if a == b or (len(a) >= 4 and a in b) or (len(b) >= 4 and b in a):
        return 1.0
    x, y = bigrams(a), bigrams(b)
    return 2 * len(x & y) / (len(x) + len(y))


SAME_NAME = 0.55  # bigram Dice at or above: the same place (梅西湖畔小区 / 梅溪湖畔小区 is 0.6)


def place_relation(a: list[tuple[str, str]], b: list[tuple[str, str]]) -> tuple[str, list[str]]:
    """same | conflict | unknown between two messages' places, and the names they share.

    same: a place of one is a place of the other. conflict: nothing shared, and both name a place of a kind
    that identifies a matter (an estate, a school, an organisation, a village): the same complaint about
    another estate is another matter. A road alone never conflicts (a message names the road it took)."""
    shared = []
    for kind, name in a:
        for other_kind, other in b:
            if kind == other_kind and name_similarity(name, other) >= SAME_NAME:
                shared.append(name)
                break
    if shared:
        return "same", shared
    kinds_a = {k for k, _ in a if k != "road"}
    kinds_b = {k for k, _ in b if k != "road"}
    return ("conflict", []) if kinds_a & kinds_b else ("unknown", [])


def place_keys(found: list[tuple[str, str]]) -> list[str]:
    """Exact lookup keys of the places (the fingerprint store indexes them): kind and folded name."""
    return [f"{kind}:{name}" for kind, name in found]
